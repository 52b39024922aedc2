"""``dockyard rename``: give a container a new name."""

from __future__ import annotations

from dockyard.cli import command
from dockyard.cli.ctr_common import path_of
from dockyard.errors import DockyardError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.flags import Options

USAGE = "CONTAINER NEW_NAME"
FLAGS: list[object] = []
ARGS = command.exact_args(2)


def run(cli: command.Cli, opts: Options, args: list[str]) -> int:
    old, new = args[0].strip(), args[1].strip()
    if not old or not new:
        raise DockyardError("Error: Neither old nor new names may be empty")
    try:
        cli.client.post(f"{path_of(old)}/rename", {"name": new})
    except DockyardError as exc:
        cli.err.write(f"{exc}\n")
        raise DockyardError(f"Error: failed to rename container named {old}") from None
    return 0
