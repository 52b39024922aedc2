"""Shared by the engine benchmarks: dockyardd and a private dockerd 20.10 side by side, and
the CLIs pointed at them.

- ``start_dockyardd(base)``: ``python -m dockyard.engine.daemon`` with its socket,
  ``--data-root`` and ``--exec-root`` under ``base`` (it starts its own dockyard-containerd
  there), log level info, started as the tests start it (tests/support/engine.py), once
  ``/_ping`` answers.
- ``start_dockerd(base)``: Debian's ``dockerd`` (docker.io 20.10) with everything of its
  own under ``base``: data root, exec root (its containerd, runc state and netns go
  there), API socket, pid file, a ``--config-file`` of its own that puts the trust key
  there too (``deprecated-key-path``, else /etc/docker/key.json). It starts its own containerd
  (there must be no /run/containerd/containerd.sock, which it would use instead). It must
  not touch the host's networking: ``--bridge=none`` (no docker0; ``bridge=NAME``: a bridge
  the caller made, bench/network.py), ``--iptables=false``, ``--ip-forward=false`` (else it
  sets net.ipv4.ip_forward), ``--ip-masq=false``.
- ``Client``: a CLI (``dockyard``, the docker CLI 28) with ``DOCKER_HOST`` on one engine
  and a config dir of its own: ``run(*args)``, ``timed(*args)`` (wall time in ms).
- ``HostState.take()`` before, ``host.restore()`` at the end: the things dockerd makes
  outside ``base`` (``/sys/fs/cgroup/*/docker``, /run/docker/plugins) removed when they are
  new and empty; a new network interface or a changed ip_forward is reported.
- ``stop_dockyardd`` / ``stop_dockerd``: stopped by PID (SIGTERM, SIGKILL after a
  timeout); what is left (processes, whose PIDs come from /proc, shims included, and
  mounts under ``base``) is forced away by PID and returned as a list of problems;
  ``finish(label, engines, host, work)`` does all of the end of a run.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from ctr_daemons import REPO, BenchError, alive, cmdline, descendants, mounts_under
from tests.support.ctrd import DaemonProcess
from tests.support.engine import RunningEngine, pings, remove_new_parent_cgroups, stop_engine

DOCKER = "/usr/local/bin/docker"  # the CLI the tests use (28.x)
DOCKERD = "/usr/sbin/dockerd"
DOCKYARD = str(REPO / ".venv" / "bin" / "dockyard")
SYSTEM_CONTAINERD_SOCKET = "/run/containerd/containerd.sock"
DOCKERD_FLAGS = ("--iptables=false", "--ip-forward=false", "--ip-masq=false")


def check_host() -> None:
    if os.geteuid() != 0:
        raise BenchError("must run as root")
    for path in (DOCKER, DOCKERD, DOCKYARD, "/bin/busybox"):
        if not os.access(path, os.X_OK):
            raise BenchError(f"{path} is missing (apt-get install docker.io busybox-static; scripts/test.sh "
                             "installs the venv)")
    if os.path.exists(SYSTEM_CONTAINERD_SOCKET):
        raise BenchError(f"{SYSTEM_CONTAINERD_SOCKET} exists: dockerd would use that containerd, not its own")


# -- clients -------------------------------------------------------------------------------
@dataclass
class Client:
    label: str
    argv0: str
    host: str  # unix://...
    config_dir: Path

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
        self.config_dir.mkdir(parents=True, exist_ok=True)
        env.update(DOCKER_HOST=self.host, DOCKER_CONFIG=str(self.config_dir))
        return env

    def run(self, *args: str, check: bool = True, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
        argv = [self.argv0, *args]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=self.env(),
                              stdin=subprocess.DEVNULL, check=False)
        if check and proc.returncode != 0:
            raise BenchError(f"{self.label}: {' '.join(argv)} exited {proc.returncode}\n"
                             f"stdout: {proc.stdout.strip()[-2000:]}\nstderr: {proc.stderr.strip()[-2000:]}")
        return proc

    def timed(self, *args: str, timeout: float = 120.0) -> float:
        """Wall time of ``argv0 *args`` in ms (output discarded; a failure is a BenchError)."""
        argv = [self.argv0, *args]
        env = self.env()
        start = time.perf_counter()
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True, env=env, timeout=timeout, check=False)
        elapsed = (time.perf_counter() - start) * 1000
        if proc.returncode != 0:
            raise BenchError(f"{self.label}: {' '.join(argv)} exited {proc.returncode}\nstderr: {proc.stderr.strip()}")
        return elapsed


# -- the engines ---------------------------------------------------------------------------
@dataclass
class DockerdProcess(DaemonProcess):
    name: ClassVar[str] = "dockerd"

    @property
    def socket(self) -> Path:
        return self.base / "docker.sock"

    @property
    def host(self) -> str:
        return f"unix://{self.socket}"


@dataclass
class Engine:
    name: str
    running: DaemonProcess
    host: str
    cgroups_before: set[Path] = field(default_factory=set)  # dockyardd's parent cgroups

    @property
    def base(self) -> Path:
        return self.running.base

    @property
    def socket(self) -> str:
        return self.host.removeprefix("unix://")

    def log(self, chars: int = 4000) -> str:
        return self.running.log(chars)

    def client(self, label: str, argv0: str = DOCKER) -> Client:
        return Client(label, argv0, self.host, self.base / f"config-{Path(argv0).name}")


def _started(engine: Engine, ready: Callable[[], bool], stop: Callable[[Engine], list[str]]) -> Engine:
    """``engine`` once ``ready()``; if it never is, stopped and cleaned up (BenchError)."""
    try:
        engine.running.wait_ready(ready, timeout=60)
    except RuntimeError as exc:
        stop(engine)  # what it started (dockerd's containerd, mounts) goes too
        raise BenchError(str(exc)) from exc
    return engine


def start_dockyardd(base: Path, *extra: str) -> Engine:
    """``extra``: more dockyardd flags. Without a ``--bridge`` of its own the engine gets
    ``--bridge none``, as dockerd gets ``--bridge=none``: no bridge on the host."""
    from tests.support.engine import parent_cgroups

    before = parent_cgroups()
    bridge = () if "--bridge" in extra else ("--bridge", "none")
    running = RunningEngine.launch_engine(base, *bridge, *extra, log_level="info")
    return _started(Engine("dockyardd", running, running.host, before), lambda: pings(running.socket),
                    stop_dockyardd)


def start_dockerd(base: Path, bridge: str = "none") -> Engine:
    """``bridge``: ``none`` (no default bridge) or an existing bridge with its address, which
    dockerd then takes as its default bridge network (``--bridge=NAME``)."""
    base.mkdir(parents=True, exist_ok=True)
    # the trust key: a config-file setting only (no flag in 20.10)
    (base / "daemon.json").write_text(json.dumps({"deprecated-key-path": str(base / "key.json")}) + "\n")
    argv = [DOCKERD, "--data-root", str(base / "data"), "--exec-root", str(base / "exec"),
            "-H", f"unix://{base / 'docker.sock'}", "--pidfile", str(base / "docker.pid"),
            "--config-file", str(base / "daemon.json"), f"--bridge={bridge}",
            *DOCKERD_FLAGS]
    running = DockerdProcess.launch(base, argv, "dockerd.log")
    return _started(Engine("dockerd", running, running.host), lambda: pings(running.socket), stop_dockerd)


def load_image(client: Client, archive: Path) -> None:
    out = client.run("load", "-i", str(archive)).stdout
    if "busybox:latest" not in out:
        raise BenchError(f"{client.label}: docker load: unexpected output {out!r}")


def remove_all_containers(client: Client) -> None:
    ids = client.run("ps", "-aq", check=False).stdout.split()
    for start in range(0, len(ids), 50):
        client.run("rm", "-f", *ids[start:start + 50], check=False)


# -- stopping and cleaning up ----------------------------------------------------------------
def processes_under(base: Path) -> list[int]:
    """Live processes whose command line names a path under ``base`` (our daemons' shims)."""
    prefix = str(base) + "/"
    return [int(e) for e in os.listdir("/proc")
            if e.isdigit() and int(e) != os.getpid() and alive(int(e)) and prefix in " ".join(cmdline(int(e)))]


def _kill_left(pids: set[int], label: str, timeout: float = 10.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.1)
    problems: list[str] = []
    for pid in sorted(p for p in pids if alive(p)):
        problems.append(f"{label}: pid {pid} ({' '.join(cmdline(pid))[:100]}) was left; killed it")
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return problems


def _unmount_left(base: Path, label: str) -> list[str]:
    mounted = mounts_under(base)
    for target in sorted(mounted, key=len, reverse=True):
        subprocess.run(["umount", "-l", target], check=False, capture_output=True)
    return [f"{label}: mounts left: {mounted}"] if mounted else []


def stop_dockyardd(engine: Engine) -> list[str]:
    assert isinstance(engine.running, RunningEngine)
    ours = set(descendants(engine.running.process.pid)) | set(processes_under(engine.base))
    problems = [f"dockyardd: {p}" for p in stop_engine(engine.running)]
    problems += _kill_left(ours | set(processes_under(engine.base)), "dockyardd", timeout=2.0)
    problems += remove_new_parent_cgroups(engine.cgroups_before)
    return problems + _unmount_left(engine.base, "dockyardd")


def stop_dockerd(engine: Engine, timeout: float = 30.0) -> list[str]:
    """SIGTERM by PID (dockerd stops its containerd), SIGKILL after ``timeout``; then its
    containerd and shims (PIDs from /proc: descendants, or naming ``base``) must be gone."""
    process = engine.running.process
    ours = set(descendants(process.pid)) | set(processes_under(engine.base))
    problems: list[str] = []
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            problems.append(f"dockerd did not stop within {timeout}s; killed it")
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
    if process.returncode != 0:
        problems.append(f"dockerd exited {process.returncode}; log tail:\n{engine.log(2000)}")
    problems += _kill_left(ours | set(processes_under(engine.base)), "dockerd")
    return problems + _unmount_left(engine.base, "dockerd")


@dataclass
class HostState:
    """What dockerd may make outside its directories, before the bench started."""

    docker_cgroups: set[str]
    run_docker: bool
    links: set[str]
    ip_forward: str

    @classmethod
    def take(cls) -> HostState:
        return cls(set(glob.glob("/sys/fs/cgroup/*/docker")), os.path.exists("/run/docker"),
                   set(os.listdir("/sys/class/net")), Path("/proc/sys/net/ipv4/ip_forward").read_text().strip())

    def restore(self) -> list[str]:
        """Remove what is new (cgroups and /run/docker, when empty); the problems found."""
        problems: list[str] = []
        for path in sorted(set(glob.glob("/sys/fs/cgroup/*/docker")) - self.docker_cgroups):
            try:
                os.rmdir(path)
            except OSError as exc:
                problems.append(f"cgroup left: {path}: {exc.strerror}")
        if not self.run_docker:
            for path in ("/run/docker/plugins", "/run/docker"):
                try:
                    os.rmdir(path)
                except FileNotFoundError:
                    pass
                except OSError as exc:
                    problems.append(f"{path} left: {exc.strerror}")
        after = HostState.take()
        if "docker0" in after.links - self.links:
            problems.append("docker0 was created")
        if after.ip_forward != self.ip_forward:
            problems.append(f"net.ipv4.ip_forward changed: {self.ip_forward} -> {after.ip_forward}")
        return problems


def finish(label: str, engines: dict[str, Engine], host: HostState, work: Path) -> list[str]:
    """The end of a benchmark run, whatever happened: every engine's containers removed and
    the engine stopped, the host as it was, ``work`` removed (unless something is still
    mounted there); what was wrong, each also printed to stderr after ``label``."""
    import shutil
    import sys

    problems: list[str] = []
    for name, engine in engines.items():
        if engine.running.process.poll() is None:
            with contextlib.suppress(subprocess.SubprocessError, OSError):
                remove_all_containers(engine.client(f"docker>{name}"))
        problems += stop_dockyardd(engine) if name == "dockyardd" else stop_dockerd(engine)
    problems += host.restore()
    mounted = mounts_under(work)
    if mounted:
        problems.append(f"still mounted: {mounted}")
    for problem in problems:
        print(f"{label}: {problem}", file=sys.stderr)
    if engines and not problems:
        print("cleaned up: no containers, processes, mounts, cgroups or interfaces left", file=sys.stderr)
    if mounted:  # never rm -rf through a mount
        print(f"{label}: leaving {work}", file=sys.stderr)
    else:
        shutil.rmtree(work, ignore_errors=True)
    return problems
