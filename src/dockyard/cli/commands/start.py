"""``dockyard start``: start containers; with ``-a``/``-i`` attach to one and wait for it.

Attached, it is docker's flow: inspect, the signal proxy (without a tty), the attach (stdin
with ``-i`` when the container keeps stdin open), the wait (``next-exit``, ``removed`` for
an ``--rm`` container), the start, the terminal's size, the streams, the exit status.
"""

from __future__ import annotations

from dockyard.cli import command, runflow
from dockyard.cli.ctr_common import path_of
from dockyard.cli.flags import STRING, Flag
from dockyard.errors import DockyardError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.flags import Options

USAGE = "[OPTIONS] CONTAINER [CONTAINER...]"
FLAGS = [
    Flag("attach", "a", help="Attach STDOUT/STDERR and forward signals"),
    Flag("checkpoint", "", STRING, help="Restore from this checkpoint"),
    Flag("checkpoint-dir", "", STRING, help="Use a custom checkpoint storage directory"),
    Flag("detach-keys", "", STRING, help="Override the key sequence for detaching a container"),
    Flag("interactive", "i", help="Attach container's STDIN"),
]
ARGS = command.min_args(1)


def _experimental_only(cli: command.Cli, opts: Options) -> None:
    """docker's checkpoint flags need a daemon with experimental features (its ping says so)."""
    for flag in ("checkpoint", "checkpoint-dir"):
        if flag in opts.changed:
            cli.client.version  # noqa: B018 - negotiating pings the daemon
            if cli.client.ping_headers.get("docker-experimental", "false") != "true":
                raise DockyardError(f'"--{flag}" is only supported on a Docker daemon with experimental features '
                                    "enabled")


def run(cli: command.Cli, opts: Options, args: list[str]) -> int:
    _experimental_only(cli, opts)
    if opts.attach or opts.interactive:
        if len(args) > 1:
            raise DockyardError("you cannot start and attach multiple containers at once")
        return _start_attached(cli, opts, args[0])
    checkpoint = {"checkpoint": opts.checkpoint or None, "checkpoint-dir": opts.checkpoint_dir or None}
    if opts.checkpoint:
        if len(args) > 1:
            raise DockyardError("you cannot restore multiple containers at once")
        cli.client.post(f"{path_of(args[0])}/start", checkpoint)
        return 0
    failed = []
    for name in args:
        try:
            cli.client.post(f"{path_of(name)}/start")
        except DockyardError as exc:
            cli.err.write(f"{exc}\n")
            failed.append(name)
            continue
        cli.out.write(f"{name}\n")
    if failed:
        raise DockyardError("Error: failed to start containers: " + ", ".join(failed))
    return 0


def _start_attached(cli: command.Cli, opts: Options, name: str) -> int:
    client = cli.client
    info = client.get(f"{path_of(name)}/json")
    container_id = info["Id"]
    config = info.get("Config") or {}
    tty = bool(config.get("Tty"))
    stdin = bool(opts.interactive and config.get("OpenStdin"))
    auto_remove = bool((info.get("HostConfig") or {}).get("AutoRemove"))
    proxy = runflow.SignalProxy(client, container_id) if not tty else None
    session = wait = None
    try:
        session = runflow.attach(cli, f"/containers/{container_id}", tty, stdin, True, True, opts.detach_keys)
        session.make_raw()
        wait = runflow.PendingWait(client, container_id, "removed" if auto_remove else "next-exit")
        try:
            client.post(f"/containers/{container_id}/start",
                        {"checkpoint": opts.checkpoint or None, "checkpoint-dir": opts.checkpoint_dir or None})
        except DockyardError:
            session.close()
            if auto_remove:
                wait.status(cli.err)
            raise
        return session.until_exit(wait, f"/containers/{container_id}")
    finally:
        runflow.close_all(proxy, session, wait)
