"""Typed reading of decoded JSON for the image model, and the small record base class.

Each reader takes the value and ``where``, the field path used in the message
(``manifest: layers[2].digest``), and raises ``InvalidArgument`` naming it. ``null`` counts
as absent, as in Go. :class:`Record` gives the image model's classes equality and a repr
from their ``__slots__`` (``dataclasses`` is too slow to import here).
"""

from __future__ import annotations

from dockyard.errors import InvalidArgument

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NoReturn


class Record:
    """Equality and a readable repr over ``__slots__`` (unhashable unless a subclass says so)."""

    __slots__: tuple[str, ...] = ()

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, Record)
        return self._values() == other._values()

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__name__}({inner})"


def child(where: str, name: str) -> str:
    """The path of field ``name`` under ``where``: ``manifest: layers[2]``, ``...layers[2].digest``.

    A ``where`` without ``: ``, ``.`` or ``[`` is a document's name and takes ``: ``.
    """
    if not where:
        return name
    if ": " in where or "." in where or "[" in where:
        return f"{where}.{name}"
    return f"{where}: {name}"


def fail(where: str, problem: str) -> NoReturn:
    raise InvalidArgument(f"{where}: {problem}")


def obj(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        fail(where, f"must be an object, not {_kind(value)}")
    return value


def opt_obj(value: Any, where: str) -> dict[str, Any]:
    return {} if value is None else obj(value, where)


def string(value: Any, where: str) -> str:
    if not isinstance(value, str):
        fail(where, f"must be a string, not {_kind(value)}")
    return value


def opt_str(value: Any, where: str) -> str:
    return "" if value is None else string(value, where)


def required_str(doc: dict[str, Any], key: str, where: str) -> str:
    """``doc[key]``: present and a non-empty string."""
    path = child(where, key)
    if doc.get(key) is None:
        fail(path, "required")
    value = string(doc[key], path)
    if not value:
        fail(path, "must not be empty")
    return value


def integer(value: Any, where: str, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        fail(where, f"must be an integer, not {_kind(value)}")
    if minimum is not None and value < minimum:
        fail(where, f"must be at least {minimum}, not {value}")
    return value


def opt_int(value: Any, where: str, minimum: int | None = None) -> int:
    return 0 if value is None else integer(value, where, minimum)


def opt_bool(value: Any, where: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        fail(where, f"must be true or false, not {_kind(value)}")
    return value


def str_list(value: Any, where: str) -> list[str]:
    """A list of strings; ``null`` is the empty list."""
    if value is None:
        return []
    if not isinstance(value, list):
        fail(where, f"must be a list, not {_kind(value)}")
    for n, item in enumerate(value):
        string(item, f"{where}[{n}]")
    return list(value)


def opt_str_list(value: Any, where: str) -> list[str] | None:
    """Like :func:`str_list`, but ``null`` (or absent) stays ``None``: ``[]`` means something."""
    return None if value is None else str_list(value, where)


def str_map(value: Any, where: str) -> dict[str, str]:
    """An object of string values (annotations, labels); ``null`` is empty."""
    result = opt_obj(value, where)
    for key, item in result.items():
        string(item, f"{where}[{key!r}]")
    return dict(result)


def key_set(value: Any, where: str) -> list[str]:
    """Go's ``map[string]struct{}`` (``{"80/tcp": {}}``): the keys, in document order."""
    result = opt_obj(value, where)
    for key, item in result.items():
        if item is not None and not isinstance(item, dict):
            fail(f"{where}[{key!r}]", f"must be an object, not {_kind(item)}")
    return list(result)


def digest(value: Any, where: str) -> str:
    from dockyard.oci.digest import parse_digest  # hashlib costs ~3 ms: only when needed

    text = string(value, where)
    try:
        parse_digest(text)
    except InvalidArgument as exc:
        fail(where, exc.message)
    return text


def sorted_map(values: dict[str, Any]) -> dict[str, Any]:
    """A copy with sorted keys: Go writes maps in key order."""
    return {key: values[key] for key in sorted(values)}


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
