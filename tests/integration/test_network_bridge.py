"""The bridge driver on a real kernel, inside a throwaway network namespace: the "host" side
of the test is itself a namespace of its own (a thread that unshared it), so nothing here
can touch the host's interfaces. Bridge, namespace bound on a file, veth pair with eth0, its
address and default route, removal of each, and the clean-up of leftovers."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Any

import pytest
from tests.support import hostcheck

from dockyard.engine.network_bridge import BridgeDriver, in_thread
from dockyard.engine.network_ipam import Pool
from dockyard.engine.network_model import Endpoint, Network

pytestmark = [pytest.mark.root, pytest.mark.skipif(os.geteuid() != 0, reason="needs root")]


def _links() -> dict[str, Any]:
    from pyroute2 import IPRoute

    with IPRoute() as ipr:
        return {link.get_attr("IFLA_IFNAME"): link for link in ipr.get_links()}


def _addresses() -> list[str]:
    from pyroute2 import IPRoute

    with IPRoute() as ipr:
        return [f"{a.get_attr('IFA_LABEL')} {a.get_attr('IFA_ADDRESS')}/{a['prefixlen']}"
                for a in ipr.get_addr(family=2)]


def _routes() -> list[str]:
    from pyroute2 import IPRoute

    with IPRoute() as ipr:
        return [f"{r.get_attr('RTA_DST') or 'default'} via {r.get_attr('RTA_GATEWAY')}" for r in ipr.get_routes(
            family=2) if r.get_attr("RTA_GATEWAY")]


def test_bridge_namespace_veth_and_their_removal(tmp_path: Path) -> None:
    netns_dir = tmp_path / "netns"
    path = str(netns_dir / ("c" * 64))
    net = Network("n" * 64, "t", "bridge", "", Pool.of(ipaddress.IPv4Network("10.199.250.0/24")), bridge="dytunit0")
    endpoint = Endpoint("c" * 64, "c", "e" * 64, "10.199.250.2", "02:42:0a:c7:fa:02")

    def scenario() -> dict[str, Any]:
        driver = BridgeDriver()
        seen: dict[str, Any] = {}
        driver.create_network(net)
        driver.create_network(net)  # again: nothing changes (an engine start)
        links = _links()
        seen["bridge_up"] = links["dytunit0"].get_attr("IFLA_OPERSTATE")
        seen["bridge_addr"] = [a for a in _addresses() if a.startswith("dytunit0")]
        driver.create_netns(path)
        driver.attach(net, endpoint, path, first=True)
        seen["host_veth_master"] = _links()["veth" + "e" * 7].get_attr("IFLA_MASTER") == links["dytunit0"]["index"]
        seen["inside"] = in_thread(lambda: (sorted(_links()), _addresses(), _routes()), netns=path)
        driver.detach(net, endpoint)
        seen["after_detach"] = sorted(n for n in _links() if n.startswith("veth"))
        seen["inside_after"] = in_thread(lambda: sorted(_links()), netns=path)
        # a leftover namespace (an engine killed with -9) goes with cleanup; a running one stays
        driver.create_netns(str(netns_dir / ("d" * 64)))
        seen["cleaned"] = sorted(driver.cleanup(str(netns_dir), {"d" * 64}))
        driver.remove_netns(str(netns_dir / ("d" * 64)))
        driver.remove_netns(path)  # twice: nothing left to do
        driver.delete_network(net)
        seen["links_at_end"] = sorted(_links())
        return seen

    seen = in_thread(scenario, new_netns=True)
    assert seen["bridge_addr"] == ["dytunit0 10.199.250.1/24"]
    assert seen["host_veth_master"] is True
    links, addresses, routes = seen["inside"]
    assert links == ["eth0", "lo"]
    assert "eth0 10.199.250.2/24" in addresses and "lo 127.0.0.1/8" in addresses
    assert routes == ["default via 10.199.250.1"]
    assert seen["after_detach"] == [] and seen["inside_after"] == ["lo"]
    assert seen["cleaned"] == ["c" * 64]
    assert seen["links_at_end"] == ["lo"]
    assert not list(netns_dir.iterdir())
    assert hostcheck.mounts_under(tmp_path) == []
