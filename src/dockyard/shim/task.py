"""The task a shim supervises: its init process, its exec processes, and their lifecycle.

Each public method is one protocol command (see :mod:`dockyard.shim`), takes the parsed
:class:`~dockyard.shim.protocol.Request` and returns the result object (``wait`` may answer
later, through its callback). Lifecycle rules follow containerd's runc shim:

- init: created -> running (start) <-> paused (pause/resume) -> stopped (reaped);
  ``delete`` refuses a running or paused init, kills a created one, and runs the runtime's
  ``delete`` for a stopped one. After it the task is gone and the shim may shut down.
- exec: created (exec) -> running (start with exec_id) -> stopped (reaped, or a failed start
  with exit status 255); ``delete`` refuses a running one.
- kill of a stopped process is NotFound ("process already finished"); exits are published
  execs first, then the init; a container sharing the host's PID namespace has every
  process killed when its init exits (the kernel does it for a PID namespace of its own).
"""

from __future__ import annotations

import os
import time

from dockyard.errors import AlreadyExists, DockyardError, FailedPrecondition, InvalidArgument, NotFound
from dockyard.shim import events as ev
from dockyard.shim import statefile as sf
from dockyard.shim.cgroupinfo import OomWatcher
from dockyard.shim.config import STATE_NAME
from dockyard.shim.process import Process, read_pid, reap_all
from dockyard.shim.stdio import ConsoleSocket, Stdio

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from dockyard.shim.config import ShimConfig
    from dockyard.shim.loop import Loop
    from dockyard.shim.process import Waiter
    from dockyard.shim.protocol import Request
    from dockyard.shim.runtime import Runtime

FAILED_START_STATUS = 255


def _own_pid_namespace(bundle: str) -> bool:
    """True unless config.json shares a PID namespace (a ``pid`` entry with a path, or none)."""
    from dockyard.oci import jsonio

    try:
        config = jsonio.load_file(os.path.join(bundle, "config.json"))
        namespaces = config["linux"]["namespaces"]
        return any(ns.get("type") == "pid" and not ns.get("path") for ns in namespaces)
    except (OSError, DockyardError, KeyError, TypeError, AttributeError):
        return True


