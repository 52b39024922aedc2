"""Argument values of instructions, checked as dockerd checks them.

- :func:`parse_name_values`: ENV/LABEL's ``k=v ...`` pairs or legacy ``key value`` form;
- :func:`check_interval`: a HEALTHCHECK duration flag (Go syntax, 0 = inherit, else >= 1ms,
  negative ones included: ``Interval "interval" cannot be less than 1ms``);
- :func:`exposed_ports`: EXPOSE's ports (``80``, ``443/udp``, ``8000-8001``) as the image
  config's ``ExposedPorts`` keys (``80/tcp``), ``Invalid containerPort: abc`` /
  ``Invalid proto: xyz`` as dockerd 20.10 says;
- :func:`resolve_workdir`: WORKDIR's path against the current one, cleaned as Go's
  ``filepath.Clean`` (``WORKDIR rel`` from none gives ``/rel``, ``..//x/./y/`` from there
  ``/x/y``);
- :func:`parse_signal`: STOPSIGNAL's value (``SIGKILL``, ``kill``, ``9``) to its number on
  Linux, or ``Invalid signal: SIGFOO``.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable

from dockyard.engine.build.buildflags import parse_duration
from dockyard.engine.build.shellwords import split_raw_words
from dockyard.errors import InvalidArgument

MINIMUM_DURATION = 1_000_000  # 1ms, dockerd's container.MinimumDuration
PROTOCOLS = ("tcp", "udp", "sctp")

_SIGNALS = {
    "ABRT": 6, "ALRM": 14, "BUS": 7, "CHLD": 17, "CLD": 17, "CONT": 18, "FPE": 8, "HUP": 1, "ILL": 4, "INT": 2,
    "IO": 29, "IOT": 6, "KILL": 9, "PIPE": 13, "POLL": 29, "PROF": 27, "PWR": 30, "QUIT": 3, "SEGV": 11,
    "STKFLT": 16, "STOP": 19, "SYS": 31, "TERM": 15, "TRAP": 5, "TSTP": 20, "TTIN": 21, "TTOU": 22, "URG": 23,
    "USR1": 10, "USR2": 12, "VTALRM": 26, "WINCH": 28, "XCPU": 24, "XFSZ": 25, "RTMIN": 34, "RTMAX": 64,
    **{f"RTMIN+{n}": 34 + n for n in range(1, 16)}, **{f"RTMAX-{n}": 64 - n for n in range(1, 15)},
}


def parse_name_values(rest: str, keyword: str, escape: str = "\\") -> tuple[tuple[str, str], ...]:
    """ENV/LABEL arguments: ``k=v ...`` pairs, or the legacy ``key value with blanks``; words
    as written (substituted later)."""
    words = split_raw_words(rest, escape)
    if not words:
        raise InvalidArgument(f"{keyword} requires at least one argument")
    if "=" not in words[0]:
        parts = rest.strip().split(None, 1)
        if len(parts) < 2:
            raise InvalidArgument(f"{keyword} must have two arguments")
        return ((parts[0], parts[1]),)
    pairs: list[tuple[str, str]] = []
    for word in words:
        if "=" not in word:
            raise InvalidArgument(f'Syntax error - can\'t find = in "{word}". Must be of the form: name=value')
        name, _, value = word.partition("=")
        if not name:
            raise InvalidArgument(f"{keyword} names can not be blank")
        pairs.append((name, value))
    return tuple(pairs)


def check_interval(name: str, text: str) -> int:
    """A HEALTHCHECK duration flag's nanoseconds (0 when not given: inherit)."""
    if not text:
        return 0
    value = parse_duration(text)
    if value == 0:
        return 0
    if value < MINIMUM_DURATION:
        raise InvalidArgument(f'Interval "{name}" cannot be less than 1ms')
    return value


def exposed_ports(ports: Iterable[str]) -> list[str]:
    """``ExposedPorts`` keys in the order given, ranges expanded, duplicates once."""
    found: dict[str, None] = {}
    for spec in ports:
        port, _, proto = spec.partition("/")
        proto = proto.lower() or "tcp"
        if proto not in PROTOCOLS:
            raise InvalidArgument(f"Invalid proto: {proto}")
        start_text, dash, end_text = port.partition("-")
        start = _port(start_text, spec)
        end = _port(end_text, spec) if dash else start
        if end < start:
            raise InvalidArgument(f"Invalid range specified for the Port: {port}")
        for number in range(start, end + 1):
            found[f"{number}/{proto}"] = None
    return list(found)


def _port(text: str, spec: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise InvalidArgument(f"Invalid containerPort: {spec}")
    return int(text)


def parse_signal(text: str) -> int:
    """A signal's number from ``SIGKILL``/``KILL``/``kill``/``9``."""
    if text.isdigit():
        number = int(text)
        if number == 0 or number > 64:
            raise InvalidArgument(f"Invalid signal: {text}")
        return number
    name = text.upper().removeprefix("SIG")
    if name not in _SIGNALS:
        raise InvalidArgument(f"Invalid signal: {text}")
    return _SIGNALS[name]


def resolve_workdir(current: str, path: str) -> str:
    """The new working directory (always absolute, no trailing slash but for ``/``)."""
    joined = path if path.startswith("/") else posixpath.join("/", current or "/", path)
    cleaned = posixpath.normpath(joined)
    return "/" + cleaned.lstrip("/")
