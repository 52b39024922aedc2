"""Task events and the :class:`Publisher` seam they leave the shim through.

An event is ``{"seq", "topic", "namespace", "timestamp", "event"}``: ``seq`` counts from 1
in each shim, ``timestamp`` is nanoseconds since the epoch, ``topic`` and the ``event``
payload's keys are containerd's (``/tasks/exit`` carries TaskExit's ``container_id``,
``id``, ``pid``, ``exit_status``, ``exited_at``), so the daemon can republish them as
containerd's envelopes field by field.

Publishers the shim composes (:class:`Publishers`):

- :class:`EventLog`: appends each event as a JSON line to ``<state dir>/events.jsonl``; a
  daemon that was away reads what it missed (:func:`read_log`, or ``subscribe`` with
  ``since``), so an exit that happened while no daemon listened is never lost.
- the server's subscribers: connections that sent ``subscribe`` get ``{"event": ...}`` lines.
- :class:`CommandPublisher`: runs ``<argv> publish --topic T --namespace N`` with the event
  (JSON) on stdin, as containerd's shim runs ``containerd --address A publish ...``; the
  daemon plugs its own binary in with the shim's ``--publish`` setting. Fire and forget:
  the child is reaped by the shim's reaper like any orphan.
- :class:`CallbackPublisher`: a Python callable (tests, an in-process embedding).
"""

from __future__ import annotations

import os

from dockyard.oci import jsonio

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

TASK_CREATE = "/tasks/create"
TASK_START = "/tasks/start"
TASK_EXIT = "/tasks/exit"
TASK_OOM = "/tasks/oom"
TASK_EXEC_ADDED = "/tasks/exec-added"
TASK_EXEC_STARTED = "/tasks/exec-started"
TASK_PAUSED = "/tasks/paused"
TASK_RESUMED = "/tasks/resumed"
TASK_DELETE = "/tasks/delete"


class Event:
    __slots__ = ("namespace", "payload", "seq", "timestamp", "topic")

    def __init__(self, seq: int, topic: str, namespace: str, timestamp: int, payload: dict[str, Any]) -> None:
        self.seq = seq
        self.topic = topic
        self.namespace = namespace
        self.timestamp = timestamp
        self.payload = payload

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "topic": self.topic,
            "namespace": self.namespace,
            "timestamp": self.timestamp,
            "event": self.payload,
        }


class Publisher:
    """Where events go. ``publish`` must not block the shim and must not raise."""

    def publish(self, event: Event) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """The shim is shutting down."""


class Publishers(Publisher):
    """Fan-out to several publishers; one failing does not stop the others."""

    def __init__(self, publishers: Sequence[Publisher] = ()) -> None:
        self.publishers = list(publishers)

    def add(self, publisher: Publisher) -> None:
        self.publishers.append(publisher)

    def publish(self, event: Event) -> None:
        for publisher in self.publishers:
            try:
                publisher.publish(event)
            except Exception as exc:  # a publisher must not take the shim down
                _log(f"publisher {type(publisher).__name__}: {exc}")

    def close(self) -> None:
        for publisher in self.publishers:
            publisher.close()


class CallbackPublisher(Publisher):
    def __init__(self, callback: Callable[[Event], None]) -> None:
        self.callback = callback

    def publish(self, event: Event) -> None:
        self.callback(event)


class EventLog(Publisher):
    """Appends events to a JSON-lines file (one ``write`` per event, O_APPEND)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)

    def publish(self, event: Event) -> None:
        os.write(self.fd, (jsonio.dumps(event.to_dict()) + "\n").encode())

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def read_log(path: str, since: int = 0) -> list[dict[str, Any]]:
    """The events of an :class:`EventLog` file with ``seq`` > ``since`` (a torn last line is
    skipped)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return []
    found: list[dict[str, Any]] = []
    for line in data.splitlines():
        try:
            event = jsonio.loads(line)
        except Exception:
            continue
        if isinstance(event, dict) and isinstance(event.get("seq"), int) and event["seq"] > since:
            found.append(event)
    return found


class CommandPublisher(Publisher):
    """``argv + [publish, --topic, T, --namespace, N]`` with the event on stdin."""

    def __init__(self, argv: Sequence[str]) -> None:
        self.argv = list(argv)

    def command(self, event: Event) -> list[str]:
        return [*self.argv, "publish", "--topic", event.topic, "--namespace", event.namespace]

    def publish(self, event: Event) -> None:
        data = (jsonio.dumps(event.to_dict()) + "\n").encode()
        r, w = os.pipe()
        null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
        try:
            argv = self.command(event)
            actions = [(os.POSIX_SPAWN_DUP2, r, 0), (os.POSIX_SPAWN_DUP2, null, 1)]
            os.posix_spawnp(argv[0], argv, os.environ, file_actions=actions, setsid=True)
        finally:
            os.close(r)
            os.close(null)
        try:
            os.set_blocking(w, False)
            os.write(w, data)  # an event is far below a pipe's 64 KiB: never blocks
        except OSError as exc:
            _log(f"publish {event.topic}: {exc.strerror}")
        finally:
            os.close(w)


def _log(message: str) -> None:
    try:
        os.write(2, f"dockyard-shim: {message}\n".encode())
    except OSError:
        pass
