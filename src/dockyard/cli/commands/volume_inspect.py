"""``dockyard volume inspect VOLUME...``: ``GET /volumes/{name}`` printed as docker's inspect
(indented array, ``--format json`` compact, or a template per volume)."""

from __future__ import annotations

from dockyard.cli import command, inspecting
from dockyard.cli.flags import FORMAT_HELP_INSPECT, STRING, Flag

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.flags import Options

USAGE = "[OPTIONS] VOLUME [VOLUME...]"
FLAGS = [Flag("format", "f", STRING, help=FORMAT_HELP_INSPECT)]
ARGS = command.min_args(1)


def volume_getter(cli: command.Cli) -> inspecting.Getter:
    from dockyard.cli.apiquery import path_escape

    def get(name: str) -> bytes:
        return cli.client.request("GET", f"/volumes/{path_escape(name)}").read()
    return get


def run(cli: command.Cli, opts: Options, args: list[str]) -> int:
    inspecting.inspect(cli.out, args, opts.format, volume_getter(cli))
    return 0
