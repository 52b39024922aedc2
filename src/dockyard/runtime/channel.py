"""Newline-delimited JSON messages between the runtime and a container's init over pipes."""

from __future__ import annotations

import os

from dockyard.errors import Internal
from dockyard.oci import jsonio

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


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
