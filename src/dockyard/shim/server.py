"""The shim's control socket: connections, request dispatch, deferred waits, subscriptions.

Every connection is read and written without blocking from the shim's one loop. Requests are
handled in arrival order; a ``wait`` that cannot answer yet registers a callback and the
connection goes on with its next request. A ``subscribe``d connection also receives every
event (after replaying the ones it missed from the event log). A client that stops reading
while more than :data:`MAX_OUTPUT` bytes wait for it is dropped.
"""

from __future__ import annotations

import os

from dockyard.errors import DockyardError, FailedPrecondition, NotImplementedYet
from dockyard.shim import events as ev
from dockyard.shim import protocol as pr
from dockyard.shim import sockets
from dockyard.shim.config import EVENTS_NAME

TYPE_CHECKING = False
if TYPE_CHECKING:
    import _socket
    from collections.abc import Callable
    from typing import Any

    from dockyard.shim.config import ShimConfig
    from dockyard.shim.loop import Loop
    from dockyard.shim.task import Task

PROTOCOL_VERSION = 1
MAX_OUTPUT = 16 << 20

# ops answered by the task, with the request as their only argument
TASK_OPS = (
    "create", "start", "state", "kill", "exec", "resize_pty", "close_io", "pause", "resume",
    "update", "pids", "stats", "delete",
)  # fmt: skip


class Connection:
    __slots__ = ("buffer", "closed", "fd", "out", "server", "subscribed", "writing")

    def __init__(self, server: Server, fd: int) -> None:
        self.server = server
        self.fd = fd
        self.buffer = pr.LineBuffer()
        self.out = bytearray()
        self.closed = False
        self.subscribed = False
        self.writing = False

    def readable(self) -> None:
        try:
            data = os.read(self.fd, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.close()
            return
        for line in self.buffer.feed(data):
            if self.closed:
                return
            if line is None:
                self.send(pr.error(None, pr.too_long(self.buffer.limit)))
            elif line.strip():
                self.server.handle(self, line)

    def send(self, message: dict[str, Any]) -> None:
        if self.closed:
            return
        self.out += pr.encode(message)
        if len(self.out) > MAX_OUTPUT:
            self.close()
            return
        self.flush()

    def flush(self) -> None:
        while self.out and not self.closed:
            try:
                sent = os.write(self.fd, self.out)
            except BlockingIOError:
                break
            except OSError:
                self.close()
                return
            del self.out[:sent]
        if not self.closed and self.writing != bool(self.out):  # (re)arm EPOLLOUT only on a change
            self.writing = bool(self.out)
            self.server.loop.set_writer(self.fd, self.flush if self.writing else None)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.server.loop.unwatch(self.fd)
        os.close(self.fd)
        self.server.connections.discard(self)

    def flush_blocking(self) -> None:
        """At shutdown: deliver what is left (a second at most)."""
        if self.closed or not self.out:
            return
        import select

        os.set_blocking(self.fd, True)
        while self.out and select.select([], [self.fd], [], 1.0)[1]:
            try:
                del self.out[: os.write(self.fd, self.out)]
            except OSError:
                break


class Server(ev.Publisher):
    """Serves the task on ``listener``; also the publisher of events to subscribers."""

    def __init__(self, config: ShimConfig, loop: Loop, task: Task, listener: _socket.socket) -> None:
        self.config = config
        self.loop = loop
        self.task = task
        self.listener = listener
        self.connections: set[Connection] = set()
        self.exit_requested = False
        listener.setblocking(False)
        loop.watch(listener.fileno(), self._accept)

    def _accept(self) -> None:
        while True:
            try:
                fd = sockets.accept(self.listener)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            os.set_blocking(fd, False)
            conn = Connection(self, fd)
            self.connections.add(conn)
            self.loop.watch(fd, conn.readable)

    # -- dispatch -------------------------------------------------------------------------
    def handle(self, conn: Connection, line: bytes) -> None:
        try:
            req = pr.parse_request(line)
        except DockyardError as exc:
            conn.send(pr.error(pr.request_id(line), exc))
            return
        try:
            result = self.dispatch(conn, req)
        except Exception as exc:
            conn.send(pr.error(req.id, exc))
            return
        if result is not None:
            conn.send(pr.result(req.id, result))

    def dispatch(self, conn: Connection, req: pr.Request) -> dict[str, Any] | None:
        op = req.op
        if op in TASK_OPS:
            method: Callable[[pr.Request], dict[str, Any]] = getattr(self.task, op)
            return method(req)
        if op in ("connect", "ping"):
            return self.info()
        if op == "wait":
            rid = req.id
            return self.task.wait(req, lambda result: conn.send(pr.result(rid, result)))
        if op == "subscribe":
            self.subscribe(conn, req)
            return None
        if op == "shutdown":
            return self.shutdown(req.bool("now"))
        raise NotImplementedYet(f"unknown op {op!r}")

    def info(self) -> dict[str, Any]:
        init = self.task.init
        return {
            "version": PROTOCOL_VERSION,
            "shim_pid": os.getpid(),
            "container_id": self.config.container_id,
            "namespace": self.config.namespace,
            "bundle": self.config.bundle,
            "runtime": self.config.runtime,
            "pid": init.record.pid if init else 0,
            "status": init.record.status if init else ("deleted" if self.task.deleted else ""),
        }

    def subscribe(self, conn: Connection, req: pr.Request) -> None:
        """Answer with the last seq, replay the logged events after ``since``, then go live."""
        since = req.int("since", -1)
        conn.send(pr.result(req.id, {"seq": self.task.seq}))
        if since >= 0:
            for event in ev.read_log(self.config.path(EVENTS_NAME), since):
                conn.send({"event": event})
        conn.subscribed = True

    def shutdown(self, now: bool) -> dict[str, Any]:
        busy = self.task.busy()
        if busy and not now:
            raise FailedPrecondition(f"shutdown: {busy} (delete it first, or pass now)")
        self.exit_requested = True
        self.loop.stop()
        return {}

    # -- Publisher ------------------------------------------------------------------------
    def publish(self, event: ev.Event) -> None:
        message = {"event": event.to_dict()}
        for conn in list(self.connections):
            if conn.subscribed:
                conn.send(message)

    def close(self) -> None:
        for conn in list(self.connections):
            conn.flush_blocking()
            conn.close()
        if self.listener.fileno() >= 0:
            self.loop.unwatch(self.listener.fileno())
            self.listener.close()
