"""``dockyard``: global flags, dispatch to one command module, docker's exit codes.

Exit codes, as docker's: 0 success; 1 an error (the daemon's, an unknown command, wrong
arguments); 125 flags that do not parse (``unknown flag: --nope``); a command may choose
another through ``StatusError`` (``version``: 64 for a template that does not parse). Only
the module of the command being run is imported (``dockyard.cli.commands.<module>``), so
``dockyard --version`` loads nothing but this file and the flag parser.

A command module defines ``USAGE`` (after the command path, e.g. ``"[OPTIONS] CONTAINER"``),
``FLAGS`` (a list of ``flags.Flag``), ``ARGS`` (a check from ``command``: ``no_args``,
``exact_args(n)``...), optionally ``INTERSPERSED = False`` (flags stop at the first argument,
as for ``run``), ``DESCRIPTION`` and ``EXAMPLES``, and ``run(cli, opts, args) -> int | None``.
"""

from __future__ import annotations

import sys

import dockyard
from dockyard.cli import flags as fl

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TextIO

    from dockyard.cli.command import Cli

BUILD = "unknown"  # the git commit of a packaged build
LOG_LEVELS = ("trace", "debug", "info", "warn", "warning", "error", "fatal", "panic")
_HELP = fl.Flag("help", "h", help="Print usage", hidden=True)

GLOBAL_FLAGS = [
    fl.Flag("config", kind=fl.STRING, default="~/.docker", help="Location of client config files"),
    fl.Flag("debug", "D", help="Enable debug mode"),
    fl.Flag("host", "H", fl.LIST, help="Daemon socket to connect to"),
    fl.Flag("log-level", "l", fl.STRING, "info",
            help='Set the logging level ("debug", "info", "warn", "error", "fatal")'),
    fl.Flag("version", "v", help="Print version information and quit"),
    _HELP,
]
ROOT_USAGE = "dockyard [OPTIONS] COMMAND [ARG...]"


class _Exit(Exception):
    def __init__(self, status: int, message: str = "", stdout: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.stdout = stdout


def _usage_error(message: str, usage: str, path: str) -> _Exit:
    return _Exit(125, f"{message}\n\nUsage:  {usage}\n\nRun '{path} --help' for more information")


def _resolve(words: list[str]) -> tuple[str, str, list[str]]:
    """(command path, module, remaining args) for the words after the global flags."""
    from dockyard.cli import commandtable as table

    first = words[0]
    if first in table.GROUPS:
        from dockyard.cli import help as helptext

        rest = words[1:]
        if not rest or rest[0] in ("--help", "-h"):
            raise _Exit(0, helptext.group_help(first).rstrip("\n"), stdout=bool(rest))
        if rest[0].startswith("-"):
            raise _usage_error(f"unknown flag: {rest[0]}", f"dockyard {first} COMMAND", f"dockyard {first}")
        path = f"{first} {rest[0]}"
        if path not in table.PATHS:
            raise _Exit(1, f"dockyard: unknown command: dockyard {path}\n\nUsage:  dockyard {first} COMMAND\n\n"
                           f"Run 'dockyard {first} --help' for more information")
        return path, table.PATHS[path], rest[1:]
    if first not in table.PATHS:
        raise _Exit(1, f"dockyard: unknown command: dockyard {first}\n\nRun 'dockyard --help' for more information")
    return first, table.PATHS[first], words[1:]


def _run_command(cli: Cli, path: str, module_name: str, argv: list[str]) -> int:
    import importlib

    from dockyard.cli import command
    from dockyard.cli import help as helptext

    if not helptext.available(module_name):
        raise _Exit(1, f"dockyard: 'dockyard {path}' is not implemented yet")
    module = importlib.import_module(f"dockyard.cli.commands.{module_name}")
    usage = helptext.usage_line(path, module)
    own_flags = getattr(module, "FLAGS", [])
    # a command that defines its own --help (run's -h is --hostname) keeps it
    flag_list = [*own_flags] if any(f.name == "help" for f in own_flags) else [*own_flags, _HELP]
    try:
        opts, args = fl.parse(flag_list, argv, getattr(module, "INTERSPERSED", True))
    except fl.FlagError as exc:
        raise _usage_error(str(exc), usage, f"dockyard {path}") from None
    if opts.help:
        raise _Exit(0, helptext.command_help(path, module_name, module).rstrip("\n"), stdout=True)
    cli.invocation = command.Invocation(f"dockyard {path}", usage)
    getattr(module, "ARGS", command.any_args)(cli.invocation, args)
    return int(module.run(cli, opts, args) or 0)


def _dispatch(argv: list[str], out: TextIO, err: TextIO) -> int:
    try:
        gopts, words = fl.parse(GLOBAL_FLAGS, argv, interspersed=False)
    except fl.FlagError as exc:
        raise _usage_error(str(exc), ROOT_USAGE, "dockyard") from None
    if gopts.version:
        out.write(f"dockyard version {dockyard.__version__}, build {BUILD}\n")
        return 0
    if gopts.log_level not in LOG_LEVELS:
        raise _Exit(1, f"Unable to parse logging level: {gopts.log_level}")
    if len(gopts.host) > 1:
        raise _Exit(1, "Please specify only one -H")
    show_help = bool(gopts.help)
    if words[:1] == ["help"]:
        words = [*words[1:], "--help"] if len(words) > 1 else []
        show_help = not words
    if show_help or not words:
        from dockyard.cli import help as helptext

        raise _Exit(0, helptext.root_help(GLOBAL_FLAGS).rstrip("\n"), stdout=show_help)
    path, module_name, rest = _resolve(words)
    from dockyard.cli.command import Cli

    cli = Cli(host=gopts.host[0] if gopts.host else None,
              config=gopts.config if "config" in gopts.changed else None,
              debug=gopts.debug, log_level=gopts.log_level, out=out, err=err)
    return _run_command(cli, path, module_name, rest)


def main(argv: list[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run one dockyard command line; returns the exit status."""
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        return _dispatch(list(sys.argv[1:] if argv is None else argv), out, err)
    except _Exit as exc:
        if exc.message:
            (out if exc.stdout else err).write(exc.message + "\n")
        return exc.status
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        from dockyard.cli.command import StatusError
        from dockyard.errors import DockyardError

        if isinstance(exc, StatusError):
            if exc.message:
                err.write(exc.message + "\n")
            return exc.status
        if isinstance(exc, DockyardError):
            err.write(f"{exc}\n")
            return 1
        raise


def entry() -> None:
    """Console script ``dockyard``."""
    try:
        status = main()
        sys.stdout.flush()
    except BrokenPipeError:  # `dockyard ps | head -1`
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        status = 0
    sys.exit(status)
