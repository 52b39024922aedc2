"""Docker's JSON progress messages (``jsonmessage.JSONMessage``), as dockerd streams them
for pull, push, import and load.

    {"status":"Pulling from library/busybox","id":"latest"}
    {"status":"Downloading","progressDetail":{"current":1024,"total":2048},
     "progress":"[=========================>   ]  1.024kB/2.048kB","id":"9ad63333ebc9"}  (one line)
    {"errorDetail":{"message":"..."},"error":"..."}

:func:`progress_bar` is ``JSONProgress.String()`` at the width dockerd formats with (a
50-column bar, then ``current/total`` in ``units.HumanSize``); the docker CLI draws its own
bar on a terminal from ``progressDetail`` and prints ``status`` lines otherwise.
"""

from __future__ import annotations

from typing import Any

UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")


def human_size(size: float) -> str:
    """go-units ``HumanSize``: decimal units, 4 significant digits (``2.097MB``)."""
    unit = 0
    while size >= 1000.0 and unit < len(UNITS) - 1:
        size /= 1000.0
        unit += 1
    return f"{size:.4g}{UNITS[unit]}"


def progress_bar(current: int, total: int) -> str:
    if current <= 0 and total <= 0:
        return ""
    if total <= 0:
        return f"{human_size(current):>8}"
    percentage = min(int(current / total * 100) // 2, 50)
    box = f"[{'=' * percentage}>{' ' * (50 - percentage)}] "
    if current > total:
        return box + f"{human_size(current):>8}"
    return box + f"{human_size(current):>8}/{human_size(total)}"


def status(text: str, id: str = "") -> dict[str, Any]:
    return {"status": text, "id": id} if id else {"status": text}


def progress(text: str, id: str, current: int = 0, total: int = 0, *, detail: bool = True) -> dict[str, Any]:
    """A per-layer line; with ``detail`` (Downloading, Extracting, Pushing, Loading) the bar."""
    if not detail:
        return {"status": text, "progressDetail": {}, "id": id}
    return {"status": text, "progressDetail": {"current": current, "total": total},
            "progress": progress_bar(current, total), "id": id}


def stream(text: str) -> dict[str, Any]:
    return {"stream": text}


def aux(value: dict[str, Any]) -> dict[str, Any]:
    return {"progressDetail": {}, "aux": value}


def error(message: str) -> dict[str, Any]:
    return {"errorDetail": {"message": message}, "error": message}
