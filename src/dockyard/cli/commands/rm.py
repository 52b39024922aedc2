"""``dockyard rm``: remove containers (``-f`` kills running ones; ``-v`` their anonymous volumes).

With ``-f`` a container that does not exist is reported but is no failure, as with docker.
"""

from __future__ import annotations

from dockyard.cli import command
from dockyard.cli.ctr_common import for_each, not_found, path_of
from dockyard.cli.flags import Flag
from dockyard.errors import DockyardError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.flags import Options

USAGE = "[OPTIONS] CONTAINER [CONTAINER...]"
FLAGS = [
    Flag("force", "f", help="Force the removal of a running container (uses SIGKILL)"),
    Flag("link", "l", help="Remove the specified link"),
    Flag("volumes", "v", help="Remove anonymous volumes associated with the container"),
]
ARGS = command.min_args(1)


def run(cli: command.Cli, opts: Options, args: list[str]) -> int:
    q = {"force": opts.force or None, "link": opts.link or None, "v": opts.volumes or None}

    def remove(name: str) -> None:
        name = name.strip("/")
        if not name:
            raise DockyardError("container name cannot be empty")
        cli.client.delete(path_of(name), q)
    return for_each(cli, args, remove, not_found if opts.force else None)
