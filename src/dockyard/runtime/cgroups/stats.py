"""Statistics in the shape of runc 1.1's ``events --stats`` ``data`` document.

Keys follow runc's types (Go ``omitempty`` included: zero counters and empty lists are
left out where runc leaves them out), so tools that read runc's output read ours.
"""

from __future__ import annotations

import os

from dockyard.runtime.cgroups import fs

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from dockyard.runtime.cgroups.v1 import V1Manager
    from dockyard.runtime.cgroups.v2 import V2Manager

MAX_UINT64 = (1 << 64) - 1
_NS_PER_SEC = 1_000_000_000


def _nonzero(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A dict of the pairs whose value is not zero/empty (Go's omitempty)."""
    return {k: v for k, v in pairs if v}


def empty() -> dict[str, Any]:
    return {
        "cpu": {"usage": {"kernel": 0, "user": 0}, "throttling": {}},
        "cpuset": _cpuset({}),
        "memory": {},
        "pids": {},
        "blkio": {},
        "hugetlb": {},
        "intel_rdt": {},
        "network_interfaces": None,
    }


def _cpuset(values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if values.get("cpus"):
        out["cpus"] = values["cpus"]
    out["cpu_exclusive"] = values.get("cpu_exclusive", 0)
    if values.get("mems"):
        out["mems"] = values["mems"]
    for key in (
        "mem_hardwall", "mem_exclusive", "memory_migrate", "memory_spread_page",
        "memory_spread_slab", "memory_pressure", "sched_load_balance",
    ):
        out[key] = values.get(key, 0)
    out["sched_relax_domain_level"] = values.get("sched_relax_domain_level", 0)
    return out


def _entry(limit: int, usage: int, peak: int, failcnt: int) -> dict[str, Any]:
    out: dict[str, Any] = {"limit": limit}
    if usage:
        out["usage"] = usage
    if peak:
        out["max"] = peak
    out["failcnt"] = failcnt
    return out


def _memory(raw: dict[str, int], cache: int, entries: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if cache:
        out["cache"] = cache
    for key, entry in entries:
        out[key] = entry
    if raw:
        out["raw"] = dict(sorted(raw.items()))
    return out


# -- v1 ------------------------------------------------------------------------------------------

def _ints(directory: str, name: str) -> list[int]:
    out = []
    for word in fs.read(directory, name).split():
        try:
            out.append(int(word))
        except ValueError:
            continue
    return out


def _v1_cpu(mgr: V1Manager) -> dict[str, Any]:
    usage: dict[str, Any] = {}
    acct = mgr.paths.get("cpuacct")
    kernel = user = 0
    if acct:
        usage["total"] = fs.read_int(acct, "cpuacct.usage")
        usage["percpu"] = _ints(acct, "cpuacct.usage_percpu")
        per_kernel: list[int] = []
        per_user: list[int] = []
        for line in fs.read(acct, "cpuacct.usage_all").splitlines()[1:]:
            parts = line.split()
            if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
                per_user.append(int(parts[1]))
                per_kernel.append(int(parts[2]))
        usage["percpu_kernel"] = per_kernel
        usage["percpu_user"] = per_user
        ticks = os.sysconf("SC_CLK_TCK") or 100
        stat = fs.read_keyed(acct, "cpuacct.stat")
        kernel = stat.get("system", 0) * _NS_PER_SEC // ticks
        user = stat.get("user", 0) * _NS_PER_SEC // ticks
    out_usage = _nonzero(list(usage.items()))
    out_usage["kernel"] = kernel
    out_usage["user"] = user
    throttling: dict[str, Any] = {}
    cpu = mgr.paths.get("cpu")
    if cpu:
        stat = fs.read_keyed(cpu, "cpu.stat")
        throttling = _nonzero(
            [
                ("periods", stat.get("nr_periods", 0)),
                ("throttled_periods", stat.get("nr_throttled", 0)),
                ("throttled_time", stat.get("throttled_time", 0)),
            ]
        )
    return {"usage": out_usage, "throttling": throttling}


def _v1_cpuset(directory: str | None) -> dict[str, Any]:
    if not directory:
        return _cpuset({})
    values: dict[str, Any] = {
        "cpus": fs.parse_list(fs.read(directory, "cpuset.cpus")),
        "mems": fs.parse_list(fs.read(directory, "cpuset.mems")),
    }
    for key in (
        "cpu_exclusive", "mem_hardwall", "mem_exclusive", "memory_migrate", "memory_spread_page",
        "memory_spread_slab", "memory_pressure", "sched_load_balance", "sched_relax_domain_level",
    ):
        values[key] = fs.read_int(directory, f"cpuset.{key}")
    return _cpuset(values)


def _v1_entry(directory: str, prefix: str) -> dict[str, Any]:
    return _entry(
        fs.read_int(directory, f"{prefix}limit_in_bytes"),
        fs.read_int(directory, f"{prefix}usage_in_bytes"),
        fs.read_int(directory, f"{prefix}max_usage_in_bytes"),
        fs.read_int(directory, f"{prefix}failcnt"),
    )


def _v1_memory(directory: str | None) -> dict[str, Any]:
    if not directory:
        return {}
    raw = fs.read_keyed(directory, "memory.stat")
    entries = [("usage", _v1_entry(directory, "memory."))]
    if os.path.exists(os.path.join(directory, "memory.memsw.usage_in_bytes")):
        entries.append(("swap", _v1_entry(directory, "memory.memsw.")))
    else:
        entries.append(("swap", _entry(0, 0, 0, 0)))
    entries.append(("kernel", _v1_entry(directory, "memory.kmem.")))
    entries.append(("kernelTCP", _v1_entry(directory, "memory.kmem.tcp.")))
    return _memory(raw, raw.get("cache", 0), entries)


def _blkio_entries(directory: str, name: str) -> list[dict[str, Any]]:
    out = []
    for line in fs.read(directory, name).splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "Total":
            continue
        if len(parts) not in (2, 3) or ":" not in parts[0]:
            continue
        major, _, minor = parts[0].partition(":")
        op = parts[1] if len(parts) == 3 else ""
        try:
            entry = [("major", int(major)), ("minor", int(minor)), ("op", op),
                     ("value", int(parts[-1]))]
        except ValueError:
            continue
        out.append(_nonzero(entry))
    return out


def _v1_blkio(directory: str | None) -> dict[str, Any]:
    if not directory:
        return {}

    def have(name: str) -> bool:
        return os.path.exists(os.path.join(directory, name))

    if have("blkio.io_serviced_recursive"):
        prefix = "blkio."
        names = [
            ("ioServiceBytesRecursive", "io_service_bytes_recursive"),
            ("ioServicedRecursive", "io_serviced_recursive"),
            ("ioQueueRecursive", "io_queued_recursive"),
            ("ioServiceTimeRecursive", "io_service_time_recursive"),
            ("ioWaitTimeRecursive", "io_wait_time_recursive"),
            ("ioMergedRecursive", "io_merged_recursive"),
            ("ioTimeRecursive", "time_recursive"),
            ("sectorsRecursive", "sectors_recursive"),
        ]
    elif have("blkio.bfq.io_serviced_recursive"):
        prefix = "blkio.bfq."
        names = [
            ("ioServiceBytesRecursive", "io_service_bytes_recursive"),
            ("ioServicedRecursive", "io_serviced_recursive"),
        ]
    else:
        prefix = "blkio.throttle."
        names = [
            ("ioServiceBytesRecursive", "io_service_bytes_recursive"),
            ("ioServicedRecursive", "io_serviced_recursive"),
        ]
    return _nonzero([(key, _blkio_entries(directory, prefix + name)) for key, name in names])


def _hugetlb_sizes(directory: str, suffix: str) -> list[str]:
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    return sorted(
        n[len("hugetlb.") : -len(suffix)]
        for n in names
        if n.startswith("hugetlb.") and n.endswith(suffix) and not n.endswith(".rsvd" + suffix)
    )


def _v1_hugetlb(directory: str | None) -> dict[str, Any]:
    if not directory:
        return {}
    out = {}
    for size in _hugetlb_sizes(directory, ".limit_in_bytes"):
        p = f"hugetlb.{size}."
        out[size] = _hugetlb_entry(
            fs.read_int(directory, p + "usage_in_bytes"),
            fs.read_int(directory, p + "max_usage_in_bytes"),
            fs.read_int(directory, p + "failcnt"),
        )
    return out


def _hugetlb_entry(usage: int, peak: int, failcnt: int) -> dict[str, Any]:
    out: dict[str, Any] = _nonzero([("usage", usage), ("max", peak)])
    out["failcnt"] = failcnt
    return out


def _pids(directory: str | None, current: str, limit: str) -> dict[str, Any]:
    if not directory:
        return {}
    return _nonzero(
        [("current", fs.read_int(directory, current)), ("limit", fs.read_int(directory, limit))]
    )


def v1_stats(mgr: V1Manager) -> dict[str, Any]:
    data = empty()
    data["cpu"] = _v1_cpu(mgr)
    data["cpuset"] = _v1_cpuset(mgr.paths.get("cpuset"))
    data["memory"] = _v1_memory(mgr.paths.get("memory"))
    data["pids"] = _pids(mgr.paths.get("pids"), "pids.current", "pids.max")
    data["blkio"] = _v1_blkio(mgr.paths.get("blkio"))
    data["hugetlb"] = _v1_hugetlb(mgr.paths.get("hugetlb"))
    return data


# -- v2 ------------------------------------------------------------------------------------------

def _v2_cpu(directory: str) -> dict[str, Any]:
    stat = fs.read_keyed(directory, "cpu.stat")
    usage = _nonzero([("total", stat.get("usage_usec", 0) * 1000)])
    usage["kernel"] = stat.get("system_usec", 0) * 1000
    usage["user"] = stat.get("user_usec", 0) * 1000
    throttling = _nonzero(
        [
            ("periods", stat.get("nr_periods", 0)),
            ("throttled_periods", stat.get("nr_throttled", 0)),
            ("throttled_time", stat.get("throttled_usec", 0) * 1000),
        ]
    )
    return {"usage": usage, "throttling": throttling}


def _v2_memory(directory: str) -> dict[str, Any]:
    if not os.path.exists(os.path.join(directory, "memory.current")):
        return {}
    raw = fs.read_keyed(directory, "memory.stat")
    events = fs.read_keyed(directory, "memory.events")
    usage = fs.read_int(directory, "memory.current")
    limit = fs.read_int(directory, "memory.max", MAX_UINT64)
    entries = [
        ("usage", _entry(limit, usage, fs.read_int(directory, "memory.peak"), events.get("max", 0)))
    ]
    if os.path.exists(os.path.join(directory, "memory.swap.current")):
        swap_usage = fs.read_int(directory, "memory.swap.current")
        swap_max = fs.read_int(directory, "memory.swap.max", MAX_UINT64)
        swap_limit = MAX_UINT64 if MAX_UINT64 in (swap_max, limit) else swap_max + limit
        entries.append(("swap", _entry(swap_limit, swap_usage + usage, 0, 0)))
    else:
        entries.append(("swap", _entry(0, 0, 0, 0)))
    entries.append(("kernel", _entry(0, 0, 0, 0)))
    entries.append(("kernelTCP", _entry(0, 0, 0, 0)))
    return _memory(raw, raw.get("file", 0), entries)


def _v2_blkio(directory: str) -> dict[str, Any]:
    service_bytes: list[dict[str, Any]] = []
    serviced: list[dict[str, Any]] = []
    for line in fs.read(directory, "io.stat").splitlines():
        parts = line.split()
        if not parts or ":" not in parts[0]:
            continue
        major, _, minor = parts[0].partition(":")
        try:
            node = [("major", int(major)), ("minor", int(minor))]
        except ValueError:
            continue
        values = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
        for key, op, target in (
            ("rbytes", "Read", service_bytes), ("wbytes", "Write", service_bytes),
            ("rios", "Read", serviced), ("wios", "Write", serviced),
        ):
            if key in values and values[key].isdigit():
                target.append(_nonzero([*node, ("op", op), ("value", int(values[key]))]))
    return _nonzero([("ioServiceBytesRecursive", service_bytes), ("ioServicedRecursive", serviced)])


def _v2_hugetlb(directory: str) -> dict[str, Any]:
    out = {}
    for size in _hugetlb_sizes(directory, ".current"):
        p = f"hugetlb.{size}."
        events = fs.read_keyed(directory, p + "events")
        out[size] = _hugetlb_entry(fs.read_int(directory, p + "current"), 0, events.get("max", 0))
    return out


def v2_stats(mgr: V2Manager) -> dict[str, Any]:
    directory = mgr.unified
    data = empty()
    data["cpu"] = _v2_cpu(directory)
    data["memory"] = _v2_memory(directory)
    data["pids"] = _pids(directory, "pids.current", "pids.max")
    data["blkio"] = _v2_blkio(directory)
    data["hugetlb"] = _v2_hugetlb(directory)
    return data
