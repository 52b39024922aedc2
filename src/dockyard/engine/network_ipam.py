"""IP address management for bridge networks: subnets from pools, addresses per network.

- Subnets: a network without ``IPAM.Config`` gets the first subnet of the default pools
  (``172.17.0.0/16`` ... ``172.31.0.0/16``, then ``192.168.0.0/20`` ... ``192.168.240.0/20``,
  as dockerd's default address pools) that overlaps neither another network's subnet nor a
  route the host already has (:func:`host_routes` reads them over netlink with pyroute2).
- A network's :class:`Pool`: ``Subnet``, ``Gateway`` (default: the subnet's first address)
  and ``IPRange`` (the part of the subnet containers' addresses come from); addresses are
  handed out lowest first, the gateway, network and broadcast addresses never.

Pure logic apart from :func:`host_routes`; IPv4 only.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dockyard.errors import AlreadyExists, FailedPrecondition, InvalidArgument

IPv4Network = ipaddress.IPv4Network
IPv4Address = ipaddress.IPv4Address


def default_pools() -> list[IPv4Network]:
    """dockerd's default local address pools, split into the subnets a network gets."""
    out = [IPv4Network(f"172.{n}.0.0/16") for n in range(17, 32)]
    out += list(IPv4Network("192.168.0.0/16").subnets(new_prefix=20))
    return out


def pools_of(config: Iterable[tuple[str, int]]) -> list[IPv4Network] | None:
    """The daemon's ``default-address-pools`` (base, size) as subnets; None (no pools given):
    dockerd's defaults."""
    out: list[IPv4Network] = []
    for base_text, size in config:
        base = parse_network(base_text, "default-address-pools base")
        if not base.prefixlen <= size <= 30:
            raise InvalidArgument(f"default-address-pools: size {size} of {base}: must be between "
                                  f"{base.prefixlen} and 30")
        out += list(base.subnets(new_prefix=size))
    return out or None


def host_routes() -> list[IPv4Network]:
    """The destinations of the host's IPv4 routes (all tables but local), default route aside."""
    import socket

    from pyroute2 import IPRoute

    out: list[IPv4Network] = []
    with IPRoute() as ipr:
        for route in ipr.get_routes(family=socket.AF_INET):
            dst = route.get_attr("RTA_DST")
            length = int(route["dst_len"])
            if not dst or length == 0 or route["type"] not in (1,):  # RTN_UNICAST only
                continue
            out.append(IPv4Network(f"{dst}/{length}", strict=False))
    return out


def choose_subnet(taken: Iterable[IPv4Network], pools: Iterable[IPv4Network] | None = None) -> IPv4Network:
    """The first pool subnet that overlaps none of ``taken`` (other networks and host routes)."""
    used = list(taken)
    for candidate in default_pools() if pools is None else pools:
        if not any(candidate.overlaps(other) for other in used):
            return candidate
    raise FailedPrecondition("could not find an available, non-overlapping IPv4 address pool among the defaults "
                             "to assign to the network")


def parse_network(text: str, what: str) -> IPv4Network:
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise InvalidArgument(f"invalid {what}: {text!r}") from None
    if not isinstance(net, IPv4Network):
        raise InvalidArgument(f"{what} {text}: IPv6 networks are not supported")
    return net


def parse_address(text: str, what: str) -> IPv4Address:
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        raise InvalidArgument(f"invalid {what}: {text!r}") from None
    if not isinstance(addr, IPv4Address):
        raise InvalidArgument(f"{what} {text}: IPv6 addresses are not supported")
    return addr


