"""``dockyard volume rm [-f] VOLUME...``: ``DELETE /volumes/{name}`` for each, printing the
names removed, then every error (exit 1 if any); ``-f`` forgives a missing volume (the
daemon's ``force``) but never one in use."""

from __future__ import annotations

from dockyard.cli import command
from dockyard.cli.client import quote
from dockyard.cli.ctr_common import for_each
from dockyard.cli.flags import Flag

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.flags import Options

USAGE = "[OPTIONS] VOLUME [VOLUME...]"
DESCRIPTION = "Remove one or more volumes. You cannot remove a volume that is in use by a container."
FLAGS = [Flag("force", "f", help="Force the removal of one or more volumes")]
ARGS = command.min_args(1)


def run(cli: command.Cli, opts: Options, args: list[str]) -> int:
    def remove(name: str) -> None:
        cli.client.delete("/volumes/" + quote(name), {"force": True if opts.force else None})
    return for_each(cli, args, remove)
