"""``resume``: thaw a paused container."""

from __future__ import annotations

from dockyard.errors import FailedPrecondition
from dockyard.runtime import flags as fl
from dockyard.runtime import state as st
from dockyard.runtime.cmdutil import load, require_args

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.runtime.context import Context

SUMMARY = "resumes all processes that have been previously paused"
USAGE = "<container-id>"
FLAGS: list[fl.Flag] = []


def run(ctx: Context, opts: fl.Parsed) -> int:
    from dockyard.runtime.cgroups import manager_from_state

    require_args(opts, "resume", exactly=1)
    state = load(ctx, opts, "resume")
    if state.status() != st.PAUSED:
        raise FailedPrecondition("container not paused")
    manager_from_state(state.cgroup).thaw()
    return 0