class Task:
    """The container's processes, driven through the runtime; events go to ``publisher``."""

    def __init__(self, config: ShimConfig, loop: Loop, publisher: ev.Publisher, runtime: Runtime) -> None:
        self.config = config
        self.id = config.container_id
        self.loop = loop
        self.publisher = publisher
        self.runtime = runtime
        self.init: Process | None = None
        self.execs: dict[str, Process] = {}
        self.deleted = False
        self.seq = 0
        self.kill_all_on_exit = False
        self.oom: OomWatcher | None = None

    # -- bookkeeping ----------------------------------------------------------------------
    def save(self) -> None:
        records = [p.record for p in ([self.init] if self.init else []) + list(self.execs.values())]
        sf.write(self.config.path(STATE_NAME), sf.ShimState(self.config, os.getpid(), records))

    def emit(self, topic: str, **payload: Any) -> None:
        self.seq += 1
        event = ev.Event(self.seq, topic, self.config.namespace, time.time_ns(), payload)
        self.publisher.publish(event)

    def process(self, exec_id: str) -> Process:
        if not exec_id:
            if self.init is None:
                raise NotFound(f"task {self.id} {'was deleted' if self.deleted else 'is not created'}")
            return self.init
        proc = self.execs.get(exec_id)
        if proc is None:
            raise NotFound(f"process {exec_id} does not exist in task {self.id}")
        return proc

    def _running_init(self, what: str) -> Process:
        init = self.process("")
        if init.record.exited:
            raise FailedPrecondition(f"{what}: task {self.id} is stopped")
        return init

    # -- create / start -------------------------------------------------------------------
    def create(self, req: Request) -> dict[str, Any]:
        if self.init is not None or self.deleted:
            raise AlreadyExists(f"task {self.id} was already created")
        record = sf.ProcRecord(
            "", terminal=req.bool("terminal"), stdin=req.str("stdin"), stdout=req.str("stdout"),
            stderr=req.str("stderr"),
        )  # fmt: skip
        extra = (["--no-pivot"] if req.bool("no_pivot") else []) + (
            ["--no-new-keyring"] if req.bool("no_new_keyring") else []
        )
        pid_file = self.config.path("init.pid")
        stdio = self._run(record, lambda fds, console: self.runtime.create(
            self.id, self.config.bundle, pid_file, fds, console, extra))
        try:
            record.pid = read_pid(pid_file)
        except DockyardError:
            stdio.close()
            self._force_delete()
            raise
        self.init = Process(record, stdio)
        self.kill_all_on_exit = not _own_pid_namespace(self.config.bundle)
        self.oom = OomWatcher(self.loop, record.pid, lambda: self.emit(ev.TASK_OOM, container_id=self.id))
        self.save()
        self.emit(
            ev.TASK_CREATE, container_id=self.id, bundle=self.config.bundle, pid=record.pid,
            io={"stdin": record.stdin, "stdout": record.stdout, "stderr": record.stderr,
                "terminal": record.terminal},
        )  # fmt: skip
        return {"pid": record.pid}

    def _run(self, record: sf.ProcRecord, command: Any) -> Stdio:
        """Open the stdio of ``record``, run ``command(fds, console_path)``, attach the pty."""
        stdio = Stdio(record.stdin, record.stdout, record.stderr, record.terminal)
        fds = stdio.open()
        console = None
        try:
            if record.terminal:
                console = ConsoleSocket()
            command(fds, console.path if console else "")
            stdio.ran()
            if console is not None:
                stdio.attach(console.receive(), self.loop)
        except BaseException:
            stdio.close()
            if not record.exec_id:
                self._force_delete()
            raise
        finally:
            if console is not None:
                console.close()
        return stdio

    def _force_delete(self) -> None:
        try:
            self.runtime.delete(self.id, force=True)
        except DockyardError:
            pass

    def start(self, req: Request) -> dict[str, Any]:
        exec_id = req.str("exec_id")
        proc = self.process(exec_id)
        if proc.record.status != sf.CREATED or proc.record.exited:
            raise FailedPrecondition(f"process {exec_id or self.id} was already started")
        if not exec_id:
            self.runtime.start(self.id)
            proc.record.status = sf.RUNNING
            self.save()
            self.emit(ev.TASK_START, container_id=self.id, pid=proc.record.pid)
            return {"pid": proc.record.pid}
        return self._start_exec(proc)

    def state(self, req: Request) -> dict[str, Any]:
        record = self.process(req.str("exec_id")).record
        return {"container_id": self.id, "bundle": self.config.bundle, **record.to_dict()}

    # -- exec -----------------------------------------------------------------------------
    def exec(self, req: Request) -> dict[str, Any]:
        from dockyard.oci import jsonio

        self._running_init("exec")
        exec_id = req.required_str("exec_id")
        if "/" in exec_id or "\0" in exec_id or exec_id in (".", "..") or len(exec_id) > 128:
            raise InvalidArgument(f"exec: exec_id {exec_id!r} is not a valid id")
        if exec_id in self.execs:
            raise AlreadyExists(f"exec {exec_id} already exists in task {self.id}")
        spec = req.obj("spec", required=True)
        if not isinstance(spec.get("args"), list) or not spec["args"]:
            raise InvalidArgument("exec: spec.args: must be a non-empty list")
        terminal = req.bool("terminal") or bool(spec.get("terminal"))
        spec["terminal"] = terminal
        jsonio.write_file_atomic(self.config.path(f"exec-{exec_id}.json"), spec)
        record = sf.ProcRecord(
            exec_id, terminal=terminal, stdin=req.str("stdin"), stdout=req.str("stdout"),
            stderr=req.str("stderr"),
        )  # fmt: skip
        self.execs[exec_id] = Process(record, Stdio("", "", "", False))
        self.save()
        self.emit(ev.TASK_EXEC_ADDED, container_id=self.id, exec_id=exec_id)
        return {}

    def _start_exec(self, proc: Process) -> dict[str, Any]:
        self._running_init("start")
        record = proc.record
        pid_file = self.config.path(f"exec-{record.exec_id}.pid")
        spec_file = self.config.path(f"exec-{record.exec_id}.json")
        try:
            proc.stdio = self._run(record, lambda fds, console: self.runtime.exec(
                self.id, spec_file, pid_file, fds, console))
            record.pid = read_pid(pid_file)
        except DockyardError:
            proc.exited(FAILED_START_STATUS, time.time_ns())
            self.save()
            proc.notify()
            raise
        record.status = sf.RUNNING
        self.save()
        self.emit(ev.TASK_EXEC_STARTED, container_id=self.id, exec_id=record.exec_id, pid=record.pid)
        return {"pid": record.pid}

    # -- signals, terminal, stdio ---------------------------------------------------------
    def kill(self, req: Request) -> dict[str, Any]:
        exec_id = req.str("exec_id")
        proc = self.process(exec_id)
        signal = req.signal("signal")
        if proc.record.exited:
            raise NotFound(f"process {exec_id or self.id} already finished")
        if not exec_id:
            try:
                self.runtime.kill(self.id, signal, req.bool("all"))
            except NotFound:
                raise NotFound(f"process {self.id} already finished") from None
            return {}
        if proc.record.pid <= 0:
            raise FailedPrecondition(f"process {exec_id} is not started")
        try:
            os.kill(proc.record.pid, signal)
        except ProcessLookupError:
            raise NotFound(f"process {exec_id} already finished") from None
        return {}

    def resize_pty(self, req: Request) -> dict[str, Any]:
        self.process(req.str("exec_id")).stdio.resize(req.int("width"), req.int("height"))
        return {}

    def close_io(self, req: Request) -> dict[str, Any]:
        if req.bool("stdin", True):
            self.process(req.str("exec_id")).stdio.close_stdin()
        return {}

    # -- the container as a whole ---------------------------------------------------------
    def pause(self, req: Request) -> dict[str, Any]:
        init = self._running_init("pause")
        self.runtime.pause(self.id)
        init.record.status = sf.PAUSED
        self.save()
        self.emit(ev.TASK_PAUSED, container_id=self.id)
        return {}

    def resume(self, req: Request) -> dict[str, Any]:
        init = self._running_init("resume")
        self.runtime.resume(self.id)
        init.record.status = sf.RUNNING
        self.save()
        self.emit(ev.TASK_RESUMED, container_id=self.id)
        return {}

    def update(self, req: Request) -> dict[str, Any]:
        self._running_init("update")
        self.runtime.update(self.id, req.obj("resources", required=True))
        return {}

    def pids(self, req: Request) -> dict[str, Any]:
        self._running_init("pids")
        by_pid = {p.record.pid: p.exec_id for p in self.execs.values() if p.alive}
        return {"processes": [{"pid": pid, "exec_id": by_pid.get(pid, "")} for pid in self.runtime.ps(self.id)]}

    def stats(self, req: Request) -> dict[str, Any]:
        self._running_init("stats")
        cgroups = self.oom.cgroups if self.oom is not None else None
        if cgroups is None:
            return {"stats": self.runtime.stats(self.id)}
        return {"stats": cgroups.stats()}

    # -- exits ----------------------------------------------------------------------------
    def wait(self, req: Request, reply: Waiter) -> dict[str, Any] | None:
        proc = self.process(req.str("exec_id"))
        if proc.record.exited:
            return proc.exit_result()
        proc.waiters.append(reply)
        return None

    def reap(self) -> None:
        """SIGCHLD: record every exit of ours; orphans and helpers are just reaped."""
        exits = reap_all()
        if not exits:
            return
        now = time.time_ns()
        procs = [p for p in ([self.init] if self.init else []) + list(self.execs.values()) if p.alive]
        by_pid = {p.record.pid: p for p in procs}
        ours = [(by_pid[pid], status) for pid, status in exits if pid in by_pid]
        ours.sort(key=lambda item: item[0] is self.init)  # execs first
        for proc, status in ours:
            self._exited(proc, status, now)

    def _exited(self, proc: Process, status: int, at: int) -> None:
        proc.exited(status, at)
        if proc is self.init and self.kill_all_on_exit:
            try:
                self.runtime.kill(self.id, 9, all_processes=True)
            except DockyardError:
                pass
        self.save()
        self.emit(
            ev.TASK_EXIT, container_id=self.id, id=proc.exec_id or self.id, pid=proc.record.pid,
            exit_status=status, exited_at=at,
        )  # fmt: skip
        proc.notify()

    # -- delete ---------------------------------------------------------------------------
    def delete(self, req: Request) -> dict[str, Any]:
        exec_id = req.str("exec_id")
        proc = self.process(exec_id)
        if proc.alive and (exec_id or proc.record.status != sf.CREATED):
            raise FailedPrecondition(f"cannot delete a running process: {exec_id or self.id}")
        if exec_id:
            del self.execs[exec_id]
            proc.stdio.close()
            for name in (f"exec-{exec_id}.json", f"exec-{exec_id}.pid"):
                _unlink(self.config.path(name))
            proc.notify()  # a wait on an exec that never started ends here
        else:
            self._delete_init(proc)
        self.save()
        result = proc.exit_result()
        if not exec_id:  # as containerd's runc shim: an exec's delete publishes nothing
            self.emit(ev.TASK_DELETE, container_id=self.id, id=self.id, **result)
        return result

    def _delete_init(self, init: Process) -> None:
        if init.alive:  # created, never started: the runtime kills it
            self.runtime.delete(self.id, force=True)
            self._wait_exit(init)
        else:
            try:
                self.runtime.delete(self.id)
            except NotFound:
                pass
        if self.oom is not None:
            self.oom.close()
        for proc in [init, *self.execs.values()]:
            proc.stdio.close()
            proc.notify()
        for exec_id in self.execs:
            for name in (f"exec-{exec_id}.json", f"exec-{exec_id}.pid"):
                _unlink(self.config.path(name))
        self.execs.clear()
        _unlink(self.config.path("init.pid"))
        self.init = None
        self.deleted = True

    def _wait_exit(self, proc: Process) -> None:
        """Wait (up to 10 s) for a process the runtime just killed, and record its exit."""
        from dockyard.shim.process import exit_status

        pid = proc.record.pid
        status = 137
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                got, wait_status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                break
            if got == pid:
                status = exit_status(wait_status)
                break
            time.sleep(0.005)
        self._exited(proc, status, time.time_ns())

    # -- shutdown -------------------------------------------------------------------------
    def busy(self) -> str:
        """Why the shim should not exit yet ("" when it may)."""
        if self.init is not None:
            return f"task {self.id} is not deleted"
        return ""

    def close(self) -> None:
        """The shim is exiting: let go of everything (a task left alive keeps running)."""
        if self.oom is not None:
            self.oom.close()
        for proc in ([self.init] if self.init else []) + list(self.execs.values()):
            proc.stdio.close()


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
