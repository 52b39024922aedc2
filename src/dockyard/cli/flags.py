"""Command-line flags with the semantics and messages of spf13/pflag, which docker uses.

``--name=value``, ``--name value``, ``-n value``, ``-nvalue``, ``-n=value``, grouped short
booleans (``-aq``), ``--bool=false``, repeatable list flags, ``--`` ending the flags. With
``interspersed=False`` (``docker run``, ``exec``, the global flags) parsing stops at the first
argument. Errors are ``FlagError`` with pflag's text (``unknown flag: --nope``, ``flag needs
an argument: 'f' in -f``, ``invalid argument "x" for "-n, --last" flag: strconv.ParseInt:
parsing "x": invalid syntax``); the command frame prints them with the usage line and exits
125. ``usages`` renders the flag list of ``--help`` as pflag's ``FlagUsagesWrapped``.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any

BOOL, STRING, INT, FLOAT, LIST, DURATION, BYTES = "bool", "string", "int", "float", "list", "duration", "bytes"
_ZERO: dict[str, Any] = {BOOL: False, STRING: "", INT: 0, FLOAT: 0.0, DURATION: 0.0, BYTES: 0}
_TYPE_NAMES = {BOOL: "", STRING: "string", INT: "int", FLOAT: "float", LIST: "list", DURATION: "duration",
               BYTES: "bytes"}


class FlagError(Exception):
    """A command line that does not parse; docker prints it with the usage and exits 125."""


class Flag:
    """One flag: ``Flag("format", "f", STRING, help=...)``; ``dest`` is the Options attribute."""

    __slots__ = ("convert", "default", "dest", "help", "hidden", "kind", "name", "short", "type_name")

    def __init__(self, name: str, short: str = "", kind: str = BOOL, default: Any = None, help: str = "",
                 type_name: str | None = None, hidden: bool = False, dest: str | None = None,
                 convert: Callable[[str], Any] | None = None) -> None:
        self.name = name
        self.short = short
        self.kind = kind
        self.default = ([] if kind == LIST else _ZERO.get(kind)) if default is None else default
        self.help = help
        self.type_name = _TYPE_NAMES.get(kind, kind) if type_name is None else type_name
        self.hidden = hidden
        self.dest = dest or name.replace("-", "_")
        self.convert = convert  # str -> value; raises ValueError(message) for a bad value

    @property
    def display(self) -> str:
        """How pflag names the flag in errors: ``-n, --last`` or ``--no-trunc``."""
        return f"-{self.short}, --{self.name}" if self.short else f"--{self.name}"


class Options:
    """Parsed flag values as attributes, and ``changed``: the flags given on the command line."""

    def __init__(self, flags: Iterable[Flag]) -> None:
        self.changed: set[str] = set()
        for flag in flags:
            default: Any = flag.default
            setattr(self, flag.dest, list(default) if flag.kind == LIST else default)

    def __getattr__(self, name: str) -> Any:  # only reached for names no flag defines
        raise AttributeError(f"no flag sets {name!r}")


def parse_bool(text: str) -> bool:
    if text in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if text in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise ValueError(f'strconv.ParseBool: parsing "{text}": invalid syntax')


def parse_int(text: str) -> int:
    digits = text.lstrip("+-")
    try:
        if len(digits) > 1 and digits[0] == "0" and digits[1].isdigit():  # Go's legacy octal
            value = int(digits, 8) * (-1 if text.startswith("-") else 1)
        else:
            value = int(text, 0)
    except ValueError:
        raise ValueError(f'strconv.ParseInt: parsing "{text}": invalid syntax') from None
    if not -(1 << 63) <= value < (1 << 63):
        raise ValueError(f'strconv.ParseInt: parsing "{text}": value out of range')
    return value


def parse_float(text: str) -> float:
    try:
        return float(text.replace("_", ""))
    except ValueError:
        raise ValueError(f'strconv.ParseFloat: parsing "{text}": invalid syntax') from None


_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """Go's time.ParseDuration (``1h30m``, ``10s``, ``-1.5ms``), in seconds."""
    rest, total = text.lstrip("+-"), 0.0
    if rest in ("0", ""):
        if rest == "0":
            return 0.0
        raise ValueError(f'time: invalid duration "{text}"')
    while rest:
        i = 0
        while i < len(rest) and (rest[i].isdigit() or rest[i] == "."):
            i += 1
        j = i
        while j < len(rest) and not (rest[j].isdigit() or rest[j] == "."):
            j += 1
        number, unit = rest[:i], rest[i:j]
        if not number or number == "." or unit not in _DURATION_UNITS:
            kind = "missing unit in duration" if not unit and number else "invalid duration"
            raise ValueError(f'time: {kind} "{text}"')
        total += float(number) * _DURATION_UNITS[unit]
        rest = rest[j:]
    return -total if text.startswith("-") else total


def parse_bytes(text: str) -> int:
    """go-units RAMInBytes: ``512m``, ``1g``, ``100kb`` (binary multiples)."""
    lowered = text.strip().lower()
    number = lowered.rstrip("bi")
    number = number.rstrip(" ")
    unit = ""
    if number and number[-1] in "kmgtp":
        number, unit = number[:-1].rstrip(" "), number[-1]
    suffix = lowered[len(number) + len(unit):].strip()
    try:
        if suffix not in ("", "b", "ib", "i") or not number or number[0] in "+-":
            raise ValueError
        value = float(number)
    except ValueError:
        raise ValueError(f"invalid size: '{text}'") from None
    return int(value * {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}[unit])


