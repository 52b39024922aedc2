"""``dockyard top``: the processes of a container (``GET /containers/{id}/top?ps_args=``)."""

from __future__ import annotations

from dockyard.cli import command
from dockyard.cli.ctr_common import path_of
from dockyard.cli.tabwriter import TabWriter

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.flags import Options

USAGE = "CONTAINER [ps OPTIONS]"
FLAGS: list[object] = []
ARGS = command.min_args(1)
INTERSPERSED = False


def run(cli: command.Cli, opts: Options, args: list[str]) -> int:
    query = {"ps_args": " ".join(args[1:])} if len(args) > 1 else None
    procs = cli.client.get(f"{path_of(args[0])}/top", query) or {}
    writer = TabWriter(20, 1, 3)
    writer.write("\t".join(procs.get("Titles") or []) + "\n")
    for proc in procs.get("Processes") or []:
        writer.write("\t".join(proc) + "\n")
    cli.out.write(writer.flush())
    return 0
