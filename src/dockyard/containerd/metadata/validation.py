"""Checks and conversions shared by the metadata stores, as containerd's ``identifiers``
and ``labels`` packages: identifiers (namespaces, lease ids), labels (size limit, update by
field path), the ``containerd.io/gc.expire`` timestamps (RFC 3339) and label storage (JSON).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from dockyard.errors import InvalidArgument

MAX_LABEL_SIZE = 4096  # bytes of key plus value
MAX_IDENTIFIER_LENGTH = 76
_IDENTIFIER = re.compile(r"[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*")


def validate_identifier(value: str, what: str = "identifier") -> str:
    """A namespace or lease id: alphanumerics joined by single ``.``, ``_`` or ``-``."""
    if not value:
        raise InvalidArgument(f"{what} must not be empty")
    if len(value) > MAX_IDENTIFIER_LENGTH:
        raise InvalidArgument(f"{what} {value!r} is longer than {MAX_IDENTIFIER_LENGTH} characters")
    if not _IDENTIFIER.fullmatch(value):
        raise InvalidArgument(f"{what} {value!r} must match {_IDENTIFIER.pattern}")
    return value


def validate_labels(labels: Mapping[str, str] | None, what: str) -> dict[str, str]:
    """A copy of ``labels`` without empty values (they mean "no label"), each checked."""
    out: dict[str, str] = {}
    for key, value in (labels or {}).items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise InvalidArgument(f"{what}: labels must map strings to strings, got {key!r}: {value!r}")
        if not key:
            raise InvalidArgument(f"{what}: label key must not be empty")
        size = len(key.encode()) + len(value.encode())
        if size > MAX_LABEL_SIZE:
            raise InvalidArgument(
                f"{what}: label {key[:64]!r}: key and value are {size} bytes, more than {MAX_LABEL_SIZE}")
        if value:
            out[key] = value
    return out


def update_labels(current: Mapping[str, str], given: Mapping[str, str] | None,
                  fieldpaths: Sequence[str], what: str) -> dict[str, str]:
    """The labels after an update: all of ``given`` when ``fieldpaths`` is empty or holds
    ``labels``; for ``labels.<key>`` only that key (absent or empty in ``given``: removed).
    Other field paths are InvalidArgument."""
    given = given or {}
    if not fieldpaths:
        return validate_labels(given, what)
    out = dict(current)
    for path in fieldpaths:
        if path == "labels":
            out = dict(given)
        elif path.startswith("labels."):
            key = path[len("labels."):]
            out[key] = given.get(key, "")
        else:
            raise InvalidArgument(f"cannot update {path!r} field on {what}")
    return validate_labels(out, what)


def dumps(mapping: Mapping[str, str]) -> str:
    """Labels or annotations as stored in the database."""
    return json.dumps(dict(mapping), sort_keys=True, separators=(",", ":"))


def loads(text: str | None) -> dict[str, str]:
    if not text:
        return {}
    value = json.loads(text)
    return {str(k): str(v) for k, v in value.items()}


def format_time(seconds: float) -> str:
    """RFC 3339 in UTC (the format of ``containerd.io/gc.expire``)."""
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_time(value: str) -> float | None:
    """Seconds since the epoch of an RFC 3339 time, None if it is not one."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None  # RFC 3339 requires an offset
    return parsed.timestamp()
