"""The human-readable values docker prints in its tables, computed as docker computes them.

- sizes: ``human_size`` is go-units ``HumanSizeWithPrecision`` (decimal units: ``1.23kB``,
  ``187MB``; docker uses precision 3 for image and container sizes, 4 for ``system df``),
  ``bytes_size`` is ``BytesSize`` (binary units: ``1.5MiB``, as ``docker stats`` shows memory).
- times: ``human_duration`` is go-units ``HumanDuration`` (``About a minute``, ``2 hours``),
  ``time_ago`` adds `` ago``, ``status`` is the daemon's container status (``Up 3 seconds``,
  ``Exited (0) 2 minutes ago``, ``Up 2 minutes (Paused)``, ``Created``), ``parse_time`` reads
  the API's RFC 3339 timestamps, ``go_time`` prints ``time.Time.String()``, ``ansic`` Go's
  ``time.ANSIC`` layout.
- ids and text: ``truncate_id`` (12 characters, without ``sha256:``), ``ellipsis`` (docker's
  ``formatter.Ellipsis``, by display width), ``command`` (``docker ps``'s quoted, ellipsized
  COMMAND column), ``ports`` (``docker ps``'s PORTS column).
"""

from __future__ import annotations

from dockyard.cli.gofmt import quote
from dockyard.cli.tabwriter import display_width

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from typing import Any

_DECIMAL = ("B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")
_BINARY = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB")
ZERO_TIME = -62135596800.0  # 0001-01-01T00:00:00Z, Go's zero time, as a unix timestamp


def _scaled(size: float, base: float, units: tuple[str, ...]) -> tuple[float, str]:
    i = 0
    while size >= base and i < len(units) - 1:
        size /= base
        i += 1
    return size, units[i]


def human_size(size: float, precision: int = 4) -> str:
    """go-units HumanSizeWithPrecision: ``"%.*g%s"`` in decimal units (``4.096kB``)."""
    value, unit = _scaled(float(size), 1000.0, _DECIMAL)
    return f"{value:.{precision}g}{unit}"


def bytes_size(size: float) -> str:
    """go-units BytesSize: ``"%.4g%s"`` in binary units (``44KiB``, ``1.5MiB``)."""
    value, unit = _scaled(float(size), 1024.0, _BINARY)
    return f"{value:.4g}{unit}"


