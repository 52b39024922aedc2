"""``exec``: run a new process inside a running container."""

from __future__ import annotations

import os

from dockyard.errors import FailedPrecondition, Internal, InvalidArgument
from dockyard.oci import jsonio
from dockyard.runtime import flags as fl
from dockyard.runtime import state as st
from dockyard.runtime.cmdutil import load

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from dockyard.runtime.context import Context

SUMMARY = "execute new process inside the container"
USAGE = "<container-id> <command> [command options]  || -p process.json <container-id>"
FLAGS = [
    fl.Flag("console-socket", fl.STR, help="path to an AF_UNIX socket which will receive the pty master"),
    fl.Flag("cwd", fl.STR, help="current working directory in the container"),
    fl.Flag("env, e", fl.LIST, help="set environment variables"),
    fl.Flag("tty, t", help="allocate a pseudo-TTY"),
    fl.Flag("user, u", fl.STR, help="UID (format: <uid>[:<gid>])"),
    fl.Flag("additional-gids, g", fl.LIST, help="additional gids"),
    fl.Flag("process, p", fl.STR, help="path to the process.json"),
    fl.Flag("detach, d", help="detach from the container's process"),
    fl.Flag("pid-file", fl.STR, help="specify the file to write the process id to"),
    fl.Flag("process-label", fl.STR, help="set the asm process label for the process commonly used with selinux"),
    fl.Flag("apparmor", fl.STR, help="set the apparmor profile for the process"),
    fl.Flag("no-new-privs", help="set the no new privileges value for the process"),
    fl.Flag("cap, c", fl.LIST, help="add a capability to the bounding set for the process"),
    fl.Flag("preserve-fds", fl.INT, 0, help="pass N additional file descriptors to the container"),
    fl.Flag("cgroup", fl.LIST, help="run the process in an (existing) sub-cgroup(s)"),
    fl.Flag("ignore-paused", help="allow exec in a paused container"),
]


def build_process(config: dict[str, Any], opts: fl.Parsed) -> dict[str, Any]:
    """The process to run: --process's document, or the container's process with the flags."""
    path = opts.str("process")
    if path:
        process: dict[str, Any] = jsonio.load_file(path, path)
        if not isinstance(process, dict):
            raise InvalidArgument(f"{path}: must be a JSON object (an OCI process)")
    else:
        base = config.get("process") or {}
        process = {k: v for k, v in base.items() if k not in ("args", "terminal", "consoleSize")}
        process["args"] = list(opts.args[1:])
        process["env"] = list(base.get("env") or []) + opts.list("env")
        process["terminal"] = opts.bool("tty")
        if opts.str("cwd"):
            process["cwd"] = opts.str("cwd")
        if opts.str("user"):
            uid, _, gid = opts.str("user").partition(":")
            try:
                process["user"] = {**(base.get("user") or {}), "uid": int(uid), "gid": int(gid or 0)}
            except ValueError:
                raise InvalidArgument(f"parsing {opts.str('user')} as uid[:gid]: not numeric") from None
        if opts.list("additional_gids"):
            user = dict(process.get("user") or {})
            try:
                user["additionalGids"] = [int(g) for g in opts.list("additional_gids")]
            except ValueError:
                raise InvalidArgument("--additional-gids: not numeric") from None
            process["user"] = user
        if opts.bool("no_new_privs"):
            process["noNewPrivileges"] = True
        if opts.list("cap"):
            caps = {k: list(v) for k, v in (process.get("capabilities") or {}).items()}
            for name in opts.list("cap"):
                for kind in ("bounding", "effective", "permitted", "ambient", "inheritable"):
                    if name not in caps.setdefault(kind, []):
                        caps[kind].append(name)
            process["capabilities"] = caps
    if not process.get("args"):
        raise InvalidArgument("args must not be empty")
    return process


