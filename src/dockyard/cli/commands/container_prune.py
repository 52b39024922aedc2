"""``dockyard container prune``: remove all stopped containers (after a y/N prompt unless ``-f``)."""

from __future__ import annotations

from dockyard.cli import command
from dockyard.cli.filteropt import Filters, filter_flag
from dockyard.cli.flags import Flag
from dockyard.cli.tables import human_size

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.flags import Options

USAGE = "[OPTIONS]"
FLAGS = [
    filter_flag('Provide filter values (e.g. "until=<timestamp>")', short=""),
    Flag("force", "f", help="Do not prompt for confirmation"),
]
ARGS = command.no_args
WARNING = "WARNING! This will remove all stopped containers."


def run(cli: command.Cli, opts: Options, args: list[str]) -> int:
    if not opts.force:
        from dockyard.cli.term import confirm

        if not confirm(cli.inp, cli.out, WARNING + "\nAre you sure you want to continue?"):
            return 0  # docker: cancelled, silently
    report = cli.client.post("/containers/prune", {"filters": Filters(opts.filter).encode()}) or {}
    deleted = report.get("ContainersDeleted") or []
    out = ""
    if deleted:
        out = "Deleted Containers:\n" + "".join(f"{ident}\n" for ident in deleted) + "\n"
    cli.out.write(out + f"Total reclaimed space: {human_size(float(report.get('SpaceReclaimed') or 0), 4)}\n")
    return 0
