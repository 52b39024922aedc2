"""``dockyard-containerd`` as a subprocess for tests, and ``ctr`` pointed at it.

``RunningDaemon.start(base)`` runs the daemon with its socket, ``--root`` and ``--state``
under ``base`` (a fresh temporary directory), waits until the socket answers and returns;
``stop()`` sends SIGTERM to its PID (SIGKILL after a timeout), checks that it exited and
removed its socket. ``ctr(*args)`` runs Debian's ``ctr --address <socket>``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

CTR = "/usr/bin/ctr"
START_TIMEOUT = 30.0


def daemon_argv() -> list[str]:
    """The daemon through the test's interpreter (works whether or not scripts are installed)."""
    return [sys.executable, "-m", "dockyard.containerd.server.main"]


def answers(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        try:
            sock.connect(str(path))
        except OSError:
            return False
    return True


@dataclass
class RunningDaemon:
    base: Path
    process: subprocess.Popen[bytes]
    log_path: Path
    stopped: bool = field(default=False)

    @property
    def address(self) -> Path:
        return self.base / "containerd.sock"

    @property
    def root(self) -> Path:
        return self.base / "root"

    @property
    def state(self) -> Path:
        return self.base / "state"

    @classmethod
    def start(cls, base: Path, *extra: str) -> RunningDaemon:
        base.mkdir(parents=True, exist_ok=True)
        log_path = base / "daemon.log"
        argv = [*daemon_argv(), "--address", str(base / "containerd.sock"), "--root", str(base / "root"),
                "--state", str(base / "state"), "--log-level", "debug", *extra]
        with open(log_path, "wb") as log:
            process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       cwd="/")
        running = cls(base, process, log_path)
        deadline = time.monotonic() + START_TIMEOUT
        while not answers(running.address):
            if process.poll() is not None:
                raise RuntimeError(f"dockyard-containerd exited {process.returncode}:\n{running.log()}")
            if time.monotonic() > deadline:
                running.stop()
                raise RuntimeError(f"dockyard-containerd did not answer within {START_TIMEOUT}s:\n{running.log()}")
            time.sleep(0.05)
        return running

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-8000:]
        except FileNotFoundError:
            return ""

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM by PID, then SIGKILL; the exit status."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.stopped = True
        return self.process.returncode

    def ctr(self, *args: str, check: bool = True, timeout: float = 120.0,
            input: str | None = None) -> subprocess.CompletedProcess[str]:
        argv = [CTR, "--address", str(self.address), *args]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, input=input,
                              stdin=None if input is not None else subprocess.DEVNULL, check=False)
        if check and proc.returncode != 0:
            raise AssertionError(f"{' '.join(argv)} exited {proc.returncode}\nstdout: {proc.stdout}\n"
                                 f"stderr: {proc.stderr}\ndaemon log:\n{self.log()}")
        return proc
