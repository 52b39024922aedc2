"""``dockyard ps`` / ``container ls``: ``GET /containers/json`` as docker's table or template.

Default columns CONTAINER ID IMAGE COMMAND CREATED STATUS PORTS NAMES (SIZE with ``-s``);
``-a`` all containers, ``-n N`` the N last created, ``-l`` the last one, ``--filter`` goes to
the daemon, ``-q`` the IDs, ``--no-trunc`` whole IDs and commands. A ``--format`` that uses
``.Size`` asks the daemon for sizes (unless ``--size=false``); without ``--format`` the
config file's ``psFormat`` applies.
"""

from __future__ import annotations

from dockyard.cli import command
from dockyard.cli.ctr_format import ContainerRow, ps_format
from dockyard.cli.filteropt import Filters, filter_flag
from dockyard.cli.flags import FORMAT_HELP_TABLE, INT, STRING, Flag
from dockyard.cli.gotemplate import Formatter, Template, TemplateError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.flags import Options

USAGE = "[OPTIONS]"
FLAGS = [
    Flag("all", "a", help="Show all containers (default shows just running)"),
    filter_flag(),
    Flag("format", kind=STRING, help=FORMAT_HELP_TABLE),
    Flag("last", "n", INT, -1, help="Show n last created containers (includes all states)"),
    Flag("latest", "l", help="Show the latest created container (includes all states)"),
    Flag("no-trunc", help="Don't truncate output"),
    Flag("quiet", "q", help="Only display container IDs"),
    Flag("size", "s", help="Display total file sizes"),
]
ARGS = command.no_args


def run(cli: command.Cli, opts: Options, args: list[str]) -> int:
    fmt = opts.format
    if not fmt:
        from dockyard.cli.runflow import config_value

        configured = config_value(cli, "psFormat")
        fmt = configured if isinstance(configured, str) else ""
    size = opts.size
    if fmt:
        try:
            template = Template(fmt)
        except TemplateError as exc:
            raise command.StatusError(1, f"failed to parse template: {exc}") from None
        try:  # docker runs it once over an empty row first: a bad field fails before any request
            template.execute(ContainerRow({}))
        except TemplateError as exc:
            raise command.StatusError(1, f"failed to execute template: {exc}") from None
        uses_size = ".Size" in fmt or "json ." in fmt  # {{json .}} renders every field, .Size too
        if not opts.quiet and not size and "size" not in opts.changed and uses_size:
            size = True
    limit = opts.last if opts.last != -1 else (1 if opts.latest else -1)
    query = {"all": True if opts.all else None, "limit": limit if limit > 0 else None, "size": True if size else None,
             "filters": Filters(opts.filter).encode()}
    containers = cli.client.get("/containers/json", query) or []
    formatter = Formatter(ps_format(fmt, opts.quiet, size), ContainerRow.HEADER)
    cli.out.write(formatter.render(ContainerRow(c, not opts.no_trunc) for c in containers))
    return 0
