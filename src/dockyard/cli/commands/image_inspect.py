"""``dockyard image inspect IMAGE...``: ``GET /images/{name}/json`` printed as docker's inspect.

The daemon's JSON in an indented array, ``--format json`` compact, or a template per image
(``{{.Id}}``, ``{{json .Config}}``); see ``dockyard.cli.inspecting``. ``--platform`` asks for
one platform of a multi-platform image.
"""

from __future__ import annotations

from dockyard.cli import command, inspecting
from dockyard.cli.flags import FORMAT_HELP_INSPECT, STRING, Flag

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.flags import Options

USAGE = "[OPTIONS] IMAGE [IMAGE...]"
FLAGS = [
    Flag("format", "f", STRING, help=FORMAT_HELP_INSPECT),
    Flag("platform", kind=STRING, help="Inspect a specific platform of the multi-platform image.\n"
                                       "If the image or the server is not multi-platform capable, the command "
                                       "will error out if the platform does not match.\n"
                                       "'os[/arch[/variant]]': Explicit platform (eg. linux/amd64)"),
]
ARGS = command.min_args(1)


def image_getter(cli: command.Cli, platform: str = "") -> inspecting.Getter:
    """``GET /images/{name}/json`` (with ``platform``), the raw reply or the daemon's error."""
    from dockyard.cli.apiquery import path_escape

    query = {}
    if platform:
        from dockyard.cli.platforms import platform_json

        query["platform"] = platform_json(platform)

    def get(ref: str) -> bytes:
        return cli.client.request("GET", f"/images/{path_escape(ref)}/json", query).read()
    return get


def run(cli: command.Cli, opts: Options, args: list[str]) -> int:
    inspecting.inspect(cli.out, args, opts.format, image_getter(cli, opts.platform))
    return 0
