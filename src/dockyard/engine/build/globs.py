"""Go's ``filepath.Match`` patterns as Python regular expressions.

:func:`compile_glob` turns a pattern into an anchored regular expression over a whole
slash-separated path: ``*`` matches any run of characters but ``/``, ``?`` one character but
``/``, ``[...]`` a class (``[^...]`` negated, ``a-z`` ranges, ``\\`` escapes inside), ``\\x``
the character ``x``. With ``double_star`` (``.dockerignore``), ``**`` matches any number of
directories, zero included (``**/`` and a ``**`` in the middle become ``(.*/)?``, a trailing
``**`` becomes ``.*``), as Docker's pattern matcher does. A malformed pattern raises
:class:`~dockyard.errors.InvalidArgument` naming it, as Go's ``ErrBadPattern``.
"""

from __future__ import annotations

from dockyard.errors import InvalidArgument

TYPE_CHECKING = False
if TYPE_CHECKING:
    import re

MAGIC = frozenset("*?[\\")


def has_magic(pattern: str) -> bool:
    """Whether ``pattern`` has wildcards (Docker's ``containsWildcards``: ``*``, ``?``, ``[``, ``\\``)."""
    return any(ch in MAGIC for ch in pattern)


def _bad(pattern: str) -> InvalidArgument:
    return InvalidArgument(f"syntax error in pattern: {pattern}")


def _char_class(pattern: str, i: int) -> tuple[str, int]:
    """The regex class for the ``[...]`` starting at ``pattern[i] == "["``; the index after it."""
    import re  # lazily: the CLI imports this module, and re costs it ~3 ms
    i += 1
    negate = i < len(pattern) and pattern[i] == "^"
    if negate:
        i += 1
    parts: list[str] = []
    while True:
        if i >= len(pattern):
            raise _bad(pattern)
        if pattern[i] == "]" and parts:
            i += 1
            break
        lo, i = _class_char(pattern, i)
        if i < len(pattern) and pattern[i] == "-":
            hi, i = _class_char(pattern, i + 1)
            if hi < lo:
                raise _bad(pattern)
            parts.append(f"{re.escape(lo)}-{re.escape(hi)}")
        else:
            parts.append(re.escape(lo))
    body = "".join(parts)
    return (f"[^{body}]" if negate else f"[{body}]"), i


def _class_char(pattern: str, i: int) -> tuple[str, int]:
    """One character of a class (Go's getEsc: an unescaped ``-`` or ``]`` is malformed)."""
    if i >= len(pattern):
        raise _bad(pattern)
    ch = pattern[i]
    if ch in "-]":
        raise _bad(pattern)
    if ch == "\\":
        i += 1
        if i >= len(pattern):
            raise _bad(pattern)
        return pattern[i], i + 1
    return ch, i + 1


def translate(pattern: str, double_star: bool = False) -> str:
    """The anchored regular expression source for ``pattern``."""
    import re  # lazily: the CLI imports this module, and re costs it ~3 ms
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "*":
            if double_star and i + 1 < n and pattern[i + 1] == "*":
                i += 2
                if i < n and pattern[i] == "/":
                    i += 1
                out.append(".*" if i >= n else "(?:.*/)?")
                continue
            out.append("[^/]*")
            i += 1
        elif ch == "?":
            out.append("[^/]")
            i += 1
        elif ch == "[":
            cls, i = _char_class(pattern, i)
            out.append(cls)
        elif ch == "\\":
            if i + 1 >= n:
                raise _bad(pattern)
            out.append(re.escape(pattern[i + 1]))
            i += 2
        else:
            out.append(re.escape(ch))
            i += 1
    return "^" + "".join(out) + "$"


def compile_glob(pattern: str, double_star: bool = False) -> re.Pattern[str]:
    """``pattern`` compiled (see the module docstring)."""
    import re  # lazily: the CLI imports this module, and re costs it ~3 ms
    return re.compile(translate(pattern, double_star), re.DOTALL)


def match(pattern: str, name: str) -> bool:
    """Go's ``filepath.Match(pattern, name)`` on slash-separated paths."""
    return compile_glob(pattern).match(name) is not None
