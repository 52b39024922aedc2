"""The shim's state file (``<state dir>/shim.json``): what a daemon can know without the shim.

The shim rewrites it atomically (temporary file + rename) on every change of a process:
created, started, paused, exited, deleted. A daemon that finds the socket refusing reads it
to learn what the dead shim knew — the init's pid and, if the container had exited, its
exit status and time — and :mod:`dockyard.shim.cleanup` completes it after killing what is
left. Layout::

    {"version": 1, "shim_pid": 4242, "status": "serving",
     "config": {<ShimConfig.to_dict()>},
     "processes": [{"exec_id": "", "pid": 4250, "status": "stopped",
                    "exit_status": 3, "exited_at": 1700000000123456789,
                    "terminal": false, "stdin": "", "stdout": "/…/stdout", "stderr": ""}]}

``exec_id`` is "" for the init. ``exited_at`` is nanoseconds since the epoch. ``status`` of
the shim is ``serving`` while it runs, ``dead`` once a cleanup ran after its death.
"""

from __future__ import annotations

from dockyard.errors import InvalidArgument, NotFound
from dockyard.oci import jsonio
from dockyard.shim.config import ShimConfig

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

VERSION = 1

CREATED = "created"
RUNNING = "running"
STOPPED = "stopped"
PAUSED = "paused"
PROCESS_STATUSES = (CREATED, RUNNING, STOPPED, PAUSED)


class ProcRecord:
    """What is known of one process (the init or an exec)."""

    __slots__ = ("exec_id", "exit_status", "exited_at", "pid", "status", "stderr", "stdin", "stdout", "terminal")

    def __init__(
        self,
        exec_id: str = "",
        *,
        pid: int = 0,
        status: str = CREATED,
        exit_status: int | None = None,
        exited_at: int | None = None,
        terminal: bool = False,
        stdin: str = "",
        stdout: str = "",
        stderr: str = "",
    ) -> None:
        self.exec_id = exec_id
        self.pid = pid
        self.status = status
        self.exit_status = exit_status
        self.exited_at = exited_at
        self.terminal = terminal
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr

    @property
    def exited(self) -> bool:
        return self.exit_status is not None

    def set_exited(self, status: int, at: int) -> None:
        self.status = STOPPED
        self.exit_status = status
        self.exited_at = at

    def to_dict(self) -> dict[str, Any]:
        return {
            "exec_id": self.exec_id,
            "pid": self.pid,
            "status": self.status,
            "exit_status": self.exit_status,
            "exited_at": self.exited_at,
            "terminal": self.terminal,
            "stdin": self.stdin,
            "stdout": self.stdout,
            "stderr": self.stderr,
        }

    @classmethod
    def from_dict(cls, data: Any, where: str = "process") -> ProcRecord:
        if not isinstance(data, dict):
            raise InvalidArgument(f"{where}: must be a JSON object")

        def opt_int(key: str) -> int | None:
            value = data.get(key)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
                raise InvalidArgument(f"{where}: {key}: must be an integer or null")
            return value

        def text(key: str) -> str:
            value = data.get(key) or ""
            if not isinstance(value, str):
                raise InvalidArgument(f"{where}: {key}: must be a string")
            return value

        status = text("status") or CREATED
        if status not in PROCESS_STATUSES:
            raise InvalidArgument(f"{where}: status: unknown status {status!r}")
        return cls(
            text("exec_id"),
            pid=opt_int("pid") or 0,
            status=status,
            exit_status=opt_int("exit_status"),
            exited_at=opt_int("exited_at"),
            terminal=bool(data.get("terminal")),
            stdin=text("stdin"),
            stdout=text("stdout"),
            stderr=text("stderr"),
        )


class ShimState:
    """The whole file: the shim's config and pid, and its processes (init first)."""

    __slots__ = ("config", "processes", "shim_pid", "status")

    def __init__(
        self,
        config: ShimConfig,
        shim_pid: int,
        processes: list[ProcRecord] | None = None,
        status: str = "serving",
    ) -> None:
        self.config = config
        self.shim_pid = shim_pid
        self.processes = list(processes or [])
        self.status = status

    def process(self, exec_id: str = "") -> ProcRecord | None:
        for record in self.processes:
            if record.exec_id == exec_id:
                return record
        return None

    @property
    def init(self) -> ProcRecord | None:
        return self.process("")

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": VERSION,
            "shim_pid": self.shim_pid,
            "status": self.status,
            "config": self.config.to_dict(),
            "processes": [p.to_dict() for p in self.processes],
        }

    @classmethod
    def from_dict(cls, data: Any, where: str = "shim state") -> ShimState:
        if not isinstance(data, dict):
            raise InvalidArgument(f"{where}: must be a JSON object")
        if data.get("version") != VERSION:
            raise InvalidArgument(f"{where}: unsupported version {data.get('version')!r}")
        config = data.get("config")
        if not isinstance(config, dict):
            raise InvalidArgument(f"{where}: config: must be a JSON object")
        processes = data.get("processes")
        processes = [] if processes is None else processes
        if not isinstance(processes, list):
            raise InvalidArgument(f"{where}: processes: must be a list")
        shim_pid = data.get("shim_pid")
        if not isinstance(shim_pid, int) or isinstance(shim_pid, bool):
            raise InvalidArgument(f"{where}: shim_pid: must be an integer")
        return cls(
            ShimConfig.from_dict(config),
            shim_pid,
            [ProcRecord.from_dict(p, f"{where}: processes[{i}]") for i, p in enumerate(processes)],
            str(data.get("status") or "serving"),
        )


def write(path: str, state: ShimState) -> None:
    """Replace the state file atomically (bytes through ``os``: no text-file layer, which
    costs a shim forked from the launcher private memory for nothing)."""
    import os

    tmp = f"{path}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, jsonio.dumps(state.to_dict()).encode())
    finally:
        os.close(fd)
    os.replace(tmp, path)


def load(path: str) -> ShimState:
    """Read a state file; NotFound when there is none, InvalidArgument when it is damaged."""
    try:
        data = jsonio.load_file(path, path)
    except FileNotFoundError:
        raise NotFound(f"no shim state at {path}") from None
    return ShimState.from_dict(data, path)
