"""``dockyard network prune``: remove the networks no container uses (after a y/N prompt unless ``-f``)."""

from __future__ import annotations

from dockyard.cli import command
from dockyard.cli.filteropt import Filters, filter_flag
from dockyard.cli.flags import Flag

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.flags import Options

USAGE = "[OPTIONS]"
FLAGS = [
    filter_flag('Provide filter values (e.g. "until=<timestamp>")', short=""),
    Flag("force", "f", help="Do not prompt for confirmation"),
]
ARGS = command.no_args
WARNING = "WARNING! This will remove all custom networks not used by at least one container."


def run(cli: command.Cli, opts: Options, args: list[str]) -> int:
    if not opts.force:
        from dockyard.cli.term import confirm

        if not confirm(cli.inp, cli.out, WARNING + "\nAre you sure you want to continue?"):
            return 0
    report = cli.client.post("/networks/prune", {"filters": Filters(opts.filter).encode()}) or {}
    deleted = report.get("NetworksDeleted") or []
    if deleted:
        cli.out.write("Deleted Networks:\n" + "".join(f"{name}\n" for name in deleted) + "\n")
    return 0
