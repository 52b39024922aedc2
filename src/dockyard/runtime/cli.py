"""``dockyard-runc``: runc's command line over dockyard's OCI runtime.

Each verb lives in its own module ``dockyard.runtime.cmd_<verb>`` exposing ``FLAGS``,
``USAGE``, ``SUMMARY`` and ``run(ctx, opts) -> int``; modules are imported only when their
verb is used, to keep start-up short.
"""

from __future__ import annotations

import posix as os  # not os: see dockyard.runtime.ospath
import sys

from dockyard.errors import DockyardError
from dockyard.runtime import flags as fl
from dockyard.runtime.context import DEFAULT_ROOT, Context
from dockyard.runtime.log import Logger

VERSION = "0.1.0"
SPEC_VERSION = "1.0.2-dev"

COMMANDS = {
    "checkpoint": None,
    "create": "create",
    "delete": "delete",
    "events": "events",
    "exec": "exec",
    "features": "features",
    "kill": "kill",
    "list": "list",
    "pause": "pause",
    "ps": "ps",
    "restore": None,
    "resume": "resume",
    "run": "run",
    "spec": "spec",
    "start": "start",
    "state": "state",
    "update": "update",
}
ALIASES = {"ls": "list", "rm": "delete"}

GLOBAL_FLAGS = [
    fl.Flag("debug", help="enable debug logging"),
    fl.Flag("log", fl.STR, help="set the log file to write runc logs to (default is '/dev/stderr')"),
    fl.Flag("log-format", fl.STR, "text", help="set the log format ('text' (default), or 'json')"),
    fl.Flag("root", fl.STR, DEFAULT_ROOT, help="root directory for storage of container state"),
    fl.Flag("criu", fl.STR, "criu", help="path to the criu binary (checkpointing is not supported)"),
    fl.Flag("systemd-cgroup", help="enable systemd cgroup support (not supported)"),
    fl.Flag("rootless", fl.STR, "auto", help="ignore cgroup permission errors ('true', 'false', or 'auto')"),
    fl.Flag("help, h", help="show help"),
    fl.Flag("version, v", help="print the version"),
]


def _help() -> str:
    lines = [
        "NAME:",
        "   dockyard-runc - Open Container Initiative runtime (runc-compatible)",
        "",
        "USAGE:",
        "   dockyard-runc [global options] command [command options] [arguments...]",
        "",
        "COMMANDS:",
    ]
    for verb, module in COMMANDS.items():
        if module and verb != "init":
            lines.append(f"     {verb}")
    lines += ["", "GLOBAL OPTIONS:", fl.usage(GLOBAL_FLAGS)]
    return "\n".join(lines) + "\n"


def _version() -> str:
    return f"dockyard-runc version {VERSION}\nspec: {SPEC_VERSION}\n"


def _command_help(verb: str, module: object) -> str:
    usage = getattr(module, "USAGE", "")
    summary = getattr(module, "SUMMARY", "")
    return (
        f"NAME:\n   dockyard-runc {verb} - {summary}\n\nUSAGE:\n   dockyard-runc {verb} {usage}\n\n"
        f"OPTIONS:\n{fl.usage(getattr(module, 'FLAGS', []))}\n"
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns (and exits with) the status."""
    if argv is None:
        argv = sys.argv[1:]
    log = Logger()
    try:
        status = _main(argv, log)
    except DockyardError as exc:
        log.fatal(str(exc))
        status = 1
    except KeyboardInterrupt:
        status = 130
    sys.stdout.flush()
    return status


def _main(argv: list[str], log: Logger) -> int:
    opts = fl.parse(GLOBAL_FLAGS, argv, "dockyard-runc")
    log.path = opts.str("log")
    log.fmt = opts.str("log_format")
    if log.fmt not in ("text", "json"):
        from dockyard.errors import InvalidArgument

        raise InvalidArgument(f"invalid log-format: {log.fmt}")
    log.debug_enabled = opts.bool("debug")
    if opts.bool("version"):
        sys.stdout.write(_version())
        return 0
    if not opts.args or opts.bool("help"):
        sys.stdout.write(_help())
        return 0
    verb = ALIASES.get(opts.args[0], opts.args[0])
    if verb == "help":
        sys.stdout.write(_help())
        return 0
    if verb not in COMMANDS:
        from dockyard.errors import InvalidArgument

        raise InvalidArgument(f"No help topic for '{verb}'")
    module_name = COMMANDS[verb]
    if module_name is None:
        from dockyard.errors import NotImplementedYet

        raise NotImplementedYet(f"{verb} is not supported: dockyard-runc has no CRIU support")
    if opts.bool("systemd_cgroup"):
        from dockyard.errors import NotImplementedYet

        raise NotImplementedYet("systemd cgroup driver is not supported; use cgroupfs paths")
    __import__(f"dockyard.runtime.cmd_{module_name}")
    module = sys.modules[f"dockyard.runtime.cmd_{module_name}"]
    cmd_argv = opts.args[1:]
    if cmd_argv and cmd_argv[0] in ("-h", "--help", "-help"):
        sys.stdout.write(_command_help(verb, module))
        return 0
    cmd_opts = fl.parse(module.FLAGS, cmd_argv, verb)
    ctx = Context(root=opts.str("root"), log=log, rootless=opts.str("rootless"))
    status: int = module.run(ctx, cmd_opts)
    return status


def entry() -> None:
    """The console script: run, flush, and leave without the interpreter's teardown
    (freeing every module costs ~3 ms of each command, for nothing). No cyclic garbage
    collection either: a command lives milliseconds, and a collection walks every object,
    which in the forked init makes each page it touches a copy-on-write fault."""
    import gc

    gc.disable()
    status = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:
        status = status or 1
    os._exit(status)


if __name__ == "__main__":
    entry()
