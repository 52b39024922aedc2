"""The runc shim's typed values: runc's ``events --stats`` data as containerd's v1 cgroup
Metrics, the bare type URLs containerd's typeurl writes, and runc Options decoded from a
container's runtime options as ctr sends them. Field numbers are pinned by hand-encoded
wire bytes, independent of our .proto files."""

from __future__ import annotations

import json

import pytest
from google.protobuf import any_pb2

from dockyard.containerd.api.cgroups.stats.v1 import metrics_pb2
from dockyard.containerd.api.runc.options import oci_pb2
from dockyard.containerd.metadata.containers import AnyValue
from dockyard.containerd.server.metrics import (
    cgroup_metrics,
    pack_metrics,
    pack_process_details,
    runc_options,
)
from dockyard.errors import InvalidArgument

# `runc events --stats` on a cgroup v1 host (runc 1.1's keys, Go's omitempty applied)
RUNC_V1_STATS = json.loads("""
{
  "cpu": {
    "usage": {"total": 10691611, "percpu": [10691611, 0], "percpu_kernel": [7972950, 0],
              "percpu_user": [3990756, 0], "kernel": 30000000, "user": 20000000},
    "throttling": {"periods": 12, "throttled_periods": 3, "throttled_time": 4500000}
  },
  "cpuset": {"cpus": [0, 1], "cpu_exclusive": 0, "mems": [0], "mem_hardwall": 0,
             "mem_exclusive": 0, "memory_migrate": 0, "memory_spread_page": 0,
             "memory_spread_slab": 0, "memory_pressure": 0, "sched_load_balance": 1,
             "sched_relax_domain_level": -1},
  "memory": {
    "cache": 4096,
    "usage": {"limit": 104857600, "usage": 569344, "max": 2232320, "failcnt": 1},
    "swap": {"limit": 209715200, "usage": 573440, "max": 2236416, "failcnt": 0},
    "kernel": {"limit": 9223372036854771712, "usage": 163840, "max": 245760, "failcnt": 0},
    "kernelTCP": {"limit": 9223372036854771712, "failcnt": 0},
    "raw": {
      "active_anon": 40960, "active_file": 4096, "cache": 4096, "dirty": 8192,
      "hierarchical_memory_limit": 104857600, "hierarchical_memsw_limit": 209715200,
      "inactive_anon": 8192, "inactive_file": 0, "mapped_file": 0, "pgfault": 1211,
      "pgmajfault": 2, "pgpgin": 1034, "pgpgout": 1021, "rss": 49152, "rss_huge": 0,
      "shmem": 0, "swap": 0, "unevictable": 0, "writeback": 12288,
      "total_active_anon": 40961, "total_active_file": 4097, "total_cache": 4098,
      "total_dirty": 8193, "total_inactive_anon": 8193, "total_inactive_file": 1,
      "total_mapped_file": 2, "total_pgfault": 1212, "total_pgmajfault": 3,
      "total_pgpgin": 1035, "total_pgpgout": 1022, "total_rss": 49153, "total_rss_huge": 4,
      "total_unevictable": 5, "total_writeback": 12289
    }
  },
  "pids": {"current": 3, "limit": 100},
  "blkio": {
    "ioServiceBytesRecursive": [{"major": 8, "op": "Read", "value": 4096},
                                {"major": 8, "op": "Write"},
                                {"major": 8, "minor": 16, "op": "Total", "value": 4096}],
    "ioServicedRecursive": [{"major": 8, "op": "Read", "value": 1}],
    "ioQueueRecursive": [{"major": 8, "op": "Sync", "value": 2}],
    "ioServiceTimeRecursive": [{"major": 8, "op": "Async", "value": 3}],
    "ioWaitTimeRecursive": [{"major": 8, "op": "Read", "value": 4}],
    "ioMergedRecursive": [{"major": 8, "op": "Write", "value": 5}],
    "ioTimeRecursive": [{"major": 8, "value": 6}],
    "sectorsRecursive": [{"major": 8, "value": 7}]
  },
  "hugetlb": {"1GB": {"failcnt": 0}, "2MB": {"usage": 2097152, "max": 4194304, "failcnt": 1}},
  "intel_rdt": {},
  "network_interfaces": null
}
""")

