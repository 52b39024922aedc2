"""``dockyard builder prune``: ``POST /build/prune`` (dangling build cache, all of it with ``-a``).

As docker 28 without BuildKit: asks for confirmation unless ``-f`` (an answer other than
``y`` ends quietly), sends ``all``, ``filters`` (with the config file's ``pruneFilters``)
and ``keep-storage`` only when set, then prints "Deleted build cache objects:" and the IDs,
a blank line, and "Total reclaimed space: 1.2kB".
"""

from __future__ import annotations

from dockyard.cli import command, term
from dockyard.cli.filteropt import Filters, filter_flag
from dockyard.cli.flags import BYTES, Flag

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.flags import Options

USAGE = ""
FLAGS = [
    Flag("all", "a", help="Remove all unused build cache, not just dangling ones"),
    filter_flag('Provide filter values (e.g. "until=24h")', short=""),
    Flag("force", "f", help="Do not prompt for confirmation"),
    Flag("keep-storage", kind=BYTES, help="Amount of disk space to keep for cache"),
]
ARGS = command.no_args

ALL_WARNING = "WARNING! This will remove all build cache. Are you sure you want to continue?"
DANGLING_WARNING = "WARNING! This will remove all dangling build cache. Are you sure you want to continue?"


def run(cli: command.Cli, opts: Options, args: list[str]) -> int:
    from dockyard.cli.prune import prune_filters
    from dockyard.cli.tables import human_size

    if not opts.force and not term.confirm(cli.inp, cli.out, ALL_WARNING if opts.all else DANGLING_WARNING):
        return 0
    query = {"all": True if opts.all else None, "filters": prune_filters(cli, Filters(opts.filter)).encode(),
             "keep-storage": opts.keep_storage or None}
    report = cli.client.post("/build/prune", query) or {}
    deleted = report.get("CachesDeleted") or []
    if deleted:
        cli.out.write("Deleted build cache objects:\n" + "".join(f"{item}\n" for item in deleted) + "\n")
    cli.out.write(f"Total reclaimed space: {human_size(int(report.get('SpaceReclaimed') or 0))}\n")
    return 0
