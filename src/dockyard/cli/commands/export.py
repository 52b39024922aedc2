"""``dockyard export``: a container's filesystem as a tar stream, to ``-o FILE`` or stdout.

As docker: a terminal on stdout is refused, the output directory must exist, and the file
appears whole (``fileio.copy_to_file``: written next to it, mode 0600, then renamed).
"""

from __future__ import annotations

from dockyard.cli import command
from dockyard.cli.ctr_common import path_of, refuse_terminal
from dockyard.cli.flags import STRING, Flag
from dockyard.errors import DockyardError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.flags import Options

USAGE = "[OPTIONS] CONTAINER"
FLAGS = [Flag("output", "o", STRING, help="Write to a file, instead of STDOUT")]
ARGS = command.exact_args(1)


def _directory(path: str) -> str:
    """Go's ``filepath.Dir`` of the cleaned path (``.`` when it has none)."""
    from dockyard.cli.ctr_values import clean_path

    cleaned = clean_path(path)
    directory = cleaned.rpartition("/")[0] if "/" in cleaned else "."
    if cleaned.startswith("/") and not directory:
        directory = "/"
    return directory


def validate_output_path(path: str) -> None:
    """docker's ValidateOutputPath: the directory must exist; an existing path must be a file or directory."""
    import posix
    import stat

    directory = _directory(path)
    if directory not in ("", "."):
        try:
            posix.stat(directory)
        except FileNotFoundError:
            raise DockyardError(f'invalid output path: directory "{directory}" does not exist') from None
        except OSError:
            pass
    try:
        mode = posix.stat(path).st_mode
    except OSError:
        return
    if not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
        raise DockyardError(f'invalid output path: "{path}" must be a directory or a regular file: '
                            "got an invalid file type")


def check_output_dir(path: str) -> None:
    """export's check: the output's directory must exist and be a directory."""
    import posix
    import stat

    directory = _directory(path)
    if directory in ("", "."):
        return
    try:
        mode = posix.stat(directory).st_mode
    except OSError as exc:
        raise DockyardError(f"invalid output path: stat {directory}: {(exc.strerror or '').lower()}") from None
    if not stat.S_ISDIR(mode):
        raise DockyardError(f"invalid output path: stat {directory}: not a directory")


def run(cli: command.Cli, opts: Options, args: list[str]) -> int:
    if not opts.output:
        refuse_terminal(cli, "cowardly refusing to save to a terminal. Use the -o flag or redirect")
    try:
        check_output_dir(opts.output)
    except DockyardError as exc:
        raise DockyardError(f"failed to export container: {exc}") from None
    resp = cli.client.stream("GET", f"{path_of(args[0])}/export")
    if opts.output:
        from dockyard.cli.fileio import copy_to_file

        copy_to_file(opts.output, resp.chunks())
        return 0
    from dockyard.cli.streams import Sink

    sink = Sink(cli.out)
    for chunk in resp.chunks():
        sink.write(chunk)
    return 0