# the same on a cgroup v2 host (memory.raw holds v2's memory.stat keys)
RUNC_V2_STATS = {
    "cpu": {"usage": {"total": 52000, "kernel": 20000, "user": 32000}, "throttling": {}},
    "memory": {
        "cache": 8192,
        "usage": {"limit": 18446744073709551615, "usage": 331776, "failcnt": 0},
        "swap": {"limit": 18446744073709551615, "usage": 331776, "failcnt": 0},
        "kernel": {"limit": 0, "failcnt": 0},
        "kernelTCP": {"limit": 0, "failcnt": 0},
        "raw": {"anon": 126976, "file": 8192, "pgfault": 99, "pgmajfault": 1},
    },
    "pids": {"current": 1},
    "blkio": {"ioServiceBytesRecursive": [{"major": 254, "op": "Read", "value": 512}]},
    "hugetlb": {},
    "intel_rdt": {},
    "network_interfaces": None,
}


def test_v1_stats_convert_every_field() -> None:
    m = cgroup_metrics(RUNC_V1_STATS)
    assert (m.cpu.usage.total, m.cpu.usage.kernel, m.cpu.usage.user) == (10691611, 30000000, 20000000)
    assert list(m.cpu.usage.per_cpu) == [10691611, 0]
    assert (m.cpu.throttling.periods, m.cpu.throttling.throttled_periods,
            m.cpu.throttling.throttled_time) == (12, 3, 4500000)

    mem = m.memory
    assert (mem.cache, mem.rss, mem.rss_huge, mem.mapped_file, mem.dirty, mem.writeback) == (
        4096, 49152, 0, 0, 8192, 12288)
    assert (mem.pg_pg_in, mem.pg_pg_out, mem.pg_fault, mem.pg_maj_fault) == (1034, 1021, 1211, 2)
    assert (mem.inactive_anon, mem.active_anon, mem.inactive_file, mem.active_file,
            mem.unevictable) == (8192, 40960, 0, 4096, 0)
    assert (mem.hierarchical_memory_limit, mem.hierarchical_swap_limit) == (104857600, 209715200)
    assert (mem.total_cache, mem.total_rss, mem.total_rss_huge, mem.total_mapped_file,
            mem.total_dirty, mem.total_writeback) == (4098, 49153, 4, 2, 8193, 12289)
    assert (mem.total_pg_pg_in, mem.total_pg_pg_out, mem.total_pg_fault,
            mem.total_pg_maj_fault) == (1035, 1022, 1212, 3)
    assert (mem.total_inactive_anon, mem.total_active_anon, mem.total_inactive_file,
            mem.total_active_file, mem.total_unevictable) == (8193, 40961, 1, 4097, 5)
    assert mem.usage == metrics_pb2.MemoryEntry(limit=104857600, usage=569344, max=2232320, failcnt=1)
    assert mem.swap == metrics_pb2.MemoryEntry(limit=209715200, usage=573440, max=2236416)
    assert mem.kernel == metrics_pb2.MemoryEntry(limit=9223372036854771712, usage=163840, max=245760)
    assert mem.kernel_tcp == metrics_pb2.MemoryEntry(limit=9223372036854771712)

    assert (m.pids.current, m.pids.limit) == (3, 100)

    blk = m.blkio
    assert [(e.major, e.minor, e.op, e.value, e.device) for e in blk.io_service_bytes_recursive] == [
        (8, 0, "Read", 4096, ""), (8, 0, "Write", 0, ""), (8, 16, "Total", 4096, "")]
    assert [(e.op, e.value) for e in blk.io_serviced_recursive] == [("Read", 1)]
    assert [(e.op, e.value) for e in blk.io_queued_recursive] == [("Sync", 2)]
    assert [(e.op, e.value) for e in blk.io_service_time_recursive] == [("Async", 3)]
    assert [(e.op, e.value) for e in blk.io_wait_time_recursive] == [("Read", 4)]
    assert [(e.op, e.value) for e in blk.io_merged_recursive] == [("Write", 5)]
    assert [(e.op, e.value) for e in blk.io_time_recursive] == [("", 6)]
    assert [(e.op, e.value) for e in blk.sectors_recursive] == [("", 7)]

    assert list(m.hugetlb) == [
        metrics_pb2.HugetlbStat(pagesize="1GB"),
        metrics_pb2.HugetlbStat(pagesize="2MB", usage=2097152, max=4194304, failcnt=1),
    ]
    assert not m.network
    assert not m.HasField("rdma") and not m.HasField("cgroup_stats")
    assert not m.HasField("memory_oom_control")