_CONVERT: dict[str, Callable[[str], Any]] = {BOOL: parse_bool, INT: parse_int, FLOAT: parse_float,
                                              DURATION: parse_duration, BYTES: parse_bytes}


def _set(opts: Options, flag: Flag, value: str) -> None:
    convert = flag.convert or _CONVERT.get(flag.kind)
    try:
        converted = convert(value) if convert else value
    except ValueError as exc:
        raise FlagError(f'invalid argument "{value}" for "{flag.display}" flag: {exc}') from None
    if flag.kind == LIST:
        getattr(opts, flag.dest).append(converted)
    else:
        setattr(opts, flag.dest, converted)
    opts.changed.add(flag.name)


def parse(flags: list[Flag], argv: list[str], interspersed: bool = True) -> tuple[Options, list[str]]:
    """Options and the remaining arguments of ``argv``; raises FlagError."""
    opts = Options(flags)
    longs = {f.name: f for f in flags}
    shorts = {f.short: f for f in flags if f.short}
    args: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg == "--":
            args.extend(argv[i:])
            break
        if arg.startswith("--"):
            name, eq, value = arg[2:].partition("=")
            flag = longs.get(name)
            if flag is None:
                raise FlagError(f"unknown flag: --{name}")
            if flag.kind == BOOL:
                value = value if eq else "true"
            elif not eq:
                if i >= len(argv):
                    raise FlagError(f"flag needs an argument: --{name}")
                value, i = argv[i], i + 1
            _set(opts, flag, value)
        elif arg.startswith("-") and len(arg) > 1:
            group = arg[1:]
            j = 0
            while j < len(group):
                flag = shorts.get(group[j])
                if flag is None:
                    raise FlagError(f"unknown shorthand flag: '{group[j]}' in -{group}")
                rest = group[j + 1:]
                if flag.kind == BOOL and not rest.startswith("="):
                    _set(opts, flag, "true")
                    j += 1
                    continue
                if rest:
                    value = rest[1:] if rest.startswith("=") else rest
                elif i < len(argv):
                    value, i = argv[i], i + 1
                else:
                    raise FlagError(f"flag needs an argument: '{group[j]}' in -{group}")
                _set(opts, flag, value)
                break
        else:
            args.append(arg)
            if not interspersed:
                args.extend(argv[i:])
                break
    return opts, args


# --- help ---------------------------------------------------------------------------------

def _default_text(flag: Flag) -> str:
    default = flag.default
    if flag.kind == LIST or default in (None, "", 0, 0.0, False, [], "[]"):
        return ""
    if flag.kind == STRING:
        return f' (default "{default}")'
    if flag.kind == BOOL:
        return " (default true)"
    return f" (default {default})"


def _wrap_n(width: int, slop: int, text: str) -> tuple[str, str]:
    if width + slop > len(text):
        return text, ""
    head = text[:width]
    cut = max(head.rfind(" "), head.rfind("\t"), head.rfind("\n"))
    if cut <= 0:
        return text, ""
    newline = head.rfind("\n")
    if 0 < newline < cut:
        return text[:newline], text[newline + 1:]
    return text[:cut], text[cut + 1:]


def _wrap(indent: int, cols: int, text: str) -> str:
    """pflag's wrap: ``text`` wrapped to ``cols``, continuation lines indented by ``indent``."""
    if cols == 0:
        return text.replace("\n", "\n" + " " * indent)
    width, out = cols - indent, ""
    if width < 24:
        indent, width = 16, cols - 16
        out = "\n" + " " * indent
    if width < 24:
        return text.replace("\n", out)
    width -= 5
    line, text = _wrap_n(width, 5, text)
    out += line.replace("\n", "\n" + " " * indent)
    while text:
        line, text = _wrap_n(width, 5, text)
        out += "\n" + " " * indent + line.replace("\n", "\n" + " " * indent)
    return out


def usages(flags: Iterable[Flag], cols: int = 79) -> str:
    """The flag list of ``--help``, sorted by name and wrapped to ``cols`` as docker does."""
    lines = []
    for flag in sorted((f for f in flags if not f.hidden), key=lambda f: f.name):
        line = f"  -{flag.short}, --{flag.name}" if flag.short else f"      --{flag.name}"
        usage, type_name = flag.help, flag.type_name
        start = usage.find("`")
        end = usage.find("`", start + 1) if start >= 0 else -1
        if end > start:
            type_name = usage[start + 1:end]
            usage = usage[:start] + type_name + usage[end + 1:]
        if type_name:
            line += " " + type_name
        lines.append((line, usage + _default_text(flag)))
    if not lines:
        return ""
    width = max(len(line) for line, _ in lines) + 1
    return "".join(f"{line}{' ' * (width - len(line) + 1)} {_wrap(width + 2, cols, usage)}\n"
                   for line, usage in lines)


# docker's --format help texts (cli/flags): for commands that print tables, and for the rest
FORMAT_HELP_INSPECT = (
    "Format output using a custom template:\n"
    "'json':             Print in JSON format\n"
    "'TEMPLATE':         Print output using the given Go template.\n"
    "Refer to https://docs.docker.com/go/formatting/ for more information about formatting output with templates"
)
FORMAT_HELP_TABLE = (
    "Format output using a custom template:\n"
    "'table':            Print output in table format with column headers (default)\n"
    "'table TEMPLATE':   Print output in table format using the given Go template\n"
    + FORMAT_HELP_INSPECT.split("\n", 1)[1]
)
