"""Networks on a real dockyardd with the docker CLI 28: create/ls/inspect/rm/prune as docker
prints them, containers on user-defined bridge networks with an address of the subnet, two
containers reaching each other, and nothing left (veth, bridge, namespace, mount).

The engine runs on a test bridge and test subnets (10.199.0.0/16, see
``tests.support.netcheck``); every network the tests create has a 10.199.x.0/24 subnet.
"""

from __future__ import annotations

import json
import os
import re
import time

import docker
import pytest
from tests.support import netcheck
from tests.support.engine import DOCKER, RunningEngine

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
    pytest.mark.skipif(not os.path.exists(DOCKER), reason="the docker CLI is not installed"),
]
pytest_plugins = ["tests.support.engine_fixtures"]


def _subnet() -> str:
    return str(netcheck.free_test_subnet(10))


def _links() -> dict[str, str]:
    return netcheck.interfaces()


@pytest.fixture(autouse=True)
def _no_leftovers(engine: RunningEngine) -> object:
    """After each test: no container, no custom network, no veth on this engine's bridges, no
    bridge of its networks, no namespace (other engines on this machine are not looked at)."""
    yield
    engine.docker("container", "prune", "-f", check=False)
    left = engine.docker("network", "ls", "-q", "--no-trunc", "--filter", "type=custom").stdout.split()
    for ident in left:
        engine.docker("network", "rm", ident, check=False)
    default = json.loads(engine.docker("network", "inspect", "bridge").stdout)[0]["Options"][
        "com.docker.network.bridge.name"]
    links = _links()
    ours = {default, *(f"br-{ident[:12]}" for ident in left)}
    veths = sorted(name for name, master in links.items() if master in ours)
    bridges = sorted(name for name in links if name in ours - {default})
    netns = engine.exec_root / "netns"
    assert not left, f"networks left: {left}"
    assert not veths and not bridges, f"interfaces left: {veths + bridges}"
    assert not (netns.exists() and list(netns.iterdir())), f"namespaces left: {list(netns.iterdir())}"


def test_predefined_networks_are_listed_as_dockerd_lists_them(engine: RunningEngine) -> None:
    out = engine.docker("network", "ls", "--format", "{{.Name}} {{.Driver}} {{.Scope}}").stdout
    assert out == "bridge bridge local\nhost host local\nnone null local\n"
    table = engine.docker("network", "ls").stdout.splitlines()
    assert re.fullmatch(r"NETWORK ID\s+NAME\s+DRIVER\s+SCOPE", table[0])
    doc = json.loads(engine.docker("network", "inspect", "bridge").stdout)[0]
    assert doc["Options"]["com.docker.network.bridge.name"].startswith("dyt")
    config = doc["IPAM"]["Config"][0]
    assert config["Subnet"].startswith("10.199.") and config["Gateway"].endswith(".1")
    err = engine.docker("network", "rm", "bridge", check=False)
    assert err.returncode == 1
    assert "bridge is a pre-defined network and cannot be removed" in err.stderr


def test_create_inspect_ls_rm(engine: RunningEngine) -> None:
    subnet = _subnet()
    gateway = subnet.replace(".0/24", ".254")
    ident = engine.docker("network", "create", "--subnet", subnet, "--gateway", gateway, "--label", "t=1",
                          "dytest-net").stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{64}", ident)
    bridge = f"br-{ident[:12]}"
    assert bridge in _links()
    doc = json.loads(engine.docker("network", "inspect", "dytest-net").stdout)[0]
    assert (doc["Id"], doc["Name"], doc["Driver"], doc["Labels"]) == (ident, "dytest-net", "bridge", {"t": "1"})
    assert doc["IPAM"]["Config"] == [{"Subnet": subnet, "Gateway": gateway}]
    ls = engine.docker("network", "ls", "--filter", "label=t=1", "--format", "{{.ID}} {{.Name}}").stdout
    assert ls == f"{ident[:12]} dytest-net\n"
    dup = engine.docker("network", "create", "dytest-net", check=False)
    assert dup.returncode == 1 and "network with name dytest-net already exists" in dup.stderr
    assert engine.docker("network", "rm", "dytest-net").stdout == "dytest-net\n"
    assert bridge not in _links()
    missing = engine.docker("network", "inspect", "dytest-net", check=False)
    assert missing.returncode == 1 and "network dytest-net not found" in missing.stderr


