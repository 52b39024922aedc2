"""Command-line flags parsed the way runc's (Go ``flag`` via urfave/cli) are.

``-name``, ``--name``, ``--name=value`` and ``--name value`` all work; boolean flags take an
optional ``=true``/``=false``; parsing stops at the first positional argument or at ``--``.
A small parser of our own: ``argparse`` costs ~13 ms of start-up and parses differently.
"""

from __future__ import annotations

import builtins

from dockyard.errors import InvalidArgument

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

BOOL = "bool"
STR = "str"
INT = "int"
LIST = "list"  # repeatable string flag


class Flag:
    """One flag: its names (first is canonical), kind and default."""

    __slots__ = ("default", "help", "kind", "names")

    def __init__(
        self, names: str, kind: str = BOOL, default: object = None, help: str = ""
    ) -> None:
        self.names = tuple(n.strip() for n in names.split(","))
        self.kind = kind
        self.help = help
        if default is None:
            default = {BOOL: False, LIST: None, INT: 0, STR: ""}[kind]
        self.default = default

    @property
    def name(self) -> str:
        return self.names[0]


class Parsed:
    """Flag values by canonical name (dashes become underscores) plus positional args."""

    def __init__(self, values: dict[str, object], args: list[str]) -> None:
        self._values = values
        self.args = args
        self.given: set[str] = set()

    def __getattr__(self, name: str) -> object:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def str(self, name: str) -> str:
        value = self._values[name]
        assert isinstance(value, str)
        return value

    def bool(self, name: builtins.str) -> builtins.bool:
        return bool(self._values[name])

    def int(self, name: builtins.str) -> builtins.int:
        value = self._values[name]
        assert isinstance(value, int)
        return value

    def list(self, name: builtins.str) -> builtins.list[builtins.str]:
        value = self._values[name]
        return list(value) if isinstance(value, list) else []


def _key(name: str) -> str:
    return name.replace("-", "_")


def parse(flags: Sequence[Flag], argv: Sequence[str], command: str) -> Parsed:
    """Parse ``argv`` against ``flags``; raise InvalidArgument naming a bad flag."""
    by_name = {n: f for f in flags for n in f.names}
    values: dict[str, object] = {
        _key(f.name): (list(f.default) if isinstance(f.default, list) else f.default)
        for f in flags
    }
    given: set[str] = set()
    i = 0
    argv = list(argv)
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            i += 1
            break
        if not arg.startswith("-") or arg == "-":
            break
        name = arg.lstrip("-")
        value: str | None = None
        if "=" in name:
            name, value = name.split("=", 1)
        flag = by_name.get(name)
        if flag is None:
            raise InvalidArgument(f"flag provided but not defined: -{name} (in '{command}')")
        key = _key(flag.name)
        given.add(key)
        if flag.kind == BOOL:
            if value is None or value.lower() in ("true", "1", "t"):
                values[key] = True
            elif value.lower() in ("false", "0", "f"):
                values[key] = False
            else:
                raise InvalidArgument(f"invalid boolean value {value!r} for -{name}")
            i += 1
            continue
        if value is None:
            if i + 1 >= len(argv):
                raise InvalidArgument(f"flag needs an argument: -{name}")
            value = argv[i + 1]
            i += 2
        else:
            i += 1
        if flag.kind == INT:
            try:
                values[key] = int(value, 0)
            except ValueError:
                raise InvalidArgument(f"invalid value {value!r} for flag -{name}") from None
        elif flag.kind == LIST:
            current = values[key]
            values[key] = [*current, value] if isinstance(current, list) else [value]
        else:
            values[key] = value
    parsed = Parsed(values, argv[i:])
    parsed.given = given
    return parsed


def usage(flags: Sequence[Flag]) -> str:
    """The OPTIONS block of a command's help text."""
    lines = []
    for f in flags:
        names = ", ".join(("--" if len(n) > 1 else "-") + n for n in f.names)
        arg = "" if f.kind == BOOL else " value"
        lines.append(f"   {names}{arg}\t{f.help}")
    return "\n".join(lines)