def run(ctx: Context, opts: fl.Parsed) -> int:
    """As runc: a usage error exits 1; any other failure is "exec failed: ..." and 255."""
    from dockyard.errors import DockyardError

    if not opts.args:
        raise InvalidArgument('dockyard-runc: "exec" requires a minimum of 1 argument(s)')
    try:
        return _run(ctx, opts)
    except DockyardError as exc:
        message = str(exc)
        ctx.log.fatal(message if message.startswith("exec failed: ") else f"exec failed: {message}")
        return 255


def _run(ctx: Context, opts: fl.Parsed) -> int:
    state = load(ctx, opts, "exec")
    status = state.status()
    if status == st.STOPPED:
        raise FailedPrecondition("cannot exec in a stopped container")
    if status == st.PAUSED and not opts.bool("ignore_paused"):
        raise FailedPrecondition("cannot exec in a paused container (use --ignore-paused to override)")
    process = build_process(state.config, opts)
    detach = opts.bool("detach")
    if process.get("terminal") and detach and not opts.str("console_socket"):
        raise InvalidArgument("cannot allocate tty if runc will detach without setting console socket")
    if not process.get("terminal") and opts.str("console_socket"):
        raise InvalidArgument("cannot use console socket if runc will not detach or allocate tty")
    return execute(ctx, state, process, opts, detach)


def execute(ctx: Context, state: st.ContainerState, process: dict[str, Any], opts: fl.Parsed, detach: bool) -> int:
    """Fork the exec child, which joins the container's cgroups by itself (as the init does,
    see :func:`dockyard.runtime.lifecycle.create`), enters the namespaces and prepares;
    release it into execve once it is inside the cgroups."""
    from dockyard.runtime import console, foreground
    from dockyard.runtime.cgroups import manager_from_state
    from dockyard.runtime.channel import Channel
    from dockyard.runtime.exec_process import CgroupEntry, run_exec_child
    from dockyard.runtime.lifecycle import forks_into_cgroup, write_pid_file
    from dockyard.runtime.seccomp_cache import cache_dir_of
    from dockyard.runtime.syscalls import LinuxSyscalls

    sys = LinuxSyscalls()
    if not detach:
        foreground.become_subreaper(sys)
    console_fd = ours = -1
    if process.get("terminal"):
        if opts.str("console_socket"):
            console_fd = console.connect(opts.str("console_socket"))
        else:
            ours, console_fd = foreground.console_pair()
    manager = manager_from_state(state.cgroup) if state.cgroup else None
    clone_into = manager.process_dir() if manager is not None and forks_into_cgroup(state.config) else ""
    cgroups = CgroupEntry(manager.thread_dirs() if manager is not None else [], clone_into)
    parent, child_end = Channel.pair()
    child = os.fork()
    if child == 0:
        parent.close()
        run_exec_child(
            sys, child_end, state.pid, state.config, process, console_fd, opts.int("preserve_fds"), cgroups,
            cache_dir_of(os.path.dirname(state.directory)),
        )
    child_end.close()
    if console_fd >= 0:
        os.close(console_fd)
    pid = -1
    try:
        while True:
            msg = parent.recv("exec child")
            if "error" in msg:
                raise Internal(f"unable to start container process: {msg['error']}")
            if msg.get("type") == "pid":
                pid = int(msg["pid"])
                if pid != child:
                    os.waitpid(child, 0)
                if manager is not None and not clone_into:
                    manager.apply_process(pid)
            elif msg.get("type") == "prepared":
                parent.send({"type": "go"})
                break
    except BaseException:
        for p in {child, pid}:
            if p > 0:
                try:
                    os.kill(p, 9)
                    os.waitpid(p, 0)
                except (ProcessLookupError, ChildProcessError):
                    pass
        raise
    finally:
        parent.close()
    if opts.str("pid_file"):
        write_pid_file(opts.str("pid_file"), pid)
    if detach:
        return 0
    foreground.forward_signals(pid)
    if ours >= 0:
        foreground.attach_terminal(foreground.receive_terminal(ours))
    return foreground.wait_for(pid)