def test_prune_removes_unused_networks(engine: RunningEngine) -> None:
    engine.docker("network", "create", "--subnet", _subnet(), "dytest-p1")
    engine.docker("network", "create", "dytest-p2")  # a subnet of the test pool
    out = engine.docker("network", "prune", "-f").stdout
    assert out == "Deleted Networks:\ndytest-p1\ndytest-p2\n\n"


def test_container_on_a_user_defined_network_gets_an_address(engine: RunningEngine, engine_busybox: str) -> None:
    subnet = _subnet()
    prefix = subnet.rsplit(".", 1)[0]
    engine.docker("network", "create", "--subnet", subnet, "dytest-run")
    out = engine.docker("run", "--rm", "--network", "dytest-run", engine_busybox, "busybox", "ip", "-4", "addr").stdout
    assert f"inet {prefix}.2/24" in out and "eth0" in out
    routes = engine.docker("run", "--rm", "--network", "dytest-run", engine_busybox, "busybox", "ip", "route").stdout
    assert f"default via {prefix}.1 dev eth0" in routes
    hosts = engine.docker("run", "--rm", "--network", "dytest-run", "--hostname", "web", engine_busybox, "cat",
                          "/etc/hosts").stdout
    assert hosts.startswith("127.0.0.1\tlocalhost\n") and hosts.endswith(f"\n{prefix}.2\tweb\n")
    links = engine.docker("run", "--rm", "--network", "none", engine_busybox, "ls", "/sys/class/net").stdout
    assert links.split() == ["lo"]
    # dockerd's MAC: 02:42 and the address's bytes; --mac-address sets it
    octets = [int(x) for x in f"{prefix}.2".split(".")]
    derived = "02:42:" + ":".join(f"{b:02x}" for b in octets)
    assert engine.docker("run", "--rm", "--network", "dytest-run", engine_busybox, "cat",
                         "/sys/class/net/eth0/address").stdout == derived + "\n"
    assert engine.docker("run", "--rm", "--network", "dytest-run", "--mac-address", "02:42:AC:11:00:99",
                         engine_busybox, "cat", "/sys/class/net/eth0/address").stdout == "02:42:ac:11:00:99\n"
    assert engine.docker("run", "--rm", "--mac-address", "02:42:ac:11:00:98", engine_busybox, "cat",
                         "/sys/class/net/eth0/address").stdout == "02:42:ac:11:00:98\n"  # the default bridge
    engine.docker("network", "rm", "dytest-run")


def test_default_bridge_and_inspect_of_a_running_container(engine: RunningEngine, engine_busybox: str) -> None:
    cid = engine.docker("run", "-d", engine_busybox, "sleep", "60").stdout.strip()
    try:
        doc = json.loads(engine.docker("inspect", cid).stdout)[0]
        settings = doc["NetworkSettings"]
        bridge = settings["Networks"]["bridge"]
        assert bridge["IPAddress"].startswith("10.199.") and bridge["IPPrefixLen"] == 24
        assert settings["IPAddress"] == bridge["IPAddress"] and bridge["Gateway"].endswith(".1")
        net = json.loads(engine.docker("network", "inspect", "bridge").stdout)[0]
        assert net["Containers"][cid]["IPv4Address"] == bridge["IPAddress"] + "/24"
        rm = engine.docker("network", "rm", "bridge", check=False)
        assert rm.returncode == 1
    finally:
        engine.docker("rm", "-f", cid)
    net = json.loads(engine.docker("network", "inspect", "bridge").stdout)[0]
    assert net["Containers"] == {}


def test_two_containers_on_one_network_ping_each_other(engine: RunningEngine, engine_busybox: str) -> None:
    subnet = _subnet()
    engine.docker("network", "create", "--subnet", subnet, "dytest-ping")
    cid = engine.docker("run", "-d", "--network", "dytest-ping", engine_busybox, "sleep", "60").stdout.strip()
    try:
        address = json.loads(engine.docker("inspect", cid).stdout)[0]["NetworkSettings"]["Networks"][
            "dytest-ping"]["IPAddress"]
        out = engine.docker("run", "--rm", "--network", "dytest-ping", engine_busybox, "busybox", "ping", "-c", "1",
                            "-W", "5", address).stdout
        assert "1 packets received" in out
        in_use = engine.docker("network", "rm", "dytest-ping", check=False)
        assert in_use.returncode == 1 and "has active endpoints" in in_use.stderr
    finally:
        engine.docker("rm", "-f", cid)
    engine.docker("network", "rm", "dytest-ping")