def test_v2_stats_keep_what_fits_v1() -> None:
    m = cgroup_metrics(RUNC_V2_STATS)
    assert (m.cpu.usage.total, m.cpu.usage.kernel, m.cpu.usage.user) == (52000, 20000, 32000)
    assert m.memory.cache == 8192  # runc's memory.cache is v2's file
    assert m.memory.usage.limit == (1 << 64) - 1 and m.memory.usage.usage == 331776
    assert (m.memory.pg_fault, m.memory.pg_maj_fault, m.memory.rss) == (99, 1, 0)
    assert m.pids.current == 1 and m.pids.limit == 0
    assert [(e.major, e.op, e.value) for e in m.blkio.io_service_bytes_recursive] == [(254, "Read", 512)]


def test_snake_case_keys_and_network_interfaces() -> None:
    m = cgroup_metrics({
        "memory": {"kernel_tcp": {"usage": 5}},
        "blkio": {"io_service_bytes_recursive": [{"major": 1, "minor": 2, "op": "Read", "value": 3}]},
        "network_interfaces": [{"name": "eth0", "rx_bytes": 1, "rx_packets": 2, "rx_errors": 3,
                                "rx_dropped": 4, "tx_bytes": 5, "tx_packets": 6, "tx_errors": 7,
                                "tx_dropped": 8}],
    })
    assert m.memory.kernel_tcp.usage == 5
    assert m.blkio.io_service_bytes_recursive[0] == metrics_pb2.BlkIOEntry(major=1, minor=2, op="Read", value=3)
    assert list(m.network) == [metrics_pb2.NetworkStat(
        name="eth0", rx_bytes=1, rx_packets=2, rx_errors=3, rx_dropped=4,
        tx_bytes=5, tx_packets=6, tx_errors=7, tx_dropped=8)]


@pytest.mark.parametrize("stats", [
    {},
    {"cpu": None, "memory": None, "pids": None, "blkio": None, "hugetlb": None, "network_interfaces": None},
    {"cpu": {"usage": {}, "throttling": {}}, "memory": {}, "pids": {}, "blkio": {}, "hugetlb": {}},
])
def test_missing_keys_give_zero_values(stats: dict[str, object]) -> None:
    m = cgroup_metrics(stats)
    # the parts a client reads without checking are there, all zero
    for part in ("cpu", "memory", "pids", "blkio"):
        assert m.HasField(part)
    for part in ("usage", "throttling"):
        assert m.cpu.HasField(part)
    for part in ("usage", "swap", "kernel", "kernel_tcp"):
        assert m.memory.HasField(part)
    assert m.cpu.usage.total == 0 and list(m.cpu.usage.per_cpu) == []
    assert m.memory.usage.limit == 0 and m.memory.total_cache == 0
    assert m.pids.current == 0 and not m.hugetlb and not m.network
    assert not m.blkio.io_service_bytes_recursive


def test_odd_values_are_clamped_not_fatal() -> None:
    m = cgroup_metrics({"pids": {"current": -1, "limit": 1 << 70},
                        "cpu": {"usage": {"total": "12", "kernel": 3.0, "user": float("nan")}}})
    assert (m.pids.current, m.pids.limit) == (0, (1 << 64) - 1)
    assert (m.cpu.usage.total, m.cpu.usage.kernel, m.cpu.usage.user) == (0, 3, 0)


