"""``dockyard network disconnect NETWORK CONTAINER``: ``POST /networks/{id}/disconnect``."""

from __future__ import annotations

from dockyard.cli import command
from dockyard.cli.flags import Flag

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.flags import Options

USAGE = "[OPTIONS] NETWORK CONTAINER"
FLAGS = [Flag("force", "f", help="Force the container to disconnect from a network")]
ARGS = command.exact_args(2)


def run(cli: command.Cli, opts: Options, args: list[str]) -> int:
    from dockyard.cli.apiquery import path_escape
    from dockyard.cli.commands.network_connect import post_json

    post_json(cli, f"/networks/{path_escape(args[0])}/disconnect", {"Container": args[1], "Force": bool(opts.force)})
    return 0
