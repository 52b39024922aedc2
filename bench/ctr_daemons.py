"""Shared by the ``ctr`` benchmarks: dockyard-containerd and a private containerd 1.6 side by side.

- ``build_archive(dir)``: the test suite's busybox image (layers from the host's static
  busybox) saved as a docker-archive with ``docker_archive.save``, for ``ctr images import``.
- ``start_dockyard(base)``: ``.venv/bin/python -m dockyard.containerd.server.main`` with its
  socket, ``--root`` and ``--state`` under ``base`` and its defaults otherwise (dockyard-runc,
  log level info), started as the tests start it (tests/support/ctrd.py).
- ``start_containerd(base)``: Debian's ``containerd`` with a config of its own (root, state,
  gRPC and ttrpc sockets under ``base``; no CRI plugin; default cgroup layout), the tests'
  private containerd (tests/support/real_containerd.py); its shims are
  ``containerd-shim-runc-v2`` driving ``runc``.
- ``Daemon.ctr(ns, ...)``: Debian's ``ctr --address <socket> -n <ns>``; FIFOs go to
  ``<base>/fifo`` (``--fifo-dir``), not to the host's /run/containerd/fifo.
- ``memory(pid)``: RSS, PSS and USS (KiB) from ``/proc/<pid>/smaps_rollup``;
  ``Daemon.shim_pids(ns)``: the shims of the daemon's tasks; ``Daemon.helpers()``: the
  daemon's descendants (dockyard's ``dockyard-shim launcher``).
- ``exit_on_sigterm()``: SIGTERM and SIGINT become ``SystemExit`` (the clean-up runs).
- ``clean_up(daemon, ns)``: every task killed and deleted, every container and image
  removed, the daemon stopped by PID; then whatever is left (shims, container processes,
  mounts under ``base``, the namespace's cgroups) is reported, forced away by PID and
  returned as a list of problems.

Nothing here touches a process it did not start: the daemons by their Popen PID, shims and
container processes only by the PIDs their daemon's state names.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "src"))

from tests.support.ctrd import CTR, DaemonProcess, RunningDaemon  # noqa: E402
from tests.support.images import save_busybox_archive  # noqa: E402
from tests.support.real_containerd import Containerd as RealContainerd  # noqa: E402

from dockyard.errors import DockyardError  # noqa: E402

CONTAINERD = "/usr/bin/containerd"
IMAGE = "docker.io/library/busybox:latest"
TASKS_DIR = "io.containerd.runtime.v2.task"
RUNC_ROOT = "/run/containerd/runc"  # containerd-shim-runc-v2's default runc --root (not configurable here)


class BenchError(Exception):
    pass


def check_host() -> None:
    if os.geteuid() != 0:
        raise BenchError("must run as root")
    for path in (CTR, CONTAINERD, "/usr/bin/containerd-shim-runc-v2", "/bin/busybox"):
        if not os.access(path, os.X_OK):
            raise BenchError(f"{path} is missing (apt-get install containerd runc busybox-static)")


def build_archive(work: Path) -> Path:
    path, _ = save_busybox_archive(work)
    return path


def venv_python() -> str:
    candidate = REPO / ".venv" / "bin" / "python"
    return str(candidate) if candidate.exists() else sys.executable


# -- /proc ---------------------------------------------------------------------------------
@dataclass
class Mem:
    rss: int = 0  # KiB
    pss: int = 0
    uss: int = 0

    def __add__(self, other: Mem) -> Mem:
        return Mem(self.rss + other.rss, self.pss + other.pss, self.uss + other.uss)

    def __sub__(self, other: Mem) -> Mem:
        return Mem(self.rss - other.rss, self.pss - other.pss, self.uss - other.uss)


def memory(pid: int) -> Mem:
    fields: dict[str, int] = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and parts[2] == "kB":
                fields[parts[0].rstrip(":")] = int(parts[1])
    return Mem(fields["Rss"], fields["Pss"], fields["Private_Clean"] + fields["Private_Dirty"])


def cmdline(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except (FileNotFoundError, ProcessLookupError):
        return []


def alive(pid: int) -> bool:
    """Running (a zombie counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def parents() -> dict[int, int]:
    out: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    out[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
                pass
    return out


def descendants(pid: int) -> list[int]:
    table = parents()
    found: list[int] = []
    frontier = [pid]
    while frontier:
        current = frontier.pop()
        children = [p for p, pp in table.items() if pp == current]
        found += children
        frontier += children
    return found


def mounts_under(base: Path) -> list[str]:
    prefix = str(base) + "/"
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4] for line in f if line.split()[4].startswith(prefix)]


