"""``dockyard logs``: a container's output from ``GET /containers/{id}/logs``.

Without a tty the daemon multiplexes stdout and stderr in stdcopy frames: they are split
back onto our stdout and stderr; with a tty the stream is copied as it is. ``--since`` and
``--until`` take docker's times (``10m``, RFC 3339, unix seconds), ``-n`` the last lines,
``-f`` follows until the container stops (or the user interrupts).
"""

from __future__ import annotations

from dockyard.cli import command, streams
from dockyard.cli.ctr_common import path_of
from dockyard.cli.flags import STRING, Flag

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.flags import Options

USAGE = "[OPTIONS] CONTAINER"
FLAGS = [
    Flag("details", help="Show extra details provided to logs"),
    Flag("follow", "f", help="Follow log output"),
    Flag("since", kind=STRING, help='Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative '
                                    '(e.g. "42m" for 42 minutes)'),
    Flag("tail", "n", STRING, "all", help="Number of lines to show from the end of the logs"),
    Flag("timestamps", "t", help="Show timestamps"),
    Flag("until", kind=STRING, help='Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative '
                                    '(e.g. "42m" for 42 minutes)'),
]
ARGS = command.exact_args(1)


def _timestamp(value: str, name: str) -> str | None:
    if not value:
        return None
    from dockyard.cli.timestamps import get_timestamp

    try:
        return get_timestamp(value)
    except ValueError as exc:
        from dockyard.errors import InvalidArgument

        raise InvalidArgument(f'invalid value for "{name}": {exc}') from None


def run(cli: command.Cli, opts: Options, args: list[str]) -> int:
    info = cli.client.get(f"{path_of(args[0])}/json")
    query = {"since": _timestamp(opts.since, "since"), "until": _timestamp(opts.until, "until"), "stderr": True,
             "stdout": True, "tail": opts.tail or None, "timestamps": opts.timestamps or None,
             "follow": opts.follow or None, "details": opts.details or None}
    resp = cli.client.stream("GET", f"/containers/{info['Id']}/logs", query)
    out, err = streams.Sink(cli.out), streams.Sink(cli.err)
    if (info.get("Config") or {}).get("Tty"):
        for chunk in resp.chunks():
            out.write(chunk)
        return 0
    demux = streams.Demux()
    for chunk in resp.chunks():
        streams.write_frames(demux.feed(chunk), out, err)
    return 0
