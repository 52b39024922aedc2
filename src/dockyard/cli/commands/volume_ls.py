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
from dockyard.cli.rowcontext import RowContext

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


class VolumeRow(RowContext):
    """docker's ``formatter.volumeContext``."""

    GO_TYPE = "*formatter.volumeContext"
    HEADER = {"Name": "VOLUME NAME", "Driver": "DRIVER", "Scope": "SCOPE", "Mountpoint": "MOUNTPOINT",
              "Labels": "LABELS", "Links": "LINKS", "Size": "SIZE", "Group": "GROUP",
              "Availability": "AVAILABILITY", "Status": "STATUS"}

    def __init__(self, v: dict[str, Any]) -> None:
        self.v = v

    def Name(self) -> str:
        return str(self.v.get("Name", ""))

    def Driver(self) -> str:
        return str(self.v.get("Driver", ""))

    def Scope(self) -> str:
        return str(self.v.get("Scope", ""))

    def Mountpoint(self) -> str:
        return str(self.v.get("Mountpoint", ""))

    def Labels(self) -> str:
        labels = self.v.get("Labels") or {}
        return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))

    def Label(self, name: str) -> str:
        return str((self.v.get("Labels") or {}).get(name, ""))

    def Links(self) -> str:
        usage = self.v.get("UsageData")
        return str(usage.get("RefCount", 0)) if usage else "N/A"

    def Size(self) -> str:
        from dockyard.cli.tables import human_size

        usage = self.v.get("UsageData")
        return human_size(usage.get("Size", 0)) if usage and usage.get("Size", -1) != -1 else "N/A"

    def Group(self) -> str:
        return "N/A"

    def Availability(self) -> str:
        return "N/A"

    def Status(self) -> str:
        return "N/A"


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
