"""``dockyard volume ls``: ``GET /volumes`` as docker's table (DRIVER, VOLUME NAME) sorted by
name, ``-q`` names only, ``--filter`` (dangling, driver, label, name) to the daemon,
``--format`` a table or template over docker's ``volumeContext`` fields. Without
``--format`` the config file's ``volumesFormat`` applies.
"""

from __future__ import annotations

from dockyard.cli import command
from dockyard.cli.filteropt import Filters, filter_flag
from dockyard.cli.flags import FORMAT_HELP_TABLE, STRING, Flag
from dockyard.cli.gotemplate import Formatter
from dockyard.cli.volume_row import VolumeRow

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from dockyard.cli.flags import Options

USAGE = "[OPTIONS]"
FLAGS = [
    Flag("cluster", help="Display only cluster volumes, and use cluster volume list formatting", hidden=True),
    filter_flag('Provide filter values (e.g. "dangling=true")'),
    Flag("format", kind=STRING, help=FORMAT_HELP_TABLE),
    Flag("quiet", "q", help="Only display volume names"),
]
ARGS = command.no_args

DEFAULT_TABLE = "table {{.Driver}}\t{{.Name}}"
QUIET = "{{.Name}}"


def _natural_key(name: str) -> list[Any]:
    """docker sorts names with sortorder.NaturalLess (digit runs compared as numbers)."""
    out: list[Any] = []
    digits = ""
    text = ""
    for c in name:
        if c.isdigit():
            if text:
                out.append((1, text, 0))
                text = ""
            digits += c
        else:
            if digits:
                out.append((0, "", int(digits)))
                digits = ""
            text += c
    if digits:
        out.append((0, "", int(digits)))
    if text:
        out.append((1, text, 0))
    return out


def run(cli: command.Cli, opts: Options, args: list[str]) -> int:
    reply = cli.client.get("/volumes", {"filters": Filters(opts.filter).encode()}) or {}
    volumes = sorted(reply.get("Volumes") or [], key=lambda v: _natural_key(str(v.get("Name", ""))))
    fmt = opts.format
    if not fmt:
        from dockyard.cli.dockerconfig import load

        configured = load(cli).get("volumesFormat") if not opts.quiet else ""
        fmt = configured if isinstance(configured, str) and configured else "table"
    if fmt == "table":
        fmt = QUIET if opts.quiet else DEFAULT_TABLE
    elif opts.quiet and fmt == "raw":
        fmt = "name: {{.Name}}\n"
    elif fmt == "raw":
        fmt = "name: {{.Name}}\ndriver: {{.Driver}}\n"
    cli.out.write(Formatter(fmt, VolumeRow.HEADER).render(VolumeRow(v) for v in volumes))
    for warning in reply.get("Warnings") or []:
        cli.err.write(f"{warning}\n")
    return 0
