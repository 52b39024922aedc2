"""``dockyardd`` as a subprocess for tests, and the clients pointed at it.

- ``RunningEngine.start(base, *extra)``: dockyardd with its API socket
  (``base/dockyard.sock``), ``--data-root base/data`` and ``--exec-root base/exec`` (so it
  starts its own dockyard-containerd under them), once ``GET /_ping`` answers. Its log is
  ``base/dockyardd.log``. ``extra`` are more flags (``--containerd SOCK`` to use another
  supervisor).
- ``engine.docker(*args)``: the real docker CLI (``/usr/local/bin/docker``) with
  ``DOCKER_HOST=unix://<socket>`` and a config dir of its own; ``engine.ctr(*args)``:
  Debian's ``ctr`` on the engine's dockyard-containerd; ``engine.request(method, path)``:
  one raw HTTP request over the socket -> ``(status, headers, body)``;
  ``engine.docker_py()``: a docker-py client (skips the test when docker-py is missing).
- ``stop_engine(engine)``: stop it by PID (SIGTERM, SIGKILL after a timeout) and list
  what is wrong: an exit status other than 0, its socket or lock left, its
  dockyard-containerd still running or its socket left, processes or mounts under ``base``,
  and what its networks left (``netcheck``: veths, bridges, namespaces; the engine gets a
  test bridge and test subnets of its own).
- ``dockyardd(base, *extra)``: a ``RunningEngine`` as a context manager that asserts all
  that at the end and removes ``base``.
"""

from __future__ import annotations

import contextlib
import glob
import http.client
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest
from tests.support import hostcheck, netcheck
from tests.support.ctrd import CTR, DaemonProcess, answers

DOCKER = "/usr/local/bin/docker"


def engine_argv(python: str = sys.executable) -> list[str]:
    return [python, "-m", "dockyard.engine.daemon"]


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.unix_path)
        self.sock = sock


