"""``dockyard load``: ``POST /images/load`` with a tar archive from ``-i`` or stdin.

As docker: stdin that is a terminal is refused ("requested load from stdin, but stdin is
empty"), the daemon is asked to be quiet unless stdout is a terminal, and its JSON stream
(``Loaded image: busybox:latest``, progress on a terminal) is rendered by ``jsonmessage``.
"""

from __future__ import annotations

from dockyard.cli import command, term
from dockyard.cli.flags import STRING, Flag
from dockyard.errors import InvalidArgument

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from dockyard.cli.flags import Options

USAGE = "[OPTIONS]"
FLAGS = [
    Flag("input", "i", STRING, help="Read from tar archive file, instead of STDIN"),
    Flag("platform", kind=STRING,
         help='Load only the given platform variant. Formatted as "os[/arch[/variant]]" (e.g., "linux/amd64")'),
    Flag("quiet", "q", help="Suppress the load output"),
]
ARGS = command.no_args


def run(cli: command.Cli, opts: Options, args: list[str]) -> int:
    from dockyard.cli import fileio
    from dockyard.cli.apiquery import with_query

    source: Any = cli.inp
    if not opts.input:
        if term.isatty(cli.inp):
            raise InvalidArgument("requested load from stdin, but stdin is empty")
    else:
        try:
            source = open(opts.input, "rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise fileio.go_open_error(opts.input, exc) from None
    pairs: list[tuple[str, str | None]] = [("quiet", "1" if opts.quiet or not term.isatty(cli.out) else None)]
    if opts.platform:
        from dockyard.cli.platforms import platform_json

        try:
            pairs.append(("platform", platform_json(opts.platform)))
        except InvalidArgument as exc:
            raise InvalidArgument(f"invalid platform: {exc}") from None
    try:
        resp = cli.client.request("POST", with_query("/images/load", pairs), data=fileio.read_chunks(source))
        if resp.header("content-type").startswith("application/json"):
            from dockyard.cli.jsonmessage import display_stream
            from dockyard.oci import jsonio

            display_stream((jsonio.loads(line, "load") for line in resp.lines()), cli.out)
        else:
            write = fileio.binary_out(cli.out)
            for chunk in resp.chunks():
                write(chunk)
    finally:
        if source is not cli.inp:
            source.close()
    return 0
