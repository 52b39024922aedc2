"""``dockyard-shim``: start a shim, run the launcher, or clean up after a dead shim.

::

    dockyard-shim start --id ID --bundle DIR --state-dir DIR [--namespace NS]
                        [--runtime PATH] [--runtime-root DIR] [--runtime-arg ARG]...
                        [--socket PATH] [--publish ARG]...
        detach a shim (fresh interpreter); print {"pid": N, "address": PATH} once it listens
    dockyard-shim serve ...same flags...
        run the shim in the foreground (debugging; no detach)
    dockyard-shim launcher --socket PATH [--exit-with-stdin]
        serve spawn requests: shims forked from one lean process (see dockyard.shim.launcher)
    dockyard-shim cleanup --state-dir DIR
        after a shim died: delete its container, complete and print its init's exit

Errors: one line on stderr, exit status 1.
"""

from __future__ import annotations

import os
import sys

from dockyard.errors import DockyardError, InvalidArgument
from dockyard.runtime import flags as fl

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.shim.config import ShimConfig

CONFIG_FLAGS = [
    fl.Flag("id", fl.STR, help="container id"),
    fl.Flag("bundle", fl.STR, help="the OCI bundle directory"),
    fl.Flag("state-dir", fl.STR, help="the task's state directory (socket, state, events, logs)"),
    fl.Flag("namespace", fl.STR, "default", help="namespace the events carry"),
    fl.Flag("runtime", fl.STR, help="OCI runtime binary (default: dockyard-runc)"),
    fl.Flag("runtime-root", fl.STR, help="the runtime's --root"),
    fl.Flag("runtime-arg", fl.LIST, help="extra global argument for the runtime (repeatable)"),
    fl.Flag("socket", fl.STR, help="control socket (default: <state-dir>/shim.sock)"),
    fl.Flag("publish", fl.LIST, help="argv of the event publisher command (repeatable)"),
]
LAUNCHER_FLAGS = [
    fl.Flag("socket", fl.STR, help="the launcher's socket"),
    fl.Flag("exit-with-stdin", help="exit when stdin ends"),
]
CLEANUP_FLAGS = [fl.Flag("state-dir", fl.STR, help="the dead shim's state directory")]


def _config(opts: fl.Parsed) -> ShimConfig:
    from dockyard.shim.config import ShimConfig

    return ShimConfig(
        opts.str("id"),
        opts.str("bundle"),
        opts.str("state_dir"),
        namespace=opts.str("namespace"),
        runtime=opts.str("runtime"),
        runtime_root=opts.str("runtime_root"),
        runtime_args=opts.list("runtime_arg"),
        socket=opts.str("socket"),
        publish=opts.list("publish"),
    )


def _print(value: dict[str, object]) -> None:
    from dockyard.oci import jsonio

    sys.stdout.write(jsonio.dumps(value) + "\n")


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help", "help"):
        sys.stdout.write(__doc__ or "")
        return 0
    verb, rest = argv[0], argv[1:]
    if verb == "start":
        from dockyard.shim.daemon import spawn

        config = _config(fl.parse(CONFIG_FLAGS, rest, verb))
        _print({"pid": spawn(config), "address": config.socket})
        return 0
    if verb == "serve":
        from dockyard.shim import daemon, sockets

        config = _config(fl.parse(CONFIG_FLAGS, rest, verb))
        os.makedirs(config.state_dir, mode=0o711, exist_ok=True)
        daemon.check_free(config.socket)
        daemon.setup(config, sockets.listen(config.socket))()
        return 0
    if verb == "launcher":
        from dockyard.shim import launcher

        opts = fl.parse(LAUNCHER_FLAGS, rest, verb)
        if not opts.str("socket"):
            raise InvalidArgument("launcher: --socket is required")
        launcher.serve(opts.str("socket"), opts.bool("exit_with_stdin"))
        return 0
    if verb == "cleanup":
        from dockyard.shim.cleanup import cleanup

        opts = fl.parse(CLEANUP_FLAGS, rest, verb)
        if not opts.str("state_dir"):
            raise InvalidArgument("cleanup: --state-dir is required")
        _print(cleanup(opts.str("state_dir")))
        return 0
    raise InvalidArgument(f"unknown command {verb!r} (start, serve, launcher, cleanup)")


def entry() -> None:
    """The console script: run, flush, leave without the interpreter's teardown."""
    try:
        status = main(sys.argv[1:])
    except DockyardError as exc:
        sys.stderr.write(f"dockyard-shim: {exc}\n")
        status = 1
    except KeyboardInterrupt:
        status = 130
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:
        status = status or 1
    os._exit(status)
