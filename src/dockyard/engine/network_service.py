"""The network service: Docker's networks (``bridge``, ``host``, ``none`` and user-defined
bridge networks), their addresses and their endpoints.

- Start-up (:meth:`NetworkService.load`): the networks of ``<data-root>/networks/``; the
  predefined ones are made when missing: ``none`` (driver ``null``), ``host`` (driver
  ``host``) and, unless the daemon's ``bridge`` is ``none``, ``bridge`` on the interface
  named by ``bridge`` (``dockyard0``) with the subnet of ``bip`` or the first default pool
  subnet that collides with no host route and no other network.
- ``create``/``remove``/``prune``/``find``/``select``: the API's work, with dockerd's
  messages (``network with name x already exists``, ``x is a pre-defined network and
  cannot be removed``, ``network x not found``...).
- Endpoints: :meth:`attach` gives a container an address on a network (and asks the driver
  to wire it), :meth:`detach` takes it back; a container has endpoints only while it runs,
  as with dockerd, so a network is "in use" while a running container is on it.

The driver (:mod:`.network_bridge`) does the kernel's side; tests give a fake one. Its work
blocks (netlink), so the engine calls the service from threads: the public methods hold
``lock``.
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, Protocol, TypeVar

from dockyard.engine.container_model import now_time, parse_time
from dockyard.engine.events import EventHub
from dockyard.engine.filters import Filters
from dockyard.engine.network_ipam import IPv4Network, Pool, choose_subnet, parse_bip, pool_from_request
from dockyard.engine.network_model import Endpoint, Network, NetworkStore
from dockyard.errors import AlreadyExists, InvalidArgument, NotFound, PermissionDenied

if TYPE_CHECKING:
    from dockyard.engine.network_dns import EmbeddedDns
    from dockyard.engine.network_firewall import Firewall

log = logging.getLogger("dockyard.engine.networks")

LIST_FILTERS = ("dangling", "driver", "id", "label", "name", "scope", "type")
PRUNE_FILTERS = ("label", "label!", "until")
DRIVERS = {"bridge": "bridge", "host": "host", "null": "null"}


class Driver(Protocol):
    """The kernel's side of bridge networks."""

    def create_network(self, network: Network) -> None: ...
    def delete_network(self, network: Network) -> None: ...
    def attach(self, network: Network, endpoint: Endpoint, netns_path: str, first: bool) -> None: ...
    def detach(self, network: Network, endpoint: Endpoint) -> None: ...
    def create_netns(self, path: str) -> None: ...
    def remove_netns(self, path: str) -> None: ...


class NoDriver:
    """A driver that wires nothing (unit tests of the API; a daemon without networking)."""

    def create_network(self, network: Network) -> None:
        pass

    def delete_network(self, network: Network) -> None:
        pass

    def attach(self, network: Network, endpoint: Endpoint, netns_path: str, first: bool) -> None:
        pass

    def detach(self, network: Network, endpoint: Endpoint) -> None:
        pass

    def create_netns(self, path: str) -> None:
        pass

    def remove_netns(self, path: str) -> None:
        pass


def _new_mac(address: str = "") -> str:
    """dockerd's MAC for an endpoint: ``02:42`` and the four bytes of its IPv4 address
    (random bytes without one)."""
    tail = ipaddress.IPv4Address(address).packed if address else secrets.token_bytes(4)
    return "02:42:" + ":".join(f"{b:02x}" for b in tail)


def valid_mac(text: str) -> bool:
    """A unicast-or-not 48-bit MAC in the colon form Docker takes (``02:42:ac:11:00:02``)."""
    parts = text.split(":")
    return len(parts) == 6 and all(len(p) == 2 and all(c in "0123456789abcdefABCDEF" for c in p) for p in parts)


P = ParamSpec("P")
R = TypeVar("R")


