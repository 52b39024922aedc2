"""``dockyard kill``: send a signal (default SIGKILL, the daemon's choice) to containers."""

from __future__ import annotations

from dockyard.cli import command
from dockyard.cli.ctr_common import for_each, path_of
from dockyard.cli.flags import STRING, Flag

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.flags import Options

USAGE = "[OPTIONS] CONTAINER [CONTAINER...]"
FLAGS = [Flag("signal", "s", STRING, help="Signal to send to the container")]
ARGS = command.min_args(1)


def run(cli: command.Cli, opts: Options, args: list[str]) -> int:
    q = {"signal": opts.signal or None}
    return for_each(cli, args, lambda name: cli.client.post(f"{path_of(name)}/kill", q))
