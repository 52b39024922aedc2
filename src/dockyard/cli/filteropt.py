"""``--filter name=value`` as docker's ``opts.FilterOpt``, and the ``filters`` query it becomes.

Values gather per name (``-f label=a -f label=b``); the name is lower-cased and both sides
trimmed, as docker does. ``encode`` gives the API's JSON form,
``{"label":{"a":true,"b":true}}`` with sorted keys (Go's map order), or None when empty so
the query leaves ``filters`` out.
"""

from __future__ import annotations

from dockyard.cli.flags import LIST, Flag

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

BAD_FORMAT = "bad format of filter (expected name=value)"


def parse_filter(value: str) -> tuple[str, str]:
    """``"Label = a=b"`` -> ``("label", "a=b")``; ValueError (docker's text) without ``=``."""
    if "=" not in value:
        raise ValueError(BAD_FORMAT)
    name, _, val = value.partition("=")
    return name.strip().lower(), val.strip()


def _convert(value: str) -> tuple[str, str] | None:
    return parse_filter(value) if value else None


def filter_flag(help: str = "Filter output based on conditions provided", short: str = "f") -> Flag:
    """The ``-f, --filter filter`` flag; its option holds ``(name, value)`` pairs."""
    return Flag("filter", short, LIST, help=help, type_name="filter", convert=_convert)


class Filters:
    """docker's ``filters.Args``: names to sets of values."""

    def __init__(self, pairs: Iterable[tuple[str, str] | None] = ()) -> None:
        self.fields: dict[str, dict[str, bool]] = {}
        for pair in pairs:
            if pair is not None:
                self.add(*pair)

    def add(self, name: str, value: str) -> None:
        self.fields.setdefault(name, {})[value] = True

    def get(self, name: str) -> list[str]:
        return list(self.fields.get(name, {}))

    def contains(self, name: str) -> bool:
        return name in self.fields

    def copy(self) -> Filters:
        clone = Filters()
        clone.fields = {name: dict(values) for name, values in self.fields.items()}
        return clone

    def __len__(self) -> int:
        return len(self.fields)

    def encode(self) -> dict[str, dict[str, bool]] | None:
        """The ``filters`` query value (the client JSON-encodes dicts), None when empty."""
        if not self.fields:
            return None
        return {name: dict(sorted(self.fields[name].items())) for name in sorted(self.fields)}
