"""OCI ``linux.resources`` -> cgroup v1 files (the one translation point for v1).

Only the parts present are written, and, as runc does, a zero for limits that have no
meaningful zero (memory limit/swap/reservation, cpu quota/period/shares, pids limit) means
"leave unchanged". Kernel refusals become InvalidArgument naming the OCI field.
"""

from __future__ import annotations

import os

from dockyard.errors import InvalidArgument, Unavailable
from dockyard.runtime.cgroups import fs, limits

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from dockyard.runtime.cgroups.v1 import V1Manager

R = "linux.resources"


def apply(mgr: V1Manager, resources: dict[str, Any]) -> None:
    if not isinstance(resources, dict):
        raise InvalidArgument(f"{R}: must be an object")
    limits.check_keys(resources)
    if resources.get("devices") is not None:
        set_devices(mgr, resources["devices"])
    if resources.get("memory"):
        set_memory(mgr, limits.section(resources, "memory"))
    if resources.get("cpu"):
        cpu = limits.section(resources, "cpu")
        set_cpu(mgr, cpu)
        set_cpuset(mgr, cpu)
    if resources.get("pids"):
        set_pids(mgr, limits.section(resources, "pids"))
    if resources.get("blockIO"):
        set_blkio(mgr, limits.section(resources, "blockIO"))
    if resources.get("hugepageLimits"):
        set_hugetlb(mgr, resources["hugepageLimits"])
    if resources.get("network"):
        set_network(mgr, limits.section(resources, "network"))
    if resources.get("rdma"):
        directory = mgr.path("rdma", f"{R}.rdma")
        for line in limits.rdma_lines(resources["rdma"]):
            fs.write(directory, "rdma.max", line, f"{R}.rdma")
    if resources.get("unified"):
        if not mgr.unified:
            raise Unavailable(f"{R}.unified: needs a cgroup v2 (unified) hierarchy")
        limits.write_unified(mgr.unified, resources["unified"])


def set_devices(mgr: V1Manager, rules: list[dict[str, Any]]) -> None:
    from dockyard.runtime.cgroups import devices

    writes = devices.v1_writes(rules)
    if not writes:
        return
    directory = mgr.path("devices", f"{R}.devices")
    for name, line in writes:
        fs.write(directory, name, line, f"{R}.devices")


def set_memory(mgr: V1Manager, mem: dict[str, Any]) -> None:
    w = f"{R}.memory"
    directory = mgr.path("memory", w)
    limit = limits.opt_int(mem, "limit", w)
    swap = limits.opt_int(mem, "swap", w)
    has_memsw = os.path.exists(os.path.join(directory, "memory.memsw.limit_in_bytes"))
    if limit == -1 and not swap and has_memsw:
        swap = -1  # "unlimited memory" lifts the memory+swap limit too
    if swap and not has_memsw:
        raise Unavailable(
            f"{w}.swap: swap accounting is not enabled on this host "
            "(no memory.memsw.limit_in_bytes); leave memory.swap unset"
        )
    if limits.opt_int(mem, "kernel", w) or limits.opt_int(mem, "kernelTCP", w):
        pass  # deprecated and ignored, as runc 1.1 does (the caller may warn)
    if mem.get("checkBeforeUpdate") and limit and limit > 0:
        usage = fs.read_int(directory, "memory.usage_in_bytes")
        if usage > limit:
            raise InvalidArgument(
                f"{w}.limit: {limit} is below the current usage {usage} (checkBeforeUpdate)"
            )
    # memory+swap must never be below memory: pick the order that keeps it true
    swap_first = False
    if limit and swap:
        current = fs.read_int(directory, "memory.limit_in_bytes")
        swap_first = swap == -1 or current < swap
    if swap and swap_first:
        fs.write(directory, "memory.memsw.limit_in_bytes", swap, f"{w}.swap")
    if limit:
        fs.write(directory, "memory.limit_in_bytes", limit, f"{w}.limit")
    if swap and not swap_first:
        fs.write(directory, "memory.memsw.limit_in_bytes", swap, f"{w}.swap")
    reservation = limits.opt_int(mem, "reservation", w)
    if reservation:
        fs.write(directory, "memory.soft_limit_in_bytes", reservation, f"{w}.reservation")
    swappiness = limits.opt_int(mem, "swappiness", w)
    if swappiness is not None and swappiness != -1:
        if not 0 <= swappiness <= 100:
            raise InvalidArgument(f"{w}.swappiness: {swappiness} is not in the range 0-100")
        fs.write(directory, "memory.swappiness", swappiness, f"{w}.swappiness")
    if mem.get("disableOOMKiller") is not None:
        value = 1 if mem["disableOOMKiller"] else 0
        if value or fs.read_keyed(directory, "memory.oom_control").get("oom_kill_disable"):
            fs.write(directory, "memory.oom_control", value, f"{w}.disableOOMKiller")
    if mem.get("useHierarchy") is not None:
        value = 1 if mem["useHierarchy"] else 0
        fs.write(directory, "memory.use_hierarchy", value, f"{w}.useHierarchy")


