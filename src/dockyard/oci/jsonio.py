"""JSON reading and writing without importing :mod:`json`.

``import json`` pulls in ``re`` and ``enum`` and costs ~14 ms on this machine, more than the
whole container set-up. The runtime starts a fresh interpreter per command, so it parses with
the C scanner in ``_json`` directly and encodes with a small writer. Output matches what
Go's ``encoding/json`` prints for the same values (compact, or indented like MarshalIndent).
"""

from __future__ import annotations

import _json

from dockyard.errors import InvalidArgument

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class _ScannerContext:
    """The attributes ``_json.make_scanner`` reads from a ``json.JSONDecoder``."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    memo: dict[str, str] = {}

    @staticmethod
    def parse_constant(name: str) -> float:
        return float(name.lower().replace("infinity", "inf"))


_scan = _json.make_scanner(_ScannerContext())  # type: ignore[arg-type]
_WS = " \t\n\r"


def loads(text: str | bytes, what: str = "JSON") -> Any:
    """Parse one JSON document; ``what`` names the input in the error."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidArgument(f"{what}: not UTF-8: {exc}") from None
    end = len(text)
    idx = 0
    while idx < end and text[idx] in _WS:
        idx += 1
    try:
        value, idx = _scan(text, idx)
    except StopIteration as exc:
        raise InvalidArgument(f"{what}: invalid JSON at offset {exc.value}") from None
    except ValueError as exc:
        raise InvalidArgument(f"{what}: invalid JSON: {exc}") from None
    except SystemError:
        # _json builds its error from json.decoder.JSONDecodeError, but only when that module
        # is already loaded; without it a syntax error comes out as a bare SystemError
        import sys

        if "json.decoder" in sys.modules:
            raise
        import json.decoder  # noqa: F401  (only on this error path)

        return loads(text, what)
    while idx < end and text[idx] in _WS:
        idx += 1
    if idx != end:
        raise InvalidArgument(f"{what}: invalid JSON: extra data at offset {idx}")
    return value


def load_file(path: str, what: str | None = None) -> Any:
    """Read and parse a JSON file."""
    with open(path, "rb") as f:
        data = f.read()
    return loads(data, what or path)


def dumps(value: Any, indent: str | None = None) -> str:
    """Encode ``value``; with ``indent`` nested values go on their own lines."""
    out: list[str] = []
    _encode(value, out, indent, "")
    return "".join(out)


def _encode(value: Any, out: list[str], indent: str | None, prefix: str) -> None:
    if isinstance(value, str):
        out.append(_json.encode_basestring(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, float):
        out.append(float.__repr__(value))
    elif isinstance(value, dict):
        _encode_items(
            [(_json.encode_basestring(str(k)), v) for k, v in value.items()],
            "{", "}", out, indent, prefix,
        )
    elif isinstance(value, list | tuple):
        _encode_items([(None, v) for v in value], "[", "]", out, indent, prefix)
    else:
        raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def _encode_items(
    items: list[tuple[str | None, Any]],
    open_: str,
    close: str,
    out: list[str],
    indent: str | None,
    prefix: str,
) -> None:
    if not items:
        out.append(open_ + close)
        return
    inner = prefix + indent if indent is not None else prefix
    out.append(open_)
    for n, (key, item) in enumerate(items):
        if n:
            out.append(",")
        if indent is not None:
            out.append("\n" + inner)
        if key is not None:
            out.append(key + (": " if indent is not None else ":"))
        _encode(item, out, indent, inner)
    if indent is not None:
        out.append("\n" + prefix)
    out.append(close)


def write_file_atomic(path: str, value: Any, indent: str | None = None) -> None:
    """Write ``value`` as JSON to ``path`` through a temporary file and a rename."""
    import os

    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(dumps(value, indent))
    os.replace(tmp, path)
