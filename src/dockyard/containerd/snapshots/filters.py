"""containerd's filter syntax, applied to snapshot :class:`Info` (``Walk(..., filters)``).

A filter is selectors joined by ``,`` (all must match); several filters match when any does.
A selector is a field path, optionally an operator and a value::

    kind==committed   parent==base   name~=^sha256:   labels."com.example/x"==1   labels.ready

Field path parts are separated by ``.`` and may be double-quoted; ``labels.<k>`` may also
spell a dotted key unquoted (``labels.a.b`` is the label ``a.b``). Operators: ``==``, ``!=``,
``~=`` (a regular expression, searched). Values are bare (up to the next ``,``), double-quoted
(with backslash escapes) or ``/regex/``. A bare field path tests presence. ``kind`` compares
without case (containerd prints ``committed``; our constants say ``Committed``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from dockyard.containerd.snapshots import Info
from dockyard.errors import InvalidArgument

_FIELD = re.compile(r"[A-Za-z0-9_\-/]+")
_OPERATORS = ("==", "!=", "~=")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "/": "/", "0": "\0"}


@dataclass(frozen=True)
class Selector:
    fieldpath: tuple[str, ...]
    operator: str = ""  # "" for presence
    value: str = ""
    regex: re.Pattern[str] | None = None


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def error(self, what: str) -> InvalidArgument:
        return InvalidArgument(f"filter {self.text!r}: {what} at position {self.pos}")

    def skip_spaces(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def peek(self, token: str) -> bool:
        return self.text.startswith(token, self.pos)

    def quoted(self, quote: str) -> str:
        out: list[str] = []
        self.pos += 1
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            self.pos += 1
            if ch == quote:
                return "".join(out)
            if ch == "\\" and self.pos < len(self.text):
                nxt = self.text[self.pos]
                self.pos += 1
                if quote == "/" and nxt != "/":
                    out.append("\\" + nxt)  # keep regex escapes as they are
                else:
                    out.append(_ESCAPES.get(nxt, "\\" + nxt))
                continue
            out.append(ch)
        raise self.error(f"unterminated {quote}")

    def field(self) -> str:
        if self.peek('"'):
            return self.quoted('"')
        match = _FIELD.match(self.text, self.pos)
        if not match:
            raise self.error("expected a field name")
        self.pos = match.end()
        return match.group()

    def value(self) -> str:
        self.skip_spaces()
        if self.peek('"'):
            return self.quoted('"')
        if self.peek("/"):
            return self.quoted("/")
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] != "," and not self.text[self.pos].isspace():
            self.pos += 1
        if self.pos == start:
            raise self.error("expected a value")
        return self.text[start : self.pos]


def parse(text: str) -> list[Selector]:
    """One filter string -> its selectors (all must match). InvalidArgument when malformed."""
    sc = _Scanner(text)
    selectors: list[Selector] = []
    while True:
        sc.skip_spaces()
        path = [sc.field()]
        while sc.peek("."):
            sc.pos += 1
            path.append(sc.field())
        sc.skip_spaces()
        op = next((o for o in _OPERATORS if sc.peek(o)), "")
        value, regex = "", None
        if op:
            sc.pos += 2
            value = sc.value()
            if op == "~=":
                try:
                    regex = re.compile(value, re.IGNORECASE if path == ["kind"] else 0)
                except re.error as exc:
                    raise sc.error(f"bad regular expression {value!r} ({exc})") from None
        selectors.append(Selector(tuple(path), op, value, regex))
        sc.skip_spaces()
        if sc.pos >= len(text):
            return selectors
        if not sc.peek(","):
            raise sc.error("expected ',' or an operator (==, !=, ~=)")
        sc.pos += 1


def _field(info: Info, path: tuple[str, ...]) -> tuple[str, bool]:
    head, rest = path[0], path[1:]
    if head == "labels" and rest:
        key = ".".join(rest)
        return info.labels.get(key, ""), key in info.labels
    if rest:
        return "", False
    if head == "kind":
        return info.kind.lower(), True
    if head == "name":
        return info.name, bool(info.name)
    if head == "parent":
        return info.parent, bool(info.parent)
    return "", False


def _match(sel: Selector, info: Info) -> bool:
    value, present = _field(info, sel.fieldpath)
    want = sel.value.lower() if sel.fieldpath == ("kind",) else sel.value
    if sel.operator == "":
        return present
    if sel.operator == "==":
        return present and value == want
    if sel.operator == "!=":
        return value != want
    assert sel.regex is not None
    return sel.regex.search(value) is not None


class Filter:
    """Several filter strings: a snapshot matches when any of them matches (none: all do)."""

    def __init__(self, filters: Sequence[str] = ()) -> None:
        self.alternatives = [parse(f) for f in filters if f.strip()]

    def match(self, info: Info) -> bool:
        if not self.alternatives:
            return True
        return any(all(_match(s, info) for s in sels) for sels in self.alternatives)