def _pair(directory: str, first: tuple[str, int, str], second: tuple[str, int, str]) -> None:
    """Write two related values (period then quota); if the kernel refuses the first in the
    light of the current second, write the second first."""
    try:
        fs.write(directory, first[0], first[1], first[2])
    except InvalidArgument:
        if not second[1]:
            raise
        fs.write(directory, second[0], second[1], second[2])
        fs.write(directory, first[0], first[1], first[2])
        return
    if second[1]:
        fs.write(directory, second[0], second[1], second[2])


def set_cpu(mgr: V1Manager, cpu: dict[str, Any]) -> None:
    w = f"{R}.cpu"
    shares = limits.opt_int(cpu, "shares", w)
    quota = limits.opt_int(cpu, "quota", w)
    period = limits.opt_int(cpu, "period", w)
    rt_runtime = limits.opt_int(cpu, "realtimeRuntime", w)
    rt_period = limits.opt_int(cpu, "realtimePeriod", w)
    idle = cpu.get("idle")
    burst = cpu.get("burst")
    if not (shares or quota or period or rt_runtime or rt_period) and idle is None and burst is None:
        return
    directory = mgr.path("cpu", w)
    if shares:
        fs.write(directory, "cpu.shares", shares, f"{w}.shares")
        got = fs.read_int(directory, "cpu.shares")
        if got and got != shares:
            raise InvalidArgument(
                f"{w}.shares: the kernel set {got} for {shares} (the range is 2-262144)"
            )
    if period:
        _pair(
            directory,
            ("cpu.cfs_period_us", period, f"{w}.period"),
            ("cpu.cfs_quota_us", quota or 0, f"{w}.quota"),
        )
    elif quota:
        fs.write(directory, "cpu.cfs_quota_us", quota, f"{w}.quota")
    if burst is not None:
        fs.write(directory, "cpu.cfs_burst_us", limits.opt_int(cpu, "burst", w) or 0, f"{w}.burst")
    if rt_period:
        _pair(
            directory,
            ("cpu.rt_period_us", rt_period, f"{w}.realtimePeriod"),
            ("cpu.rt_runtime_us", rt_runtime or 0, f"{w}.realtimeRuntime"),
        )
    elif rt_runtime:
        fs.write(directory, "cpu.rt_runtime_us", rt_runtime, f"{w}.realtimeRuntime")
    if idle is not None:
        fs.write(directory, "cpu.idle", limits.opt_int(cpu, "idle", w) or 0, f"{w}.idle")


