"""The functions templates can call: Go's builtins, docker's additions and docker's header set.

Each function carries the Go signature it is checked against (``Func.params``: ``any`` is
``interface{}``, ``value`` is ``reflect.Value`` and sees missing values, ``string``, ``int``,
``[]string``), so a wrong argument fails with Go's message (``wrong type for value; expected
string; got int``). A function raises ``FuncError`` to fail as ``error calling NAME: ...``.

``BUILTINS`` are text/template's (``and or not len index slice print printf println eq ne lt
le gt ge html js urlquery call``); ``DOCKER`` are docker's ``templates.basicFunctions``
(``json split join title lower upper pad truncate``); ``HEADER`` replaces some of them when a
``table`` header row is rendered, so ``{{upper .Name}}`` heads its column with ``NAME``.
"""

from __future__ import annotations

from dockyard.cli.gofmt import MISSING, GoNil, format_value, go_json, go_type_name, sprint, sprintln
from dockyard.cli.goprintf import sprintf

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


NO_FINAL: Any = object()  # Go's missingVal: no value piped in from a previous command


class FuncError(Exception):
    """A function failed; the template reports ``error calling NAME: <message>``."""


class Func:
    """A callable with the Go signature templates check its arguments against."""

    __slots__ = ("fn", "lazy", "params", "variadic")

    def __init__(self, fn: Callable[..., Any], params: tuple[str, ...] = (), variadic: str | None = None,
                 lazy: bool = False) -> None:
        self.fn = fn
        self.params = params
        self.variadic = variadic
        self.lazy = lazy  # and/or: arguments are evaluated one at a time


def is_true(value: Any) -> tuple[bool, bool]:
    """Go's ``template.IsTrue``: (truth, whether the value has a truth at all)."""
    if value is MISSING or value is None or isinstance(value, GoNil):
        return False, True
    if isinstance(value, bool | int | float | complex):
        return value != 0, True
    if isinstance(value, str | list | tuple | dict):
        return len(value) > 0, True
    if callable(value) and not hasattr(value, "__dict__"):
        return False, False
    return True, True


def _unwrap(value: Any) -> Any:
    return MISSING if value is None else value


# --- comparisons --------------------------------------------------------------------------

def _kind(value: Any) -> str | None:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, complex):
        return "complex"
    if isinstance(value, str):
        return "string"
    return None


def _is_nil(value: Any) -> bool:
    return value is MISSING or isinstance(value, GoNil)


def eq(arg1: Any, *args: Any) -> bool:
    arg1 = _unwrap(arg1)
    if not args:
        raise FuncError("missing argument for comparison")
    k1 = _kind(arg1)
    for arg in args:
        arg = _unwrap(arg)
        k2 = _kind(arg)
        if k1 != k2:
            if arg1 is not MISSING and arg is not MISSING:
                raise FuncError("incompatible types for comparison")
            truth = False
        elif k1 is None:
            if _is_nil(arg1) or _is_nil(arg):
                truth = _is_nil(arg1) == _is_nil(arg)
            elif isinstance(arg, dict | list | tuple):
                raise FuncError(f"non-comparable type {format_value(arg)}: {go_type_name(arg)}")
            else:
                truth = arg1 is arg
        else:
            truth = arg1 == arg
        if truth:
            return True
    return False


def _ordered(arg1: Any, arg2: Any) -> tuple[Any, Any]:
    arg1, arg2 = _unwrap(arg1), _unwrap(arg2)
    k1, k2 = _kind(arg1), _kind(arg2)
    if k1 in (None, "bool", "complex") or k2 in (None, "bool", "complex"):
        raise FuncError("invalid type for comparison")
    if k1 != k2:
        raise FuncError("incompatible types for comparison")
    return arg1, arg2


def lt(arg1: Any, arg2: Any) -> bool:
    a, b = _ordered(arg1, arg2)
    return bool(a < b)


def le(arg1: Any, arg2: Any) -> bool:
    a, b = _ordered(arg1, arg2)
    return bool(a <= b)


# --- containers ---------------------------------------------------------------------------

def _index_arg(index: Any, size: int) -> int:
    index = _unwrap(index)
    if index is MISSING:
        raise FuncError("cannot index slice/array with nil")
    if not isinstance(index, int) or isinstance(index, bool):
        raise FuncError(f"cannot index slice/array with type {go_type_name(index)}")
    if index < 0 or index > size:
        raise FuncError(f"index out of range: {index}")
    if index == size:
        raise FuncError("reflect: slice index out of range")
    return index


def index(item: Any, *indexes: Any) -> Any:
    item = _unwrap(item)
    if item is MISSING:
        raise FuncError("index of untyped nil")
    for idx in indexes:
        if _is_nil(item) or item is None:
            raise FuncError("index of nil pointer")
        if isinstance(item, list | tuple):
            item = item[_index_arg(idx, len(item))]
        elif isinstance(item, str):
            data = item.encode()
            item = data[_index_arg(idx, len(data))]
        elif isinstance(item, dict):
            idx = _unwrap(idx)
            if not isinstance(idx, str):
                raise FuncError(f"value has type {go_type_name(idx)}; should be string")
            # a missing key gives the zero value: "" for what is a map[string]string in Go
            zero = "" if all(isinstance(v, str) for v in item.values()) else None
            item = item.get(idx, zero)
        else:
            raise FuncError(f"can't index item of type {go_type_name(item)}")
    return item


