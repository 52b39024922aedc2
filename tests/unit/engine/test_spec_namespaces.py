"""Network, IPC, PID, UTS, user and cgroup namespace modes, and sysctls."""

from __future__ import annotations

from typing import Any

import pytest
from tests.unit.engine.spec_fakes import make_host, spec_for

from dockyard.errors import InvalidArgument, NotImplementedYet
from dockyard.oci import runtime_spec

NET_DEFAULTS = {"net.ipv4.ping_group_range": "0 2147483647", "net.ipv4.ip_unprivileged_port_start": "0"}


def namespaces(hc: dict[str, Any], config: dict[str, Any] | None = None) -> list[dict[str, str]]:
    spec = spec_for(config or {}, hc)
    assert runtime_spec.validate(spec) == []
    result: list[dict[str, str]] = spec["linux"]["namespaces"]
    return result


def kinds(hc: dict[str, Any], config: dict[str, Any] | None = None) -> list[str]:
    return [ns["type"] for ns in namespaces(hc, config)]


ALL = ["mount", "network", "uts", "pid", "ipc"]


@pytest.mark.parametrize(("hc", "expected"), [
    ({}, ALL),
    ({"NetworkMode": "bridge"}, ALL),
    ({"NetworkMode": "default"}, ALL),
    ({"NetworkMode": "none"}, ALL),
    ({"NetworkMode": "my-user-network"}, ALL),
    ({"NetworkMode": "host"}, ["mount", "uts", "pid", "ipc"]),
    ({"PidMode": "host"}, ["mount", "network", "uts", "ipc"]),
    ({"IpcMode": "host"}, ["mount", "network", "uts", "pid"]),
    ({"IpcMode": "private"}, ALL),
    ({"IpcMode": "shareable"}, ALL),
    ({"IpcMode": "none"}, ALL),
    ({"UTSMode": "host"}, ["mount", "network", "pid", "ipc"]),
    ({"UsernsMode": "host"}, ALL),
    ({"CgroupnsMode": "private"}, [*ALL, "cgroup"]),
    ({"CgroupnsMode": "host"}, ALL),
])
def test_modes(hc: dict[str, Any], expected: list[str]) -> None:
    assert kinds(hc) == expected


def test_network_disabled_keeps_a_private_namespace() -> None:
    assert kinds({"NetworkMode": "host"}, {"NetworkDisabled": True}) == ALL


def test_joining_other_containers() -> None:
    got = namespaces({"NetworkMode": "container:web", "PidMode": "container:web", "IpcMode": "container:db"})
    assert got == [
        {"type": "mount"},
        {"type": "network"},  # the engine binds the other's namespace at start (network_modes)
        {"type": "uts"},
        {"type": "pid", "path": "/proc/4242/ns/pid"},
        {"type": "ipc", "path": "/proc/4242/ns/ipc"},
    ]


def test_joining_needs_the_container_service() -> None:
    from dockyard.engine.spec_host import Host
    with pytest.raises(NotImplementedYet, match="pid namespace of container 'web'"):
        spec_for({}, {"PidMode": "container:web"}, host=make_host(namespace_path=Host().namespace_path))


def test_default_cgroupns() -> None:
    spec = spec_for({}, {}, default_cgroupns="private")
    assert spec["linux"]["namespaces"][-1] == {"type": "cgroup"}


@pytest.mark.parametrize(("hc", "message"), [
    ({"IpcMode": "weird"}, "HostConfig.IpcMode: invalid IPC mode: weird"),
    ({"IpcMode": "container:"}, "HostConfig.IpcMode: invalid IPC mode: container:"),
    ({"PidMode": "private2"}, "HostConfig.PidMode: invalid PID mode: private2"),
    ({"UTSMode": "container:x"}, "HostConfig.UTSMode: invalid UTS mode: container:x"),
    ({"UsernsMode": "private"}, "HostConfig.UsernsMode: 'private': user namespace remapping is not supported"),
    ({"CgroupnsMode": "shared"}, "HostConfig.CgroupnsMode: invalid cgroup namespace mode: shared"),
    ({"NetworkMode": "container:"}, "HostConfig.NetworkMode: invalid network mode: container:"),
])
def test_invalid_modes(hc: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgument, match=f"^{message}$"):
        spec_for({}, hc)


# -- sysctls --------------------------------------------------------------------------------


def test_default_network_sysctls() -> None:
    assert spec_for()["linux"]["sysctl"] == NET_DEFAULTS
    assert spec_for({}, {"NetworkMode": "none"})["linux"]["sysctl"] == NET_DEFAULTS
    assert "sysctl" not in spec_for({}, {"NetworkMode": "host"})["linux"]
    assert "sysctl" not in spec_for({}, {"NetworkMode": "container:web"})["linux"]
    assert "sysctl" not in spec_for({}, host=make_host(sysctl_exists=lambda name: False))["linux"]


def test_user_sysctls() -> None:
    wanted = {"net.ipv4.ip_unprivileged_port_start": "1024", "net.core.somaxconn": "1024",
              "kernel.shmmax": "1000000", "kernel.msgmax": "65536", "fs.mqueue.msg_max": "100",
              "kernel.sem": "250 32000 100 128", "kernel.domainname": "example.org"}
    sysctl = spec_for({}, {"Sysctls": wanted})["linux"]["sysctl"]
    assert sysctl == {**NET_DEFAULTS, **wanted}
    assert spec_for({}, {"NetworkMode": "container:web", "Sysctls": {"net.core.somaxconn": "1"}})["linux"][
        "sysctl"] == {"net.core.somaxconn": "1"}


@pytest.mark.parametrize(("hc", "message"), [
    ({"Sysctls": {"kernel.hostname": "x"}}, "sysctl 'kernel.hostname' is not namespaced"),
    ({"Sysctls": {"vm.swappiness": "1"}}, "sysctl 'vm.swappiness' is not namespaced"),
    ({"Sysctls": {"kernel.shm_rmid_forced": "1"}, "IpcMode": "host"},
     "sysctl 'kernel.shm_rmid_forced' is not allowed in the host's IPC namespace"),
    ({"Sysctls": {"fs.mqueue.queues_max": "1"}, "IpcMode": "host"}, "not allowed in the host's IPC namespace"),
    ({"Sysctls": {"net.ipv4.ip_forward": "1"}, "NetworkMode": "host"},
     "sysctl 'net.ipv4.ip_forward' is not allowed in the host's network namespace"),
    ({"Sysctls": {"kernel.domainname": "x"}, "UTSMode": "host"}, "not allowed in the host's UTS namespace"),
    ({"Sysctls": {"net.core.somaxconn": 1024}}, "HostConfig.Sysctls: must be an object of strings"),
])
def test_sysctl_errors(hc: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        spec_for({}, hc)
