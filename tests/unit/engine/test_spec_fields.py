"""HostConfig fields: supported, engine-owned, accepted at zero only, or unknown."""

from __future__ import annotations

from typing import Any

import pytest
from tests.unit.engine.spec_fakes import spec_for

from dockyard.engine.spec_fields import ENGINE_OWNED, TRANSLATED, ZERO_ONLY, check_host_config, is_zero
from dockyard.errors import InvalidArgument

# What docker CLI 28 sends for a plain `docker run busybox`.
DOCKER_CLI_HOST_CONFIG: dict[str, Any] = {
    "Binds": None, "ContainerIDFile": "", "LogConfig": {"Type": "", "Config": {}},
    "NetworkMode": "bridge", "PortBindings": {}, "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0},
    "AutoRemove": False, "VolumeDriver": "", "VolumesFrom": None, "ConsoleSize": [24, 80],
    "CapAdd": None, "CapDrop": None, "CgroupnsMode": "", "Dns": [], "DnsOptions": [], "DnsSearch": [],
    "ExtraHosts": None, "GroupAdd": None, "IpcMode": "", "Cgroup": "", "Links": None, "OomScoreAdj": 0,
    "PidMode": "", "Privileged": False, "PublishAllPorts": False, "ReadonlyRootfs": False,
    "SecurityOpt": None, "UTSMode": "", "UsernsMode": "", "ShmSize": 0, "Isolation": "",
    "CpuShares": 0, "Memory": 0, "NanoCpus": 0, "CgroupParent": "", "BlkioWeight": 0,
    "BlkioWeightDevice": [], "BlkioDeviceReadBps": [], "BlkioDeviceWriteBps": [],
    "BlkioDeviceReadIOps": [], "BlkioDeviceWriteIOps": [], "CpuPeriod": 0, "CpuQuota": 0,
    "CpuRealtimePeriod": 0, "CpuRealtimeRuntime": 0, "CpusetCpus": "", "CpusetMems": "",
    "Devices": [], "DeviceCgroupRules": None, "DeviceRequests": None, "MemoryReservation": 0,
    "MemorySwap": 0, "MemorySwappiness": None, "OomKillDisable": None, "PidsLimit": None,
    "Ulimits": [], "CpuCount": 0, "CpuPercent": 0, "IOMaximumIOps": 0, "IOMaximumBandwidth": 0,
    "MaskedPaths": None, "ReadonlyPaths": None, "Annotations": None, "Init": None,
}


def test_docker_cli_defaults_accepted() -> None:
    spec = spec_for({"Cmd": ["sh"], "Tty": True}, DOCKER_CLI_HOST_CONFIG)
    assert spec["process"]["consoleSize"] == {"height": 24, "width": 80}


def test_lists_are_disjoint_and_cover_the_cli() -> None:
    assert not TRANSLATED & ENGINE_OWNED
    assert not (TRANSLATED | ENGINE_OWNED) & set(ZERO_ONLY)
    assert set(DOCKER_CLI_HOST_CONFIG) <= TRANSLATED | ENGINE_OWNED | set(ZERO_ONLY)


@pytest.mark.parametrize(("field", "value"), [
    ("CpuRealtimePeriod", 1000), ("DeviceRequests", [{"Driver": "nvidia"}]),
    ("KernelMemory", 1 << 20), ("BlkioDeviceReadBps", [{"Path": "/dev/sda", "Rate": 1}]),
    ("VolumeDriver", "flocker"), ("StorageOpt", {"size": "1G"}), ("Isolation", "hyperv"),
    ("CpuCount", 2), ("Cgroup", "container:x"),
])
def test_unsupported_non_zero(field: str, value: Any) -> None:
    with pytest.raises(InvalidArgument, match=f"^HostConfig.{field}: "):
        spec_for({}, {field: value})


def test_unknown_fields() -> None:
    spec_for({}, {"SomeFutureField": None, "AnotherOne": [], "Third": {"a": 0}})
    with pytest.raises(InvalidArgument, match=r"^HostConfig.SomeFutureField: unknown or unsupported field$"):
        spec_for({}, {"SomeFutureField": "on"})


def test_engine_owned_and_defaults_pass() -> None:
    check_host_config({"RestartPolicy": {"Name": "always"}, "PortBindings": {"80/tcp": [{"HostPort": "8080"}]},
                       "Runtime": "runc", "Isolation": "default", "LogConfig": {"Type": "json-file"}})


def test_is_zero() -> None:
    assert all(is_zero(v) for v in (None, False, 0, 0.0, "", [], {}, [0, 0], {"a": None}))
    assert not any(is_zero(v) for v in (True, 1, "x", [1], {"a": "b"}))


@pytest.mark.parametrize(("hc", "message"), [
    ({"Privileged": "yes"}, "HostConfig.Privileged: must be a boolean"),
    ({"CapAdd": "NET_ADMIN"}, None),  # a single string is a list of one (StrSlice)
    ({"Binds": {"a": "b"}}, "HostConfig.Binds: must be a list"),
    ({"CgroupParent": 5}, "HostConfig.CgroupParent: must be a string"),
])
def test_types(hc: dict[str, Any], message: str | None) -> None:
    if message is None:
        assert "CAP_NET_ADMIN" in spec_for({}, hc)["process"]["capabilities"]["bounding"]
        return
    with pytest.raises(InvalidArgument, match=message):
        spec_for({}, hc)
