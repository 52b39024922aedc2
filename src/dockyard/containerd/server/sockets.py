"""The daemon's socket: one daemon per address.

A lock file next to the socket (``<address>.lock``, flock'ed for the daemon's life) keeps
two daemons from starting on one address at the same time; a socket that answers a
connection belongs to a live daemon (one of another build, say, that takes no lock), so
the new one refuses to start and says so; a socket nobody answers is stale and removed.
"""

from __future__ import annotations

import errno
import fcntl
import os
import socket
import stat

from dockyard.errors import FailedPrecondition, InvalidArgument


class AddressLock:
    """The flock on ``<address>.lock``; :meth:`release` drops it."""

    def __init__(self, address: str, owner: str = "dockyard-containerd") -> None:
        self.path = address + ".lock"
        self._fd = -1
        while self._fd < 0:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
                os.close(fd)
                who = f" (pid {holder})" if holder else ""
                raise FailedPrecondition(
                    f"{address}: another {owner}{who} is starting or serving here") from None
            try:
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                self._fd = fd
            else:
                os.close(fd)  # its holder removed it meanwhile: take the new one
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, f"{os.getpid()}\n".encode(), 0)

    def release(self) -> None:
        if self._fd >= 0:
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass
            os.close(self._fd)
            self._fd = -1


def answers(address: str, timeout: float = 1.0) -> bool:
    """Whether something accepts connections on the unix socket ``address``."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(address)
        except OSError as exc:
            if exc.errno in (errno.ECONNREFUSED, errno.ENOENT):
                return False
            if isinstance(exc, TimeoutError):
                return True  # a live listener with a full backlog
            raise
    return True


def claim(address: str, owner: str = "dockyard-containerd") -> AddressLock:
    """Take ``address`` for this daemon: lock it, refuse a live one, remove a stale socket.

    ``owner`` names the kind of daemon in the refusal (dockyardd uses this too)."""
    if not os.path.isabs(address):
        raise InvalidArgument(f"address {address!r}: must be an absolute path")
    if len(address.encode()) > 107:
        raise InvalidArgument(f"address {address!r}: longer than a unix socket path may be (107 bytes)")
    os.makedirs(os.path.dirname(address), mode=0o711, exist_ok=True)
    lock = AddressLock(address, owner)
    try:
        try:
            st = os.lstat(address)
        except FileNotFoundError:
            return lock
        if not stat.S_ISSOCK(st.st_mode):
            raise FailedPrecondition(f"{address}: exists and is not a socket")
        if answers(address):
            raise FailedPrecondition(f"{address}: another daemon is serving on this socket")
        os.unlink(address)  # stale: its daemon died
        return lock
    except BaseException:
        lock.release()
        raise
