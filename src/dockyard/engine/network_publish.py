"""Published ports of running containers: host ports chosen and held, rules refreshed.

- :class:`PortMap` keeps, per container, the ports it publishes (``Mapped``: the binding,
  the host port, the container's address) and one bound, non-listening socket per host
  port, so that no other process takes the port while the kernel's NAT sends its traffic
  to the container (no userland proxy). Each container's list is saved in
  ``<data-root>/networks/ports/<id>.json``: after a restart of the engine (live-restore)
  the running containers' ports are held again and their rules rebuilt
  (:meth:`PortMap.restore`).
- :func:`publish` (at start, once the container has its endpoint on the network of its
  mode): the bindings of ``-p``/``-P`` (``network_ports.bindings``) get their host ports
  (``network_ports.choose_host_port``: a fixed one, or the first free one of a range or
  of the ephemeral range, ports of other containers excluded), then the firewall's table
  is rebuilt. :func:`release` (at stop): the sockets are closed and the rules go.
- :func:`ports_summary`: the ``Ports`` list of ``GET /containers/json``.

Errors are dockerd's: ``Bind for 0.0.0.0:8080 failed: port is already allocated`` (another
container has it), ``driver failed programming external connectivity on endpoint NAME
(ID): failed to bind host port for 0.0.0.0:8080:10.199.0.2:80/tcp: address already in
use`` (another process has it).
"""

from __future__ import annotations

import dataclasses
import errno
import ipaddress
import json
import logging
import os
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dockyard.engine.network_ports import Binding, bindings, choose_host_port, parse_port_key, ports_view
from dockyard.engine.network_rules import PortRule
from dockyard.errors import FailedPrecondition, InvalidArgument

if TYPE_CHECKING:
    from dockyard.engine.network_model import Endpoint, Network
    from dockyard.engine.network_service import NetworkService

log = logging.getLogger("dockyard.engine.networks")
ANY = "0.0.0.0"
HOST_BINDING = "com.docker.network.bridge.host_binding_ipv4"


@dataclass(frozen=True)
class Mapped:
    """One published port of a running container."""

    binding: Binding  # its host_ip is concrete ("0.0.0.0" for any address)
    host_port: int
    address: str  # the container's address on the network of its mode

    def rule(self) -> PortRule:
        return PortRule(self.binding.proto, self.binding.host_ip, self.host_port, self.address,
                        self.binding.container_port)

    def to_doc(self) -> dict[str, Any]:
        b = self.binding
        return {"Proto": b.proto, "ContainerPort": b.container_port, "HostIp": b.host_ip, "HostStart": b.host_start,
                "HostEnd": b.host_end, "HostPort": self.host_port, "Address": self.address}

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Mapped:
        b = Binding(str(doc["Proto"]), int(doc["ContainerPort"]), str(doc["HostIp"]), int(doc["HostStart"]),
                    int(doc["HostEnd"]))
        return cls(b, int(doc["HostPort"]), str(doc["Address"]))


def reserve(proto: str, host_ip: str, port: int) -> socket.socket:
    """A socket bound to ``host_ip:port`` (not listening): the port is ours (OSError if not)."""
    kind = socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM
    sock = socket.socket(socket.AF_INET, kind | socket.SOCK_CLOEXEC,
                         socket.IPPROTO_SCTP if proto == "sctp" else 0)
    try:
        sock.bind((host_ip or ANY, port))
    except BaseException:
        sock.close()
        raise
    return sock


