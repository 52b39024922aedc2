"""The ``container:<name|id>`` network mode (and the mode checks dockerd makes at create), Docker's way.

- :func:`check_create`: before a create, dockerd's refusals of options that make no sense
  with a shared network namespace (``conflicting options: hostname and the network mode``,
  ``... dns ...``, ``... custom host-to-IP mapping ...``, ``... port publishing ...``,
  ``... port exposing ...``, links (also with ``host``), ``--mac-address`` also with ``host``) and of an empty
  ``container:``; :func:`check_connect`: ``docker network connect`` refused for
  ``container:``, ``host`` and ``none`` containers with dockerd's messages.
- :func:`resolve`: at create, the container named is looked up; when it exists the mode is
  stored as ``container:<full ID>`` (as dockerd stores it) and the new container shares its
  ``/etc/hosts``, ``/etc/resolv.conf`` and ``/etc/hostname`` (bind mounts of the other's
  files) and takes its hostname and domain name. An unknown name is kept as given: dockerd
  creates the container and refuses it at start.
- :func:`join`: at start, the container joined must exist (``No such container: x``) and
  run (``cannot join network of a non running container: x``); its network namespace (its
  bound ``<exec-root>/netns/<id>`` when it has one — bridge networks, or a joined one —
  otherwise ``/proc/<pid>/ns/net``, as dockerd takes it) is bind-mounted on the joining
  container's own ``<exec-root>/netns/<id>``, the path its spec names. The bind is removed
  with the container's network after it stops (:func:`.network_containers.teardown`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dockyard.errors import FailedPrecondition, InvalidArgument

if TYPE_CHECKING:
    from dockyard.engine.containers import ContainerService, Live

CONTAINER = "container:"
MS_BIND = 0x1000
FILES = ("resolv.conf", "hostname", "hosts")


def target_ref(hc: Mapping[str, Any]) -> str:
    """The container a ``container:<ref>`` mode names ("" for other modes)."""
    mode = str(hc.get("NetworkMode") or "")
    return mode[len(CONTAINER):] if mode.startswith(CONTAINER) else ""


def joins(hc: Mapping[str, Any], config: Mapping[str, Any]) -> bool:
    """Whether the container joins another's network namespace."""
    return bool(target_ref(hc)) and not config.get("NetworkDisabled")


def _conflict(what: str) -> InvalidArgument:
    return InvalidArgument(f"conflicting options: {what}")


def check_create(config: Mapping[str, Any], hc: Mapping[str, Any], networking: Any) -> None:
    """dockerd's checks of the network mode against the other options (the request's
    ``Config``, before the image's is merged in)."""
    mode = str(hc.get("NetworkMode") or "")
    joined = mode.startswith(CONTAINER)
    if joined and not target_ref(hc):
        raise InvalidArgument("Invalid network mode: invalid container format container:<name|id>")
    endpoints = (networking or {}).get("EndpointsConfig") if isinstance(networking, Mapping) else None
    settings = [s for s in (endpoints or {}).values() if isinstance(s, Mapping)] \
        if isinstance(endpoints, Mapping) else []
    if joined:
        if config.get("Hostname"):
            raise _conflict("hostname and the network mode")
        if hc.get("Links"):
            raise _conflict("container type network can't be used with links. This would result in undefined "
                            "behavior")
        if hc.get("Dns"):
            raise _conflict("dns and the network mode")
        if hc.get("ExtraHosts"):
            raise _conflict("custom host-to-IP mapping and the network mode")
    if mode == "host" and hc.get("Links"):
        raise _conflict("host type networking can't be used with links. This would result in undefined behavior")
    if (joined or mode == "host") and (config.get("MacAddress") or any(s.get("MacAddress") for s in settings)):
        raise _conflict("mac-address and the network mode")
    if joined:
        if hc.get("PortBindings") or hc.get("PublishAllPorts"):
            raise _conflict("port publishing and the container type network mode")
        if config.get("ExposedPorts"):
            raise _conflict("port exposing and the container type network mode")
        if any(s.get("Aliases") for s in settings):
            raise InvalidArgument("network-scoped alias is supported only for containers in user defined networks")