def human_duration(seconds: float) -> str:
    """go-units HumanDuration: ``Less than a second``, ``About a minute``, ``3 weeks``..."""
    secs = int(seconds)
    if secs < 1:
        return "Less than a second"
    if secs == 1:
        return "1 second"
    if secs < 60:
        return f"{secs} seconds"
    minutes = int(seconds / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(seconds / 3600 + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds / 3600) // 24 // 365} years"


def _now(now: float | None) -> float:
    if now is not None:
        return now
    import time

    return time.time()


def time_ago(timestamp: float, now: float | None = None) -> str:
    """``2 hours ago``: how docker shows CREATED (computed on the client, as docker does)."""
    return human_duration(_now(now) - timestamp) + " ago"


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    year -= month <= 2
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468


def _rfc3339(text: str) -> tuple[int, int, int, int, int, int, float, int]:
    """(year, month, day, hour, minute, second, fraction, UTC offset in seconds) of an API time."""
    try:
        if len(text) < 20 or text[4] != "-" or text[7] != "-" or text[10] not in "Tt" or text[13] != ":" \
                or text[16] != ":":
            raise ValueError
        fields = (int(text[0:4]), int(text[5:7]), int(text[8:10]), int(text[11:13]), int(text[14:16]),
                  int(text[17:19]))
        rest, fraction = text[19:], 0.0
        if rest.startswith("."):
            end = 1
            while end < len(rest) and rest[end].isdigit():
                end += 1
            fraction, rest = float("0" + rest[:end]), rest[end:]
        if rest in ("Z", "z"):
            offset = 0
        elif len(rest) == 6 and rest[0] in "+-" and rest[3] == ":":
            offset = (int(rest[1:3]) * 3600 + int(rest[4:6]) * 60) * (-1 if rest[0] == "-" else 1)
        else:
            raise ValueError
    except ValueError:
        raise ValueError(f"not an RFC 3339 time: {text!r}") from None
    return (*fields, fraction, offset)


def parse_time(text: str) -> float:
    """An API timestamp (RFC 3339, nanoseconds allowed) as a unix time; ``""`` is Go's zero time."""
    if not text:
        return ZERO_TIME
    year, month, day, hour, minute, second, fraction, offset = _rfc3339(text)
    days = _days_from_civil(year, month, day)
    return days * 86400 + hour * 3600 + minute * 60 + second - offset + fraction


def go_time(timestamp: float) -> str:
    """``time.Unix(t, 0).String()`` in the local zone: ``2024-05-30 12:07:26 +0000 UTC``."""
    import time

    local = time.localtime(timestamp)
    return time.strftime("%Y-%m-%d %H:%M:%S %z ", local) + (local.tm_zone or "")


def ansic(text: str) -> str:
    """docker's reformatDate: an RFC 3339 time in Go's ANSIC layout (in its own zone); other text unchanged."""
    try:
        year, month, day, hour, minute, second, _, _ = _rfc3339(text)
    except ValueError:
        return text
    weekday = ("Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed")[_days_from_civil(year, month, day) % 7]
    name = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")[month - 1]
    return f"{weekday} {name} {day:2d} {hour:02d}:{minute:02d}:{second:02d} {year:04d}"


def status(state: Mapping[str, Any], now: float | None = None) -> str:
    """The daemon's State.String() for a container's inspect ``State``."""
    now = _now(now)
    started = parse_time(state.get("StartedAt") or "")
    finished = parse_time(state.get("FinishedAt") or "")
    code = state.get("ExitCode", 0)
    if state.get("Running"):
        up = human_duration(now - started)
        if state.get("Paused"):
            return f"Up {up} (Paused)"
        if state.get("Restarting"):
            return f"Restarting ({code}) {human_duration(now - finished)} ago"
        health = (state.get("Health") or {}).get("Status")
        if health:
            return f"Up {up} ({'health: starting' if health == 'starting' else health})"
        return f"Up {up}"
    if state.get("RemovalInProgress") or state.get("Status") == "removing":
        return "Removal In Progress"
    if state.get("Dead") or state.get("Status") == "dead":
        return "Dead"
    if started <= ZERO_TIME:
        return "Created"
    if finished <= ZERO_TIME:
        return ""
    return f"Exited ({code}) {human_duration(now - finished)} ago"


def truncate_id(ident: str) -> str:
    """stringid.TruncateID: the part after a ``sha256:``-style prefix, cut to 12 characters."""
    return ident.split(":", 1)[-1][:12]


def ellipsis(text: str, max_width: int) -> str:
    """docker's formatter.Ellipsis: cut to ``max_width`` display cells, ending with ``…``."""
    if max_width <= 0:
        return ""
    if max_width == 1:
        return text[:1]
    if display_width(text) <= max_width:
        return text
    width = 0
    for i, ch in enumerate(text):
        width += display_width(ch)
        if width > max_width - 1:
            return text[:i] + "…"
    return text  # pragma: no cover - the width check above returned already


def command(cmd: str, trunc: bool = True) -> str:
    """``docker ps``'s COMMAND: Go-quoted, ellipsized to 20 cells unless ``--no-trunc``."""
    return quote(ellipsis(cmd, 20) if trunc else cmd)


def _join_host_port(host: str, port: str) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def ports(items: Iterable[Mapping[str, Any]]) -> str:
    """docker's DisplayablePorts: ``0.0.0.0:80->80/tcp, 9988/tcp``, ranges grouped."""
    def key(p: Mapping[str, Any]) -> tuple[int, str, int, str]:
        return (p.get("PrivatePort", 0), p.get("IP") or "", p.get("PublicPort", 0), p.get("Type") or "")

    groups: dict[str, list[int]] = {}
    result: list[str] = []
    mappings: list[str] = []
    for port in sorted(items, key=key):
        private, public = port.get("PrivatePort", 0), port.get("PublicPort", 0)
        typ, ip = port.get("Type", ""), port.get("IP")
        group_key = typ
        if ip:
            if public != private:
                mappings.append(f"{_join_host_port(ip, str(public))}->{private}/{typ}")
                continue
            group_key = f"{ip}/{typ}"
        group = groups.get(group_key)
        if group is None:
            groups[group_key] = [private, private]
        elif private == group[1] + 1:
            group[1] = private
        else:
            result.append(_form_group(group_key, group))
            groups[group_key] = [private, private]
    result.extend(_form_group(k, g) for k, g in groups.items())
    return ", ".join(result + mappings)


def _form_group(key: str, group: list[int]) -> str:
    parts = key.split("/")
    ip, typ = (parts[0], parts[1]) if len(parts) > 1 else ("", parts[0])
    text = str(group[0]) if group[0] == group[1] else f"{group[0]}-{group[1]}"
    if ip:
        text = f"{_join_host_port(ip, text)}->{text}"
    return f"{text}/{typ}"
