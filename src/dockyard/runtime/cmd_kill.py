"""``kill``: send a signal to a container's init (or, with --all, to all its processes)."""

from __future__ import annotations

from dockyard.errors import InvalidArgument
from dockyard.runtime import flags as fl
from dockyard.runtime.cmdutil import load

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.runtime.context import Context

SUMMARY = "kill sends the specified signal (default: SIGTERM) to the container's init process"
USAGE = "<container-id> [signal]"
FLAGS = [fl.Flag("all, a", help="send the specified signal to all processes inside the container")]


def run(ctx: Context, opts: fl.Parsed) -> int:
    from dockyard.runtime import lifecycle
    from dockyard.runtime.signals import parse_signal

    if not opts.args:
        raise InvalidArgument('dockyard-runc: "kill" requires a minimum of 1 argument(s)')
    if len(opts.args) > 2:
        raise InvalidArgument('dockyard-runc: "kill" requires a maximum of 2 argument(s)')
    sig = parse_signal(opts.args[1]) if len(opts.args) == 2 else 15
    lifecycle.signal(load(ctx, opts, "kill"), sig, opts.bool("all"))
    return 0
