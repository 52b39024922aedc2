"""Docker's ``--format``: Go text/template (our own) and docker's formatter around it.

``Template`` is a parsed Go template with Go's builtins and docker's functions (``json``,
``split``, ``join``, ``title``, ``lower``, ``upper``, ``pad``, ``truncate``); commands may add
their own. ``Formatter`` is docker's ``formatter.Context``: ``table`` formats get a header
row (the same template run over the command's header names) and columns aligned with
docker's tabwriter settings, ``json`` is ``{{json .}}``, anything else is a template printed
once per row; literal ``\\t`` and ``\\n`` in the format become tab and newline.

Errors are ``TemplateError`` (an ``InvalidArgument``) with Go's message, wrapped as docker
prints them: ``template parsing error: template: :1:2: executing "" at <.Nope>: can't
evaluate field Nope in type ...``. A command exits 1 on them (``docker version``: 64 when
the template does not parse).
"""

from __future__ import annotations

from dockyard.cli.gofmt import MISSING, GoNil, GoSlice, GoStruct, format_value
from dockyard.cli.tabwriter import TabWriter
from dockyard.cli.tmpl_exec import State
from dockyard.cli.tmpl_funcs import BUILTINS, DOCKER, HEADER, Func, FuncError
from dockyard.cli.tmpl_nodes import Action, Field, TemplateError, Text
from dockyard.cli.tmpl_parse import parse as _parse

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from typing import Any

__all__ = ["MISSING", "Formatter", "Func", "FuncError", "GoNil", "GoSlice", "GoStruct", "HeaderContext", "Template",
           "TemplateError", "is_json", "is_table", "parse"]

TABLE = "table"
JSON = "json"
JSON_FORMAT = "{{json .}}"
TABLE_SETTINGS = (10, 1, 3)  # minwidth, tabwidth, padding: tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)




class Template:
    """A parsed template; ``funcs`` adds functions (a ``Func`` or any Python callable)."""

    def __init__(self, text: str, name: str = "", funcs: Mapping[str, Any] | None = None) -> None:
        self.text = text
        self.name = name
        self.funcs: dict[str, Any] = {**BUILTINS, **DOCKER, **(funcs or {})}
        self.root = _parse(text, name, set(self.funcs))
        self.missingkey_error = False
        self._flat = _flat_parts(self.root)

    def option(self, setting: str) -> Template:
        """Go's ``Template.Option``: ``missingkey=error`` fails on a missing map key (inspect's raw fallback)."""
        if setting not in ("missingkey=error", "missingkey=default", "missingkey=invalid"):
            raise ValueError(f"unrecognized option: {setting}")
        self.missingkey_error = setting == "missingkey=error"
        return self

    def execute_into(self, out: list[str], data: Any, funcs: Mapping[str, Any] | None = None) -> None:
        """Append the output to ``out``; on an error what was written before stays there."""
        if self._flat is not None and not funcs and _fast(self._flat, out, data):
            return
        table = {**self.funcs, **funcs} if funcs else self.funcs
        State(self.name, self.text, table, out, self.missingkey_error).run(self.root, data)

    def execute(self, data: Any, funcs: Mapping[str, Any] | None = None) -> str:
        out: list[str] = []
        self.execute_into(out, data, funcs)
        return "".join(out)


def _flat_parts(root: Any) -> list[tuple[bool, str]] | None:
    """A template of text and ``{{.Method}}`` actions only (the tables' formats) as its
    parts, (is a field, text or name); None for any other template."""
    parts: list[tuple[bool, str]] = []
    for node in root.nodes:
        if isinstance(node, Text):
            parts.append((False, node.text))
            continue
        if not isinstance(node, Action) or node.pipe.decl or len(node.pipe.cmds) != 1:
            return None
        args = node.pipe.cmds[0].args
        if len(args) != 1 or not isinstance(args[0], Field) or len(args[0].idents) != 1:
            return None
        parts.append((True, args[0].idents[0]))
    return parts


def _fast(parts: list[tuple[bool, str]], out: list[str], data: Any) -> bool:
    """Render ``parts`` over a row object whose fields are methods without arguments, as
    the general walk would; False (nothing written) when anything is not that simple."""
    if data is None or isinstance(data, (dict, GoStruct, GoNil, str, int, float, list, tuple)):
        return False
    mark = len(out)
    try:
        for is_field, text in parts:
            if not is_field:
                out.append(text)
                continue
            method = getattr(data, text, None)
            code = getattr(getattr(method, "__func__", None), "__code__", None)
            if code is None or code.co_argcount != 1 or code.co_flags & 0x0C:
                raise LookupError(text)  # not a plain method of the row: the general walk decides
            value = method()  # type: ignore[misc]
            out.append(format_value(MISSING if value is None else value))
    except Exception:
        del out[mark:]
        return False
    return True


def parse(text: str, name: str = "", funcs: Mapping[str, Any] | None = None) -> Template:
    """Parse ``text``; raises TemplateError with Go's message (``template: :1: ...``)."""
    return Template(text, name, funcs)


class HeaderContext(dict):  # type: ignore[type-arg]
    """Docker's SubHeaderContext: column titles by field name, and ``Label`` for label columns."""

    def Label(self, name: str) -> str:
        """``{{.Label "com.example.my-label"}}`` heads its column ``my label``."""
        return name.split(".")[-1].replace("-", " ").replace("_", " ")


def is_table(fmt: str) -> bool:
    return fmt.startswith(TABLE)


def is_json(fmt: str) -> bool:
    return fmt == JSON


class Formatter:
    """Docker's formatter.Context: rows rendered with a table, json or custom format.

    ``fmt`` is what the user passed (after the command replaced ``""``/``table`` with its
    default table format); ``header`` maps field names to column titles (``ID`` to
    ``CONTAINER ID``).
    """

    def __init__(self, fmt: str, header: Mapping[str, str] | None = None,
                 funcs: Mapping[str, Any] | None = None) -> None:
        self.fmt = fmt
        self.header = HeaderContext(header or {})
        final = fmt[len(TABLE):] if is_table(fmt) else JSON_FORMAT if is_json(fmt) else fmt
        final = final.strip(" ").replace("\\t", "\t").replace("\\n", "\n")
        try:
            self.template = Template(final, "", funcs)
        except TemplateError as exc:
            raise TemplateError(f"template parsing error: {exc}") from None

    def render(self, rows: Iterable[Any]) -> str:
        """All rows (and the header of a table); raises TemplateError on the first bad row."""
        body: list[str] = []
        for row in rows:
            try:
                self.template.execute_into(body, row)
            except TemplateError as exc:
                raise TemplateError(f"template parsing error: {exc}") from None
            body.append("\n")
        if not is_table(self.fmt):
            return "".join(body)
        head: list[str] = []
        try:
            self.template.execute_into(head, self.header, HEADER)
        except TemplateError:
            pass  # docker ignores a header that fails; what it wrote before stays
        writer = TabWriter(*TABLE_SETTINGS)
        writer.write("".join(head) + "\n" + "".join(body))
        return writer.flush()
