"""``WWW-Authenticate`` challenges (RFC 7235) as registries send them.

A registry that wants credentials answers 401 with one or more challenges::

    WWW-Authenticate: Bearer realm="https://auth.docker.io/token",service="registry.docker.io",
                      scope="repository:library/busybox:pull"
    WWW-Authenticate: Basic realm="basic-realm"

Several challenges may share one header (``Basic realm="x", Bearer realm="y"``) and several
headers are joined with commas by the HTTP library, so one parser reads both. A challenge is
a scheme followed either by ``name=value`` parameters (values are tokens or quoted strings
with backslash escapes) or by one token68. Scheme and parameter names are case-insensitive
and kept in lower case. Malformed text is skipped, never fatal: a registry with a sloppy
header still gets a chance with what could be read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

_TCHAR = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_TOKEN68 = _TCHAR | frozenset("/")
_SPACE = " \t"


@dataclass(frozen=True)
class Challenge:
    """One challenge: ``scheme`` (lower case: ``bearer``, ``basic``), its parameters (names in
    lower case) and its token68 ("" when it has parameters instead)."""

    scheme: str
    params: dict[str, str] = field(default_factory=dict)
    token68: str = ""

    @property
    def realm(self) -> str:
        return self.params.get("realm", "")

    @property
    def service(self) -> str:
        return self.params.get("service", "")

    @property
    def scopes(self) -> list[str]:
        """The ``scope`` parameter split at spaces (a token server may ask for several)."""
        return self.params.get("scope", "").split()

    @property
    def error(self) -> str:
        """The bearer ``error`` parameter (``invalid_token``, ``insufficient_scope``), if any."""
        return self.params.get("error", "")


def parse_challenges(header: str) -> list[Challenge]:
    """Every challenge in ``header`` (several headers joined with ``,`` are fine), in order."""
    challenges: list[Challenge] = []
    pos, end = 0, len(header)
    current: Challenge | None = None
    after_comma = True  # a new scheme may start only at the beginning or after a comma
    while pos < end:
        if header[pos] in _SPACE:
            pos += 1
            continue
        if header[pos] == ",":
            after_comma = True
            pos += 1
            continue
        token, token_end = _token(header, pos)
        if not token:
            pos = _skip_to_comma(header, pos)  # garbage: drop it up to the next item
            continue
        look = _skip(header, token_end)
        is_param = look < end and header[look] == "=" and not _ends_token68(header, look)
        if is_param and current is not None:
            value, pos = _value(header, _skip(header, look + 1))
            current.params[token.lower()] = value
            after_comma = False
            continue
        if current is not None and not after_comma and not current.params and not current.token68:
            # Directly after the scheme: a token68 (``Negotiate abc==``), not a new scheme.
            token68, pos = _read_token68(header, pos)
            challenges[-1] = current = Challenge(current.scheme, current.params, token68)
            continue
        if is_param:  # a parameter before any scheme: skip it
            _, pos = _value(header, _skip(header, look + 1))
            continue
        current = Challenge(token.lower())
        challenges.append(current)
        pos = token_end
        after_comma = False
    return challenges


def _skip(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in _SPACE:
        pos += 1
    return pos


def _token(text: str, pos: int) -> tuple[str, int]:
    start = pos
    while pos < len(text) and text[pos] in _TCHAR:
        pos += 1
    return text[start:pos], pos


def _skip_to_comma(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] != ",":
        pos += 1
    return pos


def _ends_token68(text: str, pos: int) -> bool:
    """At ``pos`` is ``=``: True when it is token68 padding (``abc==``, ``abc=,``), not ``name=``."""
    rest = text[pos:]
    stripped = rest.lstrip("=")
    return len(rest) - len(stripped) > 1 or not stripped.strip(_SPACE) or stripped.lstrip(_SPACE)[:1] == ","


def _read_token68(text: str, pos: int) -> tuple[str, int]:
    start = pos
    while pos < len(text) and text[pos] in _TOKEN68:
        pos += 1
    while pos < len(text) and text[pos] == "=":
        pos += 1
    return text[start:pos], pos


def _value(text: str, pos: int) -> tuple[str, int]:
    """A token or a quoted string at ``pos``; returns (value, position after it)."""
    if pos < len(text) and text[pos] == '"':
        out: list[str] = []
        pos += 1
        while pos < len(text):
            char = text[pos]
            if char == "\\" and pos + 1 < len(text):
                out.append(text[pos + 1])
                pos += 2
                continue
            if char == '"':
                return "".join(out), pos + 1
            out.append(char)
            pos += 1
        return "".join(out), pos  # unterminated: take what there is
    start = pos
    while pos < len(text) and text[pos] not in ", \t":
        pos += 1
    return text[start:pos], pos
