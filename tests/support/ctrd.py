"""Daemons as subprocesses for tests and benchmarks, and ``ctr`` pointed at them.

- ``DaemonDirs``: a daemon's socket (``address``), ``root`` and ``state`` under one base
  directory.
- ``DaemonProcess``: one started with its log in that directory: ``wait_ready()`` until it
  answers (stopped by PID if it does not, or if the wait is interrupted), ``stop()`` by PID
  (SIGTERM, SIGKILL after a timeout), ``log()`` (its tail), ``ctr(*args)`` (Debian's
  ``ctr --address <socket>``). tests/support/real_containerd.py has containerd 1.6 as one.
- ``RunningDaemon.start(base)``: ``dockyard-containerd`` with its socket, ``--root`` and
  ``--state`` under ``base`` (a fresh temporary directory), once its socket answers.
- ``stop_daemon(daemon)``: stop it by PID; it must exit 0 and remove its socket.
  ``shut_down(base, daemons)``: that for each, then no mount may be left under ``base``.
- ``dockyard_containerd(base)``: a ``RunningDaemon`` as a context manager that shuts it
  down at the end (an ``AssertionError`` lists what was wrong) and removes ``base`` when
  nothing is mounted below it.
- ``remove_namespace(daemon, name)`` and ``namespace(daemon, name)``: a namespace emptied
  (containers, images, snapshots, leases) and removed, directly or at the end of a ``with``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Protocol, Self

from tests.support import hostcheck

CTR = "/usr/bin/ctr"
START_TIMEOUT = 30.0


class CtrClient(Protocol):
    """What runs ``ctr`` against a daemon."""

    def ctr(self, *args: str, check: bool = True, timeout: float = 120.0,
            input: str | None = None) -> subprocess.CompletedProcess[str]: ...


def daemon_argv(python: str = sys.executable) -> list[str]:
    """The daemon through ``python`` (the test's interpreter by default: works whether or not
    scripts are installed)."""
    return [python, "-m", "dockyard.containerd.server.main"]


def answers(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        try:
            sock.connect(str(path))
        except OSError:
            return False
    return True


@dataclass
class DaemonDirs:
    base: Path

    @property
    def address(self) -> Path:
        return self.base / "containerd.sock"

    @property
    def root(self) -> Path:
        return self.base / "root"

    @property
    def state(self) -> Path:
        return self.base / "state"


@dataclass
class DaemonProcess(DaemonDirs):
    process: subprocess.Popen[bytes]
    log_path: Path

    name: ClassVar[str] = "daemon"

    @classmethod
    def launch(cls, base: Path, argv: list[str], log_name: str) -> Self:
        """Start ``argv`` with its output in ``base/log_name`` (not waiting for it)."""
        base.mkdir(parents=True, exist_ok=True)
        log_path = base / log_name
        with open(log_path, "wb") as log:
            process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       cwd="/")
        return cls(base, process, log_path)

    def wait_ready(self, ready: Callable[[], bool], interval: float = 0.05,
                   timeout: float = START_TIMEOUT) -> None:
        """Poll ``ready()``; a ``RuntimeError`` (the daemon stopped) when it exits or times out."""
        try:
            deadline = time.monotonic() + timeout
            while not ready():
                if self.process.poll() is not None:
                    raise RuntimeError(f"{self.name} exited {self.process.returncode}:\n{self.log()}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{self.name} did not answer within {timeout}s:\n{self.log()}")
                time.sleep(interval)
        except BaseException:
            self.stop()
            raise

    def log(self, chars: int = 8000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
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


@dataclass
class RunningDaemon(DaemonProcess):
    name: ClassVar[str] = "dockyard-containerd"

    @classmethod
    def start(cls, base: Path, *extra: str, python: str = sys.executable,
              log_level: str | None = "debug") -> RunningDaemon:
        """Started and answering on its socket (``log_level`` None: the daemon's default)."""
        dirs = DaemonDirs(base)
        argv = [*daemon_argv(python), "--address", str(dirs.address), "--root", str(dirs.root),
                "--state", str(dirs.state)]
        if log_level is not None:
            argv += ["--log-level", log_level]
        running = cls.launch(base, [*argv, *extra], "daemon.log")
        running.wait_ready(lambda: answers(running.address))
        return running


def stop_daemon(daemon: RunningDaemon, forbidden_in_log: tuple[str, ...] = ()) -> list[str]:
    """Stop it by PID; what was wrong with its exit (and lines of ``forbidden_in_log`` it logged)."""
    problems: list[str] = []
    status = daemon.stop()
    log = daemon.log()
    if status != 0:
        problems.append(f"dockyard-containerd exited {status}:\n{log}")
    if daemon.address.exists():
        problems.append("the daemon left its socket")
    problems += [f"the daemon logged {text!r}:\n{log}" for text in forbidden_in_log if text in log]
    return problems


def shut_down(base: Path, daemons: Iterable[RunningDaemon], forbidden_in_log: tuple[str, ...] = ()) -> list[str]:
    """``stop_daemon`` for each of ``daemons``, then no mount may be left under ``base``."""
    problems: list[str] = []
    for daemon in daemons:
        problems += stop_daemon(daemon, forbidden_in_log)
    left = hostcheck.mounts_under(base)
    if left:
        problems.append(f"mounts left under {base}: {left}")
    return problems


@contextlib.contextmanager
def dockyard_containerd(base: Path, *extra: str, forbidden_in_log: tuple[str, ...] = ()) -> Iterator[RunningDaemon]:
    """``RunningDaemon.start(base, *extra)``, shut down at the end (``base`` removed when
    nothing is mounted below it); an ``AssertionError`` lists what was wrong."""
    running = RunningDaemon.start(base, *extra)
    try:
        yield running
    finally:
        problems = shut_down(base, [running], forbidden_in_log)
        if not hostcheck.mounts_under(base):
            shutil.rmtree(base, ignore_errors=True)
        assert not problems, "\n".join(problems)


# -- a namespace of the test's own ----------------------------------------------------------------
def remove_namespace(daemon: CtrClient, name: str) -> subprocess.CompletedProcess[str]:
    """Remove the namespace's containers, images (synchronously), snapshots and leases, then
    the namespace (its tasks must be gone already); what ``ctr namespaces rm`` said."""

    def ctr(*args: str) -> subprocess.CompletedProcess[str]:
        return daemon.ctr("-n", name, *args, check=False, timeout=60.0)

    for cid in ctr("containers", "ls", "-q").stdout.split():
        ctr("containers", "rm", cid)
    for ref in ctr("images", "ls", "-q").stdout.split():
        ctr("images", "rm", "--sync", ref)
    for line in ctr("snapshots", "ls").stdout.splitlines()[1:]:
        ctr("snapshots", "rm", line.split()[0])
    for lease in ctr("leases", "ls", "-q").stdout.split():
        ctr("leases", "rm", "--sync", lease)
    return daemon.ctr("namespaces", "rm", name, check=False)


@contextlib.contextmanager
def namespace(daemon: CtrClient, name: str) -> Iterator[str]:
    """``name``, emptied and removed at the end (``remove_namespace``)."""
    try:
        yield name
    finally:
        remove_namespace(daemon, name)
