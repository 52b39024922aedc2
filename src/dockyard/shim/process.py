"""One process of a task (the init or an exec): its record, its stdio and who waits for it.

Also the reaper's half that needs no task: reading every exited child with
``waitpid(-1, WNOHANG)`` and turning a wait status into the exit status containerd reports
(the code, or 128 + the signal that killed it).
"""

from __future__ import annotations

import os

from dockyard.errors import Internal
from dockyard.shim import statefile as sf

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from dockyard.runtime.syscalls import Syscalls
    from dockyard.shim.stdio import Stdio

    Waiter = Callable[[dict[str, Any]], None]

PR_SET_CHILD_SUBREAPER = 36


def exit_status(wait_status: int) -> int:
    """The code of a normal exit, 128 + N for death by signal N (as a shell reports it)."""
    code = os.waitstatus_to_exitcode(wait_status)
    return 128 - code if code < 0 else code


def reap_all() -> list[tuple[int, int]]:
    """Every child that has exited, as (pid, exit status), without blocking."""
    found: list[tuple[int, int]] = []
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            break
        found.append((pid, exit_status(status)))
    return found


_syscalls: list[Syscalls] = []


def prepare_syscalls() -> Syscalls:
    """The ctypes door to libc, built once (the launcher builds it before it forks shims,
    so a shim's prctl touches a few shared objects instead of loading libc again)."""
    if not _syscalls:
        from dockyard.runtime.syscalls import LinuxSyscalls

        _syscalls.append(LinuxSyscalls())
    return _syscalls[0]


def become_subreaper() -> None:
    """prctl(PR_SET_CHILD_SUBREAPER): orphans below the shim (the container's init once the
    runtime that forked it exits) become its children, so it can wait for them."""
    try:
        prepare_syscalls().prctl(PR_SET_CHILD_SUBREAPER, 1)
    except OSError as exc:
        raise Internal(f"shim: cannot become a child subreaper: {exc.strerror or exc}") from None


def read_pid(path: str) -> int:
    try:
        with open(path) as f:
            text = f.read().strip()
    except OSError as exc:
        raise Internal(f"the runtime wrote no pid file {path}: {exc.strerror}") from None
    if not text.isdigit() or int(text) <= 0:
        raise Internal(f"the runtime's pid file {path} holds {text!r}, not a pid")
    return int(text)


class Process:
    """A process of the task. ``record`` is what the state file keeps of it."""

    __slots__ = ("record", "stdio", "waiters")

    def __init__(self, record: sf.ProcRecord, stdio: Stdio) -> None:
        self.record = record
        self.stdio = stdio
        self.waiters: list[Waiter] = []

    @property
    def exec_id(self) -> str:
        return self.record.exec_id

    @property
    def alive(self) -> bool:
        """Started and not yet reaped."""
        return self.record.pid > 0 and not self.record.exited

    def exit_result(self) -> dict[str, Any]:
        return {
            "pid": self.record.pid,
            "exit_status": self.record.exit_status if self.record.exit_status is not None else 0,
            "exited_at": self.record.exited_at or 0,
        }

    def exited(self, status: int, at: int) -> None:
        """Record the exit (after flushing what the pty still holds)."""
        self.stdio.drain()
        self.record.set_exited(status, at)

    def notify(self) -> None:
        """Answer every waiter (once the exit is on disk: a waiter may act on it at once)."""
        waiters, self.waiters = self.waiters, []
        result = self.exit_result()
        for waiter in waiters:
            waiter(result)
