"""``create``: create a container whose init waits for ``start``."""

from __future__ import annotations

from dockyard.runtime import flags as fl
from dockyard.runtime.cmdutil import require_args

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.runtime.context import Context
    from dockyard.runtime.lifecycle import CreateOptions

SUMMARY = "create a container"
USAGE = "<container-id>"
FLAGS = [
    fl.Flag("bundle, b", fl.STR, help="path to the root of the bundle directory, defaults to the current directory"),
    fl.Flag("console-socket", fl.STR, help=(
        "path to an AF_UNIX socket which will receive a file descriptor referencing the master end"
        " of the console's pseudoterminal"
    )),
    fl.Flag("pid-file", fl.STR, help="specify the file to write the process id to"),
    fl.Flag("no-pivot", help="do not use pivot root to jail process inside rootfs"),
    fl.Flag("no-new-keyring", help="do not create a new session keyring for the container"),
    fl.Flag("preserve-fds", fl.INT, 0, help=(
        "pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)"
    )),
]


def create_options(opts: fl.Parsed, verb: str = "create") -> CreateOptions:
    from dockyard.runtime.lifecycle import CreateOptions

    return CreateOptions(
        verb=verb,
        pid_file=opts.str("pid_file"),
        console_socket=opts.str("console_socket"),
        no_pivot=opts.bool("no_pivot"),
        no_new_keyring=opts.bool("no_new_keyring"),
        preserve_fds=opts.int("preserve_fds"),
    )


def run(ctx: Context, opts: fl.Parsed) -> int:
    from dockyard.runtime import lifecycle

    require_args(opts, "create", exactly=1)
    bundle = opts.str("bundle") or "."
    lifecycle.create(ctx, opts.args[0], bundle, create_options(opts))
    return 0