def cgroup_dirs(namespace: str) -> list[Path]:
    root = Path("/sys/fs/cgroup")
    return [d / namespace for d in sorted(root.iterdir()) if (d / namespace).is_dir()]


# -- the daemons ---------------------------------------------------------------------------
@dataclass
class Daemon:
    name: str
    running: DaemonProcess  # started, stopped and logging as in the tests
    seen_pids: set[int] = field(default_factory=set)  # shims and container inits we saw

    @property
    def base(self) -> Path:
        return self.running.base

    @property
    def socket(self) -> Path:
        return self.running.address

    @property
    def state(self) -> Path:
        return self.running.state

    @property
    def process(self) -> subprocess.Popen[bytes]:
        return self.running.process

    @property
    def pid(self) -> int:
        return self.process.pid

    def ctr_argv(self, ns: str, *args: str) -> list[str]:
        argv = [CTR, "--address", str(self.socket), "-n", ns, *args]
        if args and args[0] == "run":  # FIFOs in our directory, not /run/containerd/fifo
            argv[6:6] = ["--fifo-dir", str(self.base / "fifo")]
        return argv

    def ctr(self, ns: str, *args: str, check: bool = True, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
        argv = self.ctr_argv(ns, *args)
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                              check=False)
        if check and proc.returncode != 0:
            raise BenchError(f"{self.name}: {' '.join(argv)} exited {proc.returncode}\n"
                             f"stdout: {proc.stdout.strip()}\nstderr: {proc.stderr.strip()}\n"
                             f"daemon log (tail):\n{self.log()}")
        return proc

    def log(self, chars: int = 4000) -> str:
        return self.running.log(chars)

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM by PID, then SIGKILL; the exit status."""
        return self.running.stop(timeout)

    def helpers(self) -> list[int]:
        """The daemon's own descendants (not shims: both kinds of shim detach)."""
        return [p for p in descendants(self.pid) if alive(p)]

    def shim_pids(self, ns: str) -> dict[str, int]:
        """container id -> its shim's pid."""
        raise NotImplementedError

    def import_image(self, ns: str, archive: Path) -> None:
        out = self.ctr(ns, "images", "import", str(archive)).stdout
        if f"unpacking {IMAGE}" not in out:
            raise BenchError(f"{self.name}: ctr images import: unexpected output {out!r}")

    def task_pids(self, ns: str) -> dict[str, int]:
        out: dict[str, int] = {}
        for line in self.ctr(ns, "tasks", "ls", check=False).stdout.splitlines()[1:]:
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit():
                out[parts[0]] = int(parts[1])
        return out


class Dockyard(Daemon):
    def shim_pids(self, ns: str) -> dict[str, int]:
        from dockyard.shim import statefile

        out: dict[str, int] = {}
        tasks = self.state / TASKS_DIR / ns
        if tasks.is_dir():
            for bundle in sorted(tasks.iterdir()):
                with contextlib.suppress(OSError, DockyardError):
                    out[bundle.name] = statefile.load(str(bundle / "shim.json")).shim_pid
        return out


class Containerd(Daemon):
    def shim_pids(self, ns: str) -> dict[str, int]:
        """From ``shim.pid`` when the shim wrote one, else the /proc scan: a
        ``containerd-shim-runc-v2`` whose command line names our socket and ``ns``."""
        out: dict[str, int] = {}
        tasks = self.state / TASKS_DIR / ns
        if tasks.is_dir():
            for bundle in sorted(tasks.iterdir()):
                with contextlib.suppress(OSError, ValueError):
                    out[bundle.name] = int((bundle / "shim.pid").read_text().strip())
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            argv = cmdline(int(entry))
            if not argv or os.path.basename(argv[0]) != "containerd-shim-runc-v2":
                continue
            flags = dict(zip(argv[1::2], argv[2::2], strict=False))
            if flags.get("-address") == str(self.socket) and flags.get("-namespace") == ns and "-id" in flags:
                out.setdefault(flags["-id"], int(entry))
        return out


