"""Reading a registry's answers: error bodies as dockyard errors, and the headers the
distribution API relies on (``Link`` for pages, ``Range`` of uploads, ``Location``,
``Retry-After``).

Error bodies are the spec's ``{"errors": [{"code": "MANIFEST_UNKNOWN", "message": ...,
"detail": ...}]}``. :func:`error_for` turns a final (not retried) answer into the error
vocabulary: 404 is NotFound (``manifest unknown: docker.io/library/x:tag not found``),
401/403 PermissionDenied, 400 InvalidArgument, 405 NotImplementedYet, 429 and 5xx
Unavailable. Every message names the object (a :class:`Subject`) in one line.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin

from dockyard.errors import (
    DockyardError,
    FailedPrecondition,
    Internal,
    InvalidArgument,
    NotFound,
    NotImplementedYet,
    PermissionDenied,
    Unavailable,
)

TRANSIENT_STATUSES = frozenset((408, 429, 500, 502, 503, 504))
_MAX_MESSAGE = 200


@dataclass(frozen=True)
class Subject:
    """What a request is about: ``kind`` (manifest, blob, repository, upload, tags) and
    ``name`` (``127.0.0.1:5000/app:1``, ``docker.io/library/x@sha256:...``)."""

    kind: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind} {self.name}"


def registry_errors(body: bytes) -> list[tuple[str, str]]:
    """The (code, message) pairs of an error body; [] when it is not one."""
    try:
        doc = json.loads(body.decode("utf-8", errors="replace")) if body else None
    except ValueError:
        return []
    items = doc.get("errors") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        return []
    out = []
    for item in items:
        if isinstance(item, dict):
            code = item.get("code")
            message = item.get("message")
            out.append((code if isinstance(code, str) else "", message if isinstance(message, str) else ""))
    return out


def describe(status: int, reason: str, body: bytes) -> str:
    """A short text for an answer: the registry's first error message, else the status."""
    errors = registry_errors(body)
    if errors:
        code, message = errors[0]
        text = message or code.lower().replace("_", " ")
    else:
        text = f"HTTP {status}" + (f" {reason}" if reason else "")
    return " ".join(text.split())[:_MAX_MESSAGE]


def error_for(status: int, reason: str, body: bytes, subject: Subject, host: str,
              *, attempts: int = 1, authenticated: bool = True) -> DockyardError:
    """The dockyard error for a final answer ``status`` about ``subject`` from ``host``."""
    errors = registry_errors(body)
    text = describe(status, reason, body)
    if status == 404:
        unknown = errors[0][1] if errors and errors[0][1] else f"{subject.kind} unknown"
        return NotFound(f"{' '.join(unknown.split())[:_MAX_MESSAGE]}: {subject.name} not found")
    if status in (401, 403):
        hint = "" if authenticated else f" (no credentials for {host}: log in first)"
        return PermissionDenied(f"access to {subject} denied: {text}{hint}")
    if status in TRANSIENT_STATUSES:
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        return Unavailable(f"registry {host} answered {text} for {subject}{tries}")
    if status == 405:
        return NotImplementedYet(f"{subject}: the registry {host} does not support this ({text})")
    if status in (409, 412, 416):
        return FailedPrecondition(f"{subject}: {text}")
    if status == 413:
        return InvalidArgument(f"{subject}: too large for the registry {host} ({text})")
    if 400 <= status < 500:
        return InvalidArgument(f"{subject}: {text}")
    return Internal(f"{subject}: unexpected answer from {host}: {text}")


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date), None if absent
    or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def next_link(header: str | None, base: str) -> str | None:
    """The absolute URL of the ``rel="next"`` entry of a ``Link`` header, None without one."""
    if not header:
        return None
    for part in _split_links(header):
        url_part, _, params = part.partition(";")
        url_part = url_part.strip()
        if not (url_part.startswith("<") and url_part.endswith(">")):
            continue
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "rel" and "next" in value.strip().strip('"').lower().split():
                return urljoin(base, url_part[1:-1])
    return None


def _split_links(header: str) -> list[str]:
    """Split at commas that are outside ``<...>`` and quotes."""
    parts: list[str] = []
    current: list[str] = []
    in_url = in_quote = False
    for char in header:
        if char == "<" and not in_quote:
            in_url = True
        elif char == ">" and not in_quote:
            in_url = False
        elif char == '"' and not in_url:
            in_quote = not in_quote
        if char == "," and not in_url and not in_quote:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return [part for part in parts if part.strip()]


def upload_offset(range_header: str | None) -> int | None:
    """The next byte to send after an upload answer's ``Range: 0-<end>`` (None if absent)."""
    if not range_header:
        return None
    value = range_header.strip()
    if value.lower().startswith("bytes="):
        value = value[6:]
    start, dash, end = value.partition("-")
    if not dash or not start.strip().isdigit() or not end.strip().isdigit():
        return None
    return int(end) + 1


def content_range_start(header: str | None) -> int | None:
    """The first byte of a 206 answer's ``Content-Range: bytes <start>-<end>/<total>``."""
    if not header:
        return None
    value = header.strip()
    if not value.lower().startswith("bytes "):
        return None
    start = value[6:].split("-", 1)[0].strip()
    return int(start) if start.isdigit() else None


def resolve_location(location: str | None, base: str, subject: Subject) -> str:
    """An upload's ``Location`` (relative or absolute) made absolute against ``base``."""
    if not location:
        raise Internal(f"{subject}: the registry gave no Location for the upload")
    return urljoin(base, location)
