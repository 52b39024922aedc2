"""Published ports: bindings from PortBindings and -P, host port choice, NetworkSettings.Ports."""

from __future__ import annotations

import pytest

from dockyard.engine.network_ports import Binding, bindings, choose_host_port, parse_port_key, ports_view
from dockyard.errors import FailedPrecondition, InvalidArgument


def test_port_keys() -> None:
    assert parse_port_key("80/tcp") == (80, "tcp")
    assert parse_port_key("53/udp") == (53, "udp")
    assert parse_port_key("8080") == (8080, "tcp")
    for bad in ("80/icmp", "0/tcp", "x/tcp", "70000"):
        with pytest.raises(InvalidArgument):
            parse_port_key(bad)


def test_bindings_from_port_bindings_and_publish_all() -> None:
    exposed = {"80/tcp": {}, "53/udp": {}, "443/tcp": {}}
    pb = {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}, {"HostIp": "", "HostPort": "8000-8010"}],
          "22/tcp": [{"HostIp": "", "HostPort": ""}]}
    assert bindings(exposed, pb, False) == [
        Binding("tcp", 22, "", 0, 0), Binding("tcp", 80, "", 8000, 8010), Binding("tcp", 80, "127.0.0.1", 8080, 8080)]
    got = bindings(exposed, pb, True)
    assert Binding("udp", 53, "", 0, 0) in got and Binding("tcp", 443, "", 0, 0) in got
    assert sum(1 for b in got if b.container_port == 80) == 2  # -P adds nothing to a bound port
    with pytest.raises(InvalidArgument, match="invalid host port"):
        bindings({}, {"80/tcp": [{"HostPort": "9-1"}]}, False)


def test_choose_host_port() -> None:
    free = {8001, 8003}

    def is_free(proto: str, ip: str, port: int) -> bool:
        return port in free

    assert choose_host_port(Binding("tcp", 80, "", 8080, 8080), is_free) == 8080  # fixed: the bind decides
    assert choose_host_port(Binding("tcp", 80, "", 8000, 8005), is_free) == 8001
    assert choose_host_port(Binding("tcp", 80, "", 8000, 8005), is_free, [("tcp", "", 8001)]) == 8003
    with pytest.raises(FailedPrecondition, match="no free host port"):
        choose_host_port(Binding("tcp", 80, "", 8004, 8005), is_free)
    assert choose_host_port(Binding("udp", 53, "", 0, 0), lambda *a: True) == 32768


def test_ports_view() -> None:
    view = ports_view({"80/tcp": {}, "53/udp": {}}, [(Binding("tcp", 80, "", 8000, 8010), 8002),
                                                    (Binding("tcp", 80, "127.0.0.1", 8080, 8080), 8080)])
    assert view == {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8002"},
                               {"HostIp": "127.0.0.1", "HostPort": "8080"}], "53/udp": None}
