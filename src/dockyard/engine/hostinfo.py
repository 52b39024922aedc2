"""Facts about this host for ``/info`` and ``/version``: kernel, OS, CPUs, memory, the cgroup
version and which limits its controllers support, IPv4 forwarding, the process's own fds
and threads. Each is read when asked (nothing cached: ``/info`` is not a hot path) and
degrades to a neutral value when the file is missing.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

from dockyard.engine.spec_host import swap_limit_supported

CGROUP_ROOT = "/sys/fs/cgroup"


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return ""


def os_release(path: str = "/etc/os-release") -> dict[str, str]:
    out: dict[str, str] = {}
    for line in _read(path).splitlines():
        key, sep, value = line.partition("=")
        if sep:
            out[key.strip()] = value.strip().strip('"').strip("'")
    return out


def operating_system() -> tuple[str, str]:
    """(``PRETTY_NAME``, ``VERSION_ID``) of /etc/os-release."""
    release = os_release()
    return release.get("PRETTY_NAME", "Linux"), release.get("VERSION_ID", "")


def cgroup_version(mountinfo: str = "/proc/self/mountinfo") -> str:
    """"2" when /sys/fs/cgroup is a cgroup2 mount (unified), else "1" (v1 or hybrid)."""
    for line in _read(mountinfo).splitlines():
        fields = line.split()
        if len(fields) > 4 and fields[4] == CGROUP_ROOT and " - " in line:
            fstype = line.split(" - ", 1)[1].split()[0]
            return "2" if fstype == "cgroup2" else "1"
    return "1"


@dataclass(frozen=True)
class CgroupFeatures:
    memory: bool = False
    swap: bool = False
    cpu_cfs_period: bool = False
    cpu_cfs_quota: bool = False
    cpu_shares: bool = False
    cpuset: bool = False
    pids: bool = False
    oom_kill_disable: bool = False

    def warnings(self, version: str) -> list[str]:
        """dockerd's warnings for what is missing."""
        out = []
        for present, what in ((self.memory, "memory limit"), (self.swap, "swap limit"),
                              (self.cpu_cfs_quota, "cpu cfs quota"), (self.cpu_cfs_period, "cpu cfs period"),
                              (self.cpu_shares, "cpu shares"), (self.cpuset, "cpuset"), (self.pids, "pids limit")):
            if not present:
                out.append(f"WARNING: No {what} support")
        if version == "1" and not self.oom_kill_disable:
            out.append("WARNING: No oom kill disable support")
        return out


def cgroup_features(version: str, root: str = CGROUP_ROOT) -> CgroupFeatures:
    def has(path: str) -> bool:
        return os.path.exists(os.path.join(root, path))

    if version == "2":
        controllers = set(_read(os.path.join(root, "cgroup.controllers")).split())
        return CgroupFeatures(memory="memory" in controllers, swap="memory" in controllers and swap_limit_supported(),
                              cpu_cfs_period="cpu" in controllers, cpu_cfs_quota="cpu" in controllers,
                              cpu_shares="cpu" in controllers, cpuset="cpuset" in controllers,
                              pids="pids" in controllers)
    return CgroupFeatures(memory=has("memory/memory.limit_in_bytes"), swap=has("memory/memory.memsw.limit_in_bytes"),
                          cpu_cfs_period=has("cpu/cpu.cfs_period_us"), cpu_cfs_quota=has("cpu/cpu.cfs_quota_us"),
                          cpu_shares=has("cpu/cpu.shares"), cpuset=has("cpuset/cpuset.cpus"), pids=has("pids"),
                          oom_kill_disable=has("memory/memory.oom_control"))


def ncpu() -> int:
    """The CPUs this process may run on (what Go's runtime.NumCPU counts)."""
    try:
        return len(os.sched_getaffinity(0))
    except OSError:
        return os.cpu_count() or 1


def mem_total(path: str = "/proc/meminfo") -> int:
    for line in _read(path).splitlines():
        if line.startswith("MemTotal:"):
            parts = line.split()
            return int(parts[1]) * 1024 if len(parts) > 1 and parts[1].isdigit() else 0
    return 0


def ipv4_forwarding() -> bool:
    return _read("/proc/sys/net/ipv4/ip_forward") == "1"


def open_fds() -> int:
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return 0


def threads() -> int:
    """The process's threads (gRPC's and asyncio's included): ``NGoroutines``' stand-in."""
    for line in _read("/proc/self/status").splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return threading.active_count()


def kernel_version() -> str:
    return os.uname().release


def hostname() -> str:
    return os.uname().nodename


def os_arch() -> str:
    """The machine as uname says it (``x86_64``): /info's ``Architecture``."""
    return os.uname().machine
