"""The child side of ``exec``: enter a running container's namespaces and run a process.

Forked from the runtime, which moves it into the container's cgroups meanwhile, it joins the
init's namespaces through /proc/<pid>/ns (user first, mount last; setns on the mount
namespace also moves it to the container's root), forks once more for the PID namespace,
prepares the process exactly as the init does, and execs it once the runtime says ``go``
(it is in the cgroups by then).
"""

from __future__ import annotations

import os

from dockyard.runtime import linux
from dockyard.runtime.channel import child_main, describe, fork_reporting_pid
from dockyard.runtime.init import preload
from dockyard.runtime.namespaces import join, open_namespaces

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NoReturn

    from dockyard.runtime.channel import Channel
    from dockyard.runtime.syscalls import Syscalls


def run_exec_child(
    sys: Syscalls,
    chan: Channel,
    init_pid: int,
    config: dict[str, Any],
    process_cfg: dict[str, Any],
    console_fd: int,
    preserve_fds: int,
) -> NoReturn:

    def body() -> None:
        seccomp_filter = preload(config)
        _enter(sys, chan, init_pid, config)
        _prepare_and_exec(sys, chan, seccomp_filter, process_cfg, console_fd, preserve_fds)

    child_main(chan, body)


def _enter(sys: Syscalls, chan: Channel, init_pid: int, config: dict[str, Any]) -> None:
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
        fork_reporting_pid(chan)
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
    from dockyard.runtime import console, process

    resolved = process.resolve(proc_cfg, seccomp_filter, preserve_fds)
    if proc_cfg.get("terminal"):
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
