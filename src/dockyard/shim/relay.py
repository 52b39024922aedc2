"""Copying between a pty master and the client's fifos, inside the shim's event loop.

Two pumps: stdin fifo -> master, master -> stdout fifo. Each holds at most one chunk: while
its chunk waits for the destination to become writable it stops reading its source, so a
client that stops reading stalls the container (as a full pipe would) but never the shim.
The master reads EIO once every process closed the pty's other side: the output is then
flushed and the stdout fifo closed, which is the client's EOF.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.shim.loop import Loop

CHUNK = 32768


class Pump:
    """Copies ``src`` to ``dst`` (``dst`` -1: read and discard) through the loop."""

    def __init__(self, relay: PtyRelay, src: int, dst: int) -> None:
        self.relay = relay
        self.src = src
        self.dst = dst
        self.pending = b""
        self.done = False  # the source ended

    def read_once(self) -> bool:
        """One read of the source; False when it would block."""
        try:
            data = os.read(self.src, CHUNK)
        except BlockingIOError:
            return False
        except OSError:  # EIO: the pty's other side is closed
            data = b""
        if not data:
            self.done = True
        elif self.dst >= 0:
            self.pending = data
            self.flush()
        return True

    def readable(self) -> None:
        self.read_once()
        self.relay.update()

    def flush(self) -> None:
        while self.pending and self.dst >= 0:
            try:
                sent = os.write(self.dst, self.pending)
            except BlockingIOError:
                return
            except OSError:  # the destination went away: drop what it cannot take
                self.pending = b""
                return
            self.pending = self.pending[sent:]

    def writable(self) -> None:
        self.flush()
        self.relay.update()

    @property
    def wants_read(self) -> bool:
        return not self.done and not self.pending

    @property
    def finished(self) -> bool:
        return self.done and not self.pending


class PtyRelay:
    """The pumps of one terminal; owns ``master``, ``stdin_fd`` and ``stdout_fd``."""

    def __init__(self, loop: Loop, master: int, stdin_fd: int, stdout_fd: int) -> None:
        self.loop = loop
        self.master = master
        os.set_blocking(master, False)
        if stdout_fd >= 0:
            os.set_blocking(stdout_fd, False)
        self.output = Pump(self, master, stdout_fd)
        self.input: Pump | None = Pump(self, stdin_fd, master) if stdin_fd >= 0 else None
        self.closed = False
        self.update()

    def update(self) -> None:
        """Recompute which fds the loop watches, and close what has finished."""
        if self.closed:
            return
        out, inp = self.output, self.input
        if inp is not None and inp.finished:
            self.loop.unwatch(inp.src)
            os.close(inp.src)
            self.input = inp = None
        if out.finished:
            self._close_output()
        master_reader = out.readable if out.wants_read else None
        master_writer = inp.writable if inp is not None and inp.pending else None
        self.loop.watch(self.master, master_reader, master_writer)
        if out.dst >= 0:
            self.loop.watch(out.dst, None, out.writable if out.pending else None)
        if inp is not None:
            self.loop.watch(inp.src, inp.readable if inp.wants_read else None)

    def _close_output(self) -> None:
        out = self.output
        if out.dst >= 0:
            self.loop.unwatch(out.dst)
            os.close(out.dst)
            out.dst = -1

    def drain(self) -> None:
        """Read what the master holds now (the process exited), without blocking."""
        out = self.output
        for _ in range(256):
            if self.closed or not out.wants_read or not out.read_once():
                break
        self.update()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._close_output()
        if self.input is not None:
            self.loop.unwatch(self.input.src)
            os.close(self.input.src)
            self.input = None
        self.loop.unwatch(self.master)
        os.close(self.master)