def test_unknown_network_at_create(engine: RunningEngine, engine_busybox: str) -> None:
    out = engine.docker("create", "--pull", "never", "--network", "dytest-nope", engine_busybox, "true", check=False)
    assert out.returncode != 0 and "network dytest-nope not found" in out.stderr


def test_an_engine_killed_with_sigkill_cleans_up_at_its_next_start(tmp_path_factory: pytest.TempPathFactory) -> None:
    import signal
    import time

    from tests.support.engine import dockyardd
    from tests.support.images import save_busybox_archive

    base = tmp_path_factory.mktemp("netkill")
    archive, _ = save_busybox_archive(tmp_path_factory.mktemp("netkill-image"))
    subnet = _subnet()
    first = RunningEngine.start(base)
    try:
        first.ctr("-n", "dockyard", "images", "import", str(archive))
        first.docker("network", "create", "--subnet", subnet, "dytest-kill")
        keeper = first.docker("run", "-d", "--network", "dytest-kill", "busybox", "sleep", "1000").stdout.strip()
        ender = first.docker("run", "-d", "--network", "dytest-kill", "busybox", "sleep", "1").stdout.strip()
        address = json.loads(first.docker("inspect", keeper).stdout)[0]["NetworkSettings"]["Networks"][
            "dytest-kill"]["IPAddress"]
    finally:
        os.kill(first.process.pid, signal.SIGKILL)
        first.process.wait()
    time.sleep(2)  # ender exits while no engine watches: its namespace and veth stay until the next start
    assert (first.exec_root / "netns" / ender).exists()
    with dockyardd(base) as engine:
        assert not (engine.exec_root / "netns" / ender).exists()
        net = json.loads(engine.docker("network", "inspect", "dytest-kill").stdout)[0]
        assert list(net["Containers"]) == [keeper]
        assert net["Containers"][keeper]["IPv4Address"] == address + "/24"
        # the running one kept its address; the one that ended gets a fresh one when it starts again
        engine.docker("start", ender)
        doc = json.loads(engine.docker("inspect", ender).stdout)[0]
        assert doc["NetworkSettings"]["Networks"]["dytest-kill"]["IPAddress"] not in ("", address)
        engine.docker("rm", "-f", keeper, ender)
        engine.docker("network", "rm", "dytest-kill")


def test_connect_and_disconnect_a_running_container(engine: RunningEngine, engine_busybox: str) -> None:
    first, second = _subnet(), str(netcheck.free_test_subnet(60))
    engine.docker("network", "create", "--subnet", first, "dytest-c1")
    engine.docker("network", "create", "--subnet", second, "dytest-c2")
    cid = engine.docker("run", "-d", "--network", "dytest-c1", engine_busybox, "sleep", "60").stdout.strip()
    try:
        engine.docker("network", "connect", "dytest-c2", cid)
        addr = engine.docker("exec", cid, "busybox", "ip", "-4", "addr").stdout
        prefix2 = second.rsplit(".", 1)[0]
        assert "eth1" in addr and f"inet {prefix2}.2/24" in addr
        nets = json.loads(engine.docker("inspect", cid).stdout)[0]["NetworkSettings"]["Networks"]
        assert sorted(nets) == ["dytest-c1", "dytest-c2"]
        again = engine.docker("network", "connect", "dytest-c2", cid, check=False)
        assert again.returncode == 1 and "already exists in network dytest-c2" in again.stderr
        engine.docker("network", "disconnect", "dytest-c2", cid)
        assert "eth1" not in engine.docker("exec", cid, "busybox", "ip", "-4", "addr").stdout
        out = engine.docker("network", "disconnect", "dytest-c2", cid, check=False)
        assert out.returncode == 1 and "is not connected to network dytest-c2" in out.stderr
    finally:
        engine.docker("rm", "-f", cid)
    engine.docker("network", "rm", "dytest-c1", "dytest-c2")


