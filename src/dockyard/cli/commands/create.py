"""``dockyard create``: create a container (pulling a missing image) and print its ID.

Bad options exit 125 with docker's ``dockyard: <message>`` and the pointer to ``--help``;
daemon errors exit 1.
"""

from __future__ import annotations

from dockyard.cli import command, runflow
from dockyard.cli.commands.run import parse
from dockyard.cli.ctr_flags import create_flags

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.flags import Options

USAGE = "[OPTIONS] IMAGE [COMMAND] [ARG...]"
FLAGS = create_flags(run=False)
ARGS = command.min_args(1)
INTERSPERSED = False


def run(cli: command.Cli, opts: Options, args: list[str]) -> int:
    body = parse(cli, "create", opts, args)
    container_id = runflow.create_container(cli, body, opts.name, opts.platform, opts.pull, opts.quiet)
    cli.out.write(container_id + "\n")
    return 0
