"""``dockyard history IMAGE``: ``GET /images/{name}/history`` as docker's table.

Columns IMAGE CREATED CREATED BY SIZE COMMENT; ``-H=false`` prints RFC 3339 times and byte
counts, ``--no-trunc`` whole IDs and commands, ``-q`` the IDs, ``--platform`` asks for one
platform of a multi-platform image.
"""

from __future__ import annotations

from dockyard.cli import command, tables
from dockyard.cli.flags import BOOL, FORMAT_HELP_TABLE, STRING, Flag
from dockyard.cli.gotemplate import Formatter
from dockyard.cli.rowcontext import RowContext

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from dockyard.cli.flags import Options

USAGE = "[OPTIONS] IMAGE"
FLAGS = [
    Flag("format", kind=STRING, help=FORMAT_HELP_TABLE),
    Flag("human", "H", BOOL, default=True, help="Print sizes and dates in human readable format"),
    Flag("no-trunc", help="Don't truncate output"),
    Flag("platform", kind=STRING, help="Show history for the given platform. Formatted as \"os[/arch[/variant]]\" "
                                       "(e.g., \"linux/amd64\")"),
    Flag("quiet", "q", help="Only show image IDs"),
]
ARGS = command.exact_args(1)

DEFAULT_TABLE = "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"
NON_HUMAN_TABLE = "table {{.ID}}\t{{.CreatedAt}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"
EPOCH = 946684800  # 2000-01-01: older creation times are not shown in human units


class HistoryRow(RowContext):
    GO_TYPE = "*image.historyContext"
    HEADER = {"ID": "IMAGE", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT", "CreatedBy": "CREATED BY",
              "Size": "SIZE", "Comment": "COMMENT"}

    def __init__(self, item: dict[str, Any], trunc: bool, human: bool) -> None:
        self.item = item
        self.trunc = trunc
        self.human = human

    def _created(self) -> int:
        return int(self.item.get("Created") or 0)

    def ID(self) -> str:
        ident = str(self.item.get("Id") or "")
        return tables.truncate_id(ident) if self.trunc else ident

    def CreatedAt(self) -> str:
        from dockyard.cli.timestamps import rfc3339

        return rfc3339(self._created())

    def CreatedSince(self) -> str:
        if not self.human:
            return self.CreatedAt()
        if self._created() <= EPOCH:
            return ""
        return tables.time_ago(self._created())

    def CreatedBy(self) -> str:
        created_by = str(self.item.get("CreatedBy") or "").replace("\t", " ")
        return tables.ellipsis(created_by, 45) if self.trunc else created_by

    def Size(self) -> str:
        size = int(self.item.get("Size") or 0)
        return tables.human_size(size, 3) if self.human else str(size)

    def Comment(self) -> str:
        return str(self.item.get("Comment") or "")


def history_format(source: str, quiet: bool, human: bool) -> str:
    if source == "table":
        return "{{.ID}}" if quiet else DEFAULT_TABLE if human else NON_HUMAN_TABLE
    return source


def run(cli: command.Cli, opts: Options, args: list[str]) -> int:
    from dockyard.cli.apiquery import path_escape

    query: dict[str, Any] = {}
    if opts.platform:
        from dockyard.cli.platforms import platform_dict

        query["platform"] = platform_dict(opts.platform)
    items = cli.client.get(f"/images/{path_escape(args[0])}/history", query)
    formatter = Formatter(history_format(opts.format or "table", opts.quiet, opts.human), HistoryRow.HEADER)
    cli.out.write(formatter.render(HistoryRow(item, not opts.no_trunc, opts.human) for item in items or []))
    return 0