@dataclass
class Pool:
    """The addresses of one network: its subnet, gateway, range and those in use."""

    subnet: IPv4Network
    gateway: IPv4Address
    ip_range: IPv4Network
    used: set[IPv4Address] = field(default_factory=set)

    @classmethod
    def of(cls, subnet: IPv4Network, gateway: IPv4Address | None = None,
           ip_range: IPv4Network | None = None) -> Pool:
        if subnet.prefixlen > 30:
            raise InvalidArgument(f"invalid subnet {subnet}: too small for a network (the prefix must be /30 or less)")
        gw = gateway if gateway is not None else subnet.network_address + 1
        if gw not in subnet:
            raise InvalidArgument(f"invalid gateway {gw}: not in subnet {subnet}")
        rng = ip_range if ip_range is not None else subnet
        if not rng.subnet_of(subnet):
            raise InvalidArgument(f"invalid ip-range {rng}: not in subnet {subnet}")
        return cls(subnet, gw, rng)

    def config(self) -> dict[str, str]:
        """The network's ``IPAM.Config`` entry."""
        doc = {"Subnet": str(self.subnet)}
        if self.ip_range != self.subnet:
            doc["IPRange"] = str(self.ip_range)
        doc["Gateway"] = str(self.gateway)
        return doc

    def _usable(self, addr: IPv4Address) -> bool:
        return (addr != self.gateway and addr != self.subnet.network_address
                and addr != self.subnet.broadcast_address)

    def allocate(self, wanted: str = "") -> IPv4Address:
        """``wanted`` (``--ip``: anywhere in the subnet) or the lowest free address of the range."""
        if wanted:
            addr = parse_address(wanted, "IPv4 address")
            if addr not in self.subnet:
                raise InvalidArgument(f"invalid IPv4 address {addr}: not in subnet {self.subnet}")
            if not self._usable(addr):
                raise InvalidArgument(f"invalid IPv4 address {addr}: reserved in subnet {self.subnet}")
            if addr in self.used:
                raise AlreadyExists(f"Address already in use: {addr}")
            self.used.add(addr)
            return addr
        for addr in self.ip_range:
            if addr not in self.used and self._usable(addr):
                self.used.add(addr)
                return addr
        raise FailedPrecondition(f"no available IPv4 addresses on this network's address pools: {self.ip_range}")

    def reserve(self, addr: IPv4Address) -> None:
        """Mark ``addr`` in use again (an endpoint found at start-up)."""
        self.used.add(addr)

    def release(self, addr: IPv4Address) -> None:
        self.used.discard(addr)


def pool_from_request(ipam: Mapping[str, Any] | None, taken: Iterable[IPv4Network],
                      pools: Iterable[IPv4Network] | None = None) -> Pool:
    """The pool of a ``POST /networks/create`` body's ``IPAM`` (one IPv4 ``Config`` entry at
    most; none: a free default subnet)."""
    ipam = ipam or {}
    driver = ipam.get("Driver") or "default"
    if driver != "default":
        raise InvalidArgument(f"IPAM driver {driver!r}: only the default IPAM driver is supported")
    configs = [c for c in ipam.get("Config") or [] if isinstance(c, Mapping)]
    configs = [c for c in configs if ":" not in str(c.get("Subnet", ""))]  # IPv6 entries: not supported, ignored
    if len(configs) > 1:
        raise InvalidArgument("only one IPv4 IPAM config is supported per network")
    used = list(taken)
    if not configs:
        return Pool.of(choose_subnet(used, pools))
    cfg = configs[0]
    subnet_text = str(cfg.get("Subnet") or "")
    gateway_text = str(cfg.get("Gateway") or "")
    range_text = str(cfg.get("IPRange") or "")
    if not subnet_text:
        if gateway_text or range_text:
            raise InvalidArgument("every ip-range or gateway must have a corresponding subnet")
        return Pool.of(choose_subnet(used, pools))
    subnet = parse_network(subnet_text, "subnet")
    for other in used:
        if subnet.overlaps(other):
            raise FailedPrecondition(f"invalid pool request: Pool overlaps with other one on this address space "
                                     f"({subnet} and {other})")
    gateway = parse_address(gateway_text, "gateway") if gateway_text else None
    ip_range = parse_network(range_text, "ip-range") if range_text else None
    return Pool.of(subnet, gateway, ip_range)


def parse_bip(text: str) -> tuple[IPv4Network, IPv4Address]:
    """The daemon's ``bip`` (``10.199.0.1/24``): the default bridge's subnet and gateway."""
    try:
        iface = ipaddress.ip_interface(text)
    except ValueError:
        raise InvalidArgument(f"bip {text!r}: must be an IPv4 address with a prefix length (10.199.0.1/24)") from None
    if not isinstance(iface, ipaddress.IPv4Interface) or iface.ip == iface.network.network_address:
        raise InvalidArgument(f"bip {text!r}: must be an IPv4 address with a prefix length (10.199.0.1/24)")
    return iface.network, iface.ip
