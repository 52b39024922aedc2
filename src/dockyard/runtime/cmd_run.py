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

def run(ctx: Context, opts: fl.Parsed) -> int:
    from dockyard.runtime import foreground, lifecycle
    from dockyard.runtime.syscalls import LinuxSyscalls

    require_args(opts, "run", exactly=1)
    detach = opts.bool("detach")
    if detach and opts.bool("keep"):
        raise InvalidArgument("--detach and --keep cannot both be set")
    create_opts = create_options(opts, "run")
    bundle = opts.str("bundle") or "."
    if detach:
        state = lifecycle.create(ctx, opts.args[0], bundle, create_opts)
        _start_or_undo(ctx, state)
        return 0
    if not opts.bool("no_subreaper"):
        foreground.become_subreaper(LinuxSyscalls())  # the init re-parents to us
    # a pty needs somewhere to send its master; create reads config.json once and
    # uses the pair only if process.terminal is set
    ours = theirs = -1
    if not opts.str("console_socket"):
        ours, theirs = foreground.console_pair()
    try:
        state = lifecycle.create(
            ctx, opts.args[0], bundle, create_opts, console_fd=theirs
        )
    finally:
        if theirs >= 0:
            os.close(theirs)
    master = -1
    if ours >= 0:
        if (state.config.get("process") or {}).get("terminal"):
            master = foreground.receive_terminal(ours)
        else:
            os.close(ours)
    foreground.forward_signals(state.pid)
    _start_or_undo(ctx, state)
    if master >= 0:
        foreground.attach_terminal(master)
    status = foreground.wait_for(state.pid)
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
