"""The terminal facts commands need: is a stream a terminal, how wide it is, a y/N prompt.

Built on ``posix`` alone (``os`` costs a millisecond of every start). A stream without a
file descriptor (a test's ``StringIO``) is no terminal, unless it says otherwise with an
``isatty()`` of its own, which lets tests render the terminal forms.
"""

from __future__ import annotations

import posix

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO, Any

DEFAULT_WIDTH = 200  # what docker assumes when the width cannot be read


def fileno(stream: Any) -> int | None:
    """The file descriptor behind ``stream``, or None (``StringIO``, closed streams)."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return None
    return fd if isinstance(fd, int) else None


def isatty(stream: Any) -> bool:
    """Whether ``stream`` is a terminal."""
    fd = fileno(stream)
    if fd is None:
        check = getattr(stream, "isatty", None)
        return bool(check()) if check is not None else False
    try:
        return posix.isatty(fd)
    except OSError:
        return False


def width(stream: Any, default: int = DEFAULT_WIDTH) -> int:
    """Columns of the terminal ``stream`` is on (``default`` when unknown, as docker's 200).

    A stream may carry its own ``columns`` attribute (tests render at a chosen width).
    """
    columns = getattr(stream, "columns", None)
    if isinstance(columns, int):
        return columns
    fd = fileno(stream)
    if fd is None:
        return default
    try:
        return posix.get_terminal_size(fd).columns
    except OSError:
        return default


def read_line(stream: IO[str]) -> str | None:
    """One line of input without its newline; None at the end of input."""
    line = stream.readline()
    if not line:
        return None
    return line.rstrip("\n").rstrip("\r")


def confirm(inp: IO[str], out: IO[str], message: str) -> bool:
    """docker's prompt.Confirm: ``message [y/N] ``, true only for an answer of ``y``/``Y``."""
    out.write(f"{message} [y/N] ")
    out.flush()
    answer = read_line(inp)
    return answer is not None and answer.strip().lower() == "y"
