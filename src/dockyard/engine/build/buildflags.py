"""Instruction flags: declared per instruction, checked with Docker's messages; Go durations;
``RUN --mount`` specifications.

- :func:`check_flags` takes an instruction's ``(name, value)`` pairs and its declared flags
  (:class:`FlagKind`: a string given once, a repeatable string, a boolean) and returns the
  values, or raises ``Unknown flag: x`` / ``Duplicate flag specified: x`` / ``Missing a
  value on flag: x`` / ``expecting boolean value for flag x, not: y``.
- :func:`parse_duration` reads Go's ``time.ParseDuration`` syntax (``1m30s``, ``1.5h``,
  ``300ms``) into nanoseconds; :func:`format_duration` writes ``time.Duration.String()``.
- :func:`parse_mount` reads a ``--mount`` value (CSV of ``key=value``) into a :class:`Mount`
  of type ``bind`` (the default), ``cache``, ``tmpfs``, ``secret`` or ``ssh``.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, replace
from enum import Enum

from dockyard.errors import InvalidArgument


class FlagKind(Enum):
    STRING = "string"
    LIST = "list"
    BOOL = "bool"


FlagValue = str | bool | list[str] | None


def check_flags(given: tuple[tuple[str, str | None], ...],
                declared: dict[str, FlagKind]) -> dict[str, FlagValue]:
    """The flags' values by name (None for a string flag not given, False for a bool,
    ``[]`` for a list); errors name the flag as Docker does."""
    values: dict[str, FlagValue] = {}
    for name, kind in declared.items():
        values[name] = [] if kind is FlagKind.LIST else (False if kind is FlagKind.BOOL else None)
    seen: set[str] = set()
    for name, value in given:
        if name not in declared:
            raise InvalidArgument(f"Unknown flag: {name}")
        kind = declared[name]
        if kind is not FlagKind.LIST and name in seen:
            raise InvalidArgument(f"Duplicate flag specified: {name}")
        seen.add(name)
        if kind is FlagKind.BOOL:
            if value is None or value.lower() == "true":
                values[name] = True
            elif value.lower() == "false":
                values[name] = False
            else:
                raise InvalidArgument(f"expecting boolean value for flag {name}, not: {value}")
            continue
        if value is None:
            raise InvalidArgument(f"Missing a value on flag: {name}")
        if kind is FlagKind.LIST:
            listed = values[name]
            assert isinstance(listed, list)
            listed.append(value)
        else:
            values[name] = value
    return values


_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
          "m": 60_000_000_000, "h": 3_600_000_000_000}
_PART = re.compile(r"(\d*)(\.\d*)?([^\d.]*)")


def parse_duration(text: str) -> int:
    """Go's ``time.ParseDuration``: nanoseconds, or ``time: invalid duration "x"`` etc."""
    body = text
    sign = 1
    if body[:1] in ("-", "+"):
        sign = -1 if body[0] == "-" else 1
        body = body[1:]
    if body == "0":
        return 0
    if not body:
        raise InvalidArgument(f'time: invalid duration "{text}"')
    total = 0
    while body:
        match = _PART.match(body)
        assert match is not None
        whole, fraction, unit = match.group(1), match.group(2) or "", match.group(3)
        if not whole and len(fraction) <= 1:
            raise InvalidArgument(f'time: invalid duration "{text}"')
        if not unit:
            raise InvalidArgument(f'time: missing unit in duration "{text}"')
        if unit not in _UNITS:
            raise InvalidArgument(f'time: unknown unit "{unit}" in duration "{text}"')
        scale = _UNITS[unit]
        total += int(whole or "0") * scale
        if len(fraction) > 1:
            digits = fraction[1:]
            total += int(digits) * scale // 10 ** len(digits)
        body = body[match.end():]
    if total > 2**63 - 1:
        raise InvalidArgument(f'time: invalid duration "{text}"')
    return sign * total


def format_duration(nanoseconds: int) -> str:
    """Go's ``time.Duration.String()``: ``0s``, ``1.5ms``, ``1m30s``, ``1h0m0s``."""
    if nanoseconds == 0:
        return "0s"
    sign = "-" if nanoseconds < 0 else ""
    value = abs(nanoseconds)
    if value < 1_000_000_000:
        for unit, scale in (("ms", 1_000_000), ("µs", 1_000), ("ns", 1)):
            if value >= scale:
                return sign + _decimal(value, scale) + unit
    hours, rest = divmod(value, 3_600_000_000_000)
    minutes, rest = divmod(rest, 60_000_000_000)
    seconds = _decimal(rest, 1_000_000_000) + "s"
    if hours:
        return f"{sign}{hours}h{minutes}m{seconds}"
    if minutes:
        return f"{sign}{minutes}m{seconds}"
    return sign + seconds


