"""docker's inspect output (``cli/command/inspect``): the daemon's JSON, or a template per object.

- No ``--format``: the raw JSON objects in an array, indented with four spaces exactly as
  Go's ``json.Indent`` does (the daemon's key order and number text kept); ``[]`` when none
  was found.
- ``--format json``: the same array compacted onto one line.
- A template: run once per object over its decoded JSON, a missing key being an error (Go's
  ``missingkey=error``), each result on its own line; an empty line when nothing printed.

Objects that cannot be fetched or rendered are reported together after the output, one
line each, exit status 1; a template that does not parse exits 64.
"""

from __future__ import annotations

from dockyard.cli.command import StatusError
from dockyard.cli.gotemplate import Template, TemplateError
from dockyard.errors import DockyardError
from dockyard.oci import jsonio

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from typing import IO

    Getter = Callable[[str], bytes]  # fetches one object's JSON as the daemon sent it


_WHITESPACE = " \t\r\n"  # JSON's


def _pieces(text: str) -> Iterator[tuple[str, bool]]:
    """JSON text cut into its strings (whole, with their quotes; True) and what lies between (False)."""
    i, n = 0, len(text)
    while i < n:
        start = text.find('"', i)
        if start < 0:
            yield text[i:], False
            return
        if start > i:
            yield text[i:start], False
        end = start
        while True:
            end = text.find('"', end + 1)
            if end < 0:  # unterminated: the rest is the string
                end = n
                break
            before = end - 1
            while text[before] == "\\":
                before -= 1
            if (end - 1 - before) % 2 == 0:  # not escaped
                break
        yield text[start:end + 1], True
        i = end + 1


def indent_json(text: str, indent: str = "    ", prefix: str = "") -> str:
    """Go's ``json.Indent`` of valid JSON text: whitespace re-laid, everything else kept."""
    out: list[str] = []
    depth = 0
    need_indent = False  # an opened array/object waits for its first value to break the line
    for piece, quoted in _pieces(text.lstrip(_WHITESPACE)):
        for ch in (piece,) if quoted else piece:  # a string is one token (none of the marks below holds '"')
            if ch in _WHITESPACE:
                continue
            if need_indent and ch not in "]}":
                need_indent = False
                depth += 1
                out.append("\n" + prefix + indent * depth)
            if ch in "[{":
                need_indent = True
                out.append(ch)
            elif ch == ",":
                out.append(",\n" + prefix + indent * depth)
            elif ch == ":":
                out.append(": ")
            elif ch in "]}":
                if need_indent:
                    need_indent = False  # an empty array or object stays "[]" / "{}"
                else:
                    depth -= 1
                    out.append("\n" + prefix + indent * depth)
                out.append(ch)
            else:
                out.append(ch)
    return "".join(out)


_NO_WHITESPACE = str.maketrans("", "", _WHITESPACE)


def compact_json(text: str) -> str:
    """Go's ``json.Compact``: insignificant whitespace removed."""
    return "".join(piece if quoted else piece.translate(_NO_WHITESPACE) for piece, quoted in _pieces(text))


def parse_template(fmt: str) -> Template | None:
    """The inspect template of ``--format`` (None for the JSON forms); exit 64 if it does not parse."""
    if fmt in ("", "json"):
        return None
    try:
        return Template(fmt).option("missingkey=error")
    except TemplateError as exc:
        raise StatusError(64, f"template parsing error: {exc}") from None


def inspect(out: IO[str], refs: Iterable[str], fmt: str, get_raw: Getter) -> None:
    """Fetch every reference with ``get_raw`` (the object's JSON as sent) and print as docker does."""
    template = parse_template(fmt)
    raws: list[str] = []
    rendered: list[str] = []
    errors: list[str] = []
    for ref in refs:
        try:
            raw = get_raw(ref).decode("utf-8", "replace")
        except DockyardError as exc:
            errors.append(str(exc))
            continue
        if template is None:
            raws.append(raw.strip())
            continue
        try:
            rendered.append(template.execute(jsonio.loads(raw, ref)) + "\n")
        except TemplateError as exc:
            errors.append(f"template parsing error: {exc}")
    if template is not None:
        out.write("".join(rendered) or "\n")
    elif not raws:
        out.write("[]\n")
    else:
        joined = "[" + ",".join(raws) + "]"
        out.write((compact_json(joined) if fmt == "json" else indent_json(joined)) + "\n")
    if errors:
        raise StatusError(1, "\n".join(errors))