class PortMap:
    """The published ports of the running containers and the sockets that hold them."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.mapped: dict[str, list[Mapped]] = {}
        self.sockets: dict[str, list[socket.socket]] = {}
        if os.path.isdir(directory):
            for name in os.listdir(directory):
                if name.endswith(".json"):
                    try:
                        with open(os.path.join(directory, name)) as f:
                            self.mapped[name[:-5]] = [Mapped.from_doc(d) for d in json.load(f)]
                    except (OSError, ValueError, KeyError, TypeError) as exc:
                        log.warning("published ports %s: unreadable, ignored: %s", name, exc)

    def rules(self) -> list[PortRule]:
        return [m.rule() for each in self.mapped.values() for m in each]

    def of(self, container_id: str) -> list[Mapped]:
        return list(self.mapped.get(container_id) or [])

    def taken(self, other_than: str = "") -> set[tuple[str, str, int]]:
        return {(m.binding.proto, m.binding.host_ip, m.host_port) for cid, each in self.mapped.items()
                if cid != other_than for m in each}

    def add(self, container_id: str, mapped: list[Mapped], sockets: list[socket.socket]) -> None:
        self.release(container_id)
        self.mapped[container_id] = mapped
        self.sockets[container_id] = sockets
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        path = os.path.join(self.directory, container_id + ".json")
        with open(path + ".tmp", "w") as f:
            json.dump([m.to_doc() for m in mapped], f)
        os.replace(path + ".tmp", path)

    def release(self, container_id: str) -> bool:
        """Forget the container's ports and close their sockets (whether it had any)."""
        for sock in self.sockets.pop(container_id, []):
            sock.close()
        had = self.mapped.pop(container_id, None) is not None
        try:
            os.unlink(os.path.join(self.directory, container_id + ".json"))
        except FileNotFoundError:
            pass
        return had

    def restore(self, running: Iterable[str]) -> None:
        """After a restart of the engine: the ports of containers that still run are held
        again, the others forgotten."""
        keep = set(running)
        for cid in list(self.mapped):
            if cid not in keep:
                self.release(cid)
            elif cid not in self.sockets:
                held = []
                for m in self.mapped[cid]:
                    try:
                        held.append(reserve(m.binding.proto, m.binding.host_ip, m.host_port))
                    except OSError as exc:
                        log.warning("container %s: cannot hold host port %s:%d/%s again: %s", cid,
                                    m.binding.host_ip, m.host_port, m.binding.proto, exc.strerror)
                self.sockets[cid] = held

    def close(self) -> None:
        for cid in list(self.sockets):
            for sock in self.sockets.pop(cid):
                sock.close()


def _host_ip(b: Binding, default: str) -> str:
    ip = b.host_ip or default or ANY
    try:
        if ipaddress.ip_address(ip).version != 4:
            raise InvalidArgument(f"publishing on {ip}: IPv6 host addresses are not supported (IPv4 only)")
    except ValueError:
        raise InvalidArgument(f"invalid host IP address {ip!r} for {b.container_port}/{b.proto}") from None
    return ip


def _choose(b: Binding, taken: set[tuple[str, str, int]], endpoint: Endpoint) -> tuple[int, socket.socket]:
    """The host port of ``b`` and the socket now holding it."""
    if b.host_start and b.host_start == b.host_end and (b.proto, b.host_ip, b.host_start) in taken:
        raise FailedPrecondition(f"Bind for {b.host_ip}:{b.host_start} failed: port is already allocated")
    held: dict[int, socket.socket] = {}

    def is_free(proto: str, host_ip: str, port: int) -> bool:
        try:
            held[port] = reserve(proto, host_ip, port)
        except OSError:
            return False
        return True

    try:
        port = choose_host_port(b, is_free, taken)
        sock = held.pop(port, None) or reserve(b.proto, b.host_ip, port)
    except OSError as exc:
        reason = os.strerror(exc.errno or errno.EIO).lower()
        raise FailedPrecondition(
            f"driver failed programming external connectivity on endpoint {endpoint.name} "
            f"({endpoint.endpoint_id}): failed to bind host port for {b.host_ip}:{b.host_start}:"
            f"{endpoint.address}:{b.container_port}/{b.proto}: {reason}") from None
    finally:
        for other in held.values():
            other.close()
    return port, sock


