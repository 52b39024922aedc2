"""``dockyard volume prune``: ``POST /volumes/prune``: unused anonymous volumes (every unused
volume with ``-a``, sent as the ``all=true`` filter, as docker 28 does).

Asks for confirmation unless ``-f``, then prints the volumes deleted and the space reclaimed.
"""

from __future__ import annotations

from dockyard.cli import command, prune, term
from dockyard.cli.filteropt import Filters, filter_flag
from dockyard.cli.flags import Flag
from dockyard.errors import DockyardError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.flags import Options

USAGE = "[OPTIONS]"
FLAGS = [
    Flag("all", "a", help="Remove all unused volumes, not just anonymous ones"),
    filter_flag('Provide filter values (e.g. "label=<label>")', short=""),
    Flag("force", "f", help="Do not prompt for confirmation"),
]
ARGS = command.no_args

ALL_WARNING = ("WARNING! This will remove all local volumes not used by at least one container.\n"
               "Are you sure you want to continue?")
ANONYMOUS_WARNING = ("WARNING! This will remove anonymous local volumes not used by at least one container.\n"
                     "Are you sure you want to continue?")


def run(cli: command.Cli, opts: Options, args: list[str]) -> int:
    filters = Filters(opts.filter)
    if opts.all:
        if filters.contains("all"):
            raise DockyardError("conflicting options: cannot specify both --all and --filter all=1")
        filters.add("all", "true")
    if not opts.force and not term.confirm(cli.inp, cli.out, ALL_WARNING if opts.all else ANONYMOUS_WARNING):
        return 0
    prune.run(cli, [prune.volumes], opts.all, filters)
    return 0
