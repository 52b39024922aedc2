"""``dockyard volume create [OPTIONS] [VOLUME]``: ``POST /volumes/create``, then the name.

``--name`` (hidden) and the argument are one option (giving both is docker's "conflicting
options" error); ``--label`` and ``-o``/``--opt`` become the Labels and
DriverOpts maps (``key`` alone maps to ``""``); the driver defaults to ``local``.
"""

from __future__ import annotations

from dockyard.cli import command
from dockyard.cli.flags import LIST, STRING, Flag
from dockyard.errors import DockyardError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.flags import Options

USAGE = "[OPTIONS] [VOLUME]"
FLAGS = [
    Flag("driver", "d", STRING, default="local", help="Specify volume driver name"),
    Flag("label", kind=LIST, help="Set metadata for a volume"),
    Flag("name", kind=STRING, help="Specify volume name", hidden=True),
    Flag("opt", "o", LIST, type_name="map", help="Set driver specific options (default map[])"),
]
ARGS = command.max_args(1)


def kv_map(items: list[str]) -> dict[str, str]:
    """docker's ConvertKVStringsToMap: ``k=v`` and ``k`` (-> ``""``)."""
    out = {}
    for item in items:
        key, _, value = item.partition("=")
        out[key] = value
    return out


def run(cli: command.Cli, opts: Options, args: list[str]) -> int:
    name = opts.name
    if args:
        if name:
            raise DockyardError("conflicting options: cannot specify a volume-name through both --name and as a "
                                "positional arg")
        name = args[0]
    body: dict[str, object] = {"Driver": opts.driver}  # docker's omitempty, maps' keys sorted as Go writes them
    for key, value in (("DriverOpts", kv_map(opts.opt)), ("Labels", kv_map(opts.label))):
        if value:
            body[key] = dict(sorted(value.items()))
    if name:
        body["Name"] = name
    from dockyard.oci import jsonio

    data = (jsonio.dumps(body) + "\n").encode()  # as Go's json.Encoder writes it
    volume = cli.client.call("POST", "/volumes/create", data=data, headers={"Content-Type": "application/json"}) or {}
    cli.out.write(f"{volume.get('Name', '')}\n")
    return 0
