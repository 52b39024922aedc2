"""Rows for docker's formatter: objects whose methods are the ``--format`` fields.

Docker renders each table row through a "context" (``*formatter.imageContext``...) whose
exported methods are the fields templates see (``{{.ID}}``, ``{{.CreatedSince}}``) and whose
JSON (``{{json .}}``, ``--format json``) is every method that takes no argument, by name,
in sorted order. ``RowContext`` is that: subclasses define the methods and ``GO_TYPE`` (the
type a template error names), ``HEADER`` maps fields to column titles.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, ClassVar

_FIELDS: dict[type, tuple[str, ...]] = {}


class RowContext:
    GO_TYPE: ClassVar[str] = "*formatter.context"
    HEADER: ClassVar[dict[str, str]] = {}

    @classmethod
    def json_fields(cls) -> tuple[str, ...]:
        """The methods docker's MarshalJSON calls: exported, no arguments."""
        fields = _FIELDS.get(cls)
        if fields is None:
            names = []
            for name in dir(cls):
                if not name[:1].isupper() or name in ("GO_TYPE", "HEADER"):
                    continue
                code = getattr(getattr(cls, name), "__code__", None)
                if code is not None and code.co_argcount == 1:
                    names.append(name)
            fields = _FIELDS[cls] = tuple(sorted(names))
        return fields

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name)() for name in self.json_fields()}

    def marshal_json(self) -> str:
        """docker's MarshalJSON: ``json.Marshal`` of the fields, so ``<``, ``>``, ``&`` come out escaped."""
        from dockyard.cli.gofmt import go_json

        return html_escape(go_json(self.to_json()))


def html_escape(text: str) -> str:
    """What Go's json.Marshal does to ``<``, ``>`` and ``&`` (only ever inside strings in JSON text)."""
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