def set_cpuset(mgr: V1Manager, cpu: dict[str, Any]) -> None:
    w = f"{R}.cpu"
    for key, name in (("cpus", "cpuset.cpus"), ("mems", "cpuset.mems")):
        value = cpu.get(key)
        if value:
            if not isinstance(value, str):
                raise InvalidArgument(f"{w}.{key}: must be a string such as '0-3,5'")
            fs.write(mgr.path("cpuset", f"{w}.{key}"), name, value, f"{w}.{key}")


def set_pids(mgr: V1Manager, pids: dict[str, Any]) -> None:
    w = f"{R}.pids.limit"
    limit = limits.opt_int(pids, "limit", w)
    if limit:
        fs.write(mgr.path("pids", w), "pids.max", "max" if limit < 0 else limit, w)


def set_blkio(mgr: V1Manager, bio: dict[str, Any]) -> None:
    w = f"{R}.blockIO"
    directory = mgr.path("blkio", w)
    bfq = not os.path.exists(os.path.join(directory, "blkio.weight")) and os.path.exists(
        os.path.join(directory, "blkio.bfq.weight")
    )
    weight_file = "blkio.bfq.weight" if bfq else "blkio.weight"
    weight = limits.opt_int(bio, "weight", w)
    if weight:
        _weight_write(directory, weight_file, weight, f"{w}.weight")
    leaf = limits.opt_int(bio, "leafWeight", w)
    if leaf:
        _weight_write(directory, "blkio.leaf_weight", leaf, f"{w}.leafWeight")
    for index, dev in enumerate(limits.list_of(bio, "weightDevice", w)):
        what = f"{w}.weightDevice[{index}]"
        node = limits.device_node(dev, what)
        if dev.get("weight"):
            line = f"{node} {limits.opt_int(dev, 'weight', what)}"
            _weight_write(directory, weight_file + "_device", line, what)
        if dev.get("leafWeight"):
            line = f"{node} {limits.opt_int(dev, 'leafWeight', what)}"
            _weight_write(directory, "blkio.leaf_weight_device", line, what)
    for key, name in limits.THROTTLE_FILES:
        for index, dev in enumerate(limits.list_of(bio, key, w)):
            what = f"{w}.{key}[{index}]"
            line = f"{limits.device_node(dev, what)} {limits.opt_int(dev, 'rate', what) or 0}"
            fs.write(directory, name, line, what)


def _weight_write(directory: str, name: str, value: str | int, what: str) -> None:
    if not os.path.exists(os.path.join(directory, name)):
        raise Unavailable(
            f"{what}: {name} does not exist on this host (block I/O weights need the CFQ or "
            "BFQ I/O scheduler)"
        )
    fs.write(directory, name, value, what)


def set_hugetlb(mgr: V1Manager, entries: list[dict[str, Any]]) -> None:
    w = f"{R}.hugepageLimits"
    pairs = limits.hugepage_pairs(entries)
    directory = mgr.paths.get("hugetlb")
    if directory:
        for size, limit in pairs:
            fs.write(directory, f"hugetlb.{size}.limit_in_bytes", limit, f"{w}[{size}]")
        return
    if not mgr.unified:
        raise Unavailable(f"{w}: the hugetlb cgroup controller is not available on this host")
    limits.enable_v2_controller(mgr.unified, "hugetlb", w)
    for size, limit in pairs:
        fs.write(mgr.unified, f"hugetlb.{size}.max", limit, f"{w}[{size}]")


def set_network(mgr: V1Manager, net: dict[str, Any]) -> None:
    w = f"{R}.network"
    class_id = limits.opt_int(net, "classID", w)
    if class_id is not None and net.get("classID") is not None:
        fs.write(mgr.path("net_cls", f"{w}.classID"), "net_cls.classid", class_id, f"{w}.classID")
    for index, prio in enumerate(limits.list_of(net, "priorities", w)):
        what = f"{w}.priorities[{index}]"
        line = f"{prio.get('name', '')} {limits.opt_int(prio, 'priority', what) or 0}"
        fs.write(mgr.path("net_prio", what), "net_prio.ifpriomap", line, what)