def _hairpin(endpoint: Endpoint) -> None:
    """The container may reach itself through a published port (bridged back out its port)."""
    from dockyard.engine.network_bridge import veth_name

    try:
        with open(f"/sys/class/net/{veth_name(endpoint)}/brport/hairpin_mode", "w") as f:
            f.write("1")
    except OSError as exc:
        log.warning("%s: hairpin mode: %s", veth_name(endpoint), exc.strerror)


def publish(service: NetworkService, container_id: str, config: Mapping[str, Any], hc: Mapping[str, Any],
            net: Network, endpoint: Endpoint) -> list[Mapped]:
    """Publish the container's ports on ``endpoint`` (its address on ``net``) and rebuild
    the firewall's table; nothing without bindings or a firewall."""
    wanted = bindings(config.get("ExposedPorts"), hc.get("PortBindings"), bool(hc.get("PublishAllPorts")))
    firewall = service.firewall
    if not wanted or firewall is None or not endpoint.address:
        return []
    ports: PortMap = firewall.ports
    with service.lock:
        taken = ports.taken(other_than=container_id)
        mapped: list[Mapped] = []
        sockets: list[socket.socket] = []
        try:
            for b in wanted:
                b = dataclasses.replace(b, host_ip=_host_ip(b, net.options.get(HOST_BINDING, "")))
                port, sock = _choose(b, taken, endpoint)
                sockets.append(sock)
                mapped.append(Mapped(b, port, endpoint.address))
                taken.add((b.proto, b.host_ip, port))
        except BaseException:
            for sock in sockets:
                sock.close()
            raise
        ports.add(container_id, mapped, sockets)
        try:
            firewall.apply(service.networks.values())
        except BaseException:
            ports.release(container_id)
            raise
    _hairpin(endpoint)
    return mapped


def release(service: NetworkService, container_id: str) -> None:
    """The container stopped: its host ports are free again and its rules gone."""
    firewall = service.firewall
    if firewall is None:
        return
    with service.lock:
        if firewall.ports.release(container_id):
            firewall.refresh(service.networks.values())


def ports_summary(mapped: Iterable[Mapped], exposed: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """``GET /containers/json``'s ``Ports``: published ports, then exposed ones without a binding."""
    out: list[dict[str, Any]] = []
    seen = set()
    for m in mapped:
        seen.add((m.binding.container_port, m.binding.proto))
        out.append({"IP": m.binding.host_ip, "PrivatePort": m.binding.container_port, "PublicPort": m.host_port,
                    "Type": m.binding.proto})
    for key in exposed or {}:
        try:
            port, proto = parse_port_key(key)
        except InvalidArgument:
            continue
        if (port, proto) not in seen:
            out.append({"PrivatePort": port, "Type": proto})
    return out


def restore(service: NetworkService, running: Iterable[str]) -> None:
    """At start-up: the running containers' ports held again, the others' dropped, the
    table rebuilt."""
    firewall = service.firewall
    if firewall is None:
        return
    with service.lock:
        firewall.ports.restore(running)
        firewall.refresh(service.networks.values())


def ports_view_of(service: NetworkService, container_id: str, exposed: Mapping[str, Any] | None) -> dict[str, Any]:
    """Inspect's ``NetworkSettings.Ports`` of a running container."""
    firewall = service.firewall
    mapped = firewall.ports.of(container_id) if firewall is not None else []
    return ports_view(exposed, [(m.binding, m.host_port) for m in mapped])


def summary_of(service: NetworkService | None, container_id: str, running: bool,
               exposed: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """``GET /containers/json``'s ``Ports`` of a container (none unless it runs with an
    endpoint of its own: host, none and container: modes show none, as with dockerd)."""
    if not running or service is None or not service.endpoints_of(container_id):
        return []
    firewall = service.firewall
    return ports_summary(firewall.ports.of(container_id) if firewall is not None else [], exposed)
