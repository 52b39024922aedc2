"""``dockyard inspect``: low-level information on objects of any type, as docker finds them.

With ``--type`` one kind of object is asked for (containers with ``-s`` sizes, images
through ``image inspect``'s getter, networks, volumes, plugins, and the swarm kinds, which
the daemon refuses). Without it each name is tried as a container, an image, a network, a
plugin, then a volume, the first the daemon knows winning; a name nothing matches is
"Error: No such object: NAME".
"""

from __future__ import annotations

from dockyard.cli import command, inspecting
from dockyard.cli.client import quote
from dockyard.cli.commands.container_inspect import container_getter
from dockyard.cli.flags import FORMAT_HELP_INSPECT, STRING, Flag
from dockyard.errors import DockyardError, NotFound

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.flags import Options

USAGE = "[OPTIONS] NAME|ID [NAME|ID...]"
FLAGS = [
    Flag("format", "f", STRING, help=FORMAT_HELP_INSPECT),
    Flag("size", "s", help="Display total file sizes if the type is container"),
    Flag("type", kind=STRING, help="Only inspect objects of the given type"),
]
ARGS = command.min_args(1)
TYPES = ("config", "container", "image", "network", "node", "plugin", "secret", "service", "task", "volume")
AUTODETECT = ("container", "image", "network", "plugin", "volume")  # the swarm kinds need a swarm
_PATHS = {"config": "/configs/{}", "network": "/networks/{}", "node": "/nodes/{}", "plugin": "/plugins/{}/json",
          "secret": "/secrets/{}", "service": "/services/{}", "task": "/tasks/{}", "volume": "/volumes/{}"}


def getter(cli: command.Cli, kind: str, size: bool) -> inspecting.Getter:
    if kind == "container":
        return container_getter(cli, size)
    if kind == "image":
        try:
            from dockyard.cli.commands.image_inspect import image_getter
        except ImportError:
            pass
        else:
            return image_getter(cli)

    def get(ref: str) -> bytes:
        path = _PATHS.get(kind, "/images/{}/json").format(quote(ref, "/:@"))
        return cli.client.request("GET", path).read()
    return get


def run(cli: command.Cli, opts: Options, args: list[str]) -> int:
    kind = opts.type
    if kind and kind not in TYPES:
        choices = ", ".join(f'"{t}"' for t in TYPES)
        raise DockyardError(f'unknown type: "{kind}": must be one of {choices}')
    if kind:
        inspecting.inspect(cli.out, args, opts.format, getter(cli, kind, opts.size))
        return 0
    getters = [getter(cli, k, opts.size) for k in AUTODETECT]

    def find(ref: str) -> bytes:
        for get in getters:
            try:
                return get(ref)
            except NotFound:
                continue
        raise DockyardError(f"Error: No such object: {ref}")
    inspecting.inspect(cli.out, args, opts.format, find)
    return 0
