"""``dockyard unpause``: thaw the processes of paused containers."""

from __future__ import annotations

from dockyard.cli import command
from dockyard.cli.ctr_common import for_each, path_of

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.flags import Options

USAGE = "CONTAINER [CONTAINER...]"
FLAGS: list[object] = []
ARGS = command.min_args(1)


def run(cli: command.Cli, opts: Options, args: list[str]) -> int:
    return for_each(cli, args, lambda name: cli.client.post(f"{path_of(name)}/unpause"))
