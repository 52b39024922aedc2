"""``docker exec``: extra processes in a running container.

An exec is created (:meth:`ExecService.create`: a record, ``exec_create``) and started
later (:meth:`ExecService.start`): the engine builds its OCI Process from the container's
spec (as stored in containerd) — the container's env with the exec's ``Env`` over it, its
cwd unless ``WorkingDir``, its user unless ``User`` (resolved against the running
container's /etc/passwd and /etc/group, as at create), its capabilities, or all of them
when ``Privileged`` — makes the exec's fifos in ``<exec-root>/containers/<id>/exec/<exec-id>/``,
and asks containerd for Exec, then Start (``exec_start``). Its exit comes as containerd's
``/tasks/exit`` with the exec's ID (:meth:`ExecService.on_exit`): the output is drained,
the exit code recorded, ``exec_die`` published, the process deleted (DeleteProcess) and
its fifos removed. A container lists its running execs (``ExecIDs``); the records of
exited ones are kept a while for ``GET /exec/{id}/json``, as dockerd does.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from dockyard.containerd.api.services.containers.v1 import containers_pb2
from dockyard.containerd.api.services.tasks.v1 import tasks_pb2
from dockyard.engine.container_io import ContainerIO
from dockyard.engine.spec_security import all_capabilities
from dockyard.engine.spec_user import resolve_user, rootfs_reader
from dockyard.errors import DockyardError, FailedPrecondition, InvalidArgument, NotFound

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.engine.containers import ContainerService, Live

log = logging.getLogger("dockyard.engine.containers")

PROCESS_TYPE = "types.containerd.io/opencontainers/runtime-spec/1/Process"
KEEP_EXITED = 300.0  # seconds an exited exec's record stays inspectable
EXIT_NOT_FOUND, EXIT_EACCES, EXIT_UNKNOWN = 127, 126, 126


def _strs(value: Any, what: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidArgument(f"{what}: must be a list of strings")
    return list(value)


def merge_env(base: list[str], extra: list[str]) -> list[str]:
    """``base`` with ``extra`` over it, key by key (dockerd's ReplaceOrAppendEnvValues)."""
    out = list(base)
    index = {item.split("=", 1)[0]: i for i, item in enumerate(out)}
    for item in extra:
        key = item.split("=", 1)[0]
        if key in index:
            out[index[key]] = item
        else:
            index[key] = len(out)
            out.append(item)
    return out


def tty_env(env: list[str]) -> list[str]:
    """dockerd's env of a process with a TTY: ``TERM=xterm`` after PATH and HOSTNAME, unless
    the container's env sets TERM."""
    if any(item.split("=", 1)[0] == "TERM" for item in env):
        return env
    keys = [item.split("=", 1)[0] for item in env]
    at = keys.index("HOSTNAME") + 1 if "HOSTNAME" in keys else len(env)
    return [*env[:at], "TERM=xterm", *env[at:]]


@dataclass
class Exec:
    id: str
    container_id: str
    cmd: list[str]
    env: list[str]
    user: str
    working_dir: str
    tty: bool
    privileged: bool
    attach_stdin: bool
    attach_stdout: bool
    attach_stderr: bool
    detach_keys: str
    console_size: list[int] | None
    io: ContainerIO
    running: bool = False
    started: bool = False
    exit_code: int | None = None
    pid: int = 0
    exited_at: float = 0.0
    done: Any = field(default=None)  # asyncio.Event set at the exit

    def inspect(self) -> dict[str, Any]:
        return {
            "ID": self.id, "Running": self.running, "ExitCode": self.exit_code,
            "ProcessConfig": {"tty": self.tty, "entrypoint": self.cmd[0] if self.cmd else "",
                              "arguments": self.cmd[1:], "privileged": self.privileged, "user": self.user},
            "OpenStdin": self.attach_stdin, "OpenStderr": self.attach_stderr, "OpenStdout": self.attach_stdout,
            "CanRemove": False, "ContainerID": self.container_id, "DetachKeys": self.detach_keys, "Pid": self.pid,
        }


def exec_error(exc: DockyardError) -> tuple[str, int]:
    """The text the client sees when the process cannot start, and the exit code recorded."""
    text = exc.message if exc.message.startswith("OCI runtime") else f"OCI runtime exec failed: {exc.message}"
    lower = text.lower()
    if "executable file not found" in lower or "no such file or directory" in lower:
        return text, EXIT_NOT_FOUND
    if "permission denied" in lower:
        return text, EXIT_EACCES
    return text, EXIT_UNKNOWN


class ExecService:
    def __init__(self, service: ContainerService) -> None:
        self.service = service
        self.sv = service.sv
        self.execs: dict[str, Exec] = {}

    # -- records -------------------------------------------------------------------------------
    def get(self, ref: str) -> Exec:
        found = self.execs.get(ref)
        if found is None:
            raise NotFound(f"No such exec instance: {ref}")
        return found

    def running_ids(self, container_id: str) -> list[str]:
        return [e.id for e in self.execs.values() if e.container_id == container_id and e.running]

    def _gc(self) -> None:
        now = time.monotonic()
        for eid, e in list(self.execs.items()):
            if e.exit_code is not None and now - e.exited_at > KEEP_EXITED:
                del self.execs[eid]

    def forget_container(self, container_id: str) -> None:
        """The container is gone: so are its execs."""
        for eid, e in list(self.execs.items()):
            if e.container_id == container_id:
                e.io.detach_all()
                if e.done is not None:
                    e.done.set()
                del self.execs[eid]

    def _check_running(self, live: Live) -> None:
        c = live.container
        if not c.state.running or not live.task_pid:
            raise FailedPrecondition(f"container {c.id} is not running")
        if c.state.paused:
            raise FailedPrecondition(f"container {c.id} is paused, unpause the container before exec")
        if c.state.restarting:
            raise FailedPrecondition(f"container {c.id} is restarting, wait until the container is running")

    # -- create ----------------------------------------------------------------------------------
    def create(self, live: Live, body: Any) -> str:
        if not isinstance(body, dict):
            raise InvalidArgument("invalid JSON: the body must be an object")
        self._check_running(live)
        cmd = _strs(body.get("Cmd"), "Cmd")
        if not cmd:
            raise InvalidArgument("No exec command specified")
        env = _strs(body.get("Env"), "Env")
        for item in env:
            if not item.split("=", 1)[0]:
                raise InvalidArgument(f"invalid environment variable: {item}")
        size = body.get("ConsoleSize")
        if size is not None and (not isinstance(size, list) or len(size) != 2
                                 or not all(isinstance(v, int) and v >= 0 for v in size)):
            raise InvalidArgument("ConsoleSize: must be [height, width]")
        keys = body.get("DetachKeys") or ""
        self._gc()
        eid = secrets.token_hex(32)
        directory = os.path.join(self.service.fifo_root, live.id, "exec", eid)
        e = Exec(id=eid, container_id=live.id, cmd=cmd, env=env, user=str(body.get("User") or ""),
                 working_dir=str(body.get("WorkingDir") or ""), tty=bool(body.get("Tty")),
                 privileged=bool(body.get("Privileged")), attach_stdin=bool(body.get("AttachStdin")),
                 attach_stdout=bool(body.get("AttachStdout")), attach_stderr=bool(body.get("AttachStderr")),
                 detach_keys=str(keys), console_size=size or None, io=ContainerIO(directory, None))
        self.execs[eid] = e
        self.service.publish(live.container, f"exec_create: {' '.join(cmd)}", execID=eid)
        return eid

    # -- start -----------------------------------------------------------------------------------
    def check_startable(self, e: Exec) -> Live:
        if e.started:
            raise FailedPrecondition(f"Error: Exec command {e.id} is already running" if e.running
                                     else f"Error: Exec command {e.id} has already run")
        live = self.service.live.get(e.container_id)
        if live is None:
            raise NotFound(f"No such container: {e.container_id}")
        self._check_running(live)
        return live

    async def process_spec(self, live: Live, e: Exec) -> dict[str, Any]:
        reply = await self.sv.unary(self.sv.containers.Get, containers_pb2.GetContainerRequest(id=live.id))
        spec = json.loads(reply.container.spec.value or b"{}")
        process = dict(spec.get("process") or {})
        process["args"] = list(e.cmd)
        process["terminal"] = e.tty
        process["env"] = merge_env(tty_env(list(process.get("env") or [])) if e.tty else
                                   list(process.get("env") or []), e.env)
        if e.working_dir:
            process["cwd"] = e.working_dir
        if e.user:
            root = f"/proc/{live.container.state.pid or live.task_pid}/root"
            read = rootfs_reader(root)
            user = resolve_user(e.user, read("/etc/passwd"), read("/etc/group"), what="User")
            process["user"] = {**(process.get("user") or {}), **user.to_spec()}
        if e.privileged:
            every = all_capabilities(self.service.host.cap_last_cap())
            process["capabilities"] = {k: list(every) for k in ("bounding", "effective", "permitted")}
            process.pop("apparmorProfile", None)
            process.pop("selinuxLabel", None)
        process.pop("consoleSize", None)
        return process

    async def start(self, e: Exec) -> None:
        """Exec and Start in containerd; the caller attaches to ``e.io`` before, to miss nothing.
        DockyardError when the process cannot start (its exit code is then recorded)."""
        import asyncio

        from google.protobuf import any_pb2

        live = self.check_startable(e)
        e.started = True
        e.done = asyncio.Event()
        c = live.container
        try:
            process = await self.process_spec(live, e)
            stdin, stdout, stderr = e.io.make_fifos(e.attach_stdin)
            await self.sv.unary(self.sv.tasks.Exec, tasks_pb2.ExecProcessRequest(
                container_id=c.id, exec_id=e.id, stdin=stdin, stdout=stdout, stderr="" if e.tty else stderr,
                terminal=e.tty, spec=any_pb2.Any(type_url=PROCESS_TYPE, value=json.dumps(process).encode())))
        except DockyardError as exc:
            self._failed(e, exc)
            raise
        e.running = True
        e.io.start_copying(("stdout",) if e.tty else ("stdout", "stderr"))
        try:
            reply = await self.sv.unary(self.sv.tasks.Start, tasks_pb2.StartRequest(container_id=c.id, exec_id=e.id))
        except DockyardError as exc:
            e.io.finish()
            await self._delete(e)
            self._failed(e, exc)
            raise
        e.pid = e.pid or int(reply.pid)
        self.service.publish(c, f"exec_start: {' '.join(e.cmd)}", execID=e.id)
        if e.tty and e.console_size and e.running:
            try:
                await self.resize(e, e.console_size[0], e.console_size[1])
            except DockyardError:
                pass

    def _failed(self, e: Exec, exc: DockyardError) -> None:
        _, code = exec_error(exc)
        e.running = False
        e.exit_code = code
        e.exited_at = time.monotonic()
        e.io.remove_fifos()
        if e.done is not None:
            e.done.set()

    async def _delete(self, e: Exec) -> None:
        try:
            await self.sv.unary(self.sv.tasks.DeleteProcess, tasks_pb2.DeleteProcessRequest(
                container_id=e.container_id, exec_id=e.id))
        except DockyardError as exc:
            log.debug("exec %s: DeleteProcess: %s", e.id, exc)

    # -- exits -----------------------------------------------------------------------------------
    def on_exit(self, live: Live, exec_id: str, status: int) -> bool:
        """containerd's exit of a process of ``live``; False when it is no exec of ours."""
        e = self.execs.get(exec_id)
        if e is None or e.container_id != live.id:
            return False
        self.service.lifecycle.spawn(self._handle_exit(live, e, status))
        return True

    async def _handle_exit(self, live: Live, e: Exec, status: int) -> None:
        if e.exit_code is not None:
            return
        e.io.finish()
        e.exit_code = status
        e.running = False
        e.exited_at = time.monotonic()
        self.service.publish(live.container, "exec_die", execID=e.id, exitCode=str(status))
        e.io.end_streams()
        if e.done is not None:
            e.done.set()
        await self._delete(e)
        e.io.remove_fifos()

    def container_exited(self, container_id: str) -> None:
        """The container's task is gone: its execs ended with it."""
        for e in list(self.execs.values()):
            if e.container_id == container_id and e.running:
                e.io.finish()
                e.running = False
                if e.exit_code is None:
                    e.exit_code = 137
                e.exited_at = time.monotonic()
                e.io.end_streams()
                if e.done is not None:
                    e.done.set()
                e.io.remove_fifos()

    # -- terminal and stdin ------------------------------------------------------------------------
    async def resize(self, e: Exec, height: int, width: int) -> None:
        if not e.running:
            raise FailedPrecondition(f"Exec {e.id} is not running")
        if e.tty:  # no terminal: nothing to resize (Docker answers 200 too)
            await self.sv.unary(self.sv.tasks.ResizePty, tasks_pb2.ResizePtyRequest(
                container_id=e.container_id, exec_id=e.id, width=width, height=height))

    async def kill(self, e: Exec, signal: int = 9) -> None:
        """Signal a running exec's process (a health probe past its timeout)."""
        if e.running:
            try:
                await self.sv.unary(self.sv.tasks.Kill, tasks_pb2.KillRequest(
                    container_id=e.container_id, exec_id=e.id, signal=signal))
            except DockyardError as exc:
                log.debug("exec %s: Kill: %s", e.id, exc)

    async def close_stdin(self, e: Exec) -> None:
        e.io.close_stdin()
        if e.running:
            try:
                await self.sv.unary(self.sv.tasks.CloseIO, tasks_pb2.CloseIORequest(
                    container_id=e.container_id, exec_id=e.id, stdin=True))
            except DockyardError as exc:
                log.debug("exec %s: CloseIO: %s", e.id, exc)
