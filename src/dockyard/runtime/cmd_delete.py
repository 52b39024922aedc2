"""``delete``: remove a container's resources and its record."""

from __future__ import annotations

from dockyard.errors import NotFound
from dockyard.runtime import flags as fl
from dockyard.runtime.cmdutil import load, require_args

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.runtime.context import Context

SUMMARY = "delete any resources held by the container often used with detached container"
USAGE = "<container-id>"
FLAGS = [fl.Flag("force, f", help="Forcibly deletes the container if it is still running (uses SIGKILL)")]


def run(ctx: Context, opts: fl.Parsed) -> int:
    from dockyard.runtime import lifecycle

    require_args(opts, "delete", exactly=1)
    force = opts.bool("force")
    try:
        state = load(ctx, opts, "delete")
    except NotFound:
        if force:
            return 0
        raise
    lifecycle.delete(ctx, state, force)
    return 0
