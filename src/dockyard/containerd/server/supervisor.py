"""The daemon's side of the shims: one :class:`Task` per running container.

- ``create`` makes the bundle (spec and mounted root filesystem), forks a shim from the
  launcher (``dockyard-shim launcher``, a lean process the daemon owns: the threaded daemon
  never forks Python itself), follows the shim's events and asks it to create the container.
- Calls go to the shim over its socket (:class:`~dockyard.shim.client.ShimClient`).
- A shim that goes away without ``delete`` is dead: ``dockyard.shim.cleanup`` deletes what
  is left of its container and records exit status 137 for whatever had not exited; the
  task then reports stopped, never hangs.
- On start the daemon finds every bundle under ``--state``: live shims are followed again
  (events since the last one seen), dead ones are cleaned, bundles without a shim state
  (a crash during create) are removed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from google.protobuf.message import Message

from dockyard.containerd.api.events import task_pb2 as ev
from dockyard.containerd.metadata.containers import Container
from dockyard.containerd.server.bundles import Bundle, existing
from dockyard.containerd.server.convert import timestamp_ns
from dockyard.containerd.server.runtimes import choose
from dockyard.containerd.server.shimevents import EventPump, to_message
from dockyard.containerd.snapshots import Mount
from dockyard.errors import AlreadyExists, DockyardError, FailedPrecondition, InvalidArgument, NotFound, Unavailable
from dockyard.shim import statefile as sf
from dockyard.shim.client import Launcher, ShimClient
from dockyard.shim.config import STATE_NAME, ShimConfig

log = logging.getLogger("dockyard.containerd.tasks")

CALL_TIMEOUT = 60.0  # a runtime command (create, delete) may take a while on a loaded host
DRAIN_TIMEOUT = 5.0  # how long a deleted task's last events may take to arrive
SEQ_NAME = "daemon.seq"  # the last shim event the daemon published

Publish = Callable[[str, str, Message], None]


@dataclass
class Stdio:
    stdin: str = ""
    stdout: str = ""
    stderr: str = ""
    terminal: bool = False


@dataclass
class Task:
    """One container's shim, as the daemon knows it."""

    bundle: Bundle
    config: ShimConfig
    dead: dict[str, Any] | None = None  # the init's exit once the shim died
    deleting: bool = False
    creating: bool = False  # a placeholder while its shim is started: not visible yet
    lock: threading.RLock = field(default_factory=threading.RLock)
    following: bool = False  # its events are followed by the pump
    feed_closed: threading.Event = field(default_factory=threading.Event)

    @property
    def namespace(self) -> str:
        return self.bundle.namespace

    @property
    def id(self) -> str:
        return self.bundle.id

    @property
    def key(self) -> tuple[str, str]:
        return (self.namespace, self.id)

    def client(self, timeout: float | None = CALL_TIMEOUT) -> ShimClient:
        return ShimClient(self.config.socket, timeout=timeout)

    def saved_state(self) -> sf.ShimState | None:
        try:
            return sf.load(self.config.path(STATE_NAME))
        except (OSError, DockyardError):
            return None


def not_found(container_id: str) -> NotFound:
    return NotFound(f"task {container_id} not found")


