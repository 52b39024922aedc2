"""``docker stats`` and ``docker top`` from the task: containerd's metrics in Docker's shape,
and ``ps`` rows of the task's processes.

:func:`stats_doc` turns one ``io.containerd.cgroups.v1.Metrics`` sample into the Engine
API's stats document (``cpu_stats``, ``memory_stats``, ``pids_stats``, ``blkio_stats``...)
with the host's CPU time (``system_cpu_usage``, from /proc/stat) beside it, so clients
compute CPU percentages as they do against dockerd; the previous sample becomes
``precpu_stats``. A memory limit above the host's memory (no limit) is reported as the
host's memory, as dockerd does.

:func:`top` runs ``ps`` with the client's arguments (``-ef`` by default) and keeps the rows
whose PID column is one of the task's processes (dockerd's way).
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from dockyard.containerd.api.cgroups.stats.v1 import metrics_pb2
from dockyard.containerd.api.services.tasks.v1 import tasks_pb2
from dockyard.engine.container_model import Container, format_time
from dockyard.engine.supervisor import Supervisor
from dockyard.errors import FailedPrecondition, Internal, InvalidArgument

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
NO_LIMIT = 1 << 62
_BLKIO = ("io_service_bytes_recursive", "io_serviced_recursive", "io_queue_recursive",
          "io_service_time_recursive", "io_wait_time_recursive", "io_merged_recursive", "io_time_recursive",
          "sectors_recursive")
_BLKIO_PB = {"io_queue_recursive": "io_queued_recursive"}


def system_cpu_usage() -> int:
    """The host's CPU time in nanoseconds (the first line of /proc/stat, without guest time)."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()
    except OSError:
        return 0
    ticks = sum(int(v) for v in fields[1:8])
    return ticks * 1_000_000_000 // CLOCK_TICKS


def host_memory() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


async def sample(sv: Supervisor, container_id: str) -> metrics_pb2.Metrics | None:
    reply = await sv.unary(sv.tasks.Metrics, tasks_pb2.MetricsRequest(filters=[f"id=={container_id}"]))
    for metric in reply.metrics:
        if metric.id == container_id:
            if not metric.data.type_url.endswith("Metrics"):
                return None
            out = metrics_pb2.Metrics()
            out.ParseFromString(metric.data.value)
            return out
    return None


