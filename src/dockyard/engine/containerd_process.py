"""The ``dockyard-containerd`` that ``dockyardd`` starts when it is not given one
(``--containerd``), as dockerd starts its containerd.

It runs as a child in its own process group (a ^C at dockyardd's terminal does not reach
it) with ``--root <data-root>/containerd --state <exec-root>/containerd --address
<exec-root>/containerd/containerd.sock`` and dockyardd's log level; its log goes to
dockyardd's stderr. Its PID is kept in ``<exec-root>/containerd/containerd.pid``: a
dockyardd that died without stopping it finds it there and adopts it rather than
start a second one. :meth:`stop` ends it by PID (SIGTERM, then SIGKILL); a child that
exits on its own while the engine runs is started again (:meth:`watch`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence

from dockyard.containerd.server.sockets import answers
from dockyard.engine.config import EngineConfig
from dockyard.errors import Unavailable

log = logging.getLogger("dockyard.engine.containerd")

START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0
_LEVELS = {"fatal": "fatal", "panic": "panic", "error": "error", "warn": "warn", "info": "info", "debug": "debug",
           "trace": "trace"}


def default_argv() -> list[str]:
    """dockyard-containerd next to this interpreter, else through ``python -m``."""
    beside = os.path.join(os.path.dirname(sys.executable), "dockyard-containerd")
    if os.access(beside, os.X_OK):
        return [beside]
    return [sys.executable, "-m", "dockyard.containerd.server.main"]


def _pid_alive(pid: int, address: str) -> bool:
    """Whether ``pid`` is a running dockyard-containerd serving ``address``."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    text = b" ".join(argv)
    return state != "Z" and b"containerd" in text and address.encode() in text


class ManagedContainerd:
    def __init__(self, config: EngineConfig, argv: Sequence[str] | None = None) -> None:
        self.root = config.containerd_root
        self.state = config.containerd_state
        self.address = config.containerd_socket
        self.pid_file = os.path.join(self.state, "containerd.pid")
        self.log_level = "debug" if config.debug else _LEVELS.get(config.log_level, "info")
        self.argv = list(argv) if argv is not None else default_argv()
        self.process: subprocess.Popen[bytes] | None = None
        self.pid = 0
        self._stopping = False

    def command(self) -> list[str]:
        return [*self.argv, "--root", self.root, "--state", self.state, "--address", self.address,
                "--log-level", self.log_level]

    def _leftover(self) -> int:
        try:
            with open(self.pid_file) as f:
                pid = int(f.read().strip() or 0)
        except (OSError, ValueError):
            return 0
        return pid if pid > 0 and _pid_alive(pid, self.address) and answers(self.address) else 0

    def _alive(self) -> bool:
        if self.process is not None:
            return self.process.poll() is None
        return self.pid > 0 and _pid_alive(self.pid, self.address)

    async def start(self, timeout: float = START_TIMEOUT) -> None:
        """Started (or adopted) and answering on its socket; Unavailable otherwise."""
        os.makedirs(self.state, mode=0o711, exist_ok=True)
        os.makedirs(self.root, mode=0o711, exist_ok=True)
        leftover = self._leftover()
        if leftover:
            log.info("dockyard-containerd (pid %d) is still running: using it", leftover)
            self.pid, self.process = leftover, None
            return
        argv = self.command()
        log.debug("starting %s", " ".join(argv))
        self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, process_group=0, close_fds=True)
        self.pid = self.process.pid
        with open(self.pid_file + ".tmp", "w") as f:
            f.write(f"{self.pid}\n")
        os.replace(self.pid_file + ".tmp", self.pid_file)
        deadline = time.monotonic() + timeout
        while not answers(self.address, timeout=0.5):
            if self.process.poll() is not None:
                status = self.process.returncode
                self._forget()
                raise Unavailable(f"dockyard-containerd exited with status {status} while starting")
            if time.monotonic() > deadline:
                await self.stop()
                raise Unavailable(f"dockyard-containerd did not answer on {self.address} within {timeout:.0f}s")
            await asyncio.sleep(0.05)
        log.info("dockyard-containerd (pid %d) serving on %s", self.pid, self.address)

    async def watch(self, interval: float = 1.0) -> None:
        """Start it again whenever it exits on its own (run as a task; cancel to end)."""
        while True:
            await asyncio.sleep(interval)
            if self._stopping or self._alive():
                continue
            status = self.process.returncode if self.process is not None else None
            log.error("dockyard-containerd (pid %d) exited (status %s): starting it again", self.pid, status)
            self._forget()
            try:
                await self.start()
            except Unavailable as exc:
                log.error("%s", exc)

    async def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM by PID, SIGKILL after ``timeout``; the PID file goes."""
        self._stopping = True
        pid = self.pid
        if pid <= 0:
            return
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + timeout
        while self._alive() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if self._alive():
            log.warning("dockyard-containerd (pid %d) did not stop in %.0fs: killing it", pid, timeout)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            while self._alive():
                await asyncio.sleep(0.05)
        if self.process is not None:
            self.process.wait()
        self._forget()
        self._remove_stale()
        log.info("dockyard-containerd (pid %d) stopped", pid)

    def _remove_stale(self) -> None:
        """The socket and lock file of a daemon that could not remove them (killed, or
        stopped before it had installed its signal handlers)."""
        if answers(self.address, timeout=0.5):
            return
        for path in (self.address, self.address + ".lock"):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass

    def _forget(self) -> None:
        self.process, self.pid = None, 0
        try:
            os.unlink(self.pid_file)
        except FileNotFoundError:
            pass
