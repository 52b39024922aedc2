"""``start``: release a created container's process."""

from __future__ import annotations

from dockyard.runtime import flags as fl
from dockyard.runtime.cmdutil import load, require_args

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.runtime.context import Context

SUMMARY = "executes the user defined process in a created container"
USAGE = "<container-id>"
FLAGS: list[fl.Flag] = []


def run(ctx: Context, opts: fl.Parsed) -> int:
    from dockyard.runtime import lifecycle

    require_args(opts, "start", exactly=1)
    lifecycle.start(ctx, load(ctx, opts, "start"))
    return 0
