"""``dockyard import file|URL|- [REPOSITORY[:TAG]]``: ``POST /images/create?fromSrc=...``.

A file or stdin (``-``) is sent as the body (``fromSrc=-``), an ``http(s)://`` URL is fetched
by the daemon; ``-c`` applies Dockerfile instructions (``ENV``, ``CMD``...), ``-m`` sets the
commit message. The daemon's JSON stream (the new image ID) is printed as docker prints it.
"""

from __future__ import annotations

from dockyard.cli import command
from dockyard.cli.flags import LIST, STRING, Flag

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.flags import Options

USAGE = "[OPTIONS] file|URL|- [REPOSITORY[:TAG]]"
FLAGS = [
    Flag("change", "c", LIST, help="Apply Dockerfile instruction to the created image"),
    Flag("message", "m", STRING, help="Set commit message for imported image"),
    Flag("platform", kind=STRING, help="Set platform if server is multi-platform capable"),
]
ARGS = command.min_args(1)


def run(cli: command.Cli, opts: Options, args: list[str]) -> int:
    from dockyard.cli import fileio
    from dockyard.cli.apiquery import with_query
    from dockyard.cli.jsonmessage import display_stream
    from dockyard.oci import jsonio

    source, repository = args[0], (args[1] if len(args) > 1 else "")
    body = None
    source_name = "-"
    stream = None
    if source == "-":
        body = fileio.read_chunks(cli.inp)
    elif source.startswith(("https://", "http://")):
        source_name = source
    else:
        try:
            stream = open(source, "rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise fileio.go_open_error(source, exc) from None
        body = fileio.read_chunks(stream)
    try:
        if repository:
            from dockyard.oci.reference import parse_reference

            parse_reference(repository, default_tag=False)
        pairs: list[tuple[str, str | None]] = [("fromSrc", source_name), ("repo", repository), ("tag", ""),
                                               ("message", opts.message)]
        if opts.platform:
            pairs.append(("platform", opts.platform.lower()))
        pairs += [("changes", change) for change in opts.change]
        headers = {"Content-Type": "text/plain"} if body is not None else None  # docker's client default
        resp = cli.client.request("POST", with_query("/images/create", pairs), data=body, headers=headers)
        display_stream((jsonio.loads(line, "import") for line in resp.lines()), cli.out)
    finally:
        if stream is not None:
            stream.close()
    return 0
