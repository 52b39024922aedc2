"""``dockyard image prune``: ``POST /images/prune``, dangling images (all unused ones with ``-a``).

Asks for confirmation unless ``-f`` (an answer other than ``y`` ends quietly, as docker's
does), then prints the untagged and deleted images and the space reclaimed.
"""

from __future__ import annotations

from dockyard.cli import command, prune, term
from dockyard.cli.filteropt import Filters, filter_flag
from dockyard.cli.flags import Flag

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.flags import Options

USAGE = "[OPTIONS]"
FLAGS = [
    Flag("all", "a", help="Remove all unused images, not just dangling ones"),
    filter_flag('Provide filter values (e.g. "until=<timestamp>")', short=""),
    Flag("force", "f", help="Do not prompt for confirmation"),
]
ARGS = command.no_args

ALL_WARNING = ("WARNING! This will remove all images without at least one container associated to them.\n"
               "Are you sure you want to continue?")
DANGLING_WARNING = "WARNING! This will remove all dangling images.\nAre you sure you want to continue?"


def run(cli: command.Cli, opts: Options, args: list[str]) -> int:
    if not opts.force and not term.confirm(cli.inp, cli.out, ALL_WARNING if opts.all else DANGLING_WARNING):
        return 0
    prune.run(cli, [prune.images], opts.all, Filters(opts.filter))
    return 0
