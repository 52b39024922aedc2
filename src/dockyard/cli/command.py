"""What a command runs with: the ``Cli`` context, ``StatusError`` and docker's argument checks.

A command module (``dockyard.cli.commands.<name>``) gets ``run(cli, opts, args)``; it writes
to ``cli.out``/``cli.err`` (never ``print``), talks to the daemon through ``cli.client``
(created on first use) and fails by raising ``dockyard.errors`` classes (printed, exit 1)
or ``StatusError`` for another exit status (64 for a bad ``docker version`` template, 125
for a ``docker run`` that could not start the container...).
"""

from __future__ import annotations

import sys

from dockyard.errors import DockyardError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import TextIO

    from dockyard.cli.client import Client


class StatusError(DockyardError):
    """Exit with ``status``, printing ``message`` (if any) on stderr: docker's cli.StatusError."""

    def __init__(self, status: int, message: str = "") -> None:
        super().__init__(message)
        self.status = status


class Invocation:
    """How the user called the command: ``dockyard container ls`` and its usage line."""

    __slots__ = ("path", "usage")

    def __init__(self, path: str, usage: str) -> None:
        self.path = path
        self.usage = usage

    def error(self, message: str, see: str = "Run", status: int = 1) -> StatusError:
        """``dockyard: 'dockyard rm' requires at least 1 argument`` with the usage, as docker prints."""
        return StatusError(status, f"dockyard: '{self.path}' {message}\n\nUsage:  {self.usage}\n\n"
                                   f"{see} '{self.path} --help' for more information")


class Cli:
    """The context of one command: global options, output streams and the API client."""

    def __init__(self, host: str | None = None, config: str | None = None, debug: bool = False,
                 log_level: str = "info", out: TextIO | None = None, err: TextIO | None = None,
                 inp: TextIO | None = None) -> None:
        self.host = host
        self.config = config
        self.debug = debug
        self.log_level = log_level
        self.out: TextIO = out or sys.stdout
        self.err: TextIO = err or sys.stderr
        self.inp: TextIO = inp or sys.stdin
        self.invocation = Invocation("dockyard", "dockyard [OPTIONS] COMMAND")
        self._client: Client | None = None

    @property
    def client(self) -> Client:
        if self._client is None:
            from dockyard.cli.client import Client

            self._client = Client(self.host)
        return self._client

    @property
    def config_dir(self) -> str:
        """``--config``, else ``DOCKER_CONFIG``, else ``~/.docker`` (registry credentials live there)."""
        from dockyard.cli.client import getenv  # not os: images/info read the config and start lean

        if self.config or getenv("DOCKER_CONFIG"):
            return self.config or getenv("DOCKER_CONFIG") or ""
        home = getenv("HOME")
        if not home:
            import posix
            import pwd

            home = pwd.getpwuid(posix.getuid()).pw_dir
        return f"{home.rstrip('/') or ''}/.docker"



def _plural(count: int) -> str:
    return f"{count} argument" if count == 1 else f"{count} arguments"


def no_args(inv: Invocation, args: list[str]) -> None:
    if args:
        raise inv.error("accepts no arguments")


def exact_args(count: int) -> Callable[[Invocation, list[str]], None]:
    def check(inv: Invocation, args: list[str]) -> None:
        if len(args) != count:
            raise inv.error(f"requires {_plural(count)}")
    return check


def min_args(count: int) -> Callable[[Invocation, list[str]], None]:
    def check(inv: Invocation, args: list[str]) -> None:
        if len(args) < count:
            raise inv.error(f"requires at least {_plural(count)}", see="See")
    return check


def max_args(count: int) -> Callable[[Invocation, list[str]], None]:
    def check(inv: Invocation, args: list[str]) -> None:
        if len(args) > count:
            raise inv.error(f"requires at most {_plural(count)}")
    return check


def range_args(low: int, high: int) -> Callable[[Invocation, list[str]], None]:
    def check(inv: Invocation, args: list[str]) -> None:
        if not low <= len(args) <= high:
            raise inv.error(f"requires at least {low} and at most {_plural(high)}")
    return check


def any_args(inv: Invocation, args: list[str]) -> None:
    return None
