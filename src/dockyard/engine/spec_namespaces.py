"""Namespace modes (network, IPC, PID, UTS, user, cgroup) and sysctls, Docker's way.

Modes, from HostConfig:

* ``NetworkMode``: ``bridge``/``default``/``""``, ``none`` and user-defined network names
  get a network namespace of their own (the engine wires it); ``host`` none;
  ``container:<id>`` joins that container's: the entry has no path here, the engine gives
  it the one it binds the other container's namespace on at start
  (:mod:`dockyard.engine.network_modes`), as dockerd finds that container only at start.
  ``Config.NetworkDisabled`` keeps a private, unconnected namespace whatever the mode.
* ``IpcMode``: ``private`` (default), ``shareable``, ``none`` get their own namespace;
  ``host`` none; ``container:<id>`` joins that container's.
* ``PidMode``: private (default), ``host``, ``container:<id>``.
* ``UTSMode``: private (default) or ``host``. ``UsernsMode``: ``""`` or ``host`` only
  (dockyard has no user-namespace remapping). ``CgroupnsMode``: ``private``/``host``,
  ``""`` meaning the daemon's default.

Sysctls: only namespaced ones, as Docker documents: the IPC ones (``kernel.msgmax``,
``msgmnb``, ``msgmni``, ``sem``, ``shmall``, ``shmmax``, ``shmmni``, ``shm_rmid_forced``,
``fs.mqueue.*``) unless the IPC namespace is the host's, the network ones (``net.*``)
unless the network namespace is the host's, and ``kernel.domainname`` with a private UTS
namespace. With a private network namespace dockerd also sets
``net.ipv4.ping_group_range`` (ping without CAP_NET_RAW) and
``net.ipv4.ip_unprivileged_port_start=0`` (low ports without CAP_NET_BIND_SERVICE), where
the kernel has them; the container's own Sysctls win.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dockyard.engine import defaults
from dockyard.engine.spec_fields import get_str, get_str_map
from dockyard.engine.spec_host import Host
from dockyard.errors import InvalidArgument

IPC_SYSCTLS: frozenset[str] = frozenset((
    "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall",
    "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced",
))
PRIVATE_NETWORK_SYSCTLS: tuple[tuple[str, str], ...] = (
    ("net.ipv4.ping_group_range", "0 2147483647"),
    ("net.ipv4.ip_unprivileged_port_start", "0"),
)
_CONTAINER = "container:"


@dataclass(frozen=True)
class Modes:
    """The namespace modes of one container; ``*_ref`` names the container joined."""

    network: str  # "private", "none", "host" or "container"
    network_ref: str
    network_disabled: bool
    ipc: str  # "private", "shareable", "none", "host" or "container"
    ipc_ref: str
    pid: str  # "private", "host" or "container"
    pid_ref: str
    uts_host: bool
    cgroupns_private: bool

    @property
    def own_network(self) -> bool:
        """A network namespace of its own (created for this container)."""
        return self.network_disabled or self.network in ("private", "none")


def _container_ref(mode: str, field: str, what: str) -> str:
    ref = mode[len(_CONTAINER):]
    if not ref:
        raise InvalidArgument(f"HostConfig.{field}: invalid {what} mode: {mode}")
    return ref


def parse_modes(host_config: Mapping[str, Any], *, network_disabled: bool,
                default_cgroupns: str) -> Modes:
    """Read and check the modes of ``host_config``."""
    net = get_str(host_config, "NetworkMode")
    net_ref = ""
    if net.startswith(_CONTAINER):
        net_ref, network = _container_ref(net, "NetworkMode", "network"), "container"
    elif net in ("host", "none"):
        network = net
    else:  # "", "default", "bridge" or a user-defined network
        network = "private"

    ipc = get_str(host_config, "IpcMode") or "private"
    ipc_ref = ""
    if ipc.startswith(_CONTAINER):
        ipc_ref, ipc = _container_ref(ipc, "IpcMode", "IPC"), "container"
    elif ipc not in ("private", "shareable", "none", "host"):
        raise InvalidArgument(f"HostConfig.IpcMode: invalid IPC mode: {ipc}")

    pid = get_str(host_config, "PidMode") or "private"
    pid_ref = ""
    if pid.startswith(_CONTAINER):
        pid_ref, pid = _container_ref(pid, "PidMode", "PID"), "container"
    elif pid not in ("private", "host"):
        raise InvalidArgument(f"HostConfig.PidMode: invalid PID mode: {pid}")

    uts = get_str(host_config, "UTSMode")
    if uts not in ("", "host"):
        raise InvalidArgument(f"HostConfig.UTSMode: invalid UTS mode: {uts}")
    userns = get_str(host_config, "UsernsMode")
    if userns not in ("", "host"):
        raise InvalidArgument(
            f"HostConfig.UsernsMode: {userns!r}: user namespace remapping is not supported"
        )
    cgroupns = get_str(host_config, "CgroupnsMode") or default_cgroupns
    if cgroupns not in ("private", "host"):
        raise InvalidArgument(f"HostConfig.CgroupnsMode: invalid cgroup namespace mode: {cgroupns}")
    return Modes(network, net_ref, network_disabled, ipc, ipc_ref, pid, pid_ref,
                 uts == "host", cgroupns == "private")


def namespaces(modes: Modes, host: Host) -> list[dict[str, str]]:
    """``linux.namespaces`` for ``modes``, in Docker's order; joined ones with their path."""
    result: list[dict[str, str]] = []
    for kind in defaults.DEFAULT_NAMESPACES:
        if kind == "network" and not modes.network_disabled:
            if modes.network == "host":
                continue
            if modes.network == "container":  # the engine points it at the namespace it binds at start
                result.append({"type": "network"})
                continue
        elif kind == "uts" and modes.uts_host:
            continue
        elif kind == "pid" and modes.pid != "private":
            if modes.pid == "container":
                result.append({"type": "pid", "path": host.namespace_path("pid", modes.pid_ref)})
            continue
        elif kind == "ipc" and modes.ipc in ("host", "container"):
            if modes.ipc == "container":
                result.append({"type": "ipc", "path": host.namespace_path("ipc", modes.ipc_ref)})
            continue
        result.append({"type": kind})
    if modes.cgroupns_private:
        result.append({"type": "cgroup"})
    return result


