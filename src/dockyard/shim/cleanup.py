"""After a shim died: kill what is left of its container and complete its state file.

A daemon knows a shim is dead when its socket refuses (ECONNREFUSED: the file is there, no
one listens; ENOENT: not even the file), when a connection ends without ``shutdown``, or
when a pidfd of ``shim_pid`` from the state file becomes readable. It then runs
``dockyard-shim cleanup --state-dir D`` (or :func:`cleanup`), as containerd runs
``containerd-shim-runc-v2 delete`` for a dead shim:

- the container is deleted with ``<runtime> delete --force`` (its processes are killed: with
  no shim, nobody would reap them, keep their exit status or own their stdio);
- every process whose exit was not recorded gets exit status 137 (SIGKILL) and the time of
  the cleanup; an exit the shim had recorded before dying is kept;
- the state file says ``"status": "dead"`` and the socket file is removed.

The result is the init's ``{pid, exit_status, exited_at}``: the daemon reports the task
stopped with it, never hangs on it.
"""

from __future__ import annotations

import os
import time

from dockyard.errors import FailedPrecondition, NotFound
from dockyard.shim import statefile as sf
from dockyard.shim.config import LOG_NAME, STATE_NAME
from dockyard.shim.runtime import Runtime

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

KILLED = 137


def shim_alive(socket: str) -> bool:
    from dockyard.shim import sockets

    try:
        sock = sockets.connect(socket, timeout=2.0)
    except OSError:
        return False
    sock.close()
    return True


def cleanup(state_dir: str) -> dict[str, Any]:
    """Delete the container of the dead shim in ``state_dir``; return the init's exit."""
    path = os.path.join(os.path.abspath(state_dir), STATE_NAME)
    state = sf.load(path)
    config = state.config
    if shim_alive(config.socket):
        raise FailedPrecondition(f"the shim of {config.container_id} is alive at {config.socket}")
    runtime = Runtime(config.runtime, config.runtime_root, config.path(LOG_NAME), config.runtime_args)
    if state.processes:
        try:
            runtime.delete(config.container_id, force=True)
        except NotFound:
            pass
    now = time.time_ns()
    for record in state.processes:
        if not record.exited:
            record.set_exited(KILLED, now)
    state.status = "dead"
    sf.write(path, state)
    try:
        os.unlink(config.socket)
    except FileNotFoundError:
        pass
    init = state.init
    if init is None:
        return {"pid": 0, "exit_status": 0, "exited_at": 0}
    return {"pid": init.pid, "exit_status": init.exit_status, "exited_at": init.exited_at}
