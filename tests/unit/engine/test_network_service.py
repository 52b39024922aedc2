"""The network service: predefined networks, create/find/list/remove/prune, endpoints, the
store across restarts, and the API's routes and messages (with a driver that records)."""

from __future__ import annotations

import asyncio
import ipaddress
import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from tests.unit.engine.engine_fakes import make_context

from dockyard.engine.events import EventHub
from dockyard.engine.filters import Filters
from dockyard.engine.network_ipam import pools_of
from dockyard.engine.network_model import Endpoint, Network
from dockyard.engine.network_service import NetworkService
from dockyard.errors import AlreadyExists, InvalidArgument, NotFound, PermissionDenied

N = ipaddress.IPv4Network
POOLS = pools_of([("10.199.0.0/16", 24)])


class RecordingDriver:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def create_network(self, network: Network) -> None:
        self.calls.append(("create", network.bridge))

    def delete_network(self, network: Network) -> None:
        self.calls.append(("delete", network.bridge))

    def attach(self, network: Network, endpoint: Endpoint, netns_path: str, first: bool) -> None:
        self.calls.append(("attach", f"{network.name} {endpoint.address} {netns_path} {first}"))

    def detach(self, network: Network, endpoint: Endpoint) -> None:
        self.calls.append(("detach", f"{network.name} {endpoint.address}"))

    def create_netns(self, path: str) -> None:
        self.calls.append(("netns", path))

    def remove_netns(self, path: str) -> None:
        self.calls.append(("rmnetns", path))


def service(root: Path, routes: list[N] | None = None, **kw: Any) -> tuple[NetworkService, RecordingDriver]:
    driver = RecordingDriver()
    svc = NetworkService(str(root), EventHub(), driver, pools=POOLS, routes=lambda: list(routes or []), **kw)
    svc.load()
    return svc, driver


def test_predefined_networks_and_the_default_bridge_avoiding_routes(tmp_path: Path) -> None:
    svc, driver = service(tmp_path, routes=[N("10.199.0.0/24"), N("192.0.2.0/24")], bridge="dyt0")
    names = [n.name for n in svc.select(Filters())]
    assert names == ["bridge", "host", "none"]
    bridge = svc.find("bridge")
    assert bridge.pool is not None and str(bridge.pool.subnet) == "10.199.1.0/24"
    assert bridge.options["com.docker.network.bridge.name"] == "dyt0"
    assert driver.calls == [("create", "dyt0")]
    doc = bridge.to_api()
    assert doc["IPAM"] == {"Driver": "default", "Options": None,
                           "Config": [{"Subnet": "10.199.1.0/24", "Gateway": "10.199.1.1"}]}
    assert (doc["Driver"], doc["Scope"], doc["Containers"]) == ("bridge", "local", {})
    assert svc.find("host").to_api()["IPAM"]["Config"] == []
    assert svc.find("none").driver == "null"
    # a restart finds the same networks (same IDs), the bridge made again
    again, driver2 = service(tmp_path, routes=[N("10.199.1.0/24")], bridge="dyt0")
    assert {n.id for n in again.networks.values()} == {n.id for n in svc.networks.values()}
    assert driver2.calls == [("create", "dyt0")]


def test_bip_sets_the_default_bridge_and_none_disables_it(tmp_path: Path) -> None:
    svc, _ = service(tmp_path / "a", bridge="dyt0", bip="10.199.77.1/24")
    pool = svc.find("bridge").pool
    assert pool is not None and pool.config() == {"Subnet": "10.199.77.0/24", "Gateway": "10.199.77.1"}
    none, driver = service(tmp_path / "b", bridge="none")
    assert [n.name for n in none.select(Filters())] == ["host", "none"]
    assert driver.calls == []


def test_create_find_and_errors(tmp_path: Path) -> None:
    svc, driver = service(tmp_path, bridge="dyt0", bip="10.199.0.1/24")
    reply = svc.create({"Name": "mynet", "Labels": {"a": "b"}})
    net = svc.find("mynet")
    assert reply == {"Id": net.id, "Warning": ""}
    assert net.bridge == f"br-{net.id[:12]}" and ("create", net.bridge) in driver.calls
    assert net.pool is not None and str(net.pool.subnet) == "10.199.1.0/24"  # the next free pool subnet
    assert svc.find(net.id[:5]) is net and svc.find(net.id) is net
    with pytest.raises(AlreadyExists, match="network with name mynet already exists"):
        svc.create({"Name": "mynet"})
    with pytest.raises(PermissionDenied, match="operation is not permitted on predefined host network"):
        svc.create({"Name": "host"})
    with pytest.raises(NotFound, match='plugin "overlay" not found'):
        svc.create({"Name": "x", "Driver": "overlay"})
    with pytest.raises(NotFound, match="network nope not found"):
        svc.find("nope")
    svc.create({"Name": "sub", "IPAM": {"Config": [{"Subnet": "10.199.50.0/24", "Gateway": "10.199.50.254"}]}})
    with pytest.raises(Exception, match="Pool overlaps"):
        svc.create({"Name": "sub2", "IPAM": {"Config": [{"Subnet": "10.199.50.0/25"}]}})


