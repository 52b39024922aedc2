"""Networks and their endpoints as the engine keeps them, and their JSON on disk and in the API.

A :class:`Network` is one network (``bridge``, ``host``, ``none`` or a user-defined bridge
network) with its IPAM pool and one :class:`Endpoint` per connected container. The store
(:class:`NetworkStore`) keeps one JSON file per network under ``<data-root>/networks/``,
written atomically; endpoints are saved with their network so that the addresses in use
are known again after a restart.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from dockyard.engine.network_ipam import IPv4Address, IPv4Network, Pool

PREDEFINED = ("bridge", "host", "none")
DEFAULT_BRIDGE_OPTIONS = ("com.docker.network.bridge.default_bridge", "com.docker.network.bridge.enable_icc",
                          "com.docker.network.bridge.enable_ip_masquerade",
                          "com.docker.network.bridge.host_binding_ipv4", "com.docker.network.bridge.name",
                          "com.docker.network.driver.mtu")


@dataclass
class Endpoint:
    """A container's attachment to a network."""

    container_id: str
    name: str  # the container's name, without the slash
    endpoint_id: str
    address: str  # IPv4 ("" on host/none)
    mac: str
    aliases: list[str] = field(default_factory=list)

    def to_doc(self) -> dict[str, Any]:
        return {"ContainerID": self.container_id, "Name": self.name, "EndpointID": self.endpoint_id,
                "Address": self.address, "MacAddress": self.mac, "Aliases": self.aliases}

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Endpoint:
        return cls(doc["ContainerID"], doc["Name"], doc["EndpointID"], doc.get("Address", ""),
                   doc.get("MacAddress", ""), list(doc.get("Aliases") or []))


@dataclass
class Network:
    id: str
    name: str
    driver: str  # "bridge", "host" or "null"
    created: str
    pool: Pool | None = None  # bridge networks only
    internal: bool = False
    attachable: bool = False
    enable_ipv6: bool = False
    options: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    bridge: str = ""  # the bridge interface's name (bridge driver)
    endpoints: dict[str, Endpoint] = field(default_factory=dict)  # by container ID

    @property
    def predefined(self) -> bool:
        return self.name in PREDEFINED

    def to_doc(self) -> dict[str, Any]:
        pool = None
        if self.pool is not None:
            pool = {"Subnet": str(self.pool.subnet), "Gateway": str(self.pool.gateway),
                    "IPRange": str(self.pool.ip_range)}
        return {"Id": self.id, "Name": self.name, "Driver": self.driver, "Created": self.created, "Pool": pool,
                "Internal": self.internal, "Attachable": self.attachable, "EnableIPv6": self.enable_ipv6,
                "Options": self.options, "Labels": self.labels, "Bridge": self.bridge,
                "Endpoints": [e.to_doc() for e in self.endpoints.values()]}

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Network:
        pool = None
        if doc.get("Pool"):
            p = doc["Pool"]
            pool = Pool.of(IPv4Network(p["Subnet"]), IPv4Address(p["Gateway"]), IPv4Network(p["IPRange"]))
        net = cls(doc["Id"], doc["Name"], doc["Driver"], doc["Created"], pool, bool(doc.get("Internal")),
                  bool(doc.get("Attachable")), bool(doc.get("EnableIPv6")), dict(doc.get("Options") or {}),
                  dict(doc.get("Labels") or {}), doc.get("Bridge", ""))
        for e in doc.get("Endpoints") or []:
            endpoint = Endpoint.from_doc(e)
            net.endpoints[endpoint.container_id] = endpoint
            if pool is not None and endpoint.address:
                pool.reserve(IPv4Address(endpoint.address))
        return net

    def to_api(self, with_containers: bool = True) -> dict[str, Any]:
        """Docker's network JSON (``GET /networks/{id}``; the list leaves ``Containers`` empty)."""
        config: list[dict[str, str]] = [self.pool.config()] if self.pool is not None else []
        containers: dict[str, Any] = {}
        if with_containers:
            prefix = self.pool.subnet.prefixlen if self.pool is not None else 0
            for e in self.endpoints.values():
                containers[e.container_id] = {
                    "Name": e.name, "EndpointID": e.endpoint_id, "MacAddress": e.mac,
                    "IPv4Address": f"{e.address}/{prefix}" if e.address else "", "IPv6Address": ""}
        return {"Name": self.name, "Id": self.id, "Created": self.created, "Scope": "local", "Driver": self.driver,
                "EnableIPv4": True, "EnableIPv6": self.enable_ipv6,
                "IPAM": {"Driver": "default", "Options": None if self.predefined else {}, "Config": config},
                "Internal": self.internal, "Attachable": self.attachable, "Ingress": False,
                "ConfigFrom": {"Network": ""}, "ConfigOnly": False, "Containers": containers,
                "Options": self.options, "Labels": self.labels}


class NetworkStore:
    """One JSON file per network under ``<data-root>/networks/``."""

    def __init__(self, data_root: str) -> None:
        self.directory = os.path.join(data_root, "networks")
        os.makedirs(self.directory, mode=0o700, exist_ok=True)

    def load(self) -> list[Network]:
        out = []
        for name in sorted(os.listdir(self.directory)):
            if not name.endswith(".json"):
                continue
            with open(os.path.join(self.directory, name)) as f:
                out.append(Network.from_doc(json.load(f)))
        return out

    def save(self, network: Network) -> None:
        path = os.path.join(self.directory, network.id + ".json")
        with open(path + ".tmp", "w") as f:
            json.dump(network.to_doc(), f)
        os.replace(path + ".tmp", path)

    def remove(self, network_id: str) -> None:
        try:
            os.unlink(os.path.join(self.directory, network_id + ".json"))
        except FileNotFoundError:
            pass

    # the networks each container is to join (``NetworkingConfig.EndpointsConfig``, connect):
    # ``containers/<id>.json``: network name -> {"IPAMConfig": {...}, "Aliases": [...]}

    def load_wanted(self) -> dict[str, dict[str, Any]]:
        directory = os.path.join(self.directory, "containers")
        out = {}
        if os.path.isdir(directory):
            for name in os.listdir(directory):
                if name.endswith(".json"):
                    with open(os.path.join(directory, name)) as f:
                        out[name[:-5]] = json.load(f)
        return out

    def save_wanted(self, container_id: str, wanted: dict[str, Any]) -> None:
        directory = os.path.join(self.directory, "containers")
        os.makedirs(directory, mode=0o700, exist_ok=True)
        path = os.path.join(directory, container_id + ".json")
        if not wanted:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            return
        with open(path + ".tmp", "w") as f:
            json.dump(wanted, f)
        os.replace(path + ".tmp", path)
