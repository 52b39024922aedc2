"""``ps``: the processes of a container, as ``ps`` rows (table) or a JSON list of pids.

The table comes from running ``ps`` on the host with the given arguments (``-ef`` by
default) and keeping the header and the rows whose PID column is one of the container's.
"""

from __future__ import annotations

import sys

from dockyard.errors import Internal, InvalidArgument
from dockyard.oci import jsonio
from dockyard.runtime import flags as fl
from dockyard.runtime.cmdutil import load, require_args

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.runtime.context import Context

SUMMARY = "ps displays the processes running inside a container"
USAGE = "<container-id> [ps options]"
FLAGS = [
    fl.Flag("format, f", fl.STR, "table", help='select one of: table or json (default: "table")'),
]


def run(ctx: Context, opts: fl.Parsed) -> int:
    require_args(opts, "ps", minimum=1)
    state = load(ctx, opts, "ps")
    fmt = opts.str("format")
    if fmt not in ("table", "json"):
        raise InvalidArgument("invalid format option")
    pids: list[int] = []
    if state.cgroup:
        from dockyard.runtime.cgroups import manager_from_state

        pids = manager_from_state(state.cgroup).pids()
    if fmt == "json":
        sys.stdout.write(jsonio.dumps(pids or None) + "\n")
        return 0
    sys.stdout.write(filter_table(run_ps(opts.args[1:] or ["-ef"]), pids))
    return 0


def run_ps(args: list[str]) -> str:
    import subprocess

    try:
        proc = subprocess.run(["ps", *args], capture_output=True, text=True, check=False)
    except OSError as exc:
        raise Internal(f"cannot run ps: {exc.strerror}") from None
    if proc.returncode != 0:
        raise Internal(f"ps {' '.join(args)} failed: {proc.stderr.strip() or proc.returncode}")
    return proc.stdout


def filter_table(output: str, pids: list[int]) -> str:
    """The header of ``ps`` output and the rows whose PID is in ``pids``."""
    lines = output.splitlines()
    if not lines:
        return ""
    try:
        pid_index = lines[0].split().index("PID")
    except ValueError:
        raise InvalidArgument("couldn't find PID field in ps output") from None
    wanted = set(pids)
    out = [lines[0]]
    for line in lines[1:]:
        fields = line.split()
        if len(fields) <= pid_index:
            continue
        try:
            pid = int(fields[pid_index])
        except ValueError:
            raise Internal(f"unexpected pid {fields[pid_index]!r} in ps output") from None
        if pid in wanted:
            out.append(line)
    return "\n".join(out) + "\n"