def test_list_filters(tmp_path: Path) -> None:
    svc, _ = service(tmp_path, bridge="dyt0", bip="10.199.0.1/24")
    svc.create({"Name": "front", "Labels": {"tier": "web"}})
    svc.create({"Name": "back"})
    names = lambda **f: [n.name for n in svc.select(Filters.of(**f))]  # noqa: E731
    assert names(type=["custom"]) == ["back", "front"]
    assert names(type=["builtin"]) == ["bridge", "host", "none"]
    assert names(driver=["bridge"]) == ["back", "bridge", "front"]
    assert names(label=["tier=web"]) == ["front"]
    assert names(name=["ro"]) == ["front"]
    assert names(dangling=["true"]) == ["back", "front"]
    assert names(id=[svc.find("back").id[:6]]) == ["back"]
    with pytest.raises(InvalidArgument, match="invalid filter 'color'"):
        svc.select(Filters.of(color=["red"]))
    with pytest.raises(InvalidArgument, match="type"):
        svc.select(Filters.of(type=["odd"]))


def test_endpoints_remove_and_prune(tmp_path: Path) -> None:
    svc, driver = service(tmp_path, bridge="dyt0", bip="10.199.0.1/24")
    svc.create({"Name": "n1", "IPAM": {"Config": [{"Subnet": "10.199.20.0/24"}]}})
    svc.create({"Name": "n2"})
    n1 = svc.find("n1")
    e = svc.attach(n1, "c" * 64, "web", "/run/x/netns/c", "", ["alias"])
    assert e.address == "10.199.20.2" and e.mac.startswith("02:42:")
    assert ("attach", "n1 10.199.20.2 /run/x/netns/c True") in driver.calls
    assert svc.find("n1").to_api()["Containers"]["c" * 64]["IPv4Address"] == "10.199.20.2/24"
    assert svc.find("n1").to_api(with_containers=False)["Containers"] == {}
    with pytest.raises(PermissionDenied, match="has active endpoints"):
        svc.remove("n1")
    with pytest.raises(PermissionDenied, match="bridge is a pre-defined network and cannot be removed"):
        svc.remove("bridge")
    # the address in use is known again after a restart
    again, _ = service(tmp_path, bridge="dyt0", bip="10.199.0.1/24")
    assert again.attach(again.find("n1"), "d" * 64, "db", "/p", "").address == "10.199.20.3"
    assert svc.prune(Filters()) == {"NetworksDeleted": ["n2"]}
    svc.detach(n1, "c" * 64)
    assert ("detach", "n1 10.199.20.2") in driver.calls
    svc.remove("n1")
    assert ("delete", n1.bridge) in driver.calls
    assert [n.name for n in svc.select(Filters())] == ["bridge", "host", "none"]
    assert svc.prune(Filters()) == {"NetworksDeleted": None}


def test_forget_others_drops_endpoints_of_stopped_containers(tmp_path: Path) -> None:
    svc, _ = service(tmp_path, bridge="dyt0", bip="10.199.0.1/24")
    bridge = svc.find("bridge")
    svc.attach(bridge, "a" * 64, "a", "/p")
    svc.attach(bridge, "b" * 64, "b", "/p")
    svc.forget_others({"a" * 64})
    assert list(bridge.endpoints) == ["a" * 64]
    assert bridge.pool is not None and str(bridge.pool.allocate()) == "10.199.0.3"


def _run_api(tmp_path: Path, scenario: Any) -> None:
    from dockyard.engine.api import app as app_mod
    from dockyard.engine.api import registry

    ctx = make_context()
    svc, _ = service(tmp_path, bridge="dyt0", bip="10.199.0.1/24")
    ctx.networks = svc

    async def main() -> None:
        async with TestClient(TestServer(app_mod.make_app(ctx, registry.ROUTE_MODULES))) as client:
            await scenario(client)

    asyncio.run(main())


