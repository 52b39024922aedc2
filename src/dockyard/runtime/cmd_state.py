"""``state``: print a container's OCI state as JSON."""

from __future__ import annotations

import sys

from dockyard.oci import jsonio
from dockyard.runtime import flags as fl
from dockyard.runtime.cmdutil import load, require_args

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.runtime.context import Context

SUMMARY = "output the state of a container"
USAGE = "<container-id>"
FLAGS: list[fl.Flag] = []


def run(ctx: Context, opts: fl.Parsed) -> int:
    require_args(opts, "state", exactly=1)
    state = load(ctx, opts, "state")
    sys.stdout.write(jsonio.dumps(state.oci_state(), indent="  ") + "\n")
    return 0
