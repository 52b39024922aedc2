"""``dockyard stop``: stop containers (their stop signal, then SIGKILL after the timeout)."""

from __future__ import annotations

from dockyard.cli import command
from dockyard.cli.ctr_common import for_each, path_of
from dockyard.cli.flags import INT, STRING, Flag

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.flags import Options

USAGE = "[OPTIONS] CONTAINER [CONTAINER...]"
FLAGS = [
    Flag("signal", "s", STRING, help="Signal to send to the container"),
    Flag("time", "", INT, help="Seconds to wait before killing the container (deprecated: use --timeout)",
         hidden=True, dest="timeout"),
    Flag("timeout", "t", INT, help="Seconds to wait before killing the container"),
]
ARGS = command.min_args(1)
VERB = "stop"


def query(opts: Options) -> dict[str, object]:
    """``signal`` when given, ``t`` when the timeout was given (docker sends neither otherwise)."""
    timeout = opts.timeout if ("timeout" in opts.changed or "time" in opts.changed) else None
    return {"signal": opts.signal or None, "t": timeout}


def run(cli: command.Cli, opts: Options, args: list[str]) -> int:
    q = query(opts)
    return for_each(cli, args, lambda name: cli.client.post(f"{path_of(name)}/{VERB}", q))
