"""``dockyard images`` / ``image ls``: ``GET /images/json`` as docker's table (or template).

Columns REPOSITORY TAG IMAGE ID CREATED SIZE (DIGEST with ``--digests``); ``-q`` prints the
IDs, ``--no-trunc`` whole IDs, ``--filter`` (dangling, reference, label, before, since, until)
and the optional REPOSITORY[:TAG] argument go to the daemon as ``filters``. Without
``--format`` the config file's ``imagesFormat`` applies, as with docker.
"""

from __future__ import annotations

from dockyard.cli import command
from dockyard.cli.filteropt import Filters, filter_flag
from dockyard.cli.flags import FORMAT_HELP_TABLE, STRING, Flag
from dockyard.cli.gotemplate import Formatter
from dockyard.cli.imagefmt import ImageRow, image_format, image_rows

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.flags import Options

USAGE = "[OPTIONS] [REPOSITORY[:TAG]]"
FLAGS = [
    Flag("all", "a", help="Show all images (default hides intermediate images)"),
    Flag("digests", help="Show digests"),
    filter_flag(),
    Flag("format", kind=STRING, help=FORMAT_HELP_TABLE),
    Flag("no-trunc", help="Don't truncate output"),
    Flag("quiet", "q", help="Only show image IDs"),
]
ARGS = command.max_args(1)


def run(cli: command.Cli, opts: Options, args: list[str]) -> int:
    filters = Filters(opts.filter)
    if args:
        filters.add("reference", args[0])
    images = cli.client.get("/images/json", {"all": True if opts.all else None, "filters": filters.encode()})
    fmt = opts.format
    if not fmt:
        from dockyard.cli.dockerconfig import load

        configured = load(cli).get("imagesFormat") if not opts.quiet else ""
        fmt = configured if isinstance(configured, str) and configured else "table"
    fmt = image_format(fmt, opts.quiet, opts.digests)
    formatter = Formatter(fmt, ImageRow.HEADER)
    rows = image_rows(images or [], opts.digests, opts.digests or "{{.Digest}}" in fmt, not opts.no_trunc)
    cli.out.write(formatter.render(rows))
    return 0