def _started(start: Callable[[], DaemonProcess]) -> DaemonProcess:
    """``start()``, its failure (the daemon stopped) a ``BenchError``."""
    try:
        return start()
    except RuntimeError as exc:
        raise BenchError(str(exc)) from exc


def start_dockyard(base: Path) -> Dockyard:
    running = _started(lambda: RunningDaemon.start(base, python=venv_python(), log_level=None))
    return Dockyard("dockyard-containerd", running)


def start_containerd(base: Path) -> Containerd:
    return Containerd("containerd", _started(lambda: RealContainerd.start(base, binary=CONTAINERD)))


# -- cleaning up ---------------------------------------------------------------------------
def remove_tasks(daemon: Daemon, ns: str, timeout: float = 60.0) -> None:
    """Kill (SIGKILL) and delete every task of ``ns``, then its containers and images."""
    tasks = daemon.task_pids(ns)
    daemon.seen_pids.update(tasks.values())
    daemon.seen_pids.update(daemon.shim_pids(ns).values())
    for cid in tasks:
        daemon.ctr(ns, "tasks", "kill", "-s", "KILL", cid, check=False)
    deadline = time.monotonic() + timeout
    while tasks and time.monotonic() < deadline:
        daemon.ctr(ns, "tasks", "delete", *tasks, check=False)
        tasks = daemon.task_pids(ns)
        if tasks:
            time.sleep(0.2)
    containers = daemon.ctr(ns, "containers", "ls", "-q", check=False).stdout.split()
    for start in range(0, len(containers), 50):
        daemon.ctr(ns, "containers", "delete", *containers[start:start + 50], check=False)
    images = daemon.ctr(ns, "images", "ls", "-q", check=False).stdout.split()
    if images:
        daemon.ctr(ns, "images", "rm", "--sync", *images, check=False)


def _force_kill(pid: int, names: tuple[str, ...]) -> bool:
    argv = cmdline(pid)
    if alive(pid) and argv and any(name in " ".join(argv) for name in names):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        return True
    return False


def clean_up(daemon: Daemon, ns: str) -> list[str]:
    """Remove everything of ``ns``, stop the daemon; the problems found (forced away)."""
    problems: list[str] = []
    if daemon.process.poll() is None:
        try:
            remove_tasks(daemon, ns)
        except (OSError, subprocess.SubprocessError, BenchError) as exc:
            problems.append(f"{daemon.name}: removing tasks: {exc}")
        left = daemon.task_pids(ns) if daemon.process.poll() is None else {}
        if left:
            problems.append(f"{daemon.name}: tasks left after kill and delete: {sorted(left)}")
    with contextlib.suppress(OSError):
        daemon.seen_pids.update(daemon.shim_pids(ns).values())
    status = daemon.stop()
    if status != 0:
        problems.append(f"{daemon.name}: exited {status}; log tail:\n{daemon.log(2000)}")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(alive(p) for p in daemon.seen_pids):
        time.sleep(0.1)
    for pid in sorted(daemon.seen_pids):
        if _force_kill(pid, ("containerd-shim", "dockyard-shim", "sleep")):
            problems.append(f"{daemon.name}: pid {pid} ({' '.join(cmdline(pid))[:80]}) was left; killed it")
    mounted = mounts_under(daemon.base)
    if mounted:
        problems.append(f"{daemon.name}: mounts left: {mounted}")
        for target in sorted(mounted, key=len, reverse=True):
            subprocess.run(["umount", "-l", target], check=False, capture_output=True)
    for directory in cgroup_dirs(ns):
        for sub in sorted((p for p in directory.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
            with contextlib.suppress(OSError):
                sub.rmdir()
                problems.append(f"{daemon.name}: cgroup {sub} was left; removed it")
        with contextlib.suppress(OSError):
            directory.rmdir()  # the namespace's parent cgroup: runc leaves it, for both sides
        if directory.exists():
            problems.append(f"{daemon.name}: cgroup {directory} is not empty")
    with contextlib.suppress(OSError):  # containerd-shim-runc-v2's runc root for the namespace: runc leaves it
        (Path(RUNC_ROOT) / ns).rmdir()
    return problems


def exit_on_sigterm() -> None:
    """SIGTERM (and SIGINT, even where a shell made background jobs ignore it) raise
    SystemExit, so the benchmarks' ``finally`` blocks clean up."""

    def handler(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def unique(prefix: str) -> str:
    return f"{prefix}-{os.getpid()}"
