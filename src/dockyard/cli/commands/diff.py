"""``dockyard diff``: changes to a container's filesystem, ``A``dded, ``C``hanged, ``D``eleted."""

from __future__ import annotations

from dockyard.cli import command
from dockyard.cli.ctr_common import path_of

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.flags import Options

USAGE = "CONTAINER"
FLAGS: list[object] = []
ARGS = command.exact_args(1)
KINDS = {0: "C", 1: "A", 2: "D"}


def run(cli: command.Cli, opts: Options, args: list[str]) -> int:
    changes = cli.client.get(f"{path_of(args[0])}/changes") or []
    cli.out.write("".join(f"{KINDS.get(c.get('Kind'), '?')} {c.get('Path', '')}\n" for c in changes))
    return 0
