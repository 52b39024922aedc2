"""The local terminal: raw mode, its size, resize notices, and restoring it on every exit path.

``Terminal(in_fd, out_fd)`` is what ``run -it``, ``start -ai``, ``attach`` and ``exec -it``
use: ``make_raw()`` puts the input in raw mode as moby/term's ``MakeRaw`` does (no echo, no
line editing, no signals from ctrl-c, 8-bit, ``VMIN=1``), ``restore()`` puts back the
saved settings (once; later calls do nothing). The settings come back on every way out:

- normal return and exceptions: ``with Terminal(...) as term`` restores in ``__exit__``;
- signals that would end the process (SIGHUP, SIGTERM, SIGQUIT, SIGINT with their default
  action) while raw: the terminal is restored first, then the default action happens (the
  process dies of the signal, as a shell expects; SIGINT raises KeyboardInterrupt). A
  signal someone handles already (the signal proxy of ``run``) is left to that handler;
- ``sys.exit`` and interpreter shutdown: an ``atexit`` hook restores what is still raw.

``NORAW`` in the environment keeps the terminal cooked, as docker honours it. ``size(fd)``
is ``(height, width)`` of a terminal (``(0, 0)`` otherwise); ``on_resize(callback)``
calls ``callback()`` on every SIGWINCH until the returned undo function is called.
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]
import posix

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

FATAL_SIGNALS = (_signal.SIGHUP, _signal.SIGTERM, _signal.SIGQUIT, _signal.SIGINT)
_RAW: list[Terminal] = []  # terminals in raw mode now, restored by the atexit hook
_HOOKED = [False]


def is_terminal(fd: int) -> bool:
    try:
        return posix.isatty(fd)
    except OSError:
        return False


def size(fd: int) -> tuple[int, int]:
    """(height, width) of the terminal on ``fd``; (0, 0) when it is not one."""
    if not is_terminal(fd):
        return 0, 0
    import fcntl
    import termios

    try:
        packed = fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8)
    except OSError:
        return 0, 0
    rows = packed[0] | packed[1] << 8
    cols = packed[2] | packed[3] << 8
    return rows, cols


def set_size(fd: int, rows: int, cols: int) -> None:
    """Set a terminal's window size (tests resize their pty with it)."""
    import fcntl
    import struct
    import termios

    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def _restore_all() -> None:
    for term in list(_RAW):
        term.restore()


class Terminal:
    """The local input (and output) terminal of an interactive session."""

    def __init__(self, in_fd: int, out_fd: int | None = None) -> None:
        self.in_fd = in_fd
        self.out_fd = out_fd
        self.saved: list[Any] | None = None
        self._previous: dict[int, Any] = {}

    # --- raw mode ---
    def make_raw(self) -> bool:
        """Put the input terminal in raw mode; False (and nothing changed) if it is not a terminal."""
        if self.saved is not None:
            return True
        if posix.environ.get(b"NORAW") or not is_terminal(self.in_fd):
            return False
        import termios

        saved = termios.tcgetattr(self.in_fd)
        mode = [saved[0], saved[1], saved[2], saved[3], saved[4], saved[5], list(saved[6])]
        mode[0] &= ~(termios.IGNBRK | termios.BRKINT | termios.PARMRK | termios.ISTRIP | termios.INLCR
                     | termios.IGNCR | termios.ICRNL | termios.IXON)
        mode[1] &= ~termios.OPOST
        mode[3] &= ~(termios.ECHO | termios.ECHONL | termios.ICANON | termios.ISIG | termios.IEXTEN)
        mode[2] &= ~(termios.CSIZE | termios.PARENB)
        mode[2] |= termios.CS8
        mode[6][termios.VMIN] = 1
        mode[6][termios.VTIME] = 0
        self.saved = saved
        _RAW.append(self)
        if not _HOOKED[0]:
            import atexit

            atexit.register(_restore_all)
            _HOOKED[0] = True
        self._hook_signals()
        termios.tcsetattr(self.in_fd, termios.TCSANOW, mode)
        return True

    def restore(self) -> None:
        """Put back the settings ``make_raw`` saved; safe to call any number of times."""
        saved, self.saved = self.saved, None
        if self in _RAW:
            _RAW.remove(self)
        self._unhook_signals()
        if saved is None:
            return
        import termios

        try:
            termios.tcsetattr(self.in_fd, termios.TCSANOW, saved)
        except (OSError, termios.error):
            pass  # the terminal is gone (hangup): nothing left to restore

    @property
    def raw(self) -> bool:
        return self.saved is not None

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.restore()

    # --- signals that end the process ---
    def _hook_signals(self) -> None:
        for signum in FATAL_SIGNALS:
            try:
                current = _signal.getsignal(signum)
                if current == _signal.SIG_DFL or current is _signal.default_int_handler:
                    self._previous[signum] = _signal.signal(signum, self._on_fatal)
            except (OSError, ValueError):  # not the main thread
                pass

    def _unhook_signals(self) -> None:
        previous, self._previous = self._previous, {}
        for signum, handler in previous.items():
            try:
                if _signal.getsignal(signum) == self._on_fatal:
                    _signal.signal(signum, handler)
            except (OSError, ValueError):
                pass

    def _on_fatal(self, signum: int, frame: Any) -> None:
        previous = self._previous.get(signum, _signal.SIG_DFL)
        self.restore()
        if previous is _signal.default_int_handler:
            raise KeyboardInterrupt
        _signal.signal(signum, _signal.SIG_DFL)
        posix.kill(posix.getpid(), signum)


def on_resize(callback: Callable[[], None]) -> Callable[[], None]:
    """Call ``callback()`` on every SIGWINCH; returns the function that stops it."""
    def handler(signum: int, frame: Any) -> None:
        callback()

    try:
        previous = _signal.signal(_signal.SIGWINCH, handler)
    except (OSError, ValueError):
        return lambda: None

    def undo() -> None:
        try:
            if _signal.getsignal(_signal.SIGWINCH) is handler:
                _signal.signal(_signal.SIGWINCH, previous)
        except (OSError, ValueError):
            pass
    return undo
