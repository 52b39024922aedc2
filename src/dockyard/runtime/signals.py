"""Signal names and numbers (Linux x86_64), without importing :mod:`signal` (and enum)."""

from __future__ import annotations

from dockyard.errors import InvalidArgument

SIGNALS = {
    "HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "TRAP": 5, "ABRT": 6, "IOT": 6, "BUS": 7,
    "FPE": 8, "KILL": 9, "USR1": 10, "SEGV": 11, "USR2": 12, "PIPE": 13, "ALRM": 14,
    "TERM": 15, "STKFLT": 16, "CHLD": 17, "CLD": 17, "CONT": 18, "STOP": 19, "TSTP": 20,
    "TTIN": 21, "TTOU": 22, "URG": 23, "XCPU": 24, "XFSZ": 25, "VTALRM": 26, "PROF": 27,
    "WINCH": 28, "IO": 29, "POLL": 29, "PWR": 30, "SYS": 31,
}
SIGRTMIN = 34
SIGRTMAX = 64


def parse_signal(text: str) -> int:
    """'KILL', 'SIGKILL', 'kill', '9', 'RTMIN+3' -> number; InvalidArgument like runc."""
    raw = text
    if text.isdigit():
        number = int(text)
        if 0 < number <= SIGRTMAX:
            return number
        raise InvalidArgument(f"unknown signal {raw!r}".replace("'", '"'))
    name = text.upper()
    if name.startswith("SIG"):
        name = name[3:]
    if name in SIGNALS:
        return SIGNALS[name]
    for base, value, sign in (("RTMIN", SIGRTMIN, 1), ("RTMAX", SIGRTMAX, -1)):
        if name == base:
            return value
        if name.startswith(base + ("+" if sign > 0 else "-")) and name[len(base) + 1 :].isdigit():
            number = value + sign * int(name[len(base) + 1 :])
            if SIGRTMIN <= number <= SIGRTMAX:
                return number
    raise InvalidArgument(f'unknown signal "{raw}"')


def name_of(number: int) -> str:
    for name, value in SIGNALS.items():
        if value == number:
            return "SIG" + name
    return f"SIG{number}"
