"""``dockyard network inspect NETWORK...``: ``GET /networks/{id}`` printed as docker's inspect.

The daemon's JSON in an indented array, ``--format json`` compact, or a template per
network; ``-v`` asks the daemon for its verbose view (the same for local networks).
"""

from __future__ import annotations

from dockyard.cli import command, inspecting
from dockyard.cli.flags import FORMAT_HELP_INSPECT, STRING, Flag

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.flags import Options

USAGE = "[OPTIONS] NETWORK [NETWORK...]"
FLAGS = [
    Flag("format", "f", STRING, help=FORMAT_HELP_INSPECT),
    Flag("verbose", "v", help="Verbose output for diagnostics"),
]
ARGS = command.min_args(1)


def network_getter(cli: command.Cli, verbose: bool = False) -> inspecting.Getter:
    from dockyard.cli.apiquery import path_escape

    def get(ref: str) -> bytes:
        query = {"verbose": "true"} if verbose else {}
        return cli.client.request("GET", f"/networks/{path_escape(ref)}", query).read()
    return get


def run(cli: command.Cli, opts: Options, args: list[str]) -> int:
    inspecting.inspect(cli.out, args, opts.format, network_getter(cli, opts.verbose))
    return 0
