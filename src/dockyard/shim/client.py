"""The daemon's side: start shims (directly or through a launcher) and talk to them.

- :func:`shim_command`: how to run ``dockyard-shim`` (the venv's lean launcher script when
  installed, else this interpreter with ``-IS`` and our source directory on ``sys.path``).
- :func:`start_shim`: ``dockyard-shim start ...`` — a fresh interpreter that detaches.
- :class:`Launcher`: a running ``dockyard-shim launcher``; ``spawn(config)`` forks a shim
  from it (the cheap way, see :mod:`dockyard.shim.launcher`).
- :class:`ShimClient`: one connection to a shim; ``call(op, **args)`` returns the result or
  raises the :mod:`dockyard.errors` class of the shim's error code. A shim that is gone
  raises :class:`~dockyard.errors.Unavailable` (refused, missing socket, connection ended).
"""

from __future__ import annotations

import os
import sys

from dockyard.errors import Internal, Unavailable
from dockyard.shim import protocol as pr
from dockyard.shim import sockets

TYPE_CHECKING = False
if TYPE_CHECKING:
    import subprocess
    from collections.abc import Callable, Iterator, Mapping, Sequence
    from typing import Any, Self

    from dockyard.shim.config import ShimConfig

_SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def shim_command() -> list[str]:
    """The argv prefix that runs ``dockyard-shim``."""
    script = os.path.join(os.path.dirname(sys.executable), "dockyard-shim")
    if os.access(script, os.X_OK):
        return [script]
    code = f"import sys; sys.path.insert(0, {_SRC!r}); from dockyard.shim.main import entry; entry()"
    return [sys.executable, "-IS", "-c", code]


def config_flags(config: ShimConfig) -> list[str]:
    """``start``'s flags for ``config``."""
    flags = ["--id", config.container_id, "--bundle", config.bundle, "--state-dir", config.state_dir,
             "--namespace", config.namespace, "--runtime", config.runtime, "--socket", config.socket]  # fmt: skip
    if config.runtime_root:
        flags += ["--runtime-root", config.runtime_root]
    for arg in config.runtime_args:
        flags += ["--runtime-arg", arg]
    for arg in config.publish:
        flags += ["--publish", arg]
    return flags


def start_shim(
    config: ShimConfig,
    command: Sequence[str] | None = None,
    timeout: float = 30,
    env: Mapping[str, str] | None = None,
) -> int:
    """Start a detached shim with a fresh interpreter; its pid once its socket listens.

    ``env`` is the shim's environment (and so its runtime's); default: ours."""
    import subprocess

    argv = [*(command or shim_command()), "start", *config_flags(config)]
    proc = subprocess.run(
        argv, capture_output=True, text=True, timeout=timeout, check=False, env=env,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    if proc.returncode != 0:
        raise Internal(proc.stderr.strip() or f"dockyard-shim start exited {proc.returncode}")
    answer = pr.decode(proc.stdout.strip().encode(), "dockyard-shim start output")
    return int(answer["pid"])


class Connection:
    """A line-oriented connection that sends requests and sorts what comes back."""

    def __init__(self, path: str, timeout: float | None = None) -> None:
        self.path = path
        try:
            self.sock = sockets.connect(path, timeout=timeout)
        except OSError as exc:
            raise Unavailable(f"shim at {path} is not running: {exc.strerror or exc}") from None
        self.timeout = timeout
        self.buffer = pr.LineBuffer()
        self.lines: list[dict[str, Any]] = []
        self.next_id = 0

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, op: str, **args: Any) -> int:
        self.next_id += 1
        try:
            self.sock.sendall(pr.encode({"id": self.next_id, "op": op, **args}))
        except OSError as exc:
            raise Unavailable(f"shim at {self.path}: {exc.strerror or exc}") from None
        return self.next_id

    def _read(self, timeout: float | None) -> None:
        self.sock.settimeout(self.timeout if timeout == -1.0 else timeout)
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            raise
        except OSError as exc:
            raise Unavailable(f"shim at {self.path}: {exc.strerror or exc}") from None
        if not data:
            raise Unavailable(f"shim at {self.path} closed the connection")
        for line in self.buffer.feed(data):
            if line is None:
                raise Internal(f"shim at {self.path}: {pr.too_long(self.buffer.limit)}")
            if line.strip():
                self.lines.append(pr.decode(line, "shim message"))

    def _take(self, wanted: Callable[[dict[str, Any]], bool], timeout: float | None) -> dict[str, Any]:
        """The first message ``wanted`` accepts; the others stay queued, in order."""
        while True:
            for n, message in enumerate(self.lines):
                if wanted(message):
                    del self.lines[n]
                    return message
            self._read(timeout)

    def response(self, rid: int, timeout: float | None = -1.0) -> dict[str, Any]:
        """The result of request ``rid`` (its error raised); other messages stay queued."""
        return _unwrap(self._take(lambda m: "event" not in m and m.get("id") == rid, timeout))

    def event(self, timeout: float | None = -1.0) -> dict[str, Any]:
        """The next event (after a ``subscribe``); responses stay queued."""
        event: dict[str, Any] = self._take(lambda m: "event" in m, timeout)["event"]
        return event


def _unwrap(message: dict[str, Any]) -> dict[str, Any]:
    if "error" in message:
        raise pr.error_from(message["error"])
    result = message.get("result")
    if not isinstance(result, dict):
        raise Internal(f"shim: malformed response {message!r}")
    return result


class ShimClient(Connection):
    """Calls on one shim. ``call`` blocks until the answer (``wait`` until the exit)."""

    def call(self, op: str, timeout: float | None = -1.0, **args: Any) -> dict[str, Any]:
        return self.response(self.send(op, **args), timeout)

    def subscribe(self, since: int = -1) -> int:
        """Receive events on this connection (replayed from ``since`` when >= 0); last seq."""
        return int(self.call("subscribe", since=since)["seq"])

    def events(self, timeout: float | None = -1.0) -> Iterator[dict[str, Any]]:
        """Events as they come, after :meth:`subscribe`."""
        while True:
            yield self.event(timeout)


class Launcher:
    """A ``dockyard-shim launcher`` process started (and owned) by this one."""

    def __init__(
        self, path: str, command: Sequence[str] | None = None, env: Mapping[str, str] | None = None
    ) -> None:
        import subprocess

        self.path = path
        self.proc: subprocess.Popen[bytes] = subprocess.Popen(
            [*(command or shim_command()), "launcher", "--socket", path, "--exit-with-stdin"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, close_fds=True, env=env,
        )  # fmt: skip
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait()
            raise Internal(f"the shim launcher exited {self.proc.returncode} before it listened")
        self.pid = int(pr.decode(line, "launcher output")["pid"])

    def spawn(self, config: ShimConfig, timeout: float = 30) -> int:
        """Fork a detached shim for ``config``; its pid once its socket listens."""
        with Connection(self.path, timeout=timeout) as conn:
            return int(conn.response(conn.send("spawn", config=config.to_dict()))["pid"])

    def stop(self) -> None:
        """Close its stdin (it exits), and wait for it. Shims it forked keep running."""
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
