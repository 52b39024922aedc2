"""Times on the command line and in output, as docker's client reads and prints them.

- ``get_timestamp`` is docker's ``timetypes.GetTimestamp`` for ``--since``/``--until``
  (events, logs): a Go duration (``10m``: that long before now), an RFC 3339 date or time
  (``2025-11-28``, ``2025-11-28T13:00``, ``...T13:00:00.5Z``, with or without zone; without
  one the local zone) or a unix timestamp (``1764334800.5``, passed on as it is). The API
  gets ``seconds.nanoseconds``.
- ``rfc3339`` / ``rfc3339_nano_fixed`` print a time in the local zone as Go's
  ``time.RFC3339`` and jsonmessage's ``RFC3339NanoFixed`` (``...T13:00:00.000000000Z``).
"""

from __future__ import annotations

import time

from dockyard.cli.flags import parse_duration
from dockyard.cli.tables import _days_from_civil

_DATE_LOCAL = "2006-01-02"
_DATE_ZONE = "2006-01-02Z07:00"
_RFC3339_LOCAL = "2006-01-02T15:04:05"
_RFC3339_NANO_LOCAL = "2006-01-02T15:04:05.999999999"
_RFC3339 = "2006-01-02T15:04:05Z07:00"
_RFC3339_NANO = "2006-01-02T15:04:05.999999999Z07:00"


class _ParseError(ValueError):
    pass


def _digits(text: str, start: int, count: int, value: str, layout: str) -> int:
    part = text[start:start + count]
    if len(part) != count or not part.isdigit():
        raise _ParseError(f'parsing time "{value}" as "{layout}": cannot parse "{text[start:]}" as '
                          f'"{_element(layout, start)}"')
    return int(part)


def _element(layout: str, pos: int) -> str:
    for element in ("2006", "01", "02", "15", "04", "05", "Z07:00", ".999999999"):
        if layout.startswith(element, pos):
            return element
    return layout[pos:pos + 1]


def _parse(value: str, layout: str) -> tuple[int, int, int, int, int, int, int, int | None]:
    """(year, month, day, hour, minute, second, nanoseconds, UTC offset or None) of ``value``."""
    pos = 0
    fields = [0, 1, 1, 0, 0, 0]
    nanos = 0
    offset: int | None = None
    lpos = 0
    plan = [("2006", 0, 4), ("-", None, 1), ("01", 1, 2), ("-", None, 1), ("02", 2, 2), ("T", None, 1),
            ("15", 3, 2), (":", None, 1), ("04", 4, 2), (":", None, 1), ("05", 5, 2)]
    for element, index, width in plan:
        if not layout.startswith(element, lpos):
            break
        if index is None:
            if value[pos:pos + 1] != element:
                raise _ParseError(f'parsing time "{value}" as "{layout}": cannot parse "{value[pos:]}" as '
                                  f'"{element}"')
        else:
            fields[index] = _digits(value, pos, width, value, layout)
        pos += width
        lpos += len(element)
    if layout.startswith(".999999999", lpos):
        lpos += len(".999999999")
        if value[pos:pos + 1] in (".", ","):
            end = pos + 1
            while end < len(value) and value[end].isdigit():
                end += 1
            nanos = int((value[pos + 1:end] + "000000000")[:9] or "0")
            pos = end
    if layout.startswith("Z07:00", lpos):
        lpos += len("Z07:00")
        zone = value[pos:]
        if zone in ("Z", "z"):
            offset, pos = 0, len(value)
        elif len(zone) >= 6 and zone[0] in "+-" and zone[3] == ":" and zone[1:3].isdigit() and zone[4:6].isdigit():
            offset = (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60) * (-1 if zone[0] == "-" else 1)
            pos += 6
        else:
            raise _ParseError(f'parsing time "{value}" as "{layout}": cannot parse "{zone}" as "Z07:00"')
    if pos != len(value):
        raise _ParseError(f'parsing time "{value}": extra text: "{value[pos:]}"')
    year, month, day, hour, minute, second = fields
    if not 1 <= month <= 12:
        raise _ParseError(f'parsing time "{value}": month out of range')
    if not 1 <= day <= _days_in(year, month):
        raise _ParseError(f'parsing time "{value}": day out of range')
    if hour > 23:
        raise _ParseError(f'parsing time "{value}": hour out of range')
    if minute > 59:
        raise _ParseError(f'parsing time "{value}": minute out of range')
    if second > 59:
        raise _ParseError(f'parsing time "{value}": second out of range')
    return year, month, day, hour, minute, second, nanos, offset


def _days_in(year: int, month: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _layout(value: str) -> tuple[str, bool]:
    in_location = not (any(c in value for c in "zZ+") or value.count("-") == 3)
    if "." in value:
        return (_RFC3339_NANO_LOCAL if in_location else _RFC3339_NANO), in_location
    if "T" in value:
        colons = value.count(":")
        if not in_location and not any(c in value for c in "zZ") and colons > 0:
            colons -= 1
        if in_location:
            return {0: "2006-01-02T15", 1: "2006-01-02T15:04"}.get(colons, _RFC3339_LOCAL), True
        return {0: "2006-01-02T15Z07:00", 1: "2006-01-02T15:04Z07:00"}.get(colons, _RFC3339), False
    return (_DATE_LOCAL if in_location else _DATE_ZONE), in_location


def _unix_timestamp(value: str) -> bool:
    """docker's parseTimestamp: ``seconds`` or ``seconds.nanoseconds``, digits only."""
    sec, dot, nano = value.partition(".")
    return sec.isdigit() and (not dot or nano.isdigit())


def get_timestamp(value: str, now: float | None = None) -> str:
    """docker's GetTimestamp: ``value`` as the API's ``seconds[.nanoseconds]``; ValueError on bad input."""
    reference = time.time() if now is None else now
    if value != "0":
        try:
            return str(int((reference - parse_duration(value)) // 1))
        except ValueError:
            pass
    layout, in_location = _layout(value)
    try:
        year, month, day, hour, minute, second, nanos, offset = _parse(value, layout)
    except _ParseError as exc:
        if "-" in value:
            raise ValueError(str(exc)) from None
        if not _unix_timestamp(value):
            raise ValueError(f'failed to parse value as time or duration: "{value}"') from None
        return value
    if in_location or offset is None:
        seconds = int(time.mktime((year, month, day, hour, minute, second, 0, 0, -1)))
    else:
        seconds = _days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset
    return f"{seconds}.{nanos:09d}"


def _zone(local: time.struct_time) -> str:
    offset = local.tm_gmtoff or 0
    if offset == 0:
        return "Z"
    sign = "-" if offset < 0 else "+"
    offset = abs(offset)
    return f"{sign}{offset // 3600:02d}:{offset % 3600 // 60:02d}"


def rfc3339(seconds: float) -> str:
    """Go's ``time.Unix(s, 0).Format(time.RFC3339)`` in the local zone."""
    local = time.localtime(seconds)
    return time.strftime("%Y-%m-%dT%H:%M:%S", local) + _zone(local)


def rfc3339_nano_fixed(nanoseconds: int) -> str:
    """jsonmessage's RFC3339NanoFixed in the local zone: ``2025-11-28T13:00:00.123456789Z``."""
    seconds, nanos = divmod(nanoseconds, 1_000_000_000)
    local = time.localtime(seconds)
    return time.strftime("%Y-%m-%dT%H:%M:%S", local) + f".{nanos:09d}" + _zone(local)
