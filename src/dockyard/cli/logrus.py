"""The lines docker's CLI logs through logrus (``logrus.Errorf``) on its stderr.

docker 28 writes them with logrus' text formatter without colours, on a terminal too:
``time="2026-11-28T16:03:25Z" level=error msg="Error waiting for container: ..."``; the
time is RFC 3339 in local time (``Z`` for UTC), and a value with any character outside
``[A-Za-z0-9-._/@^+]`` is quoted as Go's ``%q`` does.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_BARE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._/@^+")


def _value(text: str) -> str:
    if text and all(ch in _BARE for ch in text):
        return text
    from dockyard.cli.gofmt import quote

    return quote(text)


def _now() -> str:
    import datetime

    stamp = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    return stamp[:-6] + "Z" if stamp.endswith("+00:00") else stamp


def line(level: str, message: str, when: str | None = None) -> str:
    """One logrus line (``level``: ``error``, ``warning``...), newline included."""
    return f"time={_value(when or _now())} level={level} msg={_value(message)}\n"


def error(err: Any, message: str) -> None:
    """``logrus.Errorf``: the line written to ``err`` (a text stream)."""
    err.write(line("error", message))
    err.flush()
