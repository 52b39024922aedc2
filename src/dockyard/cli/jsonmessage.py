"""The JSON message stream of pull, push, load, import and build, rendered as docker renders it.

The daemon streams one JSON object per line: ``status`` (with an ``id``, a layer or tag),
``progressDetail`` (``current``/``total`` bytes) and ``progress`` (the daemon's own bar),
``stream`` (build and load output), ``aux`` (side data: a pushed digest, a built image id),
``errorDetail``/``error`` (the operation failed). This is moby's ``pkg/jsonmessage``:

- On a terminal every message with an ``id`` and progress owns a line; a new id adds a line
  at the bottom, an update moves the cursor up to its line (``ESC[nA``), erases it
  (``ESC[2K``), redraws ``id: Status [=====>    ] 1.2MB/3.4MB`` and moves back down
  (``ESC[nB``). The bar shows when the terminal is wider than 110 columns, the time left
  (from ``start``) when wider than 50. A message without id or progress ends the group.
- Elsewhere progress updates are left out and every other message is a plain line.
- ``errorDetail`` stops the rendering: ``JSONMessageError`` with the daemon's message (the
  command exits 1 with it, as docker does); ``aux`` messages go to a callback.
"""

from __future__ import annotations

from dockyard.cli import term
from dockyard.cli.tables import human_size
from dockyard.errors import DockyardError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import IO, Any

ERASE_LINE = "\x1b[2K"


class JSONMessageError(DockyardError):
    """An ``errorDetail`` in the stream: the operation failed with the daemon's message."""

    def __init__(self, message: str, code: int = 0) -> None:
        super().__init__(message)
        self.code = code


def go_duration(seconds: int) -> str:
    """Go's ``time.Duration.String()`` for a whole number of seconds: ``0s``, ``45s``, ``1m30s``, ``2h0m5s``."""
    if seconds == 0:
        return "0s"
    sign, seconds = ("-" if seconds < 0 else ""), abs(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{sign}{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{sign}{minutes}m{secs}s"
    return f"{sign}{secs}s"


def _div(a: int, b: int) -> int:
    """Go's integer division (truncates toward zero)."""
    quotient = abs(a) // abs(b)
    return quotient if (a < 0) == (b < 0) else -quotient


def progress_string(detail: dict[str, Any], width: int = term.DEFAULT_WIDTH, now: float | None = None) -> str:
    """``JSONProgress.String()``: ``[====>     ] 1.2MB/3.4MB 5s`` as wide as ``width`` allows."""
    current = int(detail.get("current") or 0)
    total = int(detail.get("total") or 0)
    start = int(detail.get("start") or 0)
    units = str(detail.get("units") or "")
    if current <= 0 and total <= 0:
        return ""
    if total <= 0:
        return f"{human_size(current):>8}" if not units else f"{current} {units}"
    percentage = min(int(current / total * 100) // 2, 50)
    bar = ""
    if width > 110:
        bar = f"[{'=' * percentage}>{' ' * max(0, 50 - percentage)}] "
    numbers = ""
    if detail.get("hidecounts"):
        pass
    elif not units:
        numbers = f"{human_size(current):>8}" + (f"/{human_size(total)}" if current <= total else "")
    else:
        numbers = f"{current}/{total} {units}" if current <= total else f"{current} {units}"
    left = ""
    if current > 0 and start > 0 and percentage < 50:
        if now is None:
            import time

            now = time.time()
        from_start = int(now * 1e9) - start * 1_000_000_000  # Go Durations are nanoseconds
        remaining = (total - current) * _div(from_start, current)
        if width > 50:
            left = " " + go_duration(_div(remaining, 1_000_000_000))
    return bar + numbers + left


class Renderer:
    """``DisplayJSONMessagesStream`` over decoded messages; ``out`` None discards (``pull -q``)."""

    def __init__(self, out: IO[str] | None, is_terminal: bool = False, width: int = term.DEFAULT_WIDTH,
                 aux: Callable[[dict[str, Any]], None] | None = None, now: float | None = None) -> None:
        self.out = out
        self.is_terminal = is_terminal and out is not None
        self.width = width
        self.aux = aux
        self.now = now
        self.ids: dict[str, int] = {}

    def _write(self, text: str) -> None:
        if self.out is not None and text:
            self.out.write(text)

    def feed(self, message: dict[str, Any]) -> None:
        """Render one message; raises JSONMessageError for an ``errorDetail``."""
        if message.get("aux") is not None:
            if self.aux is not None:
                self.aux(message)
            return
        progress = message.get("progressDetail")
        has_progress = isinstance(progress, dict)
        ident = str(message.get("id") or "")
        diff = 0
        if ident and (has_progress or message.get("progress")):
            line = self.ids.get(ident)
            if line is None:
                line = self.ids[ident] = len(self.ids)
                if self.is_terminal:
                    self._write("\n")
            diff = len(self.ids) - line
            if self.is_terminal and diff:
                self._write(f"\x1b[{diff}A")
        else:
            self.ids = {}  # what follows is a new group: no line above is redrawn any more
        try:
            self._display(message, progress if has_progress else None)
        finally:
            if ident and self.is_terminal and diff:
                self._write(f"\x1b[{diff}B")
            if self.out is not None:
                self.out.flush()

    def _display(self, message: dict[str, Any], progress: dict[str, Any] | None) -> None:
        error = message.get("errorDetail")
        if isinstance(error, dict):
            raise JSONMessageError(str(error.get("message") or ""), int(error.get("code") or 0))
        stream = str(message.get("stream") or "")
        status = str(message.get("status") or "")
        endl = ""
        if self.is_terminal and not stream and progress is not None:
            self._write(ERASE_LINE + "\r")
            endl = "\r"
        elif progress is not None and progress_string(progress, self.width, self.now):
            return  # no progress bars off a terminal
        time_nano, seconds = int(message.get("timeNano") or 0), int(message.get("time") or 0)
        if time_nano or seconds:
            from dockyard.cli.timestamps import rfc3339_nano_fixed

            self._write(rfc3339_nano_fixed(time_nano or seconds * 1_000_000_000) + " ")
        if message.get("id"):
            self._write(f"{message['id']}: ")
        if message.get("from"):
            self._write(f"(from {message['from']}) ")
        if progress is not None and self.is_terminal:
            self._write(f"{status} {progress_string(progress, self.width, self.now)}{endl}")
        elif message.get("progress"):
            self._write(f"{status} {message['progress']}{endl}")
        elif stream:
            self._write(f"{stream}{endl}")
        else:
            self._write(f"{status}{endl}\n")


def display(messages: Iterable[dict[str, Any]], out: IO[str] | None, is_terminal: bool = False,
            width: int = term.DEFAULT_WIDTH, aux: Callable[[dict[str, Any]], None] | None = None,
            now: float | None = None) -> None:
    """Render a whole stream of decoded messages."""
    renderer = Renderer(out, is_terminal, width, aux, now)
    for message in messages:
        if isinstance(message, dict):
            renderer.feed(message)


def display_stream(messages: Iterable[dict[str, Any]], out: IO[str] | None,
                   aux: Callable[[dict[str, Any]], None] | None = None) -> None:
    """docker's DisplayJSONMessagesToStream: rendered for what ``out`` is (a terminal and its
    width, or not); ``out`` None renders nothing but still fails on an error (``-q``)."""
    tty = out is not None and term.isatty(out)
    display(messages, out, tty, term.width(out) if tty else term.DEFAULT_WIDTH, aux)
