"""Starting a shim: detach it from whoever asked, then run its loop until shutdown.

:func:`spawn` is what the ``start`` command and the launcher both do::

    caller ──bind+listen <state>/shim.sock──fork──▶ child ──setsid, fork──▶ shim (exits: the
       ▲                                                                   child; the shim
       └──────────── "<pid>" or "!<error>" over a pipe, once set up ───────┘ is orphaned)

The socket listens before the fork, so a client may connect as soon as :func:`spawn`
returns. The shim is in a session of its own and is nobody's child: the death of the daemon
(even ``kill -9``), of the launcher or of their process group does not reach it. Its stdin
and stdout are /dev/null and its stderr ``<state>/shim.log``.

Before it answers, the shim makes itself a child subreaper, moves into its state dir and
writes its state file. When its loop ends (``shutdown``) it closes every connection, and
removes the files it made: socket, state file, event log, runtime log.
"""

from __future__ import annotations

import os

from dockyard.errors import AlreadyExists, DockyardError, Internal
from dockyard.shim import sockets
from dockyard.shim.config import EVENTS_NAME, LOG_NAME, SHIM_LOG_NAME, STATE_NAME

TYPE_CHECKING = False
if TYPE_CHECKING:
    import _socket
    from collections.abc import Callable, Iterable

    from dockyard.shim.config import ShimConfig
    from dockyard.shim.events import Publishers
    from dockyard.shim.loop import Loop
    from dockyard.shim.server import Server
    from dockyard.shim.task import Task


def check_free(path: str) -> None:
    """AlreadyExists when a live shim answers at ``path`` (a stale socket file is fine)."""
    try:
        sock = sockets.connect(path, timeout=1.0)
    except OSError:
        return
    sock.close()
    raise AlreadyExists(f"a shim is already serving at {path}")


def spawn(config: ShimConfig, close_fds: Iterable[int] = ()) -> int:
    """Start a detached shim for ``config``; return its pid once it serves its socket.

    It forks and the child goes on in Python: call it only from a single-threaded process
    (the ``start`` command, the launcher), never from a daemon with threads."""
    os.makedirs(config.state_dir, mode=0o711, exist_ok=True)
    check_free(config.socket)
    listener = sockets.listen(config.socket)
    r, w = os.pipe()
    try:
        pid = os.fork()
    except OSError as exc:
        listener.close()
        os.close(r)
        os.close(w)
        raise Internal(f"cannot fork the shim: {exc.strerror}") from None
    if pid == 0:  # pragma: no cover - the child's side
        status = 1
        try:
            os.close(r)
            for fd in close_fds:
                os.close(fd)
            os.setsid()
            if os.fork() == 0:
                _become_shim(config, listener, w)
            status = 0
        finally:
            os._exit(status)
    listener.close()
    os.close(w)
    try:
        os.waitpid(pid, 0)
        answer = _read_all(r).decode(errors="replace")
    finally:
        os.close(r)
    if answer.isdigit():
        return int(answer)
    try:
        os.unlink(config.socket)
    except OSError:
        pass
    if answer.startswith("!"):
        raise Internal(f"shim for {config.container_id} failed to start: {answer[1:]}")
    raise Internal(f"shim for {config.container_id} died while starting")


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 4096):
        chunks.append(chunk)
    return b"".join(chunks)


def _become_shim(config: ShimConfig, listener: _socket.socket, report: int) -> None:  # pragma: no cover
    """The detached grandchild: set up, report, serve, exit."""
    try:
        _stdio(config)
        run = setup(config, listener)
    except BaseException as exc:
        message = exc.message if isinstance(exc, DockyardError) else f"{type(exc).__name__}: {exc}"
        os.write(report, f"!{message}".encode())
        os._exit(1)
    os.write(report, str(os.getpid()).encode())
    os.close(report)
    run()
    os._exit(0)


def _stdio(config: ShimConfig) -> None:
    null = os.open(os.devnull, os.O_RDWR)
    log = os.open(config.path(SHIM_LOG_NAME), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.dup2(log, 2)
    for fd in {null, log} - {0, 1, 2}:
        os.close(fd)


def setup(config: ShimConfig, listener: _socket.socket) -> Callable[[], None]:
    """Build the shim in this process; return the function that serves until shutdown."""
    from dockyard.shim import events as ev
    from dockyard.shim.loop import Loop
    from dockyard.shim.process import become_subreaper
    from dockyard.shim.runtime import Runtime, is_own_runtime
    from dockyard.shim.server import Server
    from dockyard.shim.task import Task

    become_subreaper()
    os.chdir(config.state_dir)
    loop = Loop()
    publishers = ev.Publishers([ev.EventLog(config.path(EVENTS_NAME))])
    if config.publish:
        publishers.add(ev.CommandPublisher(config.publish))
    runtime = Runtime(config.runtime, config.runtime_root, config.path(LOG_NAME), config.runtime_args,
                      in_process=is_own_runtime(config.runtime))
    task = Task(config, loop, publishers, runtime)
    server = Server(config, loop, task, listener)
    publishers.add(server)
    loop.on_sigchld(task.reap)
    task.save()
    return lambda: _serve(config, loop, task, server, publishers)


def _serve(config: ShimConfig, loop: Loop, task: Task, server: Server, publishers: Publishers) -> None:
    try:
        loop.run()
    finally:
        server.close()
        task.close()
        publishers.close()
        remove = [config.socket]
        if not task.busy():  # gone for good: nothing left to tell a daemon
            remove += [config.path(n) for n in (STATE_NAME, EVENTS_NAME, LOG_NAME)]
            try:
                if os.fstat(2).st_size == 0:
                    remove.append(config.path(SHIM_LOG_NAME))
            except OSError:
                pass
        for path in remove:
            try:
                os.unlink(path)
            except OSError:
                pass