def _locked(method: Callable[Concatenate[NetworkService, P], R]) -> Callable[Concatenate[NetworkService, P], R]:
    def call(self: NetworkService, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with self.lock:
            return method(self, *args, **kwargs)
    call.__doc__ = method.__doc__
    return call


class NetworkService:
    def __init__(self, data_root: str, hub: EventHub | None, driver: Driver, *, bridge: str = "dockyard0",
                 bip: str = "", pools: list[IPv4Network] | None = None,
                 routes: Callable[[], list[IPv4Network]] | None = None) -> None:
        self.store = NetworkStore(data_root)
        self.hub = hub
        self.driver = driver
        self.bridge_name = bridge
        self.bip = bip
        self.pools = pools
        self.routes = routes
        self.networks: dict[str, Network] = {}
        self.wanted: dict[str, dict[str, Any]] = {}  # container ID -> network name -> endpoint settings
        self.lock = threading.RLock()  # the API runs the service's work in threads (netlink blocks)
        self.dns: EmbeddedDns | None = None  # the embedded DNS server (network_dns), set by the engine
        self.firewall: Firewall | None = None  # the nft table and published ports (network_firewall)

    # -- start-up ------------------------------------------------------------------------------

    @_locked
    def load(self) -> None:
        for net in self.store.load():
            self.networks[net.id] = net
        self.wanted = self.store.load_wanted()
        for name, driver in (("none", "null"), ("host", "host")):
            if self._by_name(name) is None:
                self._add(Network(secrets.token_hex(32), name, driver, now_time()))
        if self.bridge_name != "none":
            self._default_bridge()
        for net in self.networks.values():
            if net.driver == "bridge":
                self.driver.create_network(net)
        self._refresh_firewall()

    def _default_bridge(self) -> None:
        current = self._by_name("bridge")
        if self.bip:
            subnet, gateway = parse_bip(self.bip)
            pool = Pool.of(subnet, gateway)
        elif current is not None and current.pool is not None and current.bridge == self.bridge_name:
            return
        else:
            pool = Pool.of(choose_subnet(self._taken(exclude="bridge", with_routes=True), self.pools))
        if current is not None:
            if current.pool is not None and current.pool.config() == pool.config() \
                    and current.bridge == self.bridge_name:
                return
            self.networks.pop(current.id)
            self.store.remove(current.id)
        options = {"com.docker.network.bridge.default_bridge": "true",
                   "com.docker.network.bridge.enable_icc": "true",
                   "com.docker.network.bridge.enable_ip_masquerade": "true",
                   "com.docker.network.bridge.host_binding_ipv4": "0.0.0.0",
                   "com.docker.network.bridge.name": self.bridge_name,
                   "com.docker.network.driver.mtu": "1500"}
        self._add(Network(secrets.token_hex(32), "bridge", "bridge", now_time(), pool, options=options,
                          bridge=self.bridge_name))

    def _refresh_firewall(self) -> None:
        if self.firewall is not None:
            self.firewall.refresh(self.networks.values())

    def _add(self, net: Network) -> None:
        self.networks[net.id] = net
        self.store.save(net)

    def _taken(self, exclude: str = "", with_routes: bool = False) -> list[IPv4Network]:
        taken = [n.pool.subnet for n in self.networks.values() if n.pool is not None and n.name != exclude]
        if with_routes and self.routes is not None:
            own = {n.pool.subnet for n in self.networks.values() if n.pool is not None}
            taken += [r for r in self.routes() if r not in own]  # our own bridges' routes are ours
        return taken

    # -- lookups -------------------------------------------------------------------------------

    def _by_name(self, name: str) -> Network | None:
        return next((n for n in self.networks.values() if n.name == name), None)

    @_locked
    def has(self, name: str) -> bool:
        """Whether a network is named ``name``."""
        return self._by_name(name) is not None

    @_locked
    def find(self, ref: str) -> Network:
        """By full ID, then name, then a unique ID prefix (dockerd's order)."""
        if ref in self.networks:
            return self.networks[ref]
        named = self._by_name(ref)
        if named is not None:
            return named
        matches = [n for n in self.networks.values() if ref and n.id.startswith(ref)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise InvalidArgument(f"network {ref} is ambiguous ({len(matches)} matches found based on ID prefix)")
        raise NotFound(f"network {ref} not found")

    @_locked
    def select(self, filters: Filters) -> list[Network]:
        filters.validate(LIST_FILTERS)
        for value in filters.values("type"):
            if value not in ("custom", "builtin"):
                raise InvalidArgument(f"invalid filter: 'type'='{value}'")
        dangling = filters.values("dangling")
        for value in dangling:
            if value not in ("true", "false", "1", "0"):
                raise InvalidArgument(f"invalid filter 'dangling={value}'")
        out = []
        for n in self.networks.values():
            if not (filters.exact_match("driver", n.driver) and filters.exact_match("scope", "local")
                    and filters.match_kv_list("label", n.labels)):
                continue
            if filters.values("id") and not any(v in n.id for v in filters.values("id")):
                continue
            if filters.values("name") and not any(v in n.name for v in filters.values("name")):
                continue
            kind = "builtin" if n.predefined else "custom"
            if filters.values("type") and kind not in filters.values("type"):
                continue
            if dangling:
                want = bool(dangling & {"true", "1"})
                if want != (not n.predefined and not n.endpoints):
                    continue
            out.append(n)
        return sorted(out, key=lambda n: n.name)

    # -- create, remove, prune ---------------------------------------------------------------

    @_locked
    def create(self, body: Mapping[str, Any]) -> dict[str, Any]:
        if not isinstance(body, Mapping):
            raise InvalidArgument("invalid JSON: the body must be an object")
        name = body.get("Name")
        if not isinstance(name, str) or not name:
            raise InvalidArgument("network name must not be empty")
        driver = body.get("Driver") or "bridge"
        if name in ("host", "none") and self._by_name(name) is not None:
            raise PermissionDenied(f"operation is not permitted on predefined {name} network ")
        if self._by_name(name) is not None:
            raise AlreadyExists(f"network with name {name} already exists")
        if driver in ("host", "null"):
            raise PermissionDenied(f"only one instance of \"{driver}\" network is allowed")
        if driver != "bridge":
            raise NotFound(f"plugin \"{driver}\" not found")
        if body.get("EnableIPv6"):
            raise InvalidArgument("IPv6 networks are not supported")
        if body.get("ConfigOnly") or (body.get("ConfigFrom") and (body.get("ConfigFrom") or {}).get("Network")):
            raise InvalidArgument("config-only networks are not supported")
        if body.get("Ingress"):
            raise PermissionDenied("ingress networks are swarm networks: not supported")
        pool = pool_from_request(body.get("IPAM"), self._taken(with_routes=not (body.get("IPAM") or {})
                                                                .get("Config")), self.pools)
        nid = secrets.token_hex(32)
        options = {str(k): str(v) for k, v in (body.get("Options") or {}).items()}
        bridge = options.get("com.docker.network.bridge.name") or f"br-{nid[:12]}"
        if len(bridge) > 15:
            raise InvalidArgument(f"bridge name {bridge!r}: longer than 15 characters")
        if any(n.bridge == bridge for n in self.networks.values()):
            raise AlreadyExists(f"bridge name {bridge} is already used by another network")
        net = Network(nid, name, "bridge", now_time(), pool, internal=bool(body.get("Internal")),
                      attachable=bool(body.get("Attachable")), options=options,
                      labels={str(k): str(v) for k, v in (body.get("Labels") or {}).items()}, bridge=bridge)
        self.driver.create_network(net)
        self._add(net)
        self._refresh_firewall()
        self._publish(net, "create", type="bridge")
        return {"Id": nid, "Warning": ""}

    @_locked
    def remove(self, ref: str) -> None:
        net = self.find(ref)
        if net.predefined:
            raise PermissionDenied(f"{net.name} is a pre-defined network and cannot be removed")
        if net.endpoints:
            raise PermissionDenied(f"error while removing network: network {net.name} id {net.id} has active "
                                   "endpoints")
        self.driver.delete_network(net)
        self.networks.pop(net.id, None)
        self.store.remove(net.id)
        self._refresh_firewall()
        self._publish(net, "destroy", type="bridge")

    @_locked
    def prune(self, filters: Filters) -> dict[str, Any]:
        filters.validate(PRUNE_FILTERS)
        until = None
        for value in filters.values("until"):
            until = _until(value)
        deleted = []
        for net in sorted(self.networks.values(), key=lambda n: n.name):
            if net.predefined or net.endpoints:
                continue
            if until is not None and parse_time(net.created) >= until:
                continue
            if not filters.match_kv_list("label", net.labels):
                continue
            if filters.values("label!") and _any_label(filters.values("label!"), net.labels):
                continue
            self.remove(net.id)
            deleted.append(net.name)
        return {"NetworksDeleted": deleted or None}

    # -- endpoints -----------------------------------------------------------------------------

    @_locked
    def attach(self, net: Network, container_id: str, name: str, netns_path: str, ip: str = "",
               aliases: Iterable[str] = (), first: bool = True, mac: str = "") -> Endpoint:
        """Give the container an endpoint on ``net`` (an address on bridge networks; ``mac``,
        else dockerd's MAC made of the address) and wire it."""
        if container_id in net.endpoints:
            raise PermissionDenied(f"endpoint with name {name} already exists in network {net.name}")
        address = ""
        if net.pool is not None:
            address = str(net.pool.allocate(ip))
        elif ip:
            raise InvalidArgument(f"user specified IP address is supported only on user defined networks "
                                  f"({net.name})")
        endpoint = Endpoint(container_id, name, secrets.token_hex(32), address,
                            (mac.lower() or _new_mac(address)) if net.driver == "bridge" else "", list(aliases))
        if net.driver == "bridge":
            try:
                self.driver.attach(net, endpoint, netns_path, first)
            except BaseException:
                if net.pool is not None:
                    net.pool.release(ipaddress.IPv4Address(address))
                raise
        net.endpoints[container_id] = endpoint
        self.store.save(net)
        self._publish(net, "connect", container=container_id, type=net.driver)
        return endpoint

    @_locked
    def detach(self, net: Network, container_id: str) -> None:
        """Unwire and forget the container's endpoint on ``net`` (nothing if it has none)."""
        endpoint = net.endpoints.pop(container_id, None)
        if endpoint is None:
            return
        try:
            if net.driver == "bridge":
                self.driver.detach(net, endpoint)
        finally:
            if net.pool is not None and endpoint.address:
                net.pool.release(ipaddress.IPv4Address(endpoint.address))
            self.store.save(net)
            self._publish(net, "disconnect", container=container_id, type=net.driver)

    @_locked
    def rename_endpoints(self, container_id: str, name: str) -> bool:
        """``docker rename``: the container's endpoints carry its new name (True: it has any)."""
        found = False
        for net in self.networks.values():
            endpoint = net.endpoints.get(container_id)
            if endpoint is not None and endpoint.name != name:
                endpoint.name = name
                self.store.save(net)
                found = True
        return found

    def detach_all(self, container_id: str) -> None:
        for net in list(self.networks.values()):
            if container_id in net.endpoints:
                try:
                    self.detach(net, container_id)
                except Exception:
                    log.exception("network %s: detaching container %s", net.name, container_id)

    @_locked
    def want(self, container_id: str, name: str, settings: Mapping[str, Any] | None) -> None:
        """Record (``settings``) or drop (None) the container's wish to be on network ``name``."""
        wanted = dict(self.wanted.get(container_id) or {})
        if settings is None:
            wanted.pop(name, None)
        else:
            ipam = settings.get("IPAMConfig") or {}
            wanted[name] = {"IPAMConfig": {"IPv4Address": str(ipam.get("IPv4Address") or "")},
                            "Aliases": [str(a) for a in settings.get("Aliases") or []]}
            if settings.get("Links"):  # legacy links: DNS aliases of its own there (container_links)
                wanted[name]["Links"] = [str(link) for link in settings["Links"]]
            if settings.get("MacAddress"):  # --mac-address (API 1.44+: per endpoint)
                wanted[name]["MacAddress"] = str(settings["MacAddress"])
        if wanted:
            self.wanted[container_id] = wanted
        else:
            self.wanted.pop(container_id, None)
        self.store.save_wanted(container_id, wanted)

    @_locked
    def forget_container(self, container_id: str) -> None:
        if self.wanted.pop(container_id, None) is not None:
            self.store.save_wanted(container_id, {})

    def wanted_by(self, container_id: str) -> dict[str, Any]:
        return dict(self.wanted.get(container_id) or {})

    def endpoints_of(self, container_id: str) -> list[tuple[Network, Endpoint]]:
        return [(n, n.endpoints[container_id]) for n in self.networks.values() if container_id in n.endpoints]

    @_locked
    def forget_others(self, running: set[str]) -> None:
        """Drop the endpoints of containers that no longer run (after a restart of the engine)."""
        for net in list(self.networks.values()):
            for cid in [c for c in net.endpoints if c not in running]:
                self.detach(net, cid)

    def _publish(self, net: Network, action: str, **attrs: str) -> None:
        if self.hub is not None:
            self.hub.publish("network", action, net.id, {"name": net.name, **attrs})


def _until(value: str) -> int:
    from dockyard.engine.event_filters import time_range

    try:
        return time_range(None, value)[1] or 0
    except Exception:
        raise InvalidArgument(f"invalid filter 'until={value}'") from None


def _any_label(values: Iterable[str], labels: Mapping[str, str]) -> bool:
    for value in values:
        k, has_value, v = value.partition("=")
        if k in labels and (not has_value or labels[k] == v):
            return True
    return False
