"""The child side of ``exec``: enter a running container's namespaces and run a process.

Forked from the runtime, it joins the container's v1 cgroups by itself, then the init's
namespaces through /proc/<pid>/ns (user first, mount last; setns on the mount namespace
also moves it to the container's root), forks once more for the PID namespace (the child
born in the cgroup2 directory, or moved there by the runtime), prepares the process exactly
as the init does, and execs it once the runtime says ``go`` (it is in the cgroups by then).
"""

from __future__ import annotations

import os

from dockyard.runtime import linux
from dockyard.runtime.channel import child_main, describe, fork_reporting_pid
from dockyard.runtime.init import cgroup_fork, open_cgroup_dir, preload
from dockyard.runtime.namespaces import join, open_namespaces

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NoReturn

    from dockyard.runtime.channel import Channel
    from dockyard.runtime.syscalls import Syscalls


class CgroupEntry:
    """How the exec child joins the container's cgroups: ``threads`` (v1 directories it joins
    by itself) and ``clone_into`` (the cgroup2 directory its PID-namespace child is born in)."""

    def __init__(self, threads: list[str], clone_into: str) -> None:
        self.threads = threads
        self.clone_into = clone_into


def run_exec_child(
    sys: Syscalls,
    chan: Channel,
    init_pid: int,
    config: dict[str, Any],
    process_cfg: dict[str, Any],
    console_fd: int,
    preserve_fds: int,
    cgroups: CgroupEntry,
    seccomp_cache: str = "",
) -> NoReturn:

    def body() -> None:
        from dockyard.runtime.cgroups.fs import join_self

        join_self(cgroups.threads)  # as host root, before any namespace
        cgroup_fd = open_cgroup_dir(cgroups.clone_into)
        seccomp_filter = preload({**config, "process": process_cfg}, seccomp_cache)  # this process's needs
        _enter(sys, chan, init_pid, config, cgroup_fd)
        _prepare_and_exec(sys, chan, seccomp_filter, process_cfg, console_fd, preserve_fds)

    child_main(chan, body)


def _enter(sys: Syscalls, chan: Channel, init_pid: int, config: dict[str, Any], cgroup_fd: int) -> None:
    kinds = {ns.get("type") for ns in (config.get("linux") or {}).get("namespaces") or []}
    paths = {
        kind: f"/proc/{init_pid}/ns/{linux.NAMESPACE_PROC_NAMES[kind]}"
        for kind in kinds
        if kind in linux.NAMESPACE_PROC_NAMES
    }
    join(sys, open_namespaces(paths))  # user first, mount last
    if "mount" not in kinds:
        os.chroot(f"/proc/{init_pid}/root")
        os.chdir("/")
    if "pid" in kinds:
        fork_reporting_pid(chan, cgroup_fork(sys, cgroup_fd))
    else:
        chan.send({"type": "pid", "pid": os.getpid()})


def _prepare_and_exec(
    sys: Syscalls,
    chan: Channel,
    seccomp_filter: Any,
    proc_cfg: dict[str, Any],
    console_fd: int,
    preserve_fds: int,
) -> NoReturn:
    from dockyard.runtime import process

    resolved = process.resolve(proc_cfg, seccomp_filter, preserve_fds)
    if proc_cfg.get("terminal"):
        from dockyard.runtime import console  # preloaded for a terminal (preload_for)

        console.setup_pty(console_fd)
    elif console_fd >= 0:
        os.close(console_fd)
    process.apply_identity(sys, proc_cfg, seccomp_filter)
    process.change_dir(resolved.cwd)
    chan.send({"type": "prepared"})
    chan.recv("runtime")  # "go": we are in the container's cgroups
    chan.close()
    try:
        nnp = bool(proc_cfg.get("noNewPrivileges"))
        process.execute(resolved.path, resolved.args, resolved.env, seccomp_filter, nnp)
    except BaseException as exc:
        os.write(2, f"dockyard-runc exec: {describe(exc)}\n".encode())
    os._exit(127)