def test_docker_py_drives_networks(engine: RunningEngine, engine_busybox: str) -> None:
    docker = pytest.importorskip("docker")
    client = engine.docker_py()
    subnet = _subnet()
    ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=subnet)])
    net = client.networks.create("dytest-py", driver="bridge", ipam=ipam, labels={"k": "v"})
    try:
        assert client.networks.get("dytest-py").id == net.id
        assert [n.name for n in client.networks.list(filters={"label": "k=v"})] == ["dytest-py"]
        out = client.containers.run(engine_busybox, ["busybox", "ip", "-4", "addr"], network="dytest-py",
                                    remove=True)
        assert f"inet {subnet.rsplit('.', 1)[0]}.2/24".encode() in out
        assert client.networks.prune()["NetworksDeleted"] == ["dytest-py"]
    finally:
        if [n for n in client.networks.list(names=["dytest-py"])]:
            net.remove()
        client.close()


def test_ip_alias_and_connect_while_stopped(engine: RunningEngine, engine_busybox: str) -> None:
    first, second = _subnet(), str(netcheck.free_test_subnet(60))
    p1, p2 = first.rsplit(".", 1)[0], second.rsplit(".", 1)[0]
    engine.docker("network", "create", "--subnet", first, "dytest-s1")
    engine.docker("network", "create", "--subnet", second, "dytest-s2")
    cid = engine.docker("create", "--network", "dytest-s1", "--ip", f"{p1}.77", "--network-alias", "db",
                        engine_busybox, "sleep", "60").stdout.strip()
    try:
        engine.docker("network", "connect", "dytest-s2", cid)
        nets = json.loads(engine.docker("inspect", cid).stdout)[0]["NetworkSettings"]["Networks"]
        assert sorted(nets) == ["dytest-s1", "dytest-s2"] and nets["dytest-s1"]["IPAddress"] == ""
        engine.docker("start", cid)
        addr = engine.docker("exec", cid, "busybox", "ip", "-4", "addr").stdout
        assert f"inet {p1}.77/24" in addr and f"inet {p2}.2/24" in addr
        nets = json.loads(engine.docker("inspect", cid).stdout)[0]["NetworkSettings"]["Networks"]
        assert nets["dytest-s1"]["Aliases"] == ["db"] and nets["dytest-s1"]["IPAddress"] == f"{p1}.77"
        engine.docker("stop", "-t", "0", cid)
        engine.docker("network", "disconnect", "dytest-s2", cid)
        engine.docker("start", cid)
        addr = engine.docker("exec", cid, "busybox", "ip", "-4", "addr").stdout
        assert f"inet {p1}.77/24" in addr and p2 not in addr
        bad = engine.docker("create", "--pull", "never", "--ip", "10.199.0.9", engine_busybox, "true", check=False)
        assert bad.returncode != 0 and "supported on user defined networks only" in bad.stderr
    finally:
        engine.docker("rm", "-f", cid)
    engine.docker("network", "rm", "dytest-s1", "dytest-s2")


def test_start_after_its_network_was_removed(engine: RunningEngine, engine_busybox: str) -> None:
    engine.docker("network", "create", "--subnet", _subnet(), "dytest-gone")
    cid = engine.docker("create", "--network", "dytest-gone", engine_busybox, "true").stdout.strip()
    try:
        engine.docker("network", "rm", "dytest-gone")  # a stopped container does not keep it
        out = engine.docker("start", cid, check=False)
        assert out.returncode == 1 and "network dytest-gone not found" in out.stderr
    finally:
        engine.docker("rm", "-f", cid)


def test_stats_count_the_containers_network_traffic(engine: RunningEngine, engine_busybox: str) -> None:
    """dockerd reads the sandbox's interfaces for ``networks`` (runc's stats have none)."""
    cid = engine.docker("run", "-d", engine_busybox, "sh", "-c",
                        "ping -c 5 -i 0.1 $(ip route | awk '/default/ {print $3}'); sleep 60").stdout.strip()
    none = engine.docker("run", "-d", "--network", "none", engine_busybox, "sleep", "60").stdout.strip()
    try:
        time.sleep(1)
        client = docker.DockerClient(base_url=engine.host)
        try:
            networks = client.api.stats(cid, stream=False, one_shot=True)["networks"]
            assert set(networks) == {"eth0"} and networks["eth0"]["tx_packets"] >= 5
            assert networks["eth0"]["rx_bytes"] > 0
            assert "networks" not in client.api.stats(none, stream=False, one_shot=True)
        finally:
            client.close()
        net_io = engine.docker("stats", "--no-stream", "--format", "{{.NetIO}}", cid).stdout.strip()
        assert net_io != "0B / 0B", net_io
    finally:
        engine.docker("rm", "-f", cid, none)
