"""``dockyard rmi`` / ``image rm``: ``DELETE /images/{name}`` for each image.

Prints the daemon's answer as docker does (``Untagged: busybox:latest``, ``Deleted:
sha256:...``). Failures are reported together at the end, exit 1; with ``--force`` an image
that does not exist is reported but does not fail the command.
"""

from __future__ import annotations

from dockyard.cli import command
from dockyard.cli.flags import LIST, Flag
from dockyard.errors import DockyardError, NotFound

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.flags import Options

USAGE = "[OPTIONS] IMAGE [IMAGE...]"
FLAGS = [
    Flag("force", "f", help="Force removal of the image"),
    Flag("no-prune", help="Do not delete untagged parents"),
    Flag("platform", kind=LIST, type_name="strings",
         help='Remove only the given platform variant. Formatted as "os[/arch[/variant]]" (e.g., "linux/amd64")'),
]
ARGS = command.min_args(1)


def _path(name: str, opts: Options) -> str:
    from dockyard.cli.apiquery import path_escape, with_query
    from dockyard.cli.platforms import platform_json

    pairs: list[tuple[str, str | None]] = [("force", "1" if opts.force else None),
                                           ("noprune", "1" if opts.no_prune else None)]
    for value in opts.platform:
        pairs += [("platforms", platform_json(spec.strip())) for spec in value.split(",") if spec.strip()]
    return with_query(f"/images/{path_escape(name)}", pairs)


def run(cli: command.Cli, opts: Options, args: list[str]) -> int:
    errors: list[str] = []
    fatal = False
    for name in args:
        try:
            removed = cli.client.call("DELETE", _path(name, opts))
        except DockyardError as exc:
            fatal = fatal or not (opts.force and isinstance(exc, NotFound))
            errors.append(str(exc))
            continue
        for item in removed or []:
            if item.get("Deleted"):
                cli.out.write(f"Deleted: {item['Deleted']}\n")
            else:
                cli.out.write(f"Untagged: {item.get('Untagged', '')}\n")
    if errors:
        if fatal or not opts.force:
            raise command.StatusError(1, "\n".join(errors))
        cli.err.write("\n".join(errors) + "\n")
    return 0