def unix_request(path: str, method: str, target: str, body: bytes | None = None,
                 timeout: float = 30.0) -> tuple[int, dict[str, str], bytes]:
    conn = _UnixHTTPConnection(path, timeout)
    try:
        conn.request(method, target, body=body, headers={"Content-Type": "application/json"} if body else {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def pings(path: Path) -> bool:
    try:
        status, _, body = unix_request(str(path), "GET", "/_ping", timeout=2.0)
    except OSError:
        return False
    return status == 200 and body == b"OK"


def pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def processes_mentioning(text: str) -> list[str]:
    """Command lines of live processes whose argv mentions ``text`` (not this one)."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in argv and pid_alive(int(entry)):
            out.append(f"{entry}: {argv.strip()}")
    return out


@dataclass
class RunningEngine(DaemonProcess):
    name: ClassVar[str] = "dockyardd"

    @property
    def socket(self) -> Path:
        return self.base / "dockyard.sock"

    @property
    def data_root(self) -> Path:
        return self.base / "data"

    @property
    def exec_root(self) -> Path:
        return self.base / "exec"

    @property
    def address(self) -> Path:  # what ``ctr`` talks to: the engine's dockyard-containerd
        return self.exec_root / "containerd" / "containerd.sock"

    @property
    def host(self) -> str:
        return f"unix://{self.socket}"

    @classmethod
    def launch_engine(cls, base: Path, *extra: str, log_level: str = "debug") -> RunningEngine:
        """Started, not waited for."""
        network = [] if "--bridge" in extra else netcheck.engine_args(base)  # a test bridge and test subnets
        argv = [*engine_argv(), "-H", f"unix://{base / 'dockyard.sock'}", "--data-root", str(base / "data"),
                "--exec-root", str(base / "exec"), "--log-level", log_level, *network, *extra]
        return cls.launch(base, argv, "dockyardd.log")

    @classmethod
    def start(cls, base: Path, *extra: str, log_level: str = "debug") -> RunningEngine:
        """Started and answering ``/_ping``."""
        engine = cls.launch_engine(base, *extra, log_level=log_level)
        engine.wait_ready(lambda: pings(engine.socket))
        return engine

    def wait_containerd(self, other_than: int = 0, timeout: float = 30.0) -> int:
        """The PID of the engine's dockyard-containerd (not ``other_than``) once it answers."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid = self.containerd_pid()
            if pid and pid != other_than and answers(self.address):
                return pid
            time.sleep(0.05)
        raise AssertionError(f"no dockyard-containerd answers on {self.address}:\n{self.log()}")

    def containerd_pid(self) -> int:
        try:
            return int((self.exec_root / "containerd" / "containerd.pid").read_text().strip())
        except (OSError, ValueError):
            return 0

    def docker_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
        config = self.base / "docker-config"
        config.mkdir(exist_ok=True)
        env.update(DOCKER_HOST=self.host, DOCKER_CONFIG=str(config))
        return env

    def docker(self, *args: str, check: bool = True, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        argv = [DOCKER, *args]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=self.docker_env(),
                              stdin=subprocess.DEVNULL, check=False)
        if check and proc.returncode != 0:
            raise AssertionError(f"{' '.join(argv)} exited {proc.returncode}\nstdout: {proc.stdout}\n"
                                 f"stderr: {proc.stderr}\ndockyardd log:\n{self.log()}")
        return proc

    def docker_popen(self, *args: str) -> subprocess.Popen[str]:
        """``docker *args`` left running (stop it by PID: ``proc.terminate()``)."""
        return subprocess.Popen([DOCKER, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=self.docker_env(), stdin=subprocess.DEVNULL)

    def request(self, method: str, target: str, body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
        return unix_request(str(self.socket), method, target, body)

    def docker_py(self) -> Any:
        docker = pytest.importorskip("docker")
        return docker.DockerClient(base_url=self.host, timeout=60)


def stop_engine(engine: RunningEngine) -> list[str]:
    """Stop it by PID; what was wrong with its exit and what it left."""
    problems: list[str] = []
    ctrd_pid = engine.containerd_pid()
    status = engine.stop()
    log = engine.log()
    if status != 0:
        problems.append(f"dockyardd exited {status}:\n{log}")
    for path in (engine.socket, Path(str(engine.socket) + ".lock"), engine.address,
                 Path(str(engine.address) + ".lock")):
        if path.exists():
            problems.append(f"dockyardd left {path}\n{log}")
    if ctrd_pid:
        deadline = time.monotonic() + 10
        while pid_alive(ctrd_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if pid_alive(ctrd_pid):
            problems.append(f"its dockyard-containerd (pid {ctrd_pid}) is still running")
    left = processes_mentioning(str(engine.base))
    if left:
        problems.append("processes left: " + "; ".join(left))
    problems += netcheck.leftovers(engine.data_root, engine.exec_root)
    mounts = hostcheck.mounts_under(engine.base)
    if mounts:
        problems.append(f"mounts left under {engine.base}: {mounts}")
    return problems


CGROUP_PARENT = "dockyard"  # the engine's default cgroup parent (engine.defaults)


def parent_cgroups() -> set[Path]:
    """The engine's parent cgroup directories that exist now, in every hierarchy."""
    return {Path(p) for p in glob.glob(f"/sys/fs/cgroup/*/{CGROUP_PARENT}")}


def remove_new_parent_cgroups(before: set[Path]) -> list[str]:
    """Remove the parent cgroups made since ``before`` (they must be empty by now)."""
    problems: list[str] = []
    for path in sorted(parent_cgroups() - before):
        try:
            path.rmdir()
        except OSError as exc:
            problems.append(f"cgroup left: {path}: {exc.strerror}")
    return problems


@contextlib.contextmanager
def dockyardd(base: Path, *extra: str) -> Iterator[RunningEngine]:
    """A started engine; stopped at the end, where nothing may be left (AssertionError)."""
    cgroups_before = parent_cgroups()
    engine = RunningEngine.start(base, *extra)
    try:
        yield engine
    finally:
        problems = stop_engine(engine)
        problems += remove_new_parent_cgroups(cgroups_before)
        if not hostcheck.mounts_under(base):
            shutil.rmtree(base, ignore_errors=True)
        assert not problems, "\n".join(problems)


def wait_for(predicate: object, timeout: float = 10.0, what: str = "condition") -> None:
    """Until ``predicate()`` is true (AssertionError naming ``what`` after ``timeout`` s)."""
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _ctr_list(engine: RunningEngine, *what: str) -> set[str]:
    out = engine.ctr("-n", "dockyard", *what).stdout.splitlines()[1:]
    return {line.split()[0] for line in out if line.strip()}


def store_state(engine: RunningEngine) -> tuple[set[str], set[str], set[str]]:
    """(snapshots, blobs, leases) of the engine's namespace: what a test may not leave."""
    return (_ctr_list(engine, "snapshots", "ls"), _ctr_list(engine, "content", "ls"),
            _ctr_list(engine, "leases", "ls"))


def ctr_argv(engine: RunningEngine, *args: str) -> list[str]:
    return [CTR, "--address", str(engine.address), *args]
