"""A container process in the foreground: its terminal, forwarded signals, its exit status.

Shared by ``run`` and ``exec``: the runtime becomes a child subreaper (so a process that
re-parents away from its intermediate parent is still ours to reap), forwards the usual
signals, copies between our terminal and the container's pty, and reaps until the
process exits, returning the status the way a shell reports it (128+N for signal N).
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.runtime.syscalls import Syscalls

FORWARDED_SIGNALS = (1, 2, 3, 10, 12, 14, 15, 28)  # HUP INT QUIT USR1 USR2 ALRM TERM WINCH
PR_SET_CHILD_SUBREAPER = 36


def become_subreaper(sys: Syscalls) -> None:
    sys.prctl(PR_SET_CHILD_SUBREAPER, 1)


def console_pair() -> tuple[int, int]:
    """A connected unix socket pair (ours, the container's) to receive the pty master on."""
    import _socket

    ours, theirs = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_STREAM)
    return ours.detach(), theirs.detach()


def receive_terminal(console_fd: int) -> int:
    """The pty master the container sent over our end of :func:`console_pair`."""
    from dockyard.runtime import console

    try:
        return console.recv_fd(console_fd)
    finally:
        os.close(console_fd)


def forward_signals(pid: int) -> None:
    import _signal  # type: ignore[import-not-found]

    def forward(signum: int, _frame: object) -> None:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

    for signum in FORWARDED_SIGNALS:
        _signal.signal(signum, forward)


def attach_terminal(master: int) -> None:
    """Copy between our stdio and the pty ``master`` until the container side closes."""
    from dockyard.runtime import console

    try:
        console.proxy(master)
    finally:
        os.close(master)


def wait_for(pid: int) -> int:
    """Reap children until ``pid`` exits; return its status as a shell reports it."""
    while True:
        try:
            done, status = os.waitpid(-1, 0)
        except InterruptedError:
            continue
        except ChildProcessError:
            return 255
        if done == pid:
            code = os.waitstatus_to_exitcode(status)
            return code if code >= 0 else 128 - code
