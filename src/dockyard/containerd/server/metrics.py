"""The runc shim's typed values in containerd's tasks API: a task's statistics as
``io.containerd.cgroups.v1.Metrics`` (what ``ctr tasks metrics`` decodes), a process's
``containerd.runc.v1.ProcessDetails``, and a container's ``containerd.runc.v1.Options``.

The statistics come from the shim as the ``data`` document of ``runc events --stats``
(runc's ``types.Stats`` JSON, see ``dockyard.runtime.cgroups.stats``). runc spells some
keys in camelCase (``kernelTCP``, ``ioServiceBytesRecursive``); the snake_case names of the
protobuf fields are accepted too. Missing keys, ``null`` and non-numbers give zero values;
keys with no place in the v1 message (``cpuset``, ``intel_rdt``, ``percpu_kernel``,
``percpu_user``, cgroup v2's own ``memory.raw`` keys) are dropped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Protocol

from google.protobuf import any_pb2
from google.protobuf.message import DecodeError

from dockyard.containerd.api.cgroups.stats.v1 import metrics_pb2
from dockyard.containerd.api.runc.options import oci_pb2
from dockyard.containerd.server.convert import pack
from dockyard.errors import InvalidArgument

METRICS_TYPE = "io.containerd.cgroups.v1.Metrics"
OPTIONS_TYPE = "containerd.runc.v1.Options"
PROCESS_DETAILS_TYPE = "containerd.runc.v1.ProcessDetails"

_MAX_U64 = (1 << 64) - 1

# memory.stat key -> MemoryStat field; each of the first group also as total_<key>
_MEMORY_STAT = {
    "cache": "cache", "rss": "rss", "rss_huge": "rss_huge", "mapped_file": "mapped_file",
    "dirty": "dirty", "writeback": "writeback", "pgpgin": "pg_pg_in", "pgpgout": "pg_pg_out",
    "pgfault": "pg_fault", "pgmajfault": "pg_maj_fault", "inactive_anon": "inactive_anon",
    "active_anon": "active_anon", "inactive_file": "inactive_file", "active_file": "active_file",
    "unevictable": "unevictable",
}
_MEMORY_RAW = {
    **_MEMORY_STAT,
    **{f"total_{key}": f"total_{field}" for key, field in _MEMORY_STAT.items()},
    "hierarchical_memory_limit": "hierarchical_memory_limit",
    "hierarchical_memsw_limit": "hierarchical_swap_limit",
}

# MemoryStat entry field -> the keys runc (first) or the proto may use
_MEMORY_ENTRIES = {
    "usage": ("usage",), "swap": ("swap",), "kernel": ("kernel",),
    "kernel_tcp": ("kernelTCP", "kernel_tcp"),
}

# BlkIOStat field -> runc's key
_BLKIO = {
    "io_service_bytes_recursive": "ioServiceBytesRecursive",
    "io_serviced_recursive": "ioServicedRecursive",
    "io_queued_recursive": "ioQueueRecursive",
    "io_service_time_recursive": "ioServiceTimeRecursive",
    "io_wait_time_recursive": "ioWaitTimeRecursive",
    "io_merged_recursive": "ioMergedRecursive",
    "io_time_recursive": "ioTimeRecursive",
    "sectors_recursive": "sectorsRecursive",
}

_NETWORK = ("rx_bytes", "rx_packets", "rx_errors", "rx_dropped",
            "tx_bytes", "tx_packets", "tx_errors", "tx_dropped")


class AnyLike(Protocol):
    """An ``Any`` message or the metadata's ``AnyValue``."""

    @property
    def type_url(self) -> str: ...

    @property
    def value(self) -> bytes: ...


def _u64(value: object) -> int:
    """A uint64 field's value: non-numbers give 0, out-of-range numbers are clamped."""
    if isinstance(value, float):
        value = int(value) if math.isfinite(value) else 0
    if not isinstance(value, int):
        return 0
    return min(max(int(value), 0), _MAX_U64)


def _obj(doc: object, *keys: str) -> Mapping[str, Any]:
    """``doc[key]`` for the first of ``keys`` present, when it is an object; else {}."""
    if isinstance(doc, Mapping):
        for key in keys:
            if key in doc:
                value = doc[key]
                return value if isinstance(value, Mapping) else {}
    return {}


def _list(doc: Mapping[str, Any], *keys: str) -> list[Any]:
    for key in keys:
        value = doc.get(key)
        if isinstance(value, list):
            return value
    return []


