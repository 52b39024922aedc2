"""``dockyard network rm NETWORK...``: ``DELETE /networks/{id}`` for each network.

Prints each removed network's name as given; each failure goes to stderr on its own line
and the command ends with docker's ``exit status 1``; ``-f`` ignores networks that do not exist.
"""

from __future__ import annotations

from dockyard.cli import command
from dockyard.cli.flags import Flag
from dockyard.errors import DockyardError, NotFound

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.flags import Options

USAGE = "NETWORK [NETWORK...]"
FLAGS = [Flag("force", "f", help="Do not error if the network does not exist")]
ARGS = command.min_args(1)


def run(cli: command.Cli, opts: Options, args: list[str]) -> int:
    from dockyard.cli.apiquery import path_escape

    status = 0
    for name in args:
        try:
            try:  # docker looks first (to warn before removing an ingress network)
                cli.client.call("GET", f"/networks/{path_escape(name)}")
            except DockyardError:
                pass
            cli.client.call("DELETE", f"/networks/{path_escape(name)}")
        except DockyardError as exc:
            if opts.force and isinstance(exc, NotFound):
                continue
            cli.err.write(f"{exc}\n")
            status = 1
            continue
        cli.out.write(f"{name}\n")
    if status:
        raise command.StatusError(status, f"exit status {status}")
    return 0
