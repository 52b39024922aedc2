"""``dockyard attach``: connect the terminal to a running container's stdin, stdout and stderr.

docker's flow: the wait request first, inspect (a stopped, paused or restarting container
is refused), the tty check, the signal proxy (without a tty), the hijacked attach (stdin
unless ``--no-stdin`` and when the container keeps stdin open), a second state check, the
terminal size (nudged one larger first, so the program redraws), the streams, and the
container's exit status. The detach keys end the session with "read escape sequence".
"""

from __future__ import annotations

from dockyard.cli import command, runflow, streams
from dockyard.cli.ctr_common import path_of
from dockyard.cli.flags import STRING, Flag
from dockyard.errors import DockyardError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from dockyard.cli.flags import Options

USAGE = "[OPTIONS] CONTAINER"
FLAGS = [
    Flag("detach-keys", kind=STRING, help="Override the key sequence for detaching a container"),
    Flag("no-stdin", help="Do not attach STDIN"),
    Flag("sig-proxy", default=True, help="Proxy all received signals to the process"),
]
ARGS = command.exact_args(1)


def check_state(info: dict[str, Any]) -> None:
    state = info.get("State") or {}
    if not state.get("Running"):
        raise DockyardError("You cannot attach to a stopped container, start it first")
    if state.get("Paused"):
        raise DockyardError("You cannot attach to a paused container, unpause it first")
    if state.get("Restarting"):
        raise DockyardError("You cannot attach to a restarting container, wait until it is running")


def run(cli: command.Cli, opts: Options, args: list[str]) -> int:
    client = cli.client
    name = args[0]
    wait = runflow.PendingWait(client, name, "")
    proxy = session = None
    try:
        info = client.get(f"{path_of(name)}/json") or {}
        check_state(info)
        config = info.get("Config") or {}
        tty = bool(config.get("Tty"))
        runflow.check_tty(cli, not opts.no_stdin, tty)
        stdin = not opts.no_stdin and bool(config.get("OpenStdin"))
        if opts.sig_proxy and not tty:
            proxy = runflow.SignalProxy(client, name)
        session = runflow.attach(cli, path_of(name), tty, stdin, True, True, opts.detach_keys)
        check_state(client.get(f"{path_of(name)}/json") or {})
        session.make_raw()
        if tty:
            nudged: list[bool] = []

            def resize(height: int, width: int) -> None:
                if not nudged:  # docker resizes one larger first so the program redraws
                    nudged.append(True)
                    try:
                        client.post(f"{path_of(name)}/resize", {"h": height + 1, "w": width + 1})
                    except DockyardError:
                        pass
                client.post(f"{path_of(name)}/resize", {"h": height, "w": width})
            session.monitor_size(resize)
        if session.pump() == streams.DETACHED:
            raise DockyardError(streams.DETACHED)
        return wait.status(cli.err)
    finally:
        runflow.close_all(proxy, session, wait)
