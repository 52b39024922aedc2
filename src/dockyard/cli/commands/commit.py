"""``dockyard commit``: a new image from a container's changes (``POST /commit``).

``-c`` applies Dockerfile instructions (``ENV``, ``CMD``...), ``-m`` the message, ``-a`` the
author; the container is paused during the commit unless ``--pause=false``. Prints the new
image's ID.
"""

from __future__ import annotations

from dockyard.cli import command
from dockyard.cli.client import quote
from dockyard.cli.flags import LIST, STRING, Flag
from dockyard.errors import DockyardError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.flags import Options

USAGE = "[OPTIONS] CONTAINER [REPOSITORY[:TAG]]"
FLAGS = [
    Flag("author", "a", STRING, help='Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")'),
    Flag("change", "c", LIST, help="Apply Dockerfile instruction to the created image"),
    Flag("message", "m", STRING, help="Commit message"),
    Flag("pause", "p", default=True, help="Pause container during commit"),
]
ARGS = command.range_args(1, 2)


def run(cli: command.Cli, opts: Options, args: list[str]) -> int:
    pairs: list[tuple[str, str]] = []
    if len(args) > 1 and args[1]:
        from dockyard.oci.reference import parse_reference

        ref = parse_reference(args[1])
        if ref.digest:
            raise DockyardError("refusing to create a tag with a digest reference")
        pairs += [("repo", ref.name), ("tag", ref.tag)]
    pairs += [("author", opts.author), ("comment", opts.message), ("container", args[0])]
    pairs += [("changes", change) for change in opts.change]
    if not opts.pause:
        pairs.append(("pause", "0"))
    query = "&".join(f"{quote(k)}={quote(val)}" for k, val in sorted(pairs, key=lambda kv: kv[0]) if val)
    reply = cli.client.post("/commit" + (f"?{query}" if query else "")) or {}
    cli.out.write(f"{reply.get('Id', '')}\n")
    return 0
