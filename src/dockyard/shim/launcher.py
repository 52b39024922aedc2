"""The shim launcher: one lean process that forks a shim per container.

A fresh interpreter per shim costs ~3 MB of private memory per container (the interpreter's
own heap); a process forked from a lean, thread-free parent shares all of that copy-on-write
and dirties ~0.4 MB. So the daemon starts this launcher once (``dockyard-shim launcher
--socket PATH``), and asks it for shims::

    -> {"id": 1, "op": "spawn", "config": {<ShimConfig.to_dict()>}}
    <- {"id": 1, "result": {"pid": 4242, "address": "/run/.../shim.sock"}}
    -> {"id": 2, "op": "ping"}            <- {"id": 2, "result": {"pid": <launcher pid>}}

The launcher imports everything a shim will ever import before it serves (so no shim
imports after the fork), freezes the garbage collector's view of those objects
(``gc.freeze``: collections in the shims then never touch the shared pages), and handles one
request at a time. A shim it forked detaches at once (:func:`dockyard.shim.daemon.spawn`):
the launcher may die, be killed or restart without any shim noticing. The daemon restarts a
launcher that is gone, or falls back to ``dockyard-shim start`` (a fresh interpreter).
"""

from __future__ import annotations

import os

from dockyard.errors import DockyardError, NotImplementedYet
from dockyard.shim import protocol as pr
from dockyard.shim import sockets

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

PRELOAD = (
    "dockyard.shim.cgroupinfo", "dockyard.shim.config", "dockyard.shim.daemon",
    "dockyard.shim.events", "dockyard.shim.loop", "dockyard.shim.process", "dockyard.shim.relay",
    "dockyard.shim.runtime", "dockyard.shim.server", "dockyard.shim.statefile",
    "dockyard.shim.stdio", "dockyard.shim.task", "dockyard.runtime.cgroups",
    "dockyard.runtime.cgroups.fs", "dockyard.runtime.cgroups.v1", "dockyard.runtime.cgroups.v2",
    "dockyard.runtime.cgroups.stats", "dockyard.runtime.mountinfo", "dockyard.runtime.console",
    "dockyard.runtime.signals", "dockyard.runtime.syscalls", "ctypes", "fcntl", "select",
)  # fmt: skip


WARM_UP_ROUNDS = 16


def warm_up() -> None:
    """Run the shim's common code paths once: CPython 3.11 specialises a function's bytecode
    in place after a few calls, and a shim forked after that writes less of the shared code."""
    from dockyard.oci import jsonio
    from dockyard.shim import events as ev
    from dockyard.shim import statefile as sf
    from dockyard.shim.cgroupinfo import manager_for_pid
    from dockyard.shim.config import ShimConfig

    req = pr.parse_request(pr.encode({"id": 1, "op": "state", "exec_id": "", "signal": "KILL"})[:-1])
    req.str("exec_id"), req.bool("all"), req.signal("signal"), req.int("width")
    config = ShimConfig("warm-up", "/", "/")
    record = sf.ProcRecord("", pid=1, stdout="/dev/null")
    state = sf.ShimState(config, os.getpid(), [record])
    sf.ShimState.from_dict(jsonio.loads(jsonio.dumps(state.to_dict())))
    event = ev.Event(1, ev.TASK_EXIT, "default", 0, {"container_id": "c", "exit_status": 0})
    pr.encode({"event": event.to_dict()})
    pr.encode(pr.result(1, {"container_id": "c", **record.to_dict()}))
    try:
        manager_for_pid(os.getpid()).pids()
    except DockyardError:
        pass


def preload() -> None:
    """Import what a shim needs, build the ctypes libc once, and freeze the heap."""
    import gc

    for name in PRELOAD:
        __import__(name)
    from dockyard.shim.process import prepare_syscalls

    prepare_syscalls()  # loads libc through ctypes: the shims' prctl then touches little
    for _ in range(WARM_UP_ROUNDS):
        warm_up()
    gc.collect()
    gc.freeze()


def _handle(line: bytes, inherited: Iterable[int]) -> dict[str, Any]:
    req = pr.parse_request(line)
    if req.op == "ping":
        return pr.result(req.id, {"pid": os.getpid()})
    if req.op != "spawn":
        raise NotImplementedYet(f"launcher: unknown op {req.op!r}")
    from dockyard.shim.config import ShimConfig
    from dockyard.shim.daemon import spawn

    config = ShimConfig.from_dict(req.obj("config", required=True))
    pid = spawn(config, close_fds=inherited)
    return pr.result(req.id, {"pid": pid, "address": config.socket})


def _serve_ready(conn: int, buffer: pr.LineBuffer, inherited: Iterable[int]) -> bool:
    """Read what ``conn`` sent and answer its complete requests; False once it is done."""
    try:
        data = os.read(conn, 65536)
    except OSError:
        return False
    if not data:
        return False
    for line in buffer.feed(data):
        if line is None:
            if not _send(conn, pr.error(None, pr.too_long(buffer.limit))):
                return False
            continue
        if not line.strip():
            continue
        try:
            answer = _handle(line, inherited)
        except Exception as exc:
            answer = pr.error(pr.request_id(line), exc)
        if not _send(conn, answer):
            return False
    return True


def _send(conn: int, message: dict[str, Any]) -> bool:
    try:
        os.write(conn, pr.encode(message))  # answers are small: one blocking write
    except OSError:
        return False
    return True


def serve(path: str, exit_with_stdin: bool = False) -> None:
    """Serve spawn requests on ``path``; print ``{"pid", "address"}`` once listening.

    With ``exit_with_stdin`` the launcher returns when its stdin ends: the daemon keeps a
    pipe to it, so a launcher never outlives its daemon (the shims do). A forked shim closes
    all of the launcher's fds.
    """
    import select

    preload()
    listener = sockets.listen(path)
    os.write(1, pr.encode({"pid": os.getpid(), "address": path}))
    conns: dict[int, pr.LineBuffer] = {}
    watch = [0] if exit_with_stdin else []
    while True:
        ready, _, _ = select.select([listener.fileno(), *watch, *conns], [], [])
        for fd in ready:
            if fd == 0:
                if not os.read(0, 4096):
                    listener.close()
                    os.unlink(path)
                    return
            elif fd == listener.fileno():
                try:
                    conn = sockets.accept(listener)
                except OSError:
                    continue
                conns[conn] = pr.LineBuffer()
            elif fd in conns and not _serve_ready(fd, conns[fd], [listener.fileno(), *conns]):
                del conns[fd]
                os.close(fd)
