"""``dockyard run``: create a container, attach to it, start it, wait for it, exit with its status.

docker's flow: the create (pulling a missing image, ``runflow.create_container``), the
signal proxy (``--sig-proxy``), the attach before the start when any stream is attached,
the wait request (``next-exit``, or ``removed`` with ``--rm``) before the start too, the
start, the terminal's size, the streams until the output ends (or the detach keys: exit
0), and the exit status of the container. Exit codes: 125 for bad flags and daemon
errors, 126 when the command cannot be invoked, 127 when it is not found, else the
container's; 1 for ``-it`` without a terminal and ``-a`` with ``-d``.
"""

from __future__ import annotations

from dockyard.cli import command, runflow
from dockyard.cli.ctr_flags import create_flags
from dockyard.errors import DockyardError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.flags import Options

USAGE = "[OPTIONS] IMAGE [COMMAND] [ARG...]"
FLAGS = create_flags(run=True)
ARGS = command.min_args(1)
INTERSPERSED = False
PULL_POLICIES = ("always", "missing", "never", "")


def usage_error(verb: str, message: str) -> command.StatusError:
    """docker's ``docker: <message>`` with the pointer to ``--help``, exit 125."""
    return command.StatusError(125, f"dockyard: {message}\n\nRun 'dockyard {verb} --help' for more information")


def parse(cli: command.Cli, verb: str, opts: Options, args: list[str]) -> dict:  # type: ignore[type-arg]
    """The create body, or the usage error docker prints for bad options."""
    from dockyard.cli import ctr_config

    if opts.pull not in PULL_POLICIES:
        raise usage_error(verb, f"invalid pull option: '{opts.pull}': must be one of \"always\", \"missing\" "
                                'or "never"')
    proxies = runflow.config_value(cli, "proxies")
    if isinstance(proxies, dict) and proxies:
        setattr(opts, "env", ctr_config.proxy_env(proxies, cli.client.host, opts.env))  # noqa: B010
    try:
        return ctr_config.build(opts, args[0], args[1:])
    except DockyardError as exc:
        raise usage_error(verb, str(exc)) from None


def run(cli: command.Cli, opts: Options, args: list[str]) -> int:
    body = parse(cli, "run", opts, args)
    if opts.detach:
        if opts.attach:
            raise DockyardError("conflicting options: cannot specify both --attach and --detach")
        body.update(AttachStdin=False, AttachStdout=False, AttachStderr=False, StdinOnce=False)
    else:
        runflow.check_tty(cli, body["AttachStdin"], body["Tty"])
    try:
        container_id = runflow.create_container(cli, body, opts.name, opts.platform, opts.pull, opts.quiet)
    except DockyardError as exc:
        raise usage_error("run", str(exc)) from None
    return _attach_start_wait(cli, opts, body, container_id)


def _attach_start_wait(cli: command.Cli, opts: Options, body: dict, container_id: str) -> int:  # type: ignore[type-arg]
    client = cli.client
    stdin, stdout, stderr, tty = body["AttachStdin"], body["AttachStdout"], body["AttachStderr"], body["Tty"]
    attach = stdin or stdout or stderr
    condition = "removed" if opts.rm else "next-exit"
    # docker sends the wait detached too; with --rm it reads it when the start fails
    wait = runflow.PendingWait(client, container_id, condition) if attach or opts.rm else None
    session = proxy = None
    if not attach:  # docker prints the ID as the start goes out, whatever the start does
        cli.out.write(container_id + "\n")
        cli.out.flush()
    try:
        if attach:
            session = runflow.attach(cli, f"/containers/{container_id}", tty, stdin, stdout, stderr,
                                     opts.detach_keys)
            session.make_raw()
            if opts.sig_proxy:
                proxy = runflow.SignalProxy(client, container_id)
        try:
            client.post(f"/containers/{container_id}/start")
        except DockyardError as exc:
            if session is not None:
                session.close()
            if wait is not None and opts.rm:  # docker waits for the removal (and logs its error)
                wait.status(cli.err)
            raise command.StatusError(runflow.start_error_status(str(exc)),
                                      f"dockyard: {exc}\n\nRun 'dockyard run --help' for more information") from None
        if session is None or wait is None:
            return 0
        return session.until_exit(wait, f"/containers/{container_id}", stop=True)
    finally:
        runflow.close_all(proxy, session, wait)
