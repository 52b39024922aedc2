"""Memory, CPU, pids, block IO, ulimits, OOM score and devices."""

from __future__ import annotations

from typing import Any

import pytest
from tests.unit.engine.spec_fakes import make_host, spec_for

from dockyard.engine import defaults
from dockyard.engine.spec_resources import RLIM_INFINITY, parse_list
from dockyard.errors import InvalidArgument
from dockyard.oci import runtime_spec

MB = 1 << 20


def resources(hc: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    spec = spec_for({}, hc, **kwargs)
    assert runtime_spec.validate(spec) == []
    res: dict[str, Any] = spec["linux"]["resources"]
    assert res.pop("devices") is not None
    return res


def test_nothing_set() -> None:
    assert resources({}) == {}
    assert resources({"Memory": 0, "CpuShares": 0, "PidsLimit": None, "BlkioWeight": 0}) == {}


# -- memory ---------------------------------------------------------------------------------


def test_memory_with_default_swap() -> None:
    assert resources({"Memory": 64 * MB})["memory"] == {"limit": 64 * MB, "swap": 128 * MB}


def test_memory_swap_given_and_unlimited() -> None:
    assert resources({"Memory": 64 * MB, "MemorySwap": 100 * MB})["memory"] == {
        "limit": 64 * MB, "swap": 100 * MB}
    assert resources({"Memory": 64 * MB, "MemorySwap": -1})["memory"] == {"limit": 64 * MB}


def test_swap_unsupported_warns() -> None:
    warnings: list[str] = []
    res = resources({"Memory": 64 * MB, "MemorySwap": 100 * MB},
                    host=make_host(swap_limit=lambda: False), warnings=warnings)
    assert res["memory"] == {"limit": 64 * MB}
    assert warnings == ["Your kernel does not support swap limit capabilities or the cgroup is not "
                        "mounted. Memory limited without swap."]


def test_memory_extras() -> None:
    res = resources({"Memory": 64 * MB, "MemoryReservation": 32 * MB, "MemorySwappiness": 10,
                     "OomKillDisable": True})
    assert res["memory"] == {"limit": 64 * MB, "reservation": 32 * MB, "swap": 128 * MB,
                             "swappiness": 10, "disableOOMKiller": True}
    assert resources({"MemorySwappiness": -1}) == {}
    assert resources({"MemoryReservation": 10 * MB})["memory"] == {"reservation": 10 * MB}


@pytest.mark.parametrize(("hc", "message"), [
    ({"Memory": 4 * MB}, "HostConfig.Memory: Minimum memory limit allowed is 6MB"),
    ({"Memory": -5}, "HostConfig.Memory: Minimum memory limit allowed is 6MB"),
    ({"MemorySwap": 100 * MB}, "HostConfig.MemorySwap: You should always set the Memory limit"),
    ({"Memory": 64 * MB, "MemorySwap": 32 * MB},
     "HostConfig.MemorySwap: Minimum memoryswap limit should be larger than memory limit"),
    ({"Memory": 64 * MB, "MemorySwap": -2}, "HostConfig.MemorySwap: must be -1"),
    ({"MemoryReservation": MB}, "HostConfig.MemoryReservation: Minimum memory reservation allowed is 6MB"),
    ({"Memory": 64 * MB, "MemoryReservation": 128 * MB},
     "HostConfig.MemoryReservation: Minimum memory limit can not be less than memory reservation"),
    ({"MemorySwappiness": 101}, "HostConfig.MemorySwappiness: Invalid value: 101"),
    ({"Memory": "64m"}, "HostConfig.Memory: must be an integer"),
    ({"Memory": True}, "HostConfig.Memory: must be an integer"),
])
def test_memory_errors(hc: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgument, match=f"^{message}"):
        spec_for({}, hc)


# -- cpu --------------------------------------------------------------------------------------


def test_nano_cpus() -> None:
    assert resources({"NanoCpus": 1_500_000_000})["cpu"] == {"quota": 150_000, "period": 100_000}
    assert resources({"NanoCpus": 10_000_000})["cpu"] == {"quota": 1000, "period": 100_000}


def test_cpu_fields() -> None:
    res = resources({"CpuShares": 512, "CpuPeriod": 50_000, "CpuQuota": 25_000,
                     "CpusetCpus": "0-1,3", "CpusetMems": "0"})
    assert res["cpu"] == {"shares": 512, "quota": 25_000, "period": 50_000, "cpus": "0-1,3", "mems": "0"}
    assert resources({"CpuQuota": -1})["cpu"] == {"quota": -1}


@pytest.mark.parametrize(("hc", "message"), [
    ({"NanoCpus": 10**9, "CpuPeriod": 100_000},
     "HostConfig.NanoCpus: Conflicting options: Nano CPUs and CPU Period cannot both be set"),
    ({"NanoCpus": 10**9, "CpuQuota": 100_000},
     "HostConfig.NanoCpus: Conflicting options: Nano CPUs and CPU Quota cannot both be set"),
    ({"NanoCpus": 5 * 10**9}, r"HostConfig.NanoCpus: Range of CPUs is from 0.01 to 4.00, as there are only 4 CPUs"),
    ({"NanoCpus": 1000}, "HostConfig.NanoCpus: Range of CPUs"),
    ({"NanoCpus": -1}, "HostConfig.NanoCpus: Range of CPUs"),
    ({"CpuPeriod": 999}, "HostConfig.CpuPeriod: CPU cfs period can not be less than 1ms"),
    ({"CpuPeriod": 1_000_001}, "HostConfig.CpuPeriod: CPU cfs period"),
    ({"CpuQuota": 999}, "HostConfig.CpuQuota: CPU cfs quota can not be less than 1ms"),
    ({"CpuShares": -2}, "HostConfig.CpuShares: shares: invalid argument"),
    ({"CpusetCpus": "0-"}, "HostConfig.CpusetCpus: Invalid value 0- for cpuset cpus"),
    ({"CpusetCpus": "3-1"}, "HostConfig.CpusetCpus: Invalid value 3-1 for cpuset cpus"),
    ({"CpusetCpus": "0, 1"}, "HostConfig.CpusetCpus: Invalid value"),
    ({"CpusetCpus": "0-7"}, "HostConfig.CpusetCpus: Requested CPUs are not available - requested 0-7, available: 0-3"),
    ({"CpusetMems": "a"}, "HostConfig.CpusetMems: Invalid value a for cpuset mems"),
    ({"CpusetMems": "1"}, "HostConfig.CpusetMems: Requested memory nodes are not available"),
])
def test_cpu_errors(hc: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgument, match=f"^{message}"):
        spec_for({}, hc)


def test_parse_list() -> None:
    assert parse_list("0-2,5") == {0, 1, 2, 5}
    assert parse_list("7") == {7}
    with pytest.raises(ValueError):
        parse_list("")


def test_cpuset_unknown_host_topology() -> None:
    res = resources({"CpusetMems": "3"}, host=make_host(online_mems=lambda: None))
    assert res["cpu"] == {"mems": "3"}


# -- pids, blkio, oom -------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "limit"), [(100, 100), (0, -1), (-1, -1)])
def test_pids(value: int, limit: int) -> None:
    assert resources({"PidsLimit": value})["pids"] == {"limit": limit}


def test_blkio_weight() -> None:
    assert resources({"BlkioWeight": 500})["blockIO"] == {"weight": 500}
    with pytest.raises(InvalidArgument, match=r"HostConfig.BlkioWeight: Range of blkio weight is from 10 to 1000"):
        spec_for({}, {"BlkioWeight": 5})
    warnings: list[str] = []
    assert resources({"BlkioWeight": 500}, host=make_host(blkio_weight=lambda: False), warnings=warnings) == {}
    assert "Weight discarded" in warnings[0]


def test_oom_score_adj() -> None:
    assert spec_for({}, {"OomScoreAdj": -500})["process"]["oomScoreAdj"] == -500
    message = r"HostConfig.OomScoreAdj: Invalid value 1001, range for oom score adj is \[-1000, 1000\]"
    with pytest.raises(InvalidArgument, match=message):
        spec_for({}, {"OomScoreAdj": 1001})


# -- ulimits ----------------------------------------------------------------------------------


def test_ulimits() -> None:
    process = spec_for({}, {"Ulimits": [
        {"Name": "nofile", "Soft": 1024, "Hard": 4096},
        {"Name": "CORE", "Soft": -1, "Hard": -1},
        {"Name": "nproc", "Soft": 10, "Hard": -1},
    ]})["process"]
    assert process["rlimits"] == [
        {"type": "RLIMIT_NOFILE", "soft": 1024, "hard": 4096},
        {"type": "RLIMIT_CORE", "soft": RLIM_INFINITY, "hard": RLIM_INFINITY},
        {"type": "RLIMIT_NPROC", "soft": 10, "hard": RLIM_INFINITY},
    ]
    assert "rlimits" not in spec_for()["process"]


@pytest.mark.parametrize(("ulimit", "message"), [
    ({"Name": "files", "Soft": 1, "Hard": 1}, r"HostConfig.Ulimits\[0\].Name: invalid ulimit type: files"),
    ({"Name": "nofile", "Soft": 10, "Hard": 5},
     r"HostConfig.Ulimits\[0\]: ulimit soft limit must be less than or equal to hard limit: 10 > 5"),
    ({"Name": "nofile", "Soft": -1, "Hard": 5}, "soft limit must be less than or equal"),
    ({"Name": "nofile", "Soft": -3, "Hard": 5}, r"HostConfig.Ulimits\[0\].Soft"),
])
def test_ulimit_errors(ulimit: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        spec_for({}, {"Ulimits": [ulimit]})


# -- devices ----------------------------------------------------------------------------------


def test_device_mapping() -> None:
    linux = spec_for({}, {"Devices": [
        {"PathOnHost": "/dev/sda", "PathInContainer": "/dev/xvda", "CgroupPermissions": "r"},
        {"PathOnHost": "/dev/snd", "PathInContainer": "", "CgroupPermissions": ""},
    ]})["linux"]
    assert linux["devices"] == [
        {"path": "/dev/xvda", "type": "b", "major": 8, "minor": 0, "fileMode": 0o660, "uid": 0, "gid": 6},
        {"path": "/dev/snd/timer", "type": "c", "major": 116, "minor": 33, "fileMode": 0o660, "uid": 0, "gid": 29},
    ]
    assert linux["resources"]["devices"] == [
        *defaults.default_device_rules(),
        {"allow": True, "type": "b", "major": 8, "minor": 0, "access": "r"},
        {"allow": True, "type": "c", "major": 116, "minor": 33, "access": "rwm"},
    ]


def test_default_device_rules() -> None:
    rules = spec_for()["linux"]["resources"]["devices"]
    assert rules[0] == {"allow": False, "access": "rwm"}
    allowed = {(r["major"], r["minor"]) for r in rules if r["allow"]}
    assert allowed == {(1, 3), (1, 5), (1, 8), (1, 9), (5, 0), (5, 1)}
    assert rules[-1] == {"allow": False, "type": "c", "major": 10, "minor": 229, "access": "rwm"}
    assert "devices" not in spec_for()["linux"]


def test_device_cgroup_rules() -> None:
    rules = spec_for({}, {"DeviceCgroupRules": ["c 42:* rmw", "b *:* m"]})["linux"]["resources"]["devices"]
    assert rules[-2:] == [{"allow": True, "type": "c", "major": 42, "access": "rmw"},
                          {"allow": True, "type": "b", "access": "m"}]
    with pytest.raises(InvalidArgument, match=r"HostConfig.DeviceCgroupRules: invalid device cgroup format 'c 1:3'"):
        spec_for({}, {"DeviceCgroupRules": ["c 1:3"]})


@pytest.mark.parametrize(("device", "message"), [
    ({"PathOnHost": "/dev/sda", "CgroupPermissions": "rwx"},
     r"HostConfig.Devices\[0\].CgroupPermissions: invalid device mode: rwx"),
    ({"PathOnHost": ""}, r"HostConfig.Devices\[0\].PathOnHost: must not be empty"),
    ({"PathOnHost": "/dev/sda", "PathInContainer": "xvda"}, r"HostConfig.Devices\[0\].PathInContainer"),
    ({"PathOnHost": "/etc/passwd"},
     r"HostConfig.Devices\[0\]: error gathering device information .* not a device node"),
])
def test_device_errors(device: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        spec_for({}, {"Devices": [device]})
