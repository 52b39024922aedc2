"""``dockyard events`` / ``system events``: the daemon's ``GET /events`` stream, one line per event.

docker's line: ``2025-11-28T13:00:00.123456789Z container start <id> (image=busybox, name=web)``
(local time, attributes sorted). ``--since``/``--until`` take what docker takes (durations,
RFC 3339 dates and times, unix timestamps); ``--filter`` goes to the daemon; ``--format`` is
a template over docker's ``events.Message`` (``json`` for ``{{json .}}``), checked on an
empty event first so a bad field fails before anything is streamed (exit 64).
"""

from __future__ import annotations

from dockyard.cli import command
from dockyard.cli.filteropt import Filters, filter_flag
from dockyard.cli.flags import FORMAT_HELP_INSPECT, STRING, Flag
from dockyard.cli.gotemplate import GoStruct, Template, TemplateError
from dockyard.errors import InvalidArgument

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from dockyard.cli.flags import Options

USAGE = "[OPTIONS]"
FLAGS = [
    filter_flag(),
    Flag("format", kind=STRING, help=FORMAT_HELP_INSPECT),
    Flag("since", kind=STRING, help="Show all events created since timestamp"),
    Flag("until", kind=STRING, help="Stream events until this timestamp"),
]
ARGS = command.no_args

_JSON_NAMES = {"Status": "status", "ID": "id", "From": "from", "Scope": "scope", "Time": "time",
               "TimeNano": "timeNano"}


def message(event: dict[str, Any], go_type: str = "events.Message") -> GoStruct:
    """An event as docker's ``events.Message`` (Go field names, the API's JSON names)."""
    actor = event.get("Actor") or {}
    attributes = actor.get("Attributes")
    attributes = None if attributes is None else dict(sorted(attributes.items()))  # Go prints maps sorted
    fields = {
        "Status": str(event.get("status") or ""),
        "ID": str(event.get("id") or ""),
        "From": str(event.get("from") or ""),
        "Type": str(event.get("Type") or ""),
        "Action": str(event.get("Action") or ""),
        "Actor": GoStruct("events.Actor", {"ID": str(actor.get("ID") or ""),
                                           "Attributes": attributes}),
        "Scope": str(event.get("scope") or ""),
        "Time": int(event.get("time") or 0),
        "TimeNano": int(event.get("timeNano") or 0),
    }
    return GoStruct(go_type, fields, _JSON_NAMES, ("Status", "ID", "From", "Scope", "Time", "TimeNano"))


def pretty(event: dict[str, Any]) -> str:
    """docker's prettyPrintEvent."""
    from dockyard.cli.timestamps import rfc3339_nano_fixed

    line = ""
    nanos, seconds = int(event.get("timeNano") or 0), int(event.get("time") or 0)
    if nanos or seconds:
        line = rfc3339_nano_fixed(nanos or seconds * 1_000_000_000) + " "
    actor = event.get("Actor") or {}
    line += f"{event.get('Type') or ''} {event.get('Action') or ''} {actor.get('ID') or ''}"
    attributes = actor.get("Attributes") or {}
    if attributes:
        line += " (" + ", ".join(f"{k}={attributes[k]}" for k in sorted(attributes)) + ")"
    return line + "\n"


def make_template(fmt: str) -> Template | None:
    if not fmt:
        return None
    try:
        template = Template("{{json .}}" if fmt == "json" else fmt)
        # Go evaluates a key of a nil map (the empty event's Attributes) to no value, not an error
        template.execute(message({"Actor": {"Attributes": {}}}, "*events.Message"))
    except TemplateError as exc:
        raise command.StatusError(64, f"Error parsing format: {exc}") from None
    return template


def run(cli: command.Cli, opts: Options, args: list[str]) -> int:
    from dockyard.cli.timestamps import get_timestamp

    template = make_template(opts.format)
    query: dict[str, Any] = {"filters": Filters(opts.filter).encode()}
    try:
        import time

        now = time.time()
        if opts.since:
            query["since"] = get_timestamp(opts.since, now)
        if opts.until:
            query["until"] = get_timestamp(opts.until, now)
    except ValueError as exc:
        raise InvalidArgument(str(exc)) from None
    for event in cli.client.stream_json("GET", "/events", {k: v for k, v in query.items() if v is not None}):
        if not isinstance(event, dict):
            continue
        if template is None:
            cli.out.write(pretty(event))
        else:
            out: list[str] = []
            try:
                template.execute_into(out, message(event))
            finally:
                cli.out.write("".join(out))
            cli.out.write("\n")
        cli.out.flush()
    return 0
