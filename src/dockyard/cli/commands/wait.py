"""``dockyard wait``: block until containers stop, then print their exit codes."""

from __future__ import annotations

from dockyard.cli import command
from dockyard.cli.ctr_common import path_of
from dockyard.errors import DockyardError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.flags import Options

USAGE = "CONTAINER [CONTAINER...]"
FLAGS: list[object] = []
ARGS = command.min_args(1)


def run(cli: command.Cli, opts: Options, args: list[str]) -> int:
    errors = []
    for name in args:
        try:
            result = cli.client.post(f"{path_of(name)}/wait") or {}
        except DockyardError as exc:
            errors.append(str(exc))
            continue
        message = (result.get("Error") or {}).get("Message")
        if message:
            errors.append(message)
            continue
        cli.out.write(f"{result.get('StatusCode', 0)}\n")
    if errors:
        raise command.StatusError(1, "\n".join(errors))
    return 0