class Supervisor:
    def __init__(self, state: Path, publish: Publish, default_runtime: str = "") -> None:
        self.state = state
        self.publish = publish
        self.default_runtime = default_runtime
        self._tasks: dict[tuple[str, str], Task] = {}
        self._lock = threading.Lock()
        self._launcher: Launcher | None = None
        self._launcher_lock = threading.Lock()
        self._calls: set[ShimClient] = set()  # connections of calls in progress
        self._closing = False
        self.pump = EventPump()

    # -- life of the daemon -----------------------------------------------------------------
    def recover(self) -> None:
        """Find the tasks a previous daemon left running (or that ended meanwhile)."""
        for bundle in existing(self.state):
            state_file = bundle.path / STATE_NAME
            if not state_file.exists():
                log.warning("task %s/%s: no shim state (a create was interrupted); removing it",
                            bundle.namespace, bundle.id)
                self._remove_bundle(bundle)
                continue
            try:
                saved = sf.load(str(state_file))
            except DockyardError as exc:
                log.error("task %s/%s: %s; leaving it alone", bundle.namespace, bundle.id, exc)
                continue
            task = Task(bundle, saved.config)
            with self._lock:
                self._tasks[task.key] = task
            if saved.status == "dead":
                task.dead = _init_exit(saved)
                continue
            try:
                self._follow(task, since=_read_seq(task))
                log.info("task %s/%s: shim %d found again", task.namespace, task.id, saved.shim_pid)
            except Unavailable:
                self._shim_died(task)

    def close(self) -> None:
        """Stop following the shims (they and their containers keep running) and end the
        calls in progress (a ``Wait`` would otherwise hold the daemon until the exit)."""
        import socket

        self._closing = True
        with self._lock:
            calls = list(self._calls)
        for client in calls:
            try:
                client.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.pump.close()
        with self._launcher_lock:
            if self._launcher is not None:
                self._launcher.stop()
                self._launcher = None

    def launcher(self) -> Launcher:
        with self._launcher_lock:
            if self._launcher is None or self._launcher.proc.poll() is not None:
                self._launcher = Launcher(str(self.state / "shim-launcher.sock"))
            return self._launcher

    # -- lookups ------------------------------------------------------------------------------
    def get(self, namespace: str, container_id: str) -> Task:
        with self._lock:
            task = self._tasks.get((namespace, container_id))
        if task is None or task.creating:
            raise not_found(container_id)
        return task

    def in_namespace(self, namespace: str) -> list[Task]:
        with self._lock:
            return [t for (ns, _), t in sorted(self._tasks.items()) if ns == namespace and not t.creating]

    def has_task(self, namespace: str, container_id: str) -> bool:
        with self._lock:
            return (namespace, container_id) in self._tasks

    # -- calls ---------------------------------------------------------------------------------
    def call(self, task: Task, op: str, timeout: float | None = CALL_TIMEOUT, **args: Any) -> dict[str, Any]:
        """``op`` on the task's shim; a shim found dead turns the task stopped and raises
        :class:`~dockyard.errors.FailedPrecondition`. Calls in progress end with
        :class:`~dockyard.errors.Unavailable` when the daemon stops (``close``)."""
        if task.dead is not None:
            raise _dead_error(task)
        if self._closing:
            raise Unavailable("dockyard-containerd is stopping")
        try:
            client = task.client(timeout=timeout)
            with self._lock:
                self._calls.add(client)
            try:
                return client.call(op, **args)
            finally:
                with self._lock:
                    self._calls.discard(client)
                client.close()
        except Unavailable:
            if not self._closing and self._shim_died(task):
                raise _dead_error(task) from None
            raise

    # -- create and delete ----------------------------------------------------------------------
    def create(self, namespace: str, container: Container, rootfs: list[Mount], stdio: Stdio,
               no_pivot: bool = False) -> int:
        if container.spec is None:
            raise InvalidArgument(f"container {container.id}: it has no spec")
        choice = choose(container.runtime, self.state, namespace, self.default_runtime)
        with self._lock:
            if (namespace, container.id) in self._tasks:
                raise AlreadyExists(f"task {container.id}: already exists")
            bundle = Bundle(self.state, namespace, container.id)
            placeholder = Task(bundle, ShimConfig(container.id, str(bundle.path), str(bundle.path)))
            placeholder.deleting = placeholder.creating = True
            self._tasks[placeholder.key] = placeholder
        try:
            bundle.create(container.spec.value, rootfs)
            config = ShimConfig(container.id, str(bundle.path), str(bundle.path), namespace=namespace,
                                runtime=choice.binary, runtime_root=choice.root)
            task = Task(bundle, config)
            try:
                self.launcher().spawn(config)
                self._follow(task, since=0)
                result = self.call(task, "create", stdin=stdio.stdin, stdout=stdio.stdout, stderr=stdio.stderr,
                                   terminal=stdio.terminal, no_pivot=no_pivot)
            except BaseException:
                self._discard(task)
                raise
        except BaseException:
            with self._lock:
                if self._tasks.get(placeholder.key) is placeholder:
                    del self._tasks[placeholder.key]
            raise
        with self._lock:
            self._tasks[task.key] = task
        return int(result["pid"])

    def delete(self, task: Task) -> dict[str, Any]:
        """Delete the task (its init must have stopped): the shim exits, the bundle goes."""
        with task.lock:
            if task.dead is None:
                result = self.call(task, "delete", exec_id="")
            else:
                result = dict(task.dead)
                self.publish(task.namespace, "/tasks/delete", ev.TaskDelete(
                    container_id=task.id, id=task.id, pid=result["pid"], exit_status=result["exit_status"],
                    exited_at=timestamp_ns(result["exited_at"])))
            task.deleting = True
            self._discard(task)
        with self._lock:
            if self._tasks.get(task.key) is task:
                del self._tasks[task.key]
        return result

    def _discard(self, task: Task) -> None:
        """Shut the shim down (if it runs) and remove the bundle."""
        task.deleting = True
        if task.dead is None:
            try:
                with task.client(timeout=10) as client:
                    client.call("shutdown", now=True)
            except DockyardError:
                pass
            else:
                # the shim flushes its subscribers before it exits: let the pump read what
                # it sent last (the init's /tasks/exit, /tasks/delete) before forgetting it
                if task.following:
                    task.feed_closed.wait(DRAIN_TIMEOUT)
        self.pump.forget(task.key)
        self._remove_bundle(task.bundle)

    def _remove_bundle(self, bundle: Bundle) -> None:
        try:
            bundle.remove()
        except (OSError, DockyardError) as exc:
            log.error("task %s/%s: cannot remove its bundle: %s", bundle.namespace, bundle.id, exc)

    # -- events and dead shims ---------------------------------------------------------------
    def _follow(self, task: Task, since: int) -> None:
        task.feed_closed.clear()
        self.pump.follow(task.key, task.config.socket, since,
                         lambda event: self._on_event(task, event), lambda: self._on_close(task))
        task.following = True

    def _on_event(self, task: Task, event: dict[str, Any]) -> None:
        topic = str(event.get("topic", ""))
        payload = event.get("event")
        message = to_message(topic, payload if isinstance(payload, dict) else {})
        if message is not None:
            self.publish(task.namespace, topic, message)
        seq = event.get("seq")
        if isinstance(seq, int):
            _write_seq(task, seq)

    def _on_close(self, task: Task) -> None:
        task.feed_closed.set()
        if not task.deleting:
            threading.Thread(target=self._shim_died, args=(task,), name="shim-cleanup", daemon=True).start()

    def _shim_died(self, task: Task) -> bool:
        """If the shim is really gone, clean up after it; True when it is dead."""
        from dockyard.shim.cleanup import cleanup, shim_alive

        with task.lock:
            if task.dead is not None:
                return True
            if task.deleting or shim_alive(task.config.socket):
                return False
            saved = task.saved_state()
            already_exited = saved is not None and saved.init is not None and saved.init.exited
            try:
                task.dead = cleanup(str(task.bundle.path))
            except (OSError, DockyardError) as exc:
                log.error("task %s/%s: cleanup after its shim died: %s", task.namespace, task.id, exc)
                task.dead = {"pid": 0, "exit_status": 137, "exited_at": 0}
            log.warning("task %s/%s: its shim died; the task is stopped (exit status %d)",
                        task.namespace, task.id, task.dead["exit_status"])
            self.pump.forget(task.key)
        if not already_exited:
            dead = task.dead
            self.publish(task.namespace, "/tasks/exit", ev.TaskExit(
                container_id=task.id, id=task.id, pid=dead["pid"], exit_status=dead["exit_status"],
                exited_at=timestamp_ns(dead["exited_at"])))
        return True


def _dead_error(task: Task) -> FailedPrecondition:
    status = task.dead["exit_status"] if task.dead else 137
    return FailedPrecondition(f"task {task.id}: its shim died; the task is stopped (exit status {status})")


def _init_exit(saved: sf.ShimState) -> dict[str, Any]:
    init = saved.init
    if init is None:
        return {"pid": 0, "exit_status": 137, "exited_at": 0}
    return {"pid": init.pid, "exit_status": init.exit_status if init.exit_status is not None else 137,
            "exited_at": init.exited_at or 0}


def _read_seq(task: Task) -> int:
    try:
        return int((task.bundle.path / SEQ_NAME).read_text())
    except (OSError, ValueError):
        return 0


def _write_seq(task: Task, seq: int) -> None:
    try:
        (task.bundle.path / SEQ_NAME).write_text(str(seq))
    except OSError:
        pass
