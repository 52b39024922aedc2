"""``run``: create and start a container; in the foreground, wait and exit with its status."""

from __future__ import annotations

import os

from dockyard.errors import InvalidArgument
from dockyard.runtime import flags as fl
from dockyard.runtime.cmd_create import FLAGS as CREATE_FLAGS
from dockyard.runtime.cmd_create import create_options
from dockyard.runtime.cmdutil import require_args

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.runtime.context import Context
    from dockyard.runtime.state import ContainerState

SUMMARY = "create and run a container"
USAGE = "<container-id>"
FLAGS = [
    *CREATE_FLAGS,
    fl.Flag("detach, d", help="detach from the container's process"),
    fl.Flag("keep", help="do not delete the container after it exits"),
    fl.Flag("no-subreaper", help="disable the use of the subreaper used to reap reparented processes"),
]

FORWARDED_SIGNALS = (1, 2, 3, 10, 12, 14, 15, 28)  # HUP INT QUIT USR1 USR2 ALRM TERM WINCH


def run(ctx: Context, opts: fl.Parsed) -> int:
    from dockyard.runtime import lifecycle
    from dockyard.runtime.syscalls import LinuxSyscalls

    require_args(opts, "run", exactly=1)
    detach = opts.bool("detach")
    if detach and opts.bool("keep"):
        raise InvalidArgument("--detach and --keep cannot both be set")
    create_opts = create_options(opts)
    bundle = opts.str("bundle") or "."
    if detach:
        state = lifecycle.create(ctx, opts.args[0], bundle, create_opts)  # type: ignore[arg-type]
        _start_or_undo(ctx, state)
        return 0
    sys = LinuxSyscalls()
    if not opts.bool("no_subreaper"):
        sys.prctl(36, 1)  # PR_SET_CHILD_SUBREAPER: the init re-parents to us
    console_parent = console_child = -1
    config = lifecycle.load_config(os.path.abspath(bundle))
    if (config.get("process") or {}).get("terminal") and not opts.str("console_socket"):
        import _socket

        a, b = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_STREAM)
        console_parent, console_child = a.detach(), b.detach()
    try:
        state = lifecycle.create(
            ctx, opts.args[0], bundle, create_opts, console_fd=console_child  # type: ignore[arg-type]
        )
    finally:
        if console_child >= 0:
            os.close(console_child)
    master = -1
    if console_parent >= 0:
        from dockyard.runtime import console

        master = console.recv_fd(console_parent)
        os.close(console_parent)
    _forward_signals(state.pid)
    _start_or_undo(ctx, state)
    if master >= 0:
        from dockyard.runtime import console

        console.proxy(master)
        os.close(master)
    status = _wait_for(state.pid)
    state.record_exit_status(status)
    if not opts.bool("keep"):
        lifecycle.delete(ctx, state, force=True)
    return status


def _start_or_undo(ctx: Context, state: ContainerState) -> None:
    from dockyard.runtime import lifecycle

    try:
        lifecycle.start(ctx, state)
    except BaseException:
        lifecycle.delete(ctx, state, force=True)
        raise


def _forward_signals(pid: int) -> None:
    import _signal  # type: ignore[import-not-found]

    def forward(signum: int, _frame: object) -> None:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

    for signum in FORWARDED_SIGNALS:
        _signal.signal(signum, forward)


def _wait_for(pid: int) -> int:
    """Reap children until ``pid`` exits; return its status the way a shell reports it."""
    while True:
        try:
            done, status = os.waitpid(-1, 0)
        except InterruptedError:
            continue
        except ChildProcessError:
            return 255
        if done == pid:
            code = os.waitstatus_to_exitcode(status)
            return code if code >= 0 else 128 - code