def test_metrics_wire_field_numbers() -> None:
    # Metrics.pids(2){current(1)=7, limit(2)=9}
    m = metrics_pb2.Metrics.FromString(b"\x12\x04\x08\x07\x10\x09")
    assert (m.pids.current, m.pids.limit) == (7, 9)
    # Metrics.memory(4){usage(33){usage(2)=5}, kernel_tcp(36){failcnt(4)=1}, hierarchical_swap_limit(17)=3}
    m = metrics_pb2.Metrics.FromString(b"\x22\x0d" + b"\x8a\x02\x02\x10\x05" + b"\xa2\x02\x02\x20\x01"
                                       + b"\x88\x01\x03")
    assert (m.memory.usage.usage, m.memory.kernel_tcp.failcnt, m.memory.hierarchical_swap_limit) == (5, 1, 3)
    # Metrics.cpu(3){usage(1){per_cpu(4)=[1, 2] packed}}
    m = metrics_pb2.Metrics.FromString(b"\x1a\x06\x0a\x04\x22\x02\x01\x02")
    assert list(m.cpu.usage.per_cpu) == [1, 2]
    # Metrics.hugetlb(1)[{pagesize(4)="2MB", failcnt(3)=1}]
    m = metrics_pb2.Metrics.FromString(b"\x0a\x07\x22\x032MB\x18\x01")
    assert m.hugetlb[0] == metrics_pb2.HugetlbStat(pagesize="2MB", failcnt=1)


def test_packed_type_urls_are_bare_full_names() -> None:
    packed = pack_metrics(RUNC_V1_STATS)
    assert packed.type_url == "io.containerd.cgroups.v1.Metrics"
    assert metrics_pb2.Metrics.FromString(packed.value) == cgroup_metrics(RUNC_V1_STATS)

    details = pack_process_details("exec-1")
    assert details.type_url == "containerd.runc.v1.ProcessDetails"
    assert details.value == b"\x0a\x06exec-1"  # exec_id = 1
    assert oci_pb2.ProcessDetails.FromString(details.value).exec_id == "exec-1"


def test_runc_options_as_ctr_sends_them() -> None:
    # ctr run --runc-binary /usr/local/bin/crun --runc-systemd-cgroup: Options packed by
    # typeurl under its bare name; binary_name is field 6, systemd_cgroup field 9
    wire = b"\x32\x13/usr/local/bin/crun\x48\x01"
    opts = runc_options(any_pb2.Any(type_url="containerd.runc.v1.Options", value=wire))
    assert opts is not None
    assert opts.binary_name == "/usr/local/bin/crun" and opts.systemd_cgroup
    assert not opts.no_pivot_root and opts.root == ""

    full = oci_pb2.Options(no_pivot_root=True, no_new_keyring=True, shim_cgroup="/shim", io_uid=1000,
                           io_gid=1001, binary_name="runc", root="/run/runc", criu_path="/criu",
                           systemd_cgroup=True, criu_image_path="/img", criu_work_path="/work")
    for url in ("containerd.runc.v1.Options", "type.googleapis.com/containerd.runc.v1.Options"):
        assert runc_options(any_pb2.Any(type_url=url, value=full.SerializeToString())) == full
    # the metadata's stored form works too
    assert runc_options(AnyValue("containerd.runc.v1.Options", full.SerializeToString())) == full


def test_runc_options_of_other_types() -> None:
    assert runc_options(any_pb2.Any()) is None
    assert runc_options(any_pb2.Any(type_url="containerd.linux.runc.RuncOptions", value=b"\x0a\x01x")) is None
    assert runc_options(AnyValue("io.containerd.runc.v1.OptionsX")) is None
    assert runc_options(AnyValue("containerd.runc.v1.Options")) == oci_pb2.Options()
    with pytest.raises(InvalidArgument):
        runc_options(AnyValue("containerd.runc.v1.Options", b"\x32\x10short"))
