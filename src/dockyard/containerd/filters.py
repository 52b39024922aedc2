"""containerd's filter syntax (``pkg/filters``) over any object through an adaptor.

A filter is selectors joined by ``,`` (all must match); several filters match when any
does. A selector is a field path, optionally an operator and a value::

    name==docker.io/library/busybox:latest   labels."containerd.io/gc.root"   kind!=committed

Field path parts are separated by ``.`` and may be double-quoted; ``labels.<k>`` may also
spell a dotted key unquoted (``labels.a.b`` is the label ``a.b``). Operators: ``==``,
``!=``, ``~=`` (a regular expression, searched). Values are bare (up to the next ``,``),
double-quoted (backslash escapes) or ``/regex/``. A bare field path tests presence.

An adaptor maps a field path to ``(value, present)``; :func:`labels_adaptor` handles the
``labels`` part common to every object.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from dockyard.errors import InvalidArgument

Adaptor = Callable[[Sequence[str]], tuple[str, bool]]

_FIELD = re.compile(r"[A-Za-z0-9_\-/]+")
_OPERATORS = ("==", "!=", "~=")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "/": "/"}


@dataclass(frozen=True)
class Selector:
    fieldpath: tuple[str, ...]
    operator: str = ""  # "" tests presence
    value: str = ""
    regex: re.Pattern[str] | None = None

    def match(self, adaptor: Adaptor, casefold: frozenset[str]) -> bool:
        value, present = adaptor(self.fieldpath)
        expected = self.value
        if self.fieldpath and self.fieldpath[0] in casefold:
            value, expected = value.casefold(), expected.casefold()
        if self.operator == "":
            return present
        if self.operator == "==":
            return present and value == expected
        if self.operator == "!=":
            return value != expected
        assert self.regex is not None
        return present and self.regex.search(value) is not None


class Filter:
    """Any of several conjunctions of selectors; no filters at all match everything."""

    def __init__(self, alternatives: Sequence[Sequence[Selector]], casefold: frozenset[str]) -> None:
        self.alternatives = [tuple(group) for group in alternatives]
        self.casefold = casefold

    def match(self, adaptor: Adaptor) -> bool:
        if not self.alternatives:
            return True
        return any(all(sel.match(adaptor, self.casefold) for sel in group) for group in self.alternatives)


def parse_filters(filters: Sequence[str], casefold: Sequence[str] = ()) -> Filter:
    """Parse each filter string (empty ones are skipped). ``casefold`` names top-level
    fields compared without case (``kind``)."""
    return Filter([_Parser(text).selectors() for text in filters if text.strip()], frozenset(casefold))


def labels_adaptor(labels: Mapping[str, str], fieldpath: Sequence[str]) -> tuple[str, bool]:
    """The value of ``labels.<key>`` (the rest of the path, joined by dots)."""
    if len(fieldpath) < 2:
        return "", bool(labels) and len(fieldpath) == 1
    key = ".".join(fieldpath[1:])
    if key in labels:
        return labels[key], True
    return "", False


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def error(self, what: str) -> InvalidArgument:
        return InvalidArgument(f"filter {self.text!r}: {what} at position {self.pos}")

    def selectors(self) -> list[Selector]:
        out = [self.selector()]
        while self.pos < len(self.text):
            if self.text[self.pos] != ",":
                raise self.error("expected ','")
            self.pos += 1
            out.append(self.selector())
        return out

    def selector(self) -> Selector:
        self.skip_spaces()
        path = [self.field()]
        while self.peek("."):
            self.pos += 1
            path.append(self.field())
        self.skip_spaces()
        operator = next((op for op in _OPERATORS if self.peek(op)), "")
        if not operator:
            if self.pos < len(self.text) and not self.peek(","):
                raise self.error("expected an operator (==, !=, ~=) or ','")
            return Selector(tuple(path))
        self.pos += len(operator)
        self.skip_spaces()
        value = self.value()
        self.skip_spaces()
        regex = None
        if operator == "~=":
            try:
                regex = re.compile(value)
            except re.error as exc:
                raise self.error(f"bad regular expression {value!r}: {exc}") from None
        return Selector(tuple(path), operator, value, regex)

    def skip_spaces(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def peek(self, token: str) -> bool:
        return self.text.startswith(token, self.pos)

    def field(self) -> str:
        if self.peek('"'):
            return self.quoted('"')
        match = _FIELD.match(self.text, self.pos)
        if not match:
            raise self.error("expected a field name")
        self.pos = match.end()
        return match.group()

    def value(self) -> str:
        if self.peek('"'):
            return self.quoted('"')
        if self.peek("/"):
            return self.quoted("/")
        end = self.text.find(",", self.pos)
        end = len(self.text) if end < 0 else end
        value = self.text[self.pos:end].strip()
        if not value:
            raise self.error("expected a value")
        self.pos = end
        return value

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
                    out.append("\\" + nxt)  # regex escapes stay as they are
                else:
                    out.append(_ESCAPES.get(nxt, "\\" + nxt))
                continue
            out.append(ch)
        raise self.error(f"unterminated {quote}")
