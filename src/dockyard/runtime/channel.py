"""Newline-delimited JSON messages between the runtime and a container's init over pipes."""

from __future__ import annotations

import posix as os  # not os: see dockyard.runtime.ospath

from dockyard.errors import DockyardError, Internal
from dockyard.oci import jsonio

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, NoReturn


class Channel:
    """One end of a pair of pipes: ``recv`` reads from ``rfd``, ``send`` writes to ``wfd``."""

    def __init__(self, rfd: int, wfd: int) -> None:
        self.rfd = rfd
        self.wfd = wfd
        self._buf = b""

    @staticmethod
    def pair() -> tuple[Channel, Channel]:
        """Two connected ends (parent's, child's). All four fds are close-on-exec."""
        a_r, b_w = os.pipe()
        b_r, a_w = os.pipe()
        return Channel(a_r, a_w), Channel(b_r, b_w)

    def send(self, msg: dict[str, Any]) -> None:
        data = (jsonio.dumps(msg) + "\n").encode()
        while data:
            n = os.write(self.wfd, data)
            data = data[n:]

    def recv(self, peer: str = "container init") -> dict[str, Any]:
        while b"\n" not in self._buf:
            chunk = os.read(self.rfd, 65536)
            if not chunk:
                raise Internal(f"{peer} exited unexpectedly")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        msg: dict[str, Any] = jsonio.loads(line, "sync message")
        return msg

    def close(self) -> None:
        for fd in (self.rfd, self.wfd):
            try:
                os.close(fd)
            except OSError:
                pass


def describe(exc: BaseException) -> str:
    """One line for an error raised in a child, as the runtime reports it."""
    if isinstance(exc, DockyardError):
        return str(exc)
    if isinstance(exc, OSError):
        text = exc.strerror if exc.strerror and exc.errno else str(exc)
        return f"{text}: {exc.filename}" if exc.filename else text
    return f"{type(exc).__name__}: {exc}"


def child_main(chan: Channel, body: Callable[[], object]) -> NoReturn:
    """Run ``body`` in a forked child; report any error over ``chan``; never return."""
    try:
        body()
    except BaseException as exc:
        try:
            chan.send({"error": describe(exc)})
        except OSError:
            pass
        os._exit(1)
    os._exit(0)


def fork_reporting_pid(chan: Channel, fork: Callable[[], int] = os.fork) -> None:
    """Fork (to become PID 1 of a PID namespace just entered): the parent reports the
    child's pid over ``chan`` and exits; the child returns once that report is sent, so the
    runtime never hears from the child before it knows its pid. ``fork`` may be a fork that
    places the child in a cgroup (see :meth:`Syscalls.fork_into_cgroup`)."""
    r, w = os.pipe()
    pid = fork()
    if pid:
        os.close(r)
        try:
            chan.send({"type": "pid", "pid": pid})
        finally:
            # the child goes on now, not when exit has torn down our memory (~0.5 ms)
            os.close(w)
            os._exit(0)
    os.close(w)
    os.read(r, 1)  # EOF once the parent has reported (or died)
    os.close(r)
