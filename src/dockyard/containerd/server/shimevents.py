"""Task events from the shims onto the daemon's exchange.

A shim sends ``{"seq", "topic", "namespace", "timestamp", "event"}`` objects whose payload
keys are containerd's (see :mod:`dockyard.shim.events`); :func:`to_message` turns one into
the protobuf event of its topic. :class:`EventPump` is one thread that holds a subscribed
connection to every live shim (a selector over their sockets), publishes what they send and
reports a connection that ends: that shim is gone (or shut down after ``delete``).
"""

from __future__ import annotations

import logging
import os
import selectors
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.message import Message

from dockyard.containerd.api.events import task_pb2 as ev
from dockyard.containerd.server.convert import timestamp_ns
from dockyard.errors import DockyardError
from dockyard.shim import protocol as pr
from dockyard.shim import sockets

log = logging.getLogger("dockyard.containerd.tasks")

_TYPES: dict[str, type[Message]] = {
    "/tasks/create": ev.TaskCreate,
    "/tasks/start": ev.TaskStart,
    "/tasks/exit": ev.TaskExit,
    "/tasks/oom": ev.TaskOOM,
    "/tasks/exec-added": ev.TaskExecAdded,
    "/tasks/exec-started": ev.TaskExecStarted,
    "/tasks/paused": ev.TaskPaused,
    "/tasks/resumed": ev.TaskResumed,
    "/tasks/delete": ev.TaskDelete,
}
_TIMES = ("exited_at",)


def to_message(topic: str, payload: dict[str, Any]) -> Message | None:
    """The protobuf event for a shim's ``topic`` and payload (None for an unknown topic);
    payload keys the message lacks are dropped."""
    cls = _TYPES.get(topic)
    if cls is None:
        return None
    message = cls()
    fields = message.DESCRIPTOR.fields_by_name
    for key, value in payload.items():
        fd = fields.get(key)
        if fd is None or value is None:
            continue
        if key in _TIMES:
            getattr(message, key).CopyFrom(timestamp_ns(int(value)))
        elif key == "io" and isinstance(value, dict):
            known = ev.TaskIO.DESCRIPTOR.fields_by_name
            message.io.CopyFrom(ev.TaskIO(**{k: v for k, v in value.items() if k in known}))
        elif fd.message_type is None and not fd.is_repeated:
            setattr(message, key, value)
    return message


@dataclass
class _Feed:
    key: tuple[str, str]
    socket_path: str
    on_event: Callable[[dict[str, Any]], None]
    on_close: Callable[[], None]
    sock: Any = None
    buffer: pr.LineBuffer = field(default_factory=pr.LineBuffer)
    subscribed: bool = False


class EventPump:
    """Follows the event streams of many shims from one thread."""

    def __init__(self) -> None:
        self._selector = selectors.DefaultSelector()
        self._lock = threading.Lock()
        self._feeds: dict[tuple[str, str], _Feed] = {}
        self._wake_r, self._wake_w = _pipe()
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="shim-events", daemon=True)
        self._thread.start()

    def follow(
        self,
        key: tuple[str, str],
        socket_path: str,
        since: int,
        on_event: Callable[[dict[str, Any]], None],
        on_close: Callable[[], None],
    ) -> None:
        """Subscribe to the shim at ``socket_path`` (events after ``since``); ``on_event``
        gets each event, ``on_close`` is called once when the connection ends. Raises
        :class:`~dockyard.errors.Unavailable` if the shim does not answer."""
        from dockyard.errors import Unavailable

        try:
            sock = sockets.connect(socket_path, timeout=10.0)
        except OSError as exc:
            raise Unavailable(f"shim at {socket_path} is not running: {exc.strerror or exc}") from None
        try:
            sock.sendall(pr.encode({"id": 1, "op": "subscribe", "since": since}))
        except OSError as exc:
            sock.close()
            raise Unavailable(f"shim at {socket_path}: {exc.strerror or exc}") from None
        sock.setblocking(False)
        feed = _Feed(key, socket_path, on_event, on_close, sock)
        with self._lock:
            old = self._feeds.pop(key, None)
            if old is not None:
                self._drop(old)
            self._feeds[key] = feed
            self._selector.register(sock, selectors.EVENT_READ, feed)
        _poke(self._wake_w)

    def forget(self, key: tuple[str, str]) -> None:
        """Stop following (no ``on_close``): the task was deleted."""
        with self._lock:
            feed = self._feeds.pop(key, None)
            if feed is not None:
                self._drop(feed)
        _poke(self._wake_w)

    def close(self) -> None:
        self._stopping = True
        _poke(self._wake_w)
        self._thread.join(timeout=5)
        with self._lock:
            for feed in self._feeds.values():
                self._drop(feed)
            self._feeds.clear()
        self._selector.close()
        for fd in (self._wake_r, self._wake_w):
            os.close(fd)

    def _drop(self, feed: _Feed) -> None:
        try:
            self._selector.unregister(feed.sock)
        except (KeyError, ValueError):
            pass
        feed.sock.close()

    def _run(self) -> None:
        while not self._stopping:
            ready = self._selector.select(timeout=1.0)
            for key, _ in ready:
                if key.data is None:
                    try:
                        os.read(self._wake_r, 4096)
                    except BlockingIOError:
                        pass
                    continue
                self._readable(key.data)

    def _readable(self, feed: _Feed) -> None:
        try:
            data = feed.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        with self._lock:
            current = self._feeds.get(feed.key) is feed
        if not current:
            return
        if not data:
            with self._lock:
                self._feeds.pop(feed.key, None)
                self._drop(feed)
            _call(feed.on_close)
            return
        for line in feed.buffer.feed(data):
            if line is None or not line.strip():
                continue
            try:
                message = pr.decode(line, "shim event")
            except DockyardError as exc:
                log.warning("shim %s: %s", feed.socket_path, exc)
                continue
            if "event" in message and isinstance(message["event"], dict):
                _call(feed.on_event, message["event"])
            elif "error" in message:
                log.warning("shim %s: subscribe failed: %s", feed.socket_path, message["error"])


def _call(fn: Callable[..., None], *args: Any) -> None:
    try:
        fn(*args)
    except Exception:
        log.exception("shim event handler failed")


def _pipe() -> tuple[int, int]:
    r, w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    return r, w


def _poke(fd: int) -> None:
    try:
        os.write(fd, b"x")
    except (BlockingIOError, OSError):
        pass
