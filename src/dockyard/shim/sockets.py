"""Unix stream sockets by path, also past the 107-byte limit of ``sun_path``.

A path too long for ``sun_path`` is reached through its directory opened with ``O_PATH``:
``/proc/self/fd/<n>/<name>`` is short and the kernel resolves it to the same place, for
``bind`` as for ``connect``.
"""

from __future__ import annotations

import _socket
import os

MAX_PATH = 107


def _via_dir(path: str, action: object) -> None:
    assert callable(action)
    if len(os.fsencode(path)) <= MAX_PATH:
        action(path)
        return
    directory, name = os.path.split(path)
    dfd = os.open(directory or ".", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        action(f"/proc/self/fd/{dfd}/{name}")
    finally:
        os.close(dfd)


def listen(path: str, backlog: int = 64) -> _socket.socket:
    """A listening socket bound at ``path`` (a stale socket file there is replaced)."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        _via_dir(path, sock.bind)
        os.chmod(path, 0o600)
        sock.listen(backlog)
    except BaseException:
        sock.close()
        raise
    return sock


def connect(path: str, timeout: float | None = None) -> _socket.socket:
    """A socket connected to ``path``; OSError (ECONNREFUSED, ENOENT) when nobody listens."""
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        _via_dir(path, sock.connect)
    except BaseException:
        sock.close()
        raise
    return sock


def accept(sock: _socket.socket) -> int:
    """Accept one connection on a listening ``_socket`` socket; its fd (inheritable: no)."""
    fd, _ = sock._accept()  # type: ignore[attr-defined]
    os.set_inheritable(fd, False)
    return int(fd)
