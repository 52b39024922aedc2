"""``pause``: freeze every process of a running container (its freezer cgroup)."""

from __future__ import annotations

from dockyard.errors import FailedPrecondition
from dockyard.runtime import flags as fl
from dockyard.runtime import state as st
from dockyard.runtime.cmdutil import load, require_args

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.runtime.context import Context

SUMMARY = "pause suspends all processes inside the container"
USAGE = "<container-id>"
FLAGS: list[fl.Flag] = []


def run(ctx: Context, opts: fl.Parsed) -> int:
    from dockyard.runtime.cgroups import manager_from_state

    require_args(opts, "pause", exactly=1)
    state = load(ctx, opts, "pause")
    if state.status() != st.RUNNING:
        raise FailedPrecondition("container not running")
    manager_from_state(state.cgroup).freeze()
    return 0
