"""A single-threaded epoll loop: fds with read/write callbacks, and SIGCHLD as an fd.

SIGCHLD reaches the loop through ``_signal.set_wakeup_fd``: the C-level handler writes the
signal number to a non-blocking pipe that the loop watches like any other fd (no
``signal`` module: it imports ``enum``). A callback may watch and unwatch fds, including the
one being dispatched; an fd must be unwatched before it is closed. An fd watched with no
callback is parked: it stays known but out of epoll (which would report its HUP forever).
"""

from __future__ import annotations

import os
import select

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    Callback = Callable[[], None]

SIGCHLD = 17
_IN = select.EPOLLIN | select.EPOLLHUP | select.EPOLLERR | select.EPOLLRDHUP
_OUT = select.EPOLLOUT | select.EPOLLERR
_HUP = select.EPOLLHUP


class Loop:
    """fd -> (on_readable, on_writable); :meth:`run` dispatches until :meth:`stop`."""

    def __init__(self) -> None:
        self._epoll = select.epoll()
        os.set_inheritable(self._epoll.fileno(), False)
        self._handlers: dict[int, tuple[Callback | None, Callback | None]] = {}
        self._registered: set[int] = set()
        self._stopped = False
        self._sig_r = -1
        self._sig_w = -1

    def watch(self, fd: int, reader: Callback | None = None, writer: Callback | None = None) -> None:
        """(Re)set the callbacks of ``fd``; a None callback means not interested."""
        mask = (select.EPOLLIN | select.EPOLLRDHUP if reader else 0) | (select.EPOLLOUT if writer else 0)
        registered = fd in self._registered
        if not mask:  # parked: epoll would still report HUP/ERR and spin
            if registered:
                self._epoll.unregister(fd)
                self._registered.discard(fd)
        elif registered:
            self._epoll.modify(fd, mask)
        else:
            self._epoll.register(fd, mask)
            self._registered.add(fd)
        self._handlers[fd] = (reader, writer)

    def set_writer(self, fd: int, writer: Callback | None) -> None:
        """Change only the write callback of a watched fd."""
        reader = self._handlers.get(fd, (None, None))[0]
        self.watch(fd, reader, writer)

    def set_reader(self, fd: int, reader: Callback | None) -> None:
        """Change only the read callback of a watched fd."""
        writer = self._handlers.get(fd, (None, None))[1]
        self.watch(fd, reader, writer)

    def unwatch(self, fd: int) -> None:
        self._handlers.pop(fd, None)
        if fd in self._registered:
            self._registered.discard(fd)
            try:
                self._epoll.unregister(fd)
            except (OSError, ValueError):
                pass

    def watching(self, fd: int) -> bool:
        return fd in self._handlers

    def on_sigchld(self, callback: Callback) -> None:
        """Call ``callback`` (from the loop) whenever SIGCHLD arrived."""
        import _signal  # type: ignore[import-not-found]

        self._sig_r, self._sig_w = os.pipe()
        os.set_blocking(self._sig_r, False)
        os.set_blocking(self._sig_w, False)
        _signal.signal(SIGCHLD, _noop)
        _signal.set_wakeup_fd(self._sig_w, warn_on_full_buffer=False)

        def drain() -> None:
            try:
                while os.read(self._sig_r, 512):
                    pass
            except BlockingIOError:
                pass
            callback()

        self.watch(self._sig_r, drain)

    def stop(self) -> None:
        self._stopped = True

    def run_once(self, timeout: float = -1) -> None:
        for fd, mask in self._epoll.poll(timeout):
            handlers = self._handlers.get(fd)
            if handlers is None:
                continue
            reader, writer = handlers
            if writer is not None and (mask & _OUT or (reader is None and mask & _HUP)):
                _call(writer)
                handlers = self._handlers.get(fd)
                if handlers is None:
                    continue
                reader = handlers[0]
            if reader is not None and mask & _IN:
                _call(reader)

    def run(self) -> None:
        while not self._stopped:
            self.run_once()


def _call(callback: Callback) -> None:
    """Run one callback; a bug in one must not end the shim (its container would be orphaned)."""
    try:
        callback()
    except Exception as exc:
        where = []
        tb = exc.__traceback__
        while tb is not None:  # no traceback module: it imports re, enum, tokenize...
            where.append(f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}")
            tb = tb.tb_next
        try:
            os.write(2, f"dockyard-shim: {type(exc).__name__}: {exc} at {' <- '.join(reversed(where))}\n".encode())
        except OSError:
            pass


def _noop(_signum: int, _frame: object) -> None:
    """The Python-level SIGCHLD handler: the wakeup fd does the work."""
