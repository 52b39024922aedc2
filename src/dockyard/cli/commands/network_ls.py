"""``dockyard network ls``: ``GET /networks`` as docker's table (or template).

Columns NETWORK ID NAME DRIVER SCOPE, sorted by name as docker sorts them (natural order);
``-q`` prints the IDs, ``--no-trunc`` whole IDs, ``--filter`` (driver, id, label, name,
scope, type, dangling) goes to the daemon. Without ``--format`` the config file's
``networksFormat`` applies, as with docker.
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
    filter_flag('Provide filter values (e.g. "driver=bridge")'),
    Flag("format", kind=STRING, help=FORMAT_HELP_TABLE),
    Flag("no-trunc", help="Do not truncate the output"),
    Flag("quiet", "q", help="Only display network IDs"),
]
ARGS = command.no_args
DEFAULT_TABLE = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"


class NetworkRow(RowContext):
    """docker's ``networkContext``."""

    GO_TYPE = "*network.networkContext"
    HEADER = {"ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE", "IPv4": "IPV4",
              "IPv6": "IPV6", "Internal": "INTERNAL", "Labels": "LABELS", "CreatedAt": "CREATED AT"}

    def __init__(self, net: dict[str, Any], trunc: bool) -> None:
        self.net = net
        self.trunc = trunc

    def ID(self) -> str:  # docker's template fields are methods with Go names
        ident = str(self.net.get("Id") or "")
        return ident[:12] if self.trunc else ident

    def Name(self) -> str:
        return str(self.net.get("Name") or "")

    def Driver(self) -> str:
        return str(self.net.get("Driver") or "")

    def Scope(self) -> str:
        return str(self.net.get("Scope") or "")

    def IPv4(self) -> str:
        return "true" if self.net.get("EnableIPv4", True) else "false"

    def IPv6(self) -> str:
        return "true" if self.net.get("EnableIPv6") else "false"

    def Internal(self) -> str:
        return "true" if self.net.get("Internal") else "false"

    def Labels(self) -> str:
        labels = self.net.get("Labels") or {}
        return ",".join(f"{k}={v}" for k, v in labels.items())

    def Label(self, name: str) -> str:
        return str((self.net.get("Labels") or {}).get(name, ""))

    def CreatedAt(self) -> str:
        """Go's ``time.Time.String()`` of the daemon's time (nanoseconds kept, zeros trimmed)."""
        created = str(self.net.get("Created") or "")
        date, sep, clock = created.rstrip("Z").partition("T")
        if created.endswith("Z") and sep:
            whole, _, frac = clock.partition(".")
            frac = frac.rstrip("0")
            return f"{date} {whole}{'.' + frac if frac else ''} +0000 UTC"
        if not created:
            return "0001-01-01 00:00:00 +0000 UTC"
        from dockyard.cli.tables import go_time, parse_time

        return go_time(parse_time(created))


def natural_key(text: str) -> list[Any]:
    """docker's sortorder.NaturalLess: digit runs compare by value."""
    out: list[Any] = []
    digits = ""
    chars = ""
    for ch in text:
        if ch.isdigit():
            if chars:
                out.append((1, chars, 0))
                chars = ""
            digits += ch
        else:
            if digits:
                out.append((0, "", int(digits)))
                digits = ""
            chars += ch
    if digits:
        out.append((0, "", int(digits)))
    if chars:
        out.append((1, chars, 0))
    return out


def run(cli: command.Cli, opts: Options, args: list[str]) -> int:
    networks = cli.client.get("/networks", {"filters": Filters(opts.filter).encode()}) or []
    networks.sort(key=lambda n: natural_key(str(n.get("Name") or "")))
    fmt = opts.format
    if not fmt:
        from dockyard.cli.dockerconfig import load

        configured = load(cli).get("networksFormat") if not opts.quiet else ""
        fmt = configured if isinstance(configured, str) and configured else "table"
    if fmt == "table":
        fmt = "{{.ID}}" if opts.quiet else DEFAULT_TABLE
    elif fmt == "raw":
        fmt = "network_id: {{.ID}}" if opts.quiet else (
            "network_id: {{.ID}}\nname: {{.Name}}\ndriver: {{.Driver}}\nscope: {{.Scope}}\n")
    formatter = Formatter(fmt, NetworkRow.HEADER)
    cli.out.write(formatter.render(NetworkRow(n, not opts.no_trunc) for n in networks))
    return 0
