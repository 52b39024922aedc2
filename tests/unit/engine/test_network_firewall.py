"""The firewall without root: the nft table's text, what the firewall runs and sets, the
published ports' choice, reservation, persistence and views."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from dockyard.engine import network_firewall, network_publish
from dockyard.engine.network_firewall import Firewall, bridge_net
from dockyard.engine.network_ipam import IPv4Network, Pool
from dockyard.engine.network_model import Endpoint, Network
from dockyard.engine.network_ports import Binding
from dockyard.engine.network_publish import Mapped, PortMap, ports_summary, publish, release
from dockyard.engine.network_rules import BridgeNet, PortRule, dnat_rule, ruleset
from dockyard.engine.nftables import one_line
from dockyard.errors import FailedPrecondition, InvalidArgument


def _chain(script: str, name: str) -> list[str]:
    lines = script.splitlines()
    start = lines.index(f"\tchain {name} {{")
    end = lines.index("\t}", start)
    return [line.strip() for line in lines[start + 1:end]]


def test_ruleset_replaces_the_table_in_one_script() -> None:
    script = ruleset("dyt1", [BridgeNet("dyt1", "10.199.1.0/24"), BridgeNet("br-a", "10.199.2.0/24")],
                     [PortRule("tcp", "127.0.0.1", 8080, "10.199.1.2", 80), PortRule("udp", "0.0.0.0", 5353,
                                                                                       "10.199.2.3", 53)])
    assert script.startswith("table ip dyt1\ndelete table ip dyt1\ntable ip dyt1 {\n")
    assert _chain(script, "published") == ["udp dport 5353 dnat to 10.199.2.3:53",
                                           "ip daddr 127.0.0.1 tcp dport 8080 dnat to 10.199.1.2:80"]
    assert _chain(script, "nat-prerouting")[1:] == ["fib daddr type local jump published"]
    assert _chain(script, "nat-output")[1:] == ["fib daddr type local jump published"]
    post = _chain(script, "nat-postrouting")
    assert 'oifname != "dyt1" ip saddr 10.199.1.0/24 masquerade' in post
    assert 'oifname "dyt1" ip saddr 127.0.0.0/8 masquerade' in post
    assert 'oifname "br-a" ip saddr 10.199.2.0/24 ct status dnat masquerade' in post
    assert _chain(script, "forward")[1:] == ['iifname "br-a" oifname "dyt1" drop', 'iifname "dyt1" oifname "br-a" drop']
    assert _chain(script, "raw-prerouting")[1:] == ['iifname { "br-a", "dyt1" } ip daddr 127.0.0.0/8 drop']


def test_ruleset_options_and_no_bridge() -> None:
    script = ruleset("t", [BridgeNet("in", "10.199.3.0/24", internal=True), BridgeNet("nm", "10.199.4.0/24",
                                                                                   masquerade=False, icc=False)], [])
    post = _chain(script, "nat-postrouting")
    assert not any("!=" in rule for rule in post)  # neither internal nor no-masquerade networks go out NATed
    forward = _chain(script, "forward")
    assert 'iifname "in" oifname != "in" drop' in forward and 'oifname "in" iifname != "in" drop' in forward
    assert 'iifname "nm" oifname "nm" drop' in forward and 'iifname "nm" oifname "in" drop' in forward
    assert _chain(script, "published") == []
    assert ruleset("t", [], []) == "table ip t\ndelete table ip t\n"
    assert dnat_rule(PortRule("sctp", "", 9, "10.0.0.2", 9)) == "sctp dport 9 dnat to 10.0.0.2:9"


def test_bridge_net_reads_the_network() -> None:
    pool = Pool.of(IPv4Network("10.199.5.0/24"))
    net = Network("i", "n", "bridge", "t", pool, internal=True, bridge="br-x",
                  options={network_firewall.MASQUERADE: "false", network_firewall.ICC: "true"})
    assert bridge_net(net) == BridgeNet("br-x", "10.199.5.0/24", internal=True, masquerade=False, icc=True)
    assert bridge_net(Network("h", "host", "host", "t")) is None


def test_one_line_error() -> None:
    err = "Error: Could not process rule: No such file or directory\ndelete table ip x\n^^^^^^^^\n"
    assert one_line(err) == "Error: Could not process rule: No such file or directory"
    assert one_line("") == "nft failed"


class FakeService:
    def __init__(self, tmp: Path, nets: list[Network]) -> None:
        import threading

        self.lock = threading.RLock()
        self.networks = {n.id: n for n in nets}
        self.firewall = Firewall("dyt9", PortMap(str(tmp / "ports")))


@pytest.fixture
def applied(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    calls: list[Any] = []
    monkeypatch.setattr(network_firewall.nftables, "run", lambda text, json_output=True: calls.append(text) or "")
    monkeypatch.setattr(network_firewall, "write_sysctl", lambda path, value: calls.append((path, value)))
    monkeypatch.setattr(network_publish, "_hairpin", lambda endpoint: None)
    return calls


def _net() -> Network:
    return Network("n" * 64, "bridge", "bridge", "t", Pool.of(IPv4Network("10.199.6.0/24")), bridge="dyt9")


def test_firewall_apply_sets_sysctls_and_leaves_a_host_without_bridges_alone(tmp_path: Path,
                                                                             applied: list[Any]) -> None:
    fw = Firewall("dyt9", PortMap(str(tmp_path)), ip_forward=True)
    fw.apply([Network("h", "host", "host", "t")])
    assert applied == []  # never had a bridge: nothing touched
    fw.apply([_net()])
    assert applied[:2] == [(network_firewall.IP_FORWARD, "1"), ("/proc/sys/net/ipv4/conf/dyt9/route_localnet", "1")]
    assert applied[2].startswith("table ip dyt9\n") and fw.active
    fw.apply([])
    assert applied[-1] == "table ip dyt9\ndelete table ip dyt9\n" and not fw.active
    Firewall("dyt9", PortMap(str(tmp_path)), ip_forward=False).apply([_net()])
    assert (network_firewall.IP_FORWARD, "1") not in applied[3:]
    before = len(applied)
    Firewall("dyt9", PortMap(str(tmp_path)), ip_forward=True, enabled=False).apply([_net()])
    assert applied[before:] == [(network_firewall.IP_FORWARD, "1")]  # --iptables=false: no table, no route_localnet


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_publish_holds_ports_and_release_frees_them(tmp_path: Path, applied: list[Any]) -> None:
    svc: Any = FakeService(tmp_path, [_net()])
    net = svc.networks["n" * 64]
    port = _free_port()
    endpoint = Endpoint("c" * 64, "web", "e" * 64, "10.199.6.2", "02:42:00:00:00:02")
    hc = {"PortBindings": {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(port)}]}, "PublishAllPorts": True}
    config = {"ExposedPorts": {"80/tcp": {}, "53/udp": {}}}
    mapped = publish(svc, "c" * 64, config, hc, net, endpoint)
    assert mapped[0] == Mapped(Binding("udp", 53, "0.0.0.0", 0, 0), mapped[0].host_port, "10.199.6.2")
    assert 32768 <= mapped[0].host_port <= 60999
    assert mapped[1] == Mapped(Binding("tcp", 80, "127.0.0.1", port, port), port, "10.199.6.2")
    with socket.socket() as s, pytest.raises(OSError):  # held: nobody else may bind it
        s.bind(("127.0.0.1", port))
    assert f"ip daddr 127.0.0.1 tcp dport {port} dnat to 10.199.6.2:80" in applied[-1]
    assert (tmp_path / "ports" / ("c" * 64 + ".json")).exists()
    assert ports_summary(mapped, config["ExposedPorts"]) == [
        {"IP": "0.0.0.0", "PrivatePort": 53, "PublicPort": mapped[0].host_port, "Type": "udp"},
        {"IP": "127.0.0.1", "PrivatePort": 80, "PublicPort": port, "Type": "tcp"}]
    assert network_publish.ports_view_of(svc, "c" * 64, config["ExposedPorts"]) == {
        "80/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(port)}],
        "53/udp": [{"HostIp": "0.0.0.0", "HostPort": str(mapped[0].host_port)}]}

    other = Endpoint("d" * 64, "db", "f" * 64, "10.199.6.3", "02:42:00:00:00:03")
    with pytest.raises(FailedPrecondition, match=f"Bind for 127.0.0.1:{port} failed: port is already allocated"):
        publish(svc, "d" * 64, {}, {"PortBindings": hc["PortBindings"]}, net, other)
    with pytest.raises(FailedPrecondition, match=r"failed to bind host port for 0\.0\.0\.0:.*address already in use"):
        publish(svc, "d" * 64, {}, {"PortBindings": {"80/tcp": [{"HostPort": str(port)}]}}, net, other)
    ranged = publish(svc, "d" * 64, {}, {"PortBindings": {"81/tcp": [{"HostIp": "127.0.0.1",
                                                                      "HostPort": f"{port}-{port + 50}"}]}}, net, other)
    assert port < ranged[0].host_port <= port + 50  # the first free one, other containers' ports excluded
    with pytest.raises(InvalidArgument, match="IPv6"):
        publish(svc, "d" * 64, {}, {"PortBindings": {"80/tcp": [{"HostIp": "::1", "HostPort": "1"}]}}, net, other)

    release(svc, "c" * 64)
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))  # free again
    assert not (tmp_path / "ports" / ("c" * 64 + ".json")).exists()
    assert str(port) + " dnat" not in applied[-1]
    release(svc, "d" * 64)


def test_port_map_after_a_restart(tmp_path: Path) -> None:
    ports = PortMap(str(tmp_path))
    port = _free_port()
    b = Binding("tcp", 80, "127.0.0.1", port, port)
    ports.add("a" * 64, [Mapped(b, port, "10.199.6.2")], [])
    ports.add("b" * 64, [Mapped(Binding("udp", 53, "0.0.0.0", 0, 0), 40000, "10.199.6.3")], [])
    again = PortMap(str(tmp_path))  # a new engine: the saved lists, no sockets yet
    assert again.of("a" * 64) == [Mapped(b, port, "10.199.6.2")]
    assert len(again.rules()) == 2
    again.restore({"a" * 64})  # b stopped while no engine ran
    assert again.of("b" * 64) == [] and not (tmp_path / ("b" * 64 + ".json")).exists()
    with socket.socket() as s, pytest.raises(OSError):
        s.bind(("127.0.0.1", port))
    again.close()
    ports.close()


def test_daemon_options(tmp_path: Path) -> None:
    from dockyard.engine.config import build, load_file
    from dockyard.engine.daemon import configure

    assert (build({}).firewall_table, build({}).ip_forward) == ("dockyard", True)
    path = tmp_path / "daemon.json"
    path.write_text('{"ip-forward": false, "firewall-table": "dyt1"}')
    config = build({}, load_file(str(path)), str(path))
    assert (config.firewall_table, config.ip_forward) == ("dyt1", False)
    with pytest.raises(InvalidArgument, match="firewall-table 'no-dash'"):
        build({"firewall_table": "no-dash"})
    config, _ = configure(["--ip-forward=false", "--firewall-table", "t_2"])
    assert config is not None and (config.ip_forward, config.firewall_table) == (False, "t_2")
    config, _ = configure(["--ip-forward"])
    assert config is not None and config.ip_forward is True and config.iptables is True
    assert Firewall.of(config).table == "dockyard" and Firewall.of(config).enabled
    config, _ = configure(["--iptables=false"])
    assert config is not None and not Firewall.of(config).enabled
    path.write_text('{"iptables": false, "userland-proxy": false, "live-restore": true}')  # dockerd's keys
    assert build({}, load_file(str(path)), str(path)).iptables is False