def slice_(item: Any, *indexes: Any) -> Any:
    item = _unwrap(item)
    if item is MISSING:
        raise FuncError("slice of untyped nil")
    if len(indexes) > 3:
        raise FuncError(f"too many slice indexes: {len(indexes)}")
    if not isinstance(item, str | list | tuple):
        raise FuncError(f"can't slice item of type {go_type_name(item)}")
    if isinstance(item, str) and len(indexes) == 3:
        raise FuncError("cannot 3-index slice a string")
    size = len(item.encode()) if isinstance(item, str) else len(item)
    bounds = [0, size]
    for i, idx in enumerate(indexes[:2]):
        bounds[i] = _index_arg(idx, size + 1) if idx != size else size
    if bounds[0] > bounds[1]:
        raise FuncError(f"invalid slice index: {bounds[0]} > {bounds[1]}")
    if isinstance(item, str):
        return item.encode()[bounds[0]:bounds[1]].decode(errors="replace")
    return list(item[bounds[0]:bounds[1]])


def length(item: Any) -> int:
    item = _unwrap(item)
    if _is_nil(item):
        raise FuncError("len of nil pointer")
    if isinstance(item, str):
        return len(item.encode())
    if isinstance(item, list | tuple | dict):
        return len(item)
    raise FuncError(f"len of type {go_type_name(item)}")


def call(fn: Any, *args: Any) -> Any:
    """``call``; tmpl_call checks the callee first, to name it as Go does."""
    return fn(*args)


# --- escaping -----------------------------------------------------------------------------

def _text_of(args: tuple[Any, ...]) -> str:
    if len(args) == 1 and isinstance(args[0], str):
        return args[0]
    return sprint(["<no value>" if a is None or a is MISSING else a for a in args])


def html_escape(*args: Any) -> str:
    table = {'"': "&#34;", "'": "&#39;", "&": "&amp;", "<": "&lt;", ">": "&gt;", "\x00": "\ufffd"}
    return "".join(table.get(c, c) for c in _text_of(args))


def js_escape(*args: Any) -> str:
    table = {"\\": "\\\\", "'": "\\'", '"': '\\"', "<": "\\u003C", ">": "\\u003E", "&": "\\u0026",
             "=": "\\u003D"}
    out = []
    for c in _text_of(args):
        if c in table:
            out.append(table[c])
        elif c < " " or (c >= "\x7f" and not c.isprintable()):
            out.append(f"\\u{ord(c):04X}")
        else:
            out.append(c)
    return "".join(out)


def url_query(*args: Any) -> str:
    safe = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~"
    out = []
    for byte in _text_of(args).encode():
        ch = chr(byte)
        out.append(ch if ch in safe else "+" if ch == " " else f"%{byte:02X}")
    return "".join(out)


# --- docker's functions -------------------------------------------------------------------

def title(text: str) -> str:
    """``strings.Title``: upper-case the first letter of every word."""
    out, prev = [], " "
    for ch in text:
        if prev.isascii():
            sep = not (prev.isalnum() or prev == "_")
        else:
            sep = prev.isspace() or not (prev.isalpha() or prev.isdigit())
        out.append(ch.upper() if sep else ch)
        prev = ch
    return "".join(out)


def split(text: str, sep: str) -> list[str]:
    return list(text) if sep == "" else text.split(sep)


def pad(text: str, prefix: int, suffix: int) -> str:
    if text == "":
        return text
    if prefix < 0 or suffix < 0:
        raise FuncError("strings: negative Repeat count")
    return " " * prefix + text + " " * suffix


def truncate(text: str, size: int) -> str:
    if size < 0:
        raise FuncError(f"runtime error: slice bounds out of range [:{size}]")
    return text if len(text) < size else text[:size]


def _same(text: str, *_ignored: Any) -> str:
    return text


BUILTINS: dict[str, Func] = {
    "and": Func(lambda *a: a[-1], ("value",), "value", lazy=True),
    "or": Func(lambda *a: a[-1], ("value",), "value", lazy=True),
    "not": Func(lambda v: not is_true(_unwrap(v))[0], ("value",)),
    "len": Func(length, ("value",)),
    "index": Func(index, ("value",), "value"),
    "slice": Func(slice_, ("value",), "value"),
    "call": Func(call, ("value",), "value"),
    "print": Func(lambda *a: sprint(list(a)), (), "any"),
    "println": Func(lambda *a: sprintln(list(a)), (), "any"),
    "printf": Func(lambda f, *a: sprintf(f, list(a)), ("string",), "any"),
    "eq": Func(eq, ("value",), "value"),
    "ne": Func(lambda a, b: not eq(a, b), ("value", "value")),
    "lt": Func(lt, ("value", "value")),
    "le": Func(le, ("value", "value")),
    "gt": Func(lambda a, b: not le(a, b), ("value", "value")),
    "ge": Func(lambda a, b: not lt(a, b), ("value", "value")),
    "html": Func(html_escape, (), "any"),
    "js": Func(js_escape, (), "any"),
    "urlquery": Func(url_query, (), "any"),
}

DOCKER: dict[str, Func] = {
    "json": Func(go_json, ("any",)),
    "split": Func(split, ("string", "string")),
    "join": Func(lambda items, sep: sep.join(items), ("[]string", "string")),
    "title": Func(title, ("string",)),
    "lower": Func(str.lower, ("string",)),
    "upper": Func(str.upper, ("string",)),
    "pad": Func(pad, ("string", "int", "int")),
    "truncate": Func(truncate, ("string", "int")),
}

HEADER: dict[str, Func] = {
    "json": Func(_same, ("string",)),
    "split": Func(_same, ("string", "string")),
    "join": Func(_same, ("string", "string")),
    "title": Func(_same, ("string",)),
    "lower": Func(_same, ("string",)),
    "upper": Func(_same, ("string",)),
    "truncate": Func(_same, ("string", "int")),
}
