"""``container:<name|id>`` and the mode checks (dockerd 20.10's messages), and the files
dockerd writes: /etc/hosts (``host-gateway``, host networking) and resolv.conf with DNS options."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from dockyard.engine import network_modes
from dockyard.engine.container_files import LOCAL_HOSTS, hosts, resolv_conf
from dockyard.errors import FailedPrecondition, InvalidArgument, NotFound

JOINED = {"NetworkMode": "container:web"}


@pytest.mark.parametrize(("config", "hc", "networking", "message"), [
    ({}, {"NetworkMode": "container:"}, None, "Invalid network mode: invalid container format container:<name|id>"),
    ({"Hostname": "x"}, JOINED, None, "conflicting options: hostname and the network mode"),
    ({}, {**JOINED, "Links": ["db:db"]}, None, "conflicting options: container type network can't be used with links"),
    ({}, {**JOINED, "Dns": ["1.1.1.1"]}, None, "conflicting options: dns and the network mode"),
    ({}, {**JOINED, "ExtraHosts": ["a:1.2.3.4"]}, None,
     "conflicting options: custom host-to-IP mapping and the network mode"),
    ({"MacAddress": "02:42:ac:11:00:09"}, JOINED, None, "conflicting options: mac-address and the network mode"),
    ({}, JOINED, {"EndpointsConfig": {"container:web": {"MacAddress": "02:42:ac:11:00:09"}}},
     "conflicting options: mac-address and the network mode"),
    ({}, {"NetworkMode": "host"}, {"EndpointsConfig": {"host": {"MacAddress": "02:42:ac:11:00:09"}}},
     "conflicting options: mac-address and the network mode"),
    ({}, {**JOINED, "PortBindings": {"80/tcp": [{"HostPort": "8080"}]}}, None,
     "conflicting options: port publishing and the container type network mode"),
    ({}, {**JOINED, "PublishAllPorts": True}, None,
     "conflicting options: port publishing and the container type network mode"),
    ({"ExposedPorts": {"80/tcp": {}}}, JOINED, None,
     "conflicting options: port exposing and the container type network mode"),
    ({}, JOINED, {"EndpointsConfig": {"container:web": {"Aliases": ["a"]}}},
     "network-scoped alias is supported only for containers in user defined networks"),
])
def test_check_create_refuses_what_dockerd_refuses(config: dict[str, Any], hc: dict[str, Any], networking: Any,
                                                   message: str) -> None:
    with pytest.raises(InvalidArgument, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        network_modes.check_create(config, hc, networking)


@pytest.mark.parametrize(("config", "hc"), [
    ({"Hostname": "x", "MacAddress": "02:42:ac:11:00:09"}, {"NetworkMode": "bridge", "Dns": ["1.1.1.1"]}),
    ({"Domainname": "x.org"}, {**JOINED, "DnsSearch": ["a"], "DnsOptions": ["ndots:2"]}),  # dockerd takes them
    ({"Hostname": "x"}, {"NetworkMode": "host", "PortBindings": {"80/tcp": [{"HostPort": "8080"}]}}),
])
def test_check_create_accepts(config: dict[str, Any], hc: dict[str, Any]) -> None:
    network_modes.check_create(config, hc, None)


def test_check_connect() -> None:
    for mode in ("container:web", "host"):
        with pytest.raises(InvalidArgument, match=r"^container sharing network namespace with another container or "
                                                  r"host cannot be connected to any other network$"):
            network_modes.check_connect({"NetworkMode": mode}, {})
    with pytest.raises(InvalidArgument, match=r"one of the networks in private \(none\) mode"):
        network_modes.check_connect({"NetworkMode": "none"}, {})
    network_modes.check_connect({"NetworkMode": "bridge"}, {})
    network_modes.check_connect({"NetworkMode": "host"}, {"NetworkDisabled": True})


def _container(cid: str, *, running: bool = True, restarting: bool = False, hostname: str = "",
               mode: str = "bridge") -> Any:
    state = SimpleNamespace(running=running, restarting=restarting, pid=4242 if running else 0)
    return SimpleNamespace(id=cid, state=state, config={"Hostname": hostname, "Domainname": "ex.org"},
                           host_config={"NetworkMode": mode}, hosts_path=f"/data/containers/{cid}/hosts")


class _Containers:
    def __init__(self, *containers: Any) -> None:
        self.by_ref = {c.id: c for c in containers} | {"web": containers[0]}

    def get(self, ref: str) -> Any:
        if ref not in self.by_ref:
            raise NotFound(f"No such container: {ref}")
        return SimpleNamespace(container=self.by_ref[ref])


def test_resolve_names_the_other_by_id_and_takes_its_files_and_names() -> None:
    web = _container("a" * 64, hostname="webhost")
    hc, config = {"NetworkMode": "container:web"}, {"Hostname": "0123456789ab"}
    target = network_modes.resolve(_Containers(web), hc, config)  # type: ignore[arg-type]
    assert target is not None and hc["NetworkMode"] == "container:" + "a" * 64
    assert (target.hostname, config["Hostname"], config["Domainname"]) == ("webhost", "", "ex.org")
    assert [m["source"] for m in target.mounts()] == [f"/data/containers/{'a' * 64}/{name}" for name in
                                                       ("resolv.conf", "hostname", "hosts")]
    unknown = {"NetworkMode": "container:nosuch"}
    assert network_modes.resolve(_Containers(web), unknown, {}) is None  # type: ignore[arg-type]
    assert unknown == {"NetworkMode": "container:nosuch"}  # refused at start, as dockerd does


def test_join_errors() -> None:
    me = _container("b" * 64, mode="container:web")
    live = SimpleNamespace(container=me)
    stopped = _Containers(_container("a" * 64, running=False), me)
    with pytest.raises(FailedPrecondition, match=r"^cannot join network of a non running container: web$"):
        network_modes.join(stopped, live, "/run/x/netns")  # type: ignore[arg-type]
    restarting = _Containers(_container("a" * 64, running=False, restarting=True), me)
    with pytest.raises(FailedPrecondition, match="is restarting, wait until the container is running"):
        network_modes.join(restarting, live, "/run/x/netns")  # type: ignore[arg-type]
    me.host_config["NetworkMode"] = "container:nosuch"
    with pytest.raises(NotFound, match=r"^No such container: nosuch$"):
        network_modes.join(stopped, live, "/run/x/netns")  # type: ignore[arg-type]


def test_hosts_with_host_gateway_and_host_networking() -> None:
    hc = {"ExtraHosts": ["db:10.199.9.9", "gw:host-gateway"]}
    assert hosts({}, hc, False, "10.199.0.1") == LOCAL_HOSTS + "10.199.9.9\tdb\n10.199.0.1\tgw\n"
    assert hosts({}, hc, True, "10.199.0.1") == LOCAL_HOSTS + "10.199.9.9\tdb\n10.199.0.1\tgw\n"
    with pytest.raises(InvalidArgument, match="unable to derive the IP value for host-gateway"):
        hosts({}, hc, False, "")


def test_resolv_conf_with_dns_options_is_rebuilt_as_dockerd_does() -> None:
    host = "# comment\nnameserver 127.0.0.53\nnameserver 10.0.0.1\nsearch lan corp\noptions edns0\nsortlist x\n"
    assert resolv_conf(host, {"Dns": ["1.1.1.1"]}, False) == "search lan corp\nnameserver 1.1.1.1\noptions edns0\n"
    assert resolv_conf(host, {"DnsSearch": ["a.b"]}, False) == \
        "search a.b\nnameserver 127.0.0.53\nnameserver 10.0.0.1\noptions edns0\n"  # the host's servers, as they are
    assert resolv_conf(host, {"DnsOptions": ["ndots:2"], "DnsSearch": ["."]}, False) == \
        "nameserver 127.0.0.53\nnameserver 10.0.0.1\noptions ndots:2\n"
    assert resolv_conf(host, {"Dns": ["1.1.1.1"]}, True) == "search lan corp\nnameserver 1.1.1.1\noptions edns0\n"
