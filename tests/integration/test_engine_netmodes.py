"""Network modes and the files dockerd writes into containers, on a real dockyardd with the
docker CLI 28 and docker-py: ``--network none`` (only ``lo``), ``--network host`` (the host's
interfaces, hostname, /etc/hosts and resolv.conf), ``--network container:<name|id>`` (the
other's namespace, address and files; dockerd's errors for an unknown or stopped container
and for options that conflict with the mode), /etc/hosts with ``--add-host`` (also
``host-gateway``) and the container's address and hostname, resolv.conf with ``--dns``,
``--dns-search`` and ``--dns-option`` on the default bridge.

The expected texts are dockerd 20.10's (checked against a private dockerd).
The engine runs on a test bridge and test subnets (see ``tests.support.netcheck``).
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

import pytest
from tests.support import netcheck
from tests.support.engine import DOCKER, RunningEngine

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
    pytest.mark.skipif(not os.path.exists(DOCKER), reason="the docker CLI is not installed"),
]
pytest_plugins = ["tests.support.engine_fixtures"]

LOCAL_HOSTS = ("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n"
               "ff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n")


@pytest.fixture(autouse=True)
def _no_leftovers(engine: RunningEngine) -> object:
    """After each test: no container, no veth on the engine's bridge, no namespace bound."""
    yield
    engine.docker("rm", "-f", *engine.docker("ps", "-aq").stdout.split(), check=False)
    default = _bridge(engine)["Options"]["com.docker.network.bridge.name"]
    veths = sorted(name for name, master in netcheck.interfaces().items() if master == default)
    netns = engine.exec_root / "netns"
    assert not veths, f"veths left: {veths}"
    assert not (netns.exists() and list(netns.iterdir())), f"namespaces left: {list(netns.iterdir())}"


def _bridge(engine: RunningEngine) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(engine.docker("network", "inspect", "bridge").stdout)[0]
    return doc