def _decimal(value: int, scale: int) -> str:
    whole, fraction = divmod(value, scale)
    if not fraction:
        return str(whole)
    digits = str(fraction).rjust(len(str(scale)) - 1, "0").rstrip("0")
    return f"{whole}.{digits}"


MOUNT_TYPES = ("bind", "cache", "tmpfs", "secret", "ssh")
SHARING_MODES = ("shared", "private", "locked")


@dataclass(frozen=True)
class Mount:
    """One ``RUN --mount``: ``target`` in the container; ``source`` in ``from`` (a stage or
    image; the build context when empty); ``id`` for caches, secrets and ssh sockets."""

    type: str = "bind"
    target: str = ""
    source: str = ""
    from_: str = ""
    readonly: bool = False
    id: str = ""
    sharing: str = "shared"
    mode: int | None = None
    uid: int | None = None
    gid: int | None = None
    size: int | None = None
    required: bool = False
    env: str = ""


_BOOL_WORDS = {"true": True, "1": True, "false": False, "0": False}


def parse_mount(value: str) -> Mount:
    """A ``--mount`` value: ``type=cache,target=/root/.cache,sharing=locked``."""
    try:
        fields = next(csv.reader([value]))
    except (csv.Error, StopIteration):
        raise InvalidArgument(f"invalid mount specification: {value}") from None
    settings: dict[str, str | bool | int | None] = {}
    kind = "bind"
    for item in fields:
        key, eq, raw = item.partition("=")
        key = key.strip().lower()
        if key == "type":
            if raw not in MOUNT_TYPES:
                raise InvalidArgument(f"unsupported mount type {raw!r}")
            kind = raw
        elif key in ("target", "dst", "destination"):
            settings["target"] = raw
        elif key in ("source", "src"):
            settings["source"] = raw
        elif key == "from":
            settings["from_"] = raw
        elif key in ("ro", "readonly", "rw", "readwrite", "required"):
            flag = _BOOL_WORDS.get(raw.lower()) if eq else True
            if flag is None:
                raise InvalidArgument(f"invalid value for {key}: {raw}")
            if key in ("ro", "readonly"):
                settings["readonly"] = flag
            elif key == "required":
                settings["required"] = flag
            else:
                settings["readonly"] = not flag
        elif key in ("id", "env"):
            settings[key] = raw
        elif key == "sharing":
            if raw not in SHARING_MODES:
                raise InvalidArgument(f"unsupported sharing value {raw!r}")
            settings["sharing"] = raw
        elif key == "mode":
            settings["mode"] = _number(key, raw, 8)
        elif key in ("uid", "gid"):
            settings[key] = _number(key, raw, 10)
        elif key == "size":
            settings["size"] = parse_size(raw)
        else:
            raise InvalidArgument(f"unexpected key '{key}' in '{item}'")
        if not eq and key not in ("ro", "readonly", "rw", "readwrite", "required"):
            raise InvalidArgument(f"invalid field '{item}' must be a key=value pair")
    mount = Mount(type=kind, **settings)  # type: ignore[arg-type]
    if not mount.target and kind in ("bind", "cache", "tmpfs"):
        raise InvalidArgument(f"mount type {kind} requires a target: {value}")
    if kind == "secret" and not mount.target and not mount.id and not mount.env:
        raise InvalidArgument(f"secret mount requires an id or a target: {value}")
    if kind == "cache" and not mount.id:
        return replace(mount, id=mount.target)
    return mount


def _number(key: str, raw: str, base: int) -> int:
    try:
        return int(raw, base)
    except ValueError:
        raise InvalidArgument(f"invalid value for {key}: {raw}") from None


_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*([kmgtp]?)i?b?$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """A size in bytes, with Docker's binary suffixes: ``64m``, ``1g``, ``512k``, ``100``."""
    match = _SIZE.match(text.strip())
    if not match:
        raise InvalidArgument(f"invalid size: '{text}'")
    power = "kmgtp".find(match.group(2).lower()) + 1 if match.group(2) else 0
    return int(float(match.group(1)) * 1024**power)
