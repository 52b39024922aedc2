"""``dockyard save IMAGE...``: ``GET /images/get?names=...``, the tar archive to ``-o`` or stdout.

As docker, it refuses to write the archive to a terminal ("cowardly refusing to save to a
terminal. Use the -o flag or redirect"), checks the output path before asking the daemon,
and writes ``-o`` through a temporary file renamed at the end.
"""

from __future__ import annotations

from dockyard.cli import command, term
from dockyard.cli.flags import STRING, Flag
from dockyard.errors import InvalidArgument

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.flags import Options

USAGE = "[OPTIONS] IMAGE [IMAGE...]"
FLAGS = [
    Flag("output", "o", STRING, help="Write to a file, instead of STDOUT"),
    Flag("platform", kind=STRING, help='Save only the given platform variant. Formatted as "os[/arch[/variant]]" '
                                       '(e.g., "linux/amd64")'),
]
ARGS = command.min_args(1)


def run(cli: command.Cli, opts: Options, args: list[str]) -> int:
    from dockyard.cli import fileio
    from dockyard.cli.apiquery import with_query

    if not opts.output and term.isatty(cli.out):
        raise InvalidArgument("cowardly refusing to save to a terminal. Use the -o flag or redirect")
    try:
        fileio.validate_output_path(opts.output)
    except InvalidArgument as exc:
        raise InvalidArgument(f"failed to save image: {exc}") from None
    pairs: list[tuple[str, str | None]] = [("names", name) for name in args]
    if opts.platform:
        from dockyard.cli.platforms import platform_json

        try:
            pairs.append(("platform", platform_json(opts.platform)))
        except InvalidArgument as exc:
            raise InvalidArgument(f"invalid platform: {exc}") from None
    chunks = cli.client.stream("GET", with_query("/images/get", pairs)).chunks()
    if opts.output:
        fileio.copy_to_file(opts.output, chunks)
        return 0
    write = fileio.binary_out(cli.out)
    for chunk in chunks:
        write(chunk)
    return 0
