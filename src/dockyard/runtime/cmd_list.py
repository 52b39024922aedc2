"""``list``: the containers under --root, as runc's table or JSON."""

from __future__ import annotations

import os
import sys

from dockyard.errors import InvalidArgument
from dockyard.oci import jsonio
from dockyard.runtime import flags as fl
from dockyard.runtime.state import StateStore

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from dockyard.runtime.context import Context

SUMMARY = "lists containers started by runc with the given root"
USAGE = ""
FLAGS = [
    fl.Flag("format, f", fl.STR, "table", help="select one of: table or json (default: \"table\")"),
    fl.Flag("quiet, q", help="display only container IDs"),
]


def _owner(directory: str) -> str:
    try:
        uid = os.stat(directory).st_uid
    except OSError:
        return ""
    try:
        with open("/etc/passwd", encoding="utf-8", errors="replace") as f:
            for line in f:
                fields = line.split(":")
                if len(fields) > 2 and fields[2] == str(uid):
                    return fields[0]
    except OSError:
        pass
    return f"#{uid}"


def rows(ctx: Context) -> list[dict[str, Any]]:
    store = StateStore(ctx.root)
    result = []
    for cid in store.ids():
        try:
            state = store.load(cid)
        except Exception:
            continue
        doc = state.oci_state()
        doc.pop("exitStatus", None)
        doc["owner"] = _owner(state.directory)
        result.append(doc)
    return result


def table(entries: list[dict[str, Any]]) -> str:
    """Go tabwriter output (minwidth 12, padding 3) as runc prints it."""
    header = ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]
    lines = [header] + [
        [e["id"], str(e["pid"]), e["status"], e["bundle"], e["created"], e["owner"]]
        for e in entries
    ]
    widths = [max(12, *(len(line[i]) + 3 for line in lines)) for i in range(len(header) - 1)]
    out = []
    for line in lines:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(line[:-1])]
        out.append("".join(cells) + line[-1])
    return "\n".join(out) + "\n"


def run(ctx: Context, opts: fl.Parsed) -> int:
    entries = rows(ctx)
    if opts.bool("quiet"):
        sys.stdout.write("".join(e["id"] + "\n" for e in entries))
        return 0
    fmt = opts.str("format")
    if fmt == "json":
        sys.stdout.write((jsonio.dumps(entries) if entries else "null") + "\n")  # Go's nil slice
    elif fmt == "table":
        sys.stdout.write(table(entries))
    else:
        raise InvalidArgument(f"invalid format option: {fmt}")
    return 0
