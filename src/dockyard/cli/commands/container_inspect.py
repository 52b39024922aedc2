"""``dockyard container inspect``: ``GET /containers/{id}/json`` printed as docker's inspect.

The daemon's JSON in an indented array, ``--format json`` compact, or a template per
container (``{{.State.Status}}``); ``-s`` asks for the sizes. See ``dockyard.cli.inspecting``.
"""

from __future__ import annotations

from dockyard.cli import command, inspecting
from dockyard.cli.ctr_common import path_of
from dockyard.cli.flags import FORMAT_HELP_INSPECT, STRING, Flag

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.flags import Options

USAGE = "[OPTIONS] CONTAINER [CONTAINER...]"
FLAGS = [
    Flag("format", "f", STRING, help=FORMAT_HELP_INSPECT),
    Flag("size", "s", help="Display total file sizes"),
]
ARGS = command.min_args(1)


def container_getter(cli: command.Cli, size: bool = False) -> inspecting.Getter:
    """``GET /containers/{id}/json`` (``size=1`` with ``-s``): the raw reply or the daemon's error."""
    query = {"size": True if size else None}

    def get(ref: str) -> bytes:
        return cli.client.request("GET", f"{path_of(ref)}/json", query).read()
    return get


def run(cli: command.Cli, opts: Options, args: list[str]) -> int:
    inspecting.inspect(cli.out, args, opts.format, container_getter(cli, opts.size))
    return 0