def _check_sysctl(name: str, modes: Modes) -> None:
    what = f"HostConfig.Sysctls: sysctl {name!r}"
    if name in IPC_SYSCTLS or name.startswith("fs.mqueue."):
        if modes.ipc == "host":
            raise InvalidArgument(f"{what} is not allowed in the host's IPC namespace")
    elif name.startswith("net."):
        if modes.network == "host" and not modes.network_disabled:
            raise InvalidArgument(f"{what} is not allowed in the host's network namespace")
    elif name == "kernel.domainname":
        if modes.uts_host:
            raise InvalidArgument(f"{what} is not allowed in the host's UTS namespace")
    else:
        raise InvalidArgument(f"{what} is not namespaced: it cannot be set for a container")


def sysctls(host_config: Mapping[str, Any], modes: Modes, domainname: str,
            host: Host) -> dict[str, str]:
    """``linux.sysctl``: Docker's network defaults, the domain name, then ``Sysctls``."""
    result: dict[str, str] = {}
    if modes.own_network:
        for name, value in PRIVATE_NETWORK_SYSCTLS:
            if host.sysctl_exists(name):
                result[name] = value
    if domainname:
        if modes.uts_host:
            raise InvalidArgument("Config.Domainname: conflicting options: domainname and the UTS mode")
        result["kernel.domainname"] = domainname
    for name, value in get_str_map(host_config, "Sysctls").items():
        _check_sysctl(name, modes)
        result[name] = value
    return result