def test_api_routes(tmp_path: Path) -> None:
    async def scenario(client: TestClient[web.Request, web.Application]) -> None:
        r = await client.post("/v1.47/networks/create", json={"Name": "apinet", "Driver": "bridge",
                                                               "IPAM": {"Config": [{"Subnet": "10.199.30.0/24"}]}})
        assert r.status == 201
        nid = (await r.json())["Id"]
        r = await client.post("/v1.47/networks/create", json={"Name": "apinet"})
        assert r.status == 409 and (await r.json())["message"] == "network with name apinet already exists"
        r = await client.get("/v1.47/networks", params={"filters": json.dumps({"name": {"apinet": True}})})
        assert [n["Id"] for n in await r.json()] == [nid]
        r = await client.get(f"/v1.47/networks/{nid[:10]}")
        doc = await r.json()
        assert doc["Name"] == "apinet" and doc["IPAM"]["Config"] == [{"Subnet": "10.199.30.0/24",
                                                                       "Gateway": "10.199.30.1"}]
        r = await client.get("/v1.47/networks/nope")
        assert r.status == 404 and (await r.json())["message"] == "network nope not found"
        r = await client.delete("/v1.47/networks/host")
        assert r.status == 403
        r = await client.post("/v1.47/networks/apinet/connect", json={})
        assert r.status == 400 and (await r.json())["message"] == "Container: a container is required"
        r = await client.delete("/v1.47/networks/apinet")
        assert r.status == 204
        r = await client.post("/v1.47/networks/prune")
        assert r.status == 200 and await r.json() == {"NetworksDeleted": None}

    _run_api(tmp_path, scenario)


def test_wanted_networks_are_kept_across_restarts(tmp_path: Path) -> None:
    svc, _ = service(tmp_path, bridge="dyt0", bip="10.199.0.1/24")
    svc.create({"Name": "n1"})
    svc.want("c" * 64, "n1", {"IPAMConfig": {"IPv4Address": "10.199.1.9"}, "Aliases": ["db"]})
    again, _ = service(tmp_path, bridge="dyt0", bip="10.199.0.1/24")
    assert again.wanted_by("c" * 64) == {"n1": {"IPAMConfig": {"IPv4Address": "10.199.1.9"}, "Aliases": ["db"]}}
    again.want("c" * 64, "n1", None)
    assert again.wanted_by("c" * 64) == {}
    svc.want("d" * 64, "n1", {})
    svc.forget_container("d" * 64)
    assert service(tmp_path, bridge="dyt0", bip="10.199.0.1/24")[0].wanted == {}


def test_container_side_helpers(tmp_path: Path) -> None:
    from dockyard.engine import network_containers as nc

    svc, _ = service(tmp_path, bridge="dyt0", bip="10.199.0.1/24")
    svc.create({"Name": "n1"})
    assert nc.for_create(svc, {"NetworkMode": "bridge"}, {}) is svc.find("bridge")
    assert nc.for_create(svc, {"NetworkMode": "n1"}, {}) is svc.find("n1")
    for mode in ("host", "none", "container:abc"):
        assert nc.for_create(svc, {"NetworkMode": mode}, {}) is None
    assert nc.for_create(svc, {"NetworkMode": "n1"}, {"NetworkDisabled": True}) is None
    with pytest.raises(NotFound, match="network n2 not found"):
        nc.for_create(svc, {"NetworkMode": "n2"}, {})
    warnings: list[str] = []
    assert nc.for_create(svc, {"PortBindings": {"80/tcp": [{"HostPort": "8080"}]}}, {}, warnings) is \
        svc.find("bridge")
    assert nc.for_create(svc, {"NetworkMode": "none", "PublishAllPorts": True}, {"ExposedPorts": {"80/tcp": {}}},
                         warnings) is None
    assert warnings == []
    assert nc.for_create(svc, {"NetworkMode": "host", "PortBindings": {"80/tcp": [{"HostPort": "8080"}]}}, {},
                         warnings) is None
    assert warnings == ["Published ports are discarded when using host network mode"]
    assert nc.for_create(svc, {"PublishAllPorts": True}, {}) is svc.find("bridge")  # nothing exposed
    spec = {"linux": {"namespaces": [{"type": "pid"}, {"type": "network"}]}}
    nc.use_netns(spec, "/run/x/netns/c")
    assert spec["linux"]["namespaces"][1] == {"type": "network", "path": "/run/x/netns/c"}
    hosts = tmp_path / "hosts"
    nc.write_hosts(str(hosts), {"Hostname": "web"}, {"ExtraHosts": ["db:10.199.9.9"]}, "10.199.0.2")
    text = hosts.read_text()
    assert text.startswith("127.0.0.1\tlocalhost\n") and text.endswith("10.199.9.9\tdb\n10.199.0.2\tweb\n")


def test_macs_as_dockerd_makes_them() -> None:
    from dockyard.engine.network_service import _new_mac, valid_mac

    assert _new_mac("172.17.0.2") == "02:42:ac:11:00:02"
    assert _new_mac().startswith("02:42:") and len(_new_mac()) == 17
    assert valid_mac("02:42:AC:11:00:09") and not valid_mac("02:42:ac:11:00") and not valid_mac("zz:42:ac:11:00:09")
