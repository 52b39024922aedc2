"""A container's stdio on the engine's side: the fifos the shim writes, the copy of their
output into the log and to attached clients, and the writer end of stdin.

The fifos live in ``<exec-root>/containers/<id>/`` (``init-stdin`` only with
``OpenStdin``; ``init-stdout``, ``init-stderr``). The shim opens them at task create (it
keeps a reader of its own on the outputs, so the process never sees EPIPE while the
engine is away, and a writer on stdin until CloseIO). The engine opens its readers once
the task exists (:meth:`ContainerIO.start_copying`; after a restart of the engine, again),
copies each chunk to the log (line by line, as dockerd's copier does: a line longer than
16 KiB is cut) and to every attached client, and when the task exits reads what is left
(:meth:`ContainerIO.finish`): non-blocking reads until the fifo is empty, so neither a
process's last words nor the pty's last output is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import time

from dockyard.engine.logs_jsonfile import JsonFileWriter, Message

log = logging.getLogger("dockyard.engine.containers")

CHUNK = 32 * 1024
MAX_LINE = 16 * 1024
MAX_BEHIND = 4096  # chunks an attached client may fall behind before its session ends
STREAMS = ("stdout", "stderr")

Chunk = tuple[str, bytes]  # (stream, data); None in a queue: the run ended


class _Lines:
    """One stream's partial line, completed by the next chunk."""

    def __init__(self) -> None:
        self.pending = b""

    def feed(self, data: bytes) -> list[bytes]:
        self.pending += data
        out = []
        while True:
            cut = self.pending.find(b"\n")
            if cut < 0:
                break
            out.append(self.pending[:cut + 1])
            self.pending = self.pending[cut + 1:]
        while len(self.pending) >= MAX_LINE:
            out.append(self.pending[:MAX_LINE])
            self.pending = self.pending[MAX_LINE:]
        return out

    def flush(self) -> list[bytes]:
        rest, self.pending = self.pending, b""
        return [rest] if rest else []


async def _writable(loop: asyncio.AbstractEventLoop, fd: int) -> None:
    ready: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_writer(fd, wake)
    try:
        await ready
    finally:
        loop.remove_writer(fd)


class ContainerIO:
    def __init__(self, fifo_dir: str, logger: JsonFileWriter | None) -> None:
        self.dir = fifo_dir
        self.logger = logger
        self.attached: set[asyncio.Queue[Chunk | None]] = set()
        self._fds: dict[str, int] = {}
        self._lines = {name: _Lines() for name in STREAMS}
        self._loop: asyncio.AbstractEventLoop | None = None
        self.stdin_ready = asyncio.Event()  # a task with stdin exists: attach may write
        self._stdin_fd = -1

    # -- paths -----------------------------------------------------------------------------
    def path(self, name: str) -> str:
        return os.path.join(self.dir, f"init-{name}")

    def make_fifos(self, with_stdin: bool) -> tuple[str, str, str]:
        """(stdin, stdout, stderr) paths for the task ("" stdin without OpenStdin)."""
        os.makedirs(self.dir, mode=0o700, exist_ok=True)
        names = ["stdout", "stderr"] + (["stdin"] if with_stdin else [])
        for name in names:
            path = self.path(name)
            if not os.path.exists(path):
                os.mkfifo(path, 0o600)
        return (self.path("stdin") if with_stdin else "", self.path("stdout"), self.path("stderr"))

    def remove_fifos(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- output ------------------------------------------------------------------------------
    def start_copying(self, streams: tuple[str, ...] = STREAMS) -> None:
        """Open our readers (the task exists, so its writers do) and copy as data comes."""
        self._loop = asyncio.get_running_loop()
        for name in streams:
            if name in self._fds:
                continue
            try:
                fd = os.open(self.path(name), os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            except OSError as exc:
                log.warning("%s: cannot open %s: %s", self.dir, name, exc.strerror)
                continue
            self._fds[name] = fd
            self._loop.add_reader(fd, self._readable, name)
        if os.path.exists(self.path("stdin")):
            self.stdin_ready.set()

    def _readable(self, name: str) -> None:
        fd = self._fds.get(name)
        if fd is None:
            return
        try:
            data = os.read(fd, CHUNK)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._close_stream(name)
            return
        self._deliver(name, data)

    def _deliver(self, name: str, data: bytes) -> None:
        now = time.time_ns()
        if self.logger is not None:
            for line in self._lines[name].feed(data):
                self.logger.write(Message(name, line, now))
        for queue in list(self.attached):
            if queue.qsize() >= MAX_BEHIND:  # a client that does not read ends, never the memory
                self.attached.discard(queue)
                queue.put_nowait(None)
            else:
                queue.put_nowait((name, data))

    def _close_stream(self, name: str) -> None:
        fd = self._fds.pop(name, None)
        if fd is None:
            return
        if self._loop is not None:
            self._loop.remove_reader(fd)
        os.close(fd)
        if self.logger is not None:
            now = time.time_ns()
            for line in self._lines[name].flush():
                self.logger.write(Message(name, line, now))

    def finish(self) -> None:
        """The task exited: copy what the fifos still hold, then stop reading (the attached
        and the log's followers are ended by :meth:`end_streams` once the exit is recorded)."""
        for name in list(self._fds):
            fd = self._fds[name]
            for _ in range(1024):
                try:
                    data = os.read(fd, CHUNK)
                except (BlockingIOError, OSError):
                    break
                if not data:
                    break
                self._deliver(name, data)
            self._close_stream(name)
        self.close_stdin()
        self.stdin_ready.clear()

    def end_streams(self) -> None:
        """The run is over: end attach sessions and ``logs -f``."""
        for queue in list(self.attached):
            queue.put_nowait(None)
        if self.logger is not None:
            self.logger.end_followers()

    def detach_all(self) -> None:
        """The engine stops: stop reading (the shim keeps the fifos alive), end the attached."""
        for name in list(self._fds):
            fd = self._fds.pop(name)
            if self._loop is not None:
                self._loop.remove_reader(fd)
            os.close(fd)
        self.close_stdin()
        for queue in list(self.attached):
            queue.put_nowait(None)
        if self.logger is not None:
            self.logger.end_followers()
            self.logger.close()

    @property
    def copying(self) -> bool:
        return bool(self._fds)

    def attach(self) -> asyncio.Queue[Chunk | None]:
        queue: asyncio.Queue[Chunk | None] = asyncio.Queue()
        self.attached.add(queue)
        return queue

    def detach(self, queue: asyncio.Queue[Chunk | None]) -> None:
        self.attached.discard(queue)

    # -- stdin --------------------------------------------------------------------------------
    def _stdin(self) -> int:
        if self._stdin_fd < 0:
            self._stdin_fd = os.open(self.path("stdin"), os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        return self._stdin_fd

    async def write_stdin(self, data: bytes) -> None:
        """Write all of ``data`` to the process's stdin (waiting while the fifo is full)."""
        loop = asyncio.get_running_loop()
        fd = self._stdin()
        view = memoryview(data)
        while view:
            try:
                n = os.write(fd, view)
                view = view[n:]
            except BlockingIOError:
                await _writable(loop, fd)

    def close_stdin(self) -> None:
        if self._stdin_fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self._stdin_fd)
            self._stdin_fd = -1