def empty_cpu() -> dict[str, Any]:
    return {"cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
            "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0}}


def cpu_stats(m: metrics_pb2.Metrics | None) -> dict[str, Any]:
    if m is None:
        return empty_cpu()
    usage = m.cpu.usage
    per_cpu = [int(v) for v in usage.per_cpu]
    return {
        "cpu_usage": {"total_usage": int(usage.total), "percpu_usage": per_cpu or None,
                      "usage_in_kernelmode": int(usage.kernel), "usage_in_usermode": int(usage.user)},
        "system_cpu_usage": system_cpu_usage(),
        "online_cpus": len(per_cpu) or (os.cpu_count() or 1),
        "throttling_data": {"periods": int(m.cpu.throttling.periods),
                            "throttled_periods": int(m.cpu.throttling.throttled_periods),
                            "throttled_time": int(m.cpu.throttling.throttled_time)},
    }


def memory_stats(m: metrics_pb2.Metrics | None) -> dict[str, Any]:
    if m is None:
        return {}
    mem = m.memory
    stats = {field.name: int(value) for field, value in mem.ListFields() if isinstance(value, int)}
    for old, new in (("pg_pg_in", "pgpgin"), ("pg_pg_out", "pgpgout"), ("pg_fault", "pgfault"),
                     ("pg_maj_fault", "pgmajfault"), ("total_pg_pg_in", "total_pgpgin"),
                     ("total_pg_pg_out", "total_pgpgout"), ("total_pg_fault", "total_pgfault"),
                     ("total_pg_maj_fault", "total_pgmajfault")):
        if old in stats:
            stats[new] = stats.pop(old)
    limit = int(mem.usage.limit)
    if limit == 0 or limit >= NO_LIMIT or limit > host_memory():
        limit = host_memory()
    out: dict[str, Any] = {"usage": int(mem.usage.usage), "max_usage": int(mem.usage.max), "stats": stats,
                           "limit": limit}
    if mem.usage.failcnt:
        out["failcnt"] = int(mem.usage.failcnt)
    return out


def blkio_stats(m: metrics_pb2.Metrics | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in _BLKIO:
        entries = list(getattr(m.blkio, _BLKIO_PB.get(name, name))) if m is not None else []
        out[name] = [{"major": int(e.major), "minor": int(e.minor), "op": e.op, "value": int(e.value)}
                     for e in entries] or None
    return out


def stats_doc(c: Container, m: metrics_pb2.Metrics | None, read_ns: int,
              previous: dict[str, Any] | None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "read": format_time(read_ns),
        "preread": previous["read"] if previous else "0001-01-01T00:00:00Z",
        "pids_stats": ({"current": int(m.pids.current), **({"limit": int(m.pids.limit)} if m.pids.limit else {})}
                       if m is not None else {}),
        "blkio_stats": blkio_stats(m),
        "num_procs": 0, "storage_stats": {},
        "cpu_stats": cpu_stats(m),
        "precpu_stats": previous["cpu_stats"] if previous else empty_cpu(),
        "memory_stats": memory_stats(m),
        "name": c.name, "id": c.id,
    }
    if m is not None and len(m.network):
        doc["networks"] = {n.name: {"rx_bytes": n.rx_bytes, "rx_packets": n.rx_packets, "rx_errors": n.rx_errors,
                                    "rx_dropped": n.rx_dropped, "tx_bytes": n.tx_bytes, "tx_packets": n.tx_packets,
                                    "tx_errors": n.tx_errors, "tx_dropped": n.tx_dropped} for n in m.network}
    return doc


NET_DEV_FIELDS = ("rx_bytes", "rx_packets", "rx_errors", "rx_dropped", "tx_bytes", "tx_packets", "tx_errors",
                  "tx_dropped")


def parse_net_dev(text: str) -> dict[str, dict[str, int]]:
    """``/proc/<pid>/net/dev`` of a container's namespace as the stats' ``networks``: every
    interface but ``lo`` (the counters dockerd reads from the sandbox's interfaces)."""
    out: dict[str, dict[str, int]] = {}
    for line in text.splitlines()[2:]:
        name, sep, rest = line.partition(":")
        fields = rest.split()
        if not sep or len(fields) < 12 or name.strip() == "lo":
            continue
        rx, tx = fields[0:4], fields[8:12]  # bytes packets errs drop, for receive then transmit
        out[name.strip()] = dict(zip(NET_DEV_FIELDS, (int(v) for v in (*rx, *tx)), strict=True))
    return out


def read_networks(pid: int) -> dict[str, dict[str, int]]:
    try:
        with open(f"/proc/{pid}/net/dev") as f:
            return parse_net_dev(f.read())
    except OSError:  # the process is gone: no sample
        return {}


async def task_pids(sv: Supervisor, c: Container) -> list[int]:
    if not c.state.running:
        raise FailedPrecondition(f"Container {c.id} is not running")
    reply = await sv.unary(sv.tasks.ListPids, tasks_pb2.ListPidsRequest(container_id=c.id))
    return [int(p.pid) for p in reply.processes]


def parse_ps(output: str, pids: list[int]) -> dict[str, Any]:
    lines = [line for line in output.splitlines() if line.strip()]
    if not lines:
        raise Internal("ps printed nothing")
    titles = lines[0].split()
    try:
        column = titles.index("PID")
    except ValueError:
        raise InvalidArgument("Couldn't find PID field in ps output") from None
    wanted = set(pids)
    processes = []
    for line in lines[1:]:
        fields = line.split(None, len(titles) - 1)
        try:
            pid = int(fields[column])
        except (ValueError, IndexError):
            continue
        if pid in wanted:
            processes.append(fields)
    return {"Titles": titles, "Processes": processes}


async def top(sv: Supervisor, c: Container, ps_args: str) -> dict[str, Any]:
    pids = await task_pids(sv, c)
    args = ps_args.split() if ps_args else ["-ef"]
    proc = await asyncio.create_subprocess_exec("ps", *args, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise InvalidArgument(f"Error running ps: {err.decode(errors='replace').strip()}")
    return parse_ps(out.decode(errors="replace"), pids)