def check_connect(hc: Mapping[str, Any], config: Mapping[str, Any]) -> None:
    """``docker network connect``: dockerd's refusals for a container that shares a network
    namespace (``container:``, ``host``) or has none (``none``)."""
    if config.get("NetworkDisabled"):
        return
    mode = str(hc.get("NetworkMode") or "")
    if mode.startswith(CONTAINER) or mode == "host":
        raise InvalidArgument("container sharing network namespace with another container or host cannot be "
                              "connected to any other network")
    if mode == "none":
        raise InvalidArgument("container cannot be connected to multiple networks with one of the networks in "
                              "private (none) mode")


@dataclass(frozen=True)
class Target:
    """The container joined, as found at create."""

    id: str
    hostname: str
    domainname: str
    files_dir: str  # where its hosts, hostname and resolv.conf are

    def path(self, name: str) -> str:
        return os.path.join(self.files_dir, name)

    def mounts(self) -> list[dict[str, Any]]:
        """Bind mounts of its files (as :func:`.container_files.write_network_files` gives them)."""
        return [{"destination": f"/etc/{name}", "type": "bind", "source": self.path(name),
                 "options": ["rbind", "rprivate"]} for name in FILES]


def resolve(containers: ContainerService, hc: dict[str, Any], config: dict[str, Any]) -> Target | None:
    """At create (``hc``: the HostConfig to store, ``config``: the merged Config): the
    container joined, when it exists; ``NetworkMode`` then names it by full ID and
    ``config`` takes its domain name (its hostname is the spec's, :attr:`Target.hostname`)."""
    from dockyard.errors import NotFound

    ref = target_ref(hc)
    if not ref or config.get("NetworkDisabled"):
        return None
    config["Hostname"] = ""  # not the new container's ID: the other's name (or the spec's default)
    try:
        other = containers.get(ref).container
    except NotFound:
        return None  # dockerd refuses it at start only
    hc["NetworkMode"] = CONTAINER + other.id
    config["Domainname"] = str(other.config.get("Domainname") or "")
    return Target(other.id, str(other.config.get("Hostname") or ""), config["Domainname"],
                  os.path.dirname(other.hosts_path))


def _bind(source: str, target: str) -> None:
    from dockyard.runtime.syscalls import LinuxSyscalls

    os.makedirs(os.path.dirname(target), mode=0o711, exist_ok=True)
    syscalls = LinuxSyscalls()
    try:
        syscalls.umount2(target, 2)  # MNT_DETACH: what a previous run left
    except OSError:
        pass
    fd = os.open(target, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o444)
    os.close(fd)
    syscalls.mount(source, target, None, MS_BIND, None)


def join(containers: ContainerService, live: Live, netns_dir: str) -> None:
    """At start: bind the joined container's network namespace on ``<netns_dir>/<id>``."""
    c = live.container
    ref = target_ref(c.host_config)
    if not ref or c.config.get("NetworkDisabled"):
        return
    other = containers.get(ref).container  # NotFound: "No such container: <ref>"
    if other.id == c.id:
        raise InvalidArgument("cannot join own network")
    if other.state.restarting:
        raise FailedPrecondition(f"Container {other.id} is restarting, wait until the container is running")
    if not other.state.running or not other.state.pid:
        raise FailedPrecondition(f"cannot join network of a non running container: {ref}")
    bound = os.path.join(netns_dir, other.id)
    source = bound if _is_bound(bound) else f"/proc/{other.state.pid}/ns/net"
    _bind(source, os.path.join(netns_dir, c.id))


def _is_bound(path: str) -> bool:
    """Whether ``path`` is a network namespace file (a bind of nsfs), not an empty file."""
    try:
        return os.stat(path).st_dev != os.stat(os.path.dirname(path)).st_dev
    except OSError:
        return False