def _inspect(engine: RunningEngine, ref: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(engine.docker("inspect", ref).stdout)[0]
    return doc


def _run(engine: RunningEngine, image: str, *args: str) -> str:
    """``docker run --rm`` with ``args`` (options, then the command after ``--``)."""
    split = args.index("--")
    return engine.docker("run", "--rm", *args[:split], image, *args[split + 1:]).stdout


def _links_in(text: str) -> list[str]:
    """Interface names of /proc/net/dev."""
    return sorted(line.split(":")[0].strip() for line in text.splitlines()[2:] if ":" in line)


# -- none and host ---------------------------------------------------------------------------
def test_none_has_only_loopback(engine: RunningEngine, engine_busybox: str) -> None:
    assert _links_in(_run(engine, engine_busybox, "--network", "none", "--", "cat", "/proc/net/dev")) == ["lo"]
    links = _run(engine, engine_busybox, "--network", "none", "--", "busybox", "ip", "-o", "link").splitlines()
    assert [line.split(":")[1].strip() for line in links] == ["lo"]
    doc = _inspect(engine, engine.docker("create", "--network", "none", engine_busybox, "true").stdout.strip())
    assert list(doc["NetworkSettings"]["Networks"]) == ["none"] and doc["HostConfig"]["NetworkMode"] == "none"
    none_id = json.loads(engine.docker("network", "inspect", "none").stdout)[0]["Id"]
    assert doc["NetworkSettings"]["Networks"]["none"]["NetworkID"] == none_id


def test_host_sees_the_hosts_interfaces_and_files(engine: RunningEngine, engine_busybox: str) -> None:
    before = set(os.listdir("/sys/class/net"))
    seen = set(_run(engine, engine_busybox, "--network", "host", "--", "ls", "/sys/class/net").split())
    after = set(os.listdir("/sys/class/net"))
    # other work on the machine may add or remove interfaces meanwhile
    assert before & after <= seen <= before | after and "lo" in seen
    out = _run(engine, engine_busybox, "--network", "host", "--", "sh", "-c",
               "busybox hostname; echo ---; cat /etc/hosts; echo ---; cat /etc/resolv.conf")
    hostname, hosts, resolv = out.split("---\n")
    assert hostname == socket.gethostname() + "\n"
    assert hosts == Path("/etc/hosts").read_text()
    assert resolv == Path("/etc/resolv.conf").read_text()
    cid = engine.docker("create", "--network", "host", engine_busybox, "true").stdout.strip()
    assert _inspect(engine, cid)["Config"]["Hostname"] == socket.gethostname()  # as dockerd shows it
    engine.docker("rm", cid)
    # with --add-host dockerd writes its own file, not the host's
    hosts = _run(engine, engine_busybox, "--network", "host", "--add-host", "db:10.199.9.9", "--", "cat",
                 "/etc/hosts")
    assert hosts == LOCAL_HOSTS + "10.199.9.9\tdb\n"
    assert _run(engine, engine_busybox, "--network", "host", "--dns", "1.1.1.1", "--", "cat",
                "/etc/resolv.conf") == "nameserver 1.1.1.1\n"


# -- container:<name|id> ---------------------------------------------------------------------
def test_container_mode_shares_the_namespace_address_and_files(engine: RunningEngine, engine_busybox: str) -> None:
    tgt = engine.docker("run", "-d", "--name", "dytest-tgt", "--hostname", "tgthost", "--domainname", "ex.org",
                        "--add-host", "foo:10.199.9.9", "--dns", "9.9.9.9", engine_busybox, "sleep",
                        "300").stdout.strip()
    address = _inspect(engine, tgt)["NetworkSettings"]["Networks"]["bridge"]["IPAddress"]
    script = ("ip -4 -o addr show eth0; echo ---; busybox hostname; cat /etc/hostname; echo ---; cat /etc/hosts; "
              "echo ---; cat /etc/resolv.conf; echo ---; cat /proc/sys/kernel/domainname")
    for ref in ("dytest-tgt", tgt[:12]):
        out = _run(engine, engine_busybox, "--network", f"container:{ref}", "--", "sh", "-c", script)
        addr, names, hosts, resolv, domain = out.split("---\n")
        assert f"inet {address}/24" in addr
        assert names == "tgthost\ntgthost\n"
        assert hosts == LOCAL_HOSTS + f"10.199.9.9\tfoo\n{address}\ttgthost.ex.org tgthost\n"
        assert resolv == "nameserver 9.9.9.9\n"
        assert domain == "ex.org\n"
    joiner = engine.docker("create", "--network", "container:dytest-tgt", engine_busybox, "sleep", "300").stdout.strip()
    doc = _inspect(engine, joiner)
    assert doc["HostConfig"]["NetworkMode"] == f"container:{tgt}"  # stored by ID, as dockerd does
    assert doc["HostsPath"] == _inspect(engine, tgt)["HostsPath"]
    engine.docker("start", joiner)
    doc = _inspect(engine, joiner)
    assert doc["NetworkSettings"]["Networks"] == {} and doc["NetworkSettings"]["SandboxKey"] == ""
    assert doc["NetworkSettings"]["IPAddress"] == "" and doc["Config"]["Hostname"] == "tgthost"
    # a container on a container-mode one joins the same namespace
    chained = _run(engine, engine_busybox, "--network", f"container:{joiner}", "--", "busybox", "ip", "-4", "-o",
                   "addr")
    assert f"inet {address}/24" in chained
    engine.docker("restart", "-t", "0", joiner)  # joins again
    assert f"inet {address}/24" in engine.docker("exec", joiner, "busybox", "ip", "-4", "-o", "addr").stdout
    out = engine.docker("network", "connect", "bridge", joiner, check=False)
    assert out.returncode == 1 and ("container sharing network namespace with another container or host cannot be "
                                    "connected to any other network") in out.stderr
    engine.docker("rm", "-f", joiner)
    # the other container stops: its namespace and veth go when no one is left in it
    engine.docker("rm", "-f", tgt)


def test_container_mode_on_none_and_host_containers(engine: RunningEngine, engine_busybox: str) -> None:
    alone = engine.docker("run", "-d", "--network", "none", engine_busybox, "sleep", "300").stdout.strip()
    out = _run(engine, engine_busybox, "--network", f"container:{alone}", "--", "cat", "/proc/net/dev")
    assert _links_in(out) == ["lo"]
    host = engine.docker("run", "-d", "--network", "host", engine_busybox, "sleep", "300").stdout.strip()
    seen = set(_run(engine, engine_busybox, "--network", f"container:{host}", "--", "ls", "/sys/class/net").split())
    assert "lo" in seen and seen & set(os.listdir("/sys/class/net")) - {"lo"}
    engine.docker("rm", "-f", alone, host)


@pytest.mark.parametrize(("options", "message"), [
    (["--hostname", "x"], "conflicting options: hostname and the network mode"),
    (["-p", "18080:80"], "conflicting options: port publishing and the container type network mode"),
    (["--expose", "80"], "conflicting options: port exposing and the container type network mode"),
    (["--dns", "1.1.1.1"], "conflicting options: dns and the network mode"),
    (["--add-host", "a:10.199.9.9"], "conflicting options: custom host-to-IP mapping and the network mode"),
    (["--mac-address", "02:42:ac:11:00:09"], "conflicting options: mac-address and the network mode"),
    (["--link", "dytest-conf:t"], "conflicting options: container type network can't be used with links"),
    (["--network-alias", "al"], "network-scoped aliases are only supported for user-defined networks"),  # the CLI's
])
def test_container_mode_refuses_conflicting_options(engine: RunningEngine, engine_busybox: str,
                                                    options: list[str], message: str) -> None:
    engine.docker("run", "-d", "--name", "dytest-conf", "--network", "none", engine_busybox, "sleep", "300")
    out = engine.docker("run", "--rm", "--network", "container:dytest-conf", *options, engine_busybox, "true",
                        check=False)
    assert out.returncode == 125 and message in out.stderr, out.stderr


def test_container_mode_errors_for_unknown_and_stopped_containers(engine: RunningEngine,
                                                                 engine_busybox: str) -> None:
    # dockerd creates it and refuses it at start
    cid = engine.docker("create", "--network", "container:dytest-nosuch", engine_busybox, "true").stdout.strip()
    assert _inspect(engine, cid)["HostConfig"]["NetworkMode"] == "container:dytest-nosuch"
    out = engine.docker("start", cid, check=False)
    assert out.returncode == 1 and "Error response from daemon: No such container: dytest-nosuch" in out.stderr
    stopped = engine.docker("create", "--network", "none", engine_busybox, "true").stdout.strip()
    out = engine.docker("run", "--rm", "--network", f"container:{stopped}", engine_busybox, "true", check=False)
    assert out.returncode == 125
    assert f"cannot join network of a non running container: {stopped}" in out.stderr
    out = engine.docker("run", "--rm", "--network", "container:", engine_busybox, "true", check=False)
    assert "invalid container format container:<name|id>" in out.stderr
    mac = engine.docker("run", "--rm", "--network", "host", "--mac-address", "02:42:ac:11:00:09", engine_busybox,
                        "true", check=False)
    assert mac.returncode == 125 and "conflicting options: mac-address and the network mode" in mac.stderr


def test_network_connect_refuses_shared_and_none_namespaces(engine: RunningEngine, engine_busybox: str) -> None:
    host = engine.docker("run", "-d", "--network", "host", engine_busybox, "sleep", "300").stdout.strip()
    alone = engine.docker("run", "-d", "--network", "none", engine_busybox, "sleep", "300").stdout.strip()
    out = engine.docker("network", "connect", "bridge", host, check=False)
    assert out.returncode == 1 and "container sharing network namespace with another container or host" in out.stderr
    out = engine.docker("network", "connect", "bridge", alone, check=False)
    assert out.returncode == 1 and ("container cannot be connected to multiple networks with one of the networks in "
                                    "private (none) mode") in out.stderr


# -- /etc/hosts, /etc/hostname, resolv.conf on the default bridge ----------------------------
def test_hosts_and_hostname_on_the_default_bridge(engine: RunningEngine, engine_busybox: str) -> None:
    gateway = _bridge(engine)["IPAM"]["Config"][0]["Gateway"]
    out = _run(engine, engine_busybox, "--hostname", "web", "--domainname", "example.org", "--add-host",
               "db:10.199.9.9", "--add-host", "gw:host-gateway", "--", "sh", "-c",
               "ip -4 -o addr show eth0; echo ---; cat /etc/hosts; echo ---; cat /etc/hostname; busybox hostname")
    addr, hosts, names = out.split("---\n")
    address = addr.split("inet ")[1].split("/")[0]
    assert hosts == LOCAL_HOSTS + f"10.199.9.9\tdb\n{gateway}\tgw\n{address}\tweb.example.org web\n"
    assert names == "web\nweb\n"
    cid = engine.docker("run", "-d", engine_busybox, "sleep", "300").stdout.strip()
    hosts = engine.docker("exec", cid, "cat", "/etc/hosts").stdout
    address = _inspect(engine, cid)["NetworkSettings"]["IPAddress"]
    assert hosts == LOCAL_HOSTS + f"{address}\t{cid[:12]}\n"
    assert engine.docker("exec", cid, "busybox", "hostname").stdout == cid[:12] + "\n"
    # host-gateway is the default bridge's gateway in every mode
    assert _run(engine, engine_busybox, "--network", "none", "--add-host", "gw:host-gateway", "--", "cat",
                "/etc/hosts") == LOCAL_HOSTS + f"{gateway}\tgw\n"


def test_resolv_conf_with_dns_options_on_the_default_bridge(engine: RunningEngine, engine_busybox: str) -> None:
    out = _run(engine, engine_busybox, "--dns", "1.1.1.1", "--dns", "9.9.9.9", "--dns-search", "a.example",
               "--dns-search", "b.example", "--dns-option", "ndots:2", "--dns-option", "timeout:3", "--", "cat",
               "/etc/resolv.conf")
    assert out == ("search a.example b.example\nnameserver 1.1.1.1\nnameserver 9.9.9.9\n"
                   "options ndots:2 timeout:3\n")
    host = Path("/etc/resolv.conf").read_text()
    host_servers = [f[1] for f in (line.split() for line in host.splitlines()) if len(f) > 1 and f[0] == "nameserver"]
    only_search = _run(engine, engine_busybox, "--dns-search", "a.example", "--", "cat", "/etc/resolv.conf")
    assert only_search.splitlines()[0] == "search a.example"
    assert [line.split()[1] for line in only_search.splitlines() if line.startswith("nameserver")] == host_servers
    plain = _run(engine, engine_busybox, "--", "cat", "/etc/resolv.conf")
    servers = [line.split()[1] for line in plain.splitlines() if line.startswith("nameserver")]
    reachable = [s for s in host_servers if not s.startswith("127.") and s != "::1"]
    assert servers == (reachable or ["8.8.8.8", "8.8.4.4"])


def test_docker_py_network_modes(engine: RunningEngine, engine_busybox: str) -> None:
    pytest.importorskip("docker")
    client = engine.docker_py()
    try:
        tgt = client.containers.run(engine_busybox, ["sleep", "300"], detach=True, hostname="pyhost")
        try:
            tgt.reload()
            address = tgt.attrs["NetworkSettings"]["IPAddress"]
            out = client.containers.run(engine_busybox, ["sh", "-c", "ip -4 -o addr show eth0; busybox hostname"],
                                        network_mode=f"container:{tgt.id}", remove=True).decode()
            assert f"inet {address}/24" in out and out.endswith("pyhost\n")
            hosts = client.containers.run(engine_busybox, ["cat", "/etc/hosts"], network_mode="none", remove=True,
                                          extra_hosts={"db": "10.199.9.9"}).decode()
            assert hosts == LOCAL_HOSTS + "10.199.9.9\tdb\n"
        finally:
            tgt.remove(force=True)
    finally:
        client.close()