def _fill(message: Any, doc: Mapping[str, Any], fields: Mapping[str, str]) -> None:
    """Set ``message.<field>`` from ``doc[key]`` for every key -> field present in ``doc``."""
    for key, field in fields.items():
        if key in doc:
            setattr(message, field, _u64(doc[key]))


def _cpu(out: metrics_pb2.CPUStat, cpu: Mapping[str, Any]) -> None:
    out.usage.SetInParent()
    out.throttling.SetInParent()
    usage = _obj(cpu, "usage")
    _fill(out.usage, usage, {"total": "total", "kernel": "kernel", "user": "user"})
    out.usage.per_cpu.extend(_u64(v) for v in _list(usage, "percpu", "per_cpu"))
    throttling = _obj(cpu, "throttling")
    _fill(out.throttling, throttling, {k: k for k in ("periods", "throttled_periods", "throttled_time")})


def _memory(out: metrics_pb2.MemoryStat, memory: Mapping[str, Any]) -> None:
    if "cache" in memory:
        out.cache = _u64(memory["cache"])
    _fill(out, _obj(memory, "raw"), _MEMORY_RAW)
    for field, keys in _MEMORY_ENTRIES.items():
        entry = getattr(out, field)
        entry.SetInParent()
        _fill(entry, _obj(memory, *keys), {k: k for k in ("limit", "usage", "max", "failcnt")})


def _blkio(out: metrics_pb2.BlkIOStat, blkio: Mapping[str, Any]) -> None:
    for field, key in _BLKIO.items():
        entries = getattr(out, field)
        for doc in _list(blkio, key, field):
            if not isinstance(doc, Mapping):
                continue
            entry = entries.add(op=str(doc.get("op") or ""), device=str(doc.get("device") or ""))
            _fill(entry, doc, {"major": "major", "minor": "minor", "value": "value"})


def _hugetlb(out: Any, hugetlb: Mapping[str, Any]) -> None:
    for size, doc in hugetlb.items():
        entry = out.add(pagesize=str(size))
        _fill(entry, doc if isinstance(doc, Mapping) else {}, {k: k for k in ("usage", "max", "failcnt")})


def _network(out: Any, interfaces: list[Any]) -> None:
    for doc in interfaces:
        if isinstance(doc, Mapping):
            entry = out.add(name=str(doc.get("name") or ""))
            _fill(entry, doc, {k: k for k in _NETWORK})


def cgroup_metrics(stats: Mapping[str, Any]) -> metrics_pb2.Metrics:
    """The v1 cgroup Metrics of a ``runc events --stats`` data document. cpu (with usage
    and throttling), memory (with its four entries), pids and blkio are always set, so a
    client may read them without checking; hugetlb and network have one entry per size and
    interface."""
    metrics = metrics_pb2.Metrics()
    _cpu(metrics.cpu, _obj(stats, "cpu"))
    _memory(metrics.memory, _obj(stats, "memory"))
    metrics.pids.SetInParent()
    _fill(metrics.pids, _obj(stats, "pids"), {"current": "current", "limit": "limit"})
    metrics.blkio.SetInParent()
    _blkio(metrics.blkio, _obj(stats, "blkio"))
    _hugetlb(metrics.hugetlb, _obj(stats, "hugetlb"))
    _network(metrics.network, _list(stats, "network_interfaces", "network"))
    return metrics


def pack_metrics(stats: Mapping[str, Any]) -> any_pb2.Any:
    """:func:`cgroup_metrics` as the ``data`` of a containerd.types.Metric
    (type URL ``io.containerd.cgroups.v1.Metrics``, bare as containerd's typeurl writes it)."""
    return pack(cgroup_metrics(stats))


def pack_process_details(exec_id: str) -> any_pb2.Any:
    """The ``info`` of a ProcessInfo of ListPids for a process the shim runs as ``exec_id``."""
    return pack(oci_pb2.ProcessDetails(exec_id=exec_id))


def runc_options(value: AnyLike) -> oci_pb2.Options | None:
    """A container's runtime options (``Runtime.options``) as runc Options, whatever the
    type URL's prefix (``containerd.runc.v1.Options`` as ctr sends it, or
    ``type.googleapis.com/containerd.runc.v1.Options``); None for options of another type
    (or none at all: an empty type URL)."""
    if value.type_url.rsplit("/", 1)[-1] != OPTIONS_TYPE:
        return None
    options = oci_pb2.Options()
    try:
        options.ParseFromString(value.value)
    except DecodeError as e:
        raise InvalidArgument(f"runtime options {value.type_url}: {e}") from None
    return options
