"""``dockyard exec``: run a command in a running container.

docker's flow: inspect the container (a missing one is the first error), check the tty,
``POST /containers/{name}/exec`` with the ExecConfig, then either a detached start (``-d``)
or the hijacked start streaming the session (raw terminal and resizes with ``-it``, the
detach keys), and the exit code of the process from ``GET /exec/{id}/json``.
"""

from __future__ import annotations

from dockyard.cli import command, runflow, streams, terminal
from dockyard.cli import ctr_values as v
from dockyard.cli.ctr_common import path_of
from dockyard.cli.flags import LIST, STRING, Flag
from dockyard.errors import DockyardError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from dockyard.cli.flags import Options

USAGE = "[OPTIONS] CONTAINER COMMAND [ARG...]"
FLAGS = [
    Flag("detach", "d", help="Detached mode: run command in the background"),
    Flag("detach-keys", kind=STRING, help="Override the key sequence for detaching a container"),
    Flag("env", "e", LIST, help="Set environment variables", convert=v.env),
    Flag("env-file", kind=LIST, help="Read in a file of environment variables"),
    Flag("interactive", "i", help="Keep STDIN open even if not attached"),
    Flag("privileged", help="Give extended privileges to the command"),
    Flag("tty", "t", help="Allocate a pseudo-TTY"),
    Flag("user", "u", STRING, help='Username or UID (format: "<name|uid>[:<group|gid>]")'),
    Flag("workdir", "w", STRING, help="Working directory inside the container"),
]
ARGS = command.min_args(2)
INTERSPERSED = False


def exec_config(cli: command.Cli, opts: Options, cmd: list[str]) -> dict[str, Any]:
    env: list[str] = []
    try:
        for path in opts.env_file:
            env += v.read_kv_file(path, lookup=True)
    except ValueError as exc:
        raise DockyardError(str(exc)) from None
    env += opts.env
    attach = not opts.detach
    return {"User": opts.user, "Privileged": opts.privileged, "Tty": opts.tty,
            "AttachStdin": attach and opts.interactive, "AttachStderr": attach, "AttachStdout": attach,
            "Detach": opts.detach, "DetachKeys": runflow.config_detach_keys(cli, opts.detach_keys),
            "Env": env or None, "WorkingDir": opts.workdir, "Cmd": cmd}


def run(cli: command.Cli, opts: Options, args: list[str]) -> int:
    config = exec_config(cli, opts, args[1:])
    client = cli.client
    client.get(f"{path_of(args[0])}/json")
    if not opts.detach:
        runflow.check_tty(cli, config["AttachStdin"], config["Tty"])
    out_fd = streams.input_fd(cli.out)
    if config["Tty"]:
        config["ConsoleSize"] = list(terminal.size(out_fd)) if out_fd is not None else [0, 0]
    reply = client.post(f"{path_of(args[0])}/exec", None, config) or {}
    exec_id = reply.get("Id") or ""
    if not exec_id:
        raise DockyardError("exec ID empty")
    start: dict[str, Any] = {"Detach": opts.detach, "Tty": opts.tty}
    if "ConsoleSize" in config:
        start["ConsoleSize"] = config["ConsoleSize"]
    if opts.detach:
        client.post(f"/exec/{exec_id}/start", None, start)
        return 0
    conn = client.hijack("POST", f"/exec/{exec_id}/start", body=start)
    session = runflow.Session(cli, conn, opts.tty, config["AttachStdin"], True, True, config["DetachKeys"])
    try:
        session.make_raw()
        in_fd = streams.input_fd(cli.inp)
        if opts.tty and in_fd is not None and terminal.is_terminal(in_fd):
            session.follow_size(f"/exec/{exec_id}")
        if session.pump() == streams.DETACHED:
            raise DockyardError(streams.DETACHED)
    finally:
        session.close()
    info = client.get(f"/exec/{exec_id}/json") or {}
    return int(info.get("ExitCode") or 0)
