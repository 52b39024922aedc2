"""``dockyard restart``: restart containers (stop with the timeout, then start)."""

from __future__ import annotations

from dockyard.cli import command
from dockyard.cli.commands.stop import FLAGS, query
from dockyard.cli.ctr_common import for_each, path_of

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.flags import Options

USAGE = "[OPTIONS] CONTAINER [CONTAINER...]"
ARGS = command.min_args(1)
__all__ = ["ARGS", "FLAGS", "USAGE", "run"]


def run(cli: command.Cli, opts: Options, args: list[str]) -> int:
    q = query(opts)
    return for_each(cli, args, lambda name: cli.client.post(f"{path_of(name)}/restart", q))
