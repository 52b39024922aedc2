"""Published ports and the engine's firewall on a real kernel, with the docker CLI 28,
docker-py and ``dockyard``: ``-p``/``-P`` answer through kernel NAT (host loopback,
hairpin from the same bridge), ``docker port``/``ps``/inspect as dockerd shows them, ports
held while the container runs and free after it stops, networks isolated from each other,
outbound traffic masqueraded, and published ports kept across a restart of the engine.

The engine runs on a test bridge and test subnets with its own nft table (``dyt<hex>``,
see ``tests.support.netcheck``); the "outside" of the NAT test is a namespace and a veth
pair on a 10.199.x.0/30 the test makes and removes.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support import netcheck
from tests.support.clients import make_client
from tests.support.engine import DOCKER, RunningEngine, dockyardd, wait_for

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
    pytest.mark.skipif(not os.path.exists(DOCKER), reason="the docker CLI is not installed"),
]
pytest_plugins = ["tests.support.engine_fixtures"]

HTTPD = "mkdir -p /www && echo hello from $(hostname) > /www/index.html && exec httpd -f -p 80 -h /www"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def can_bind(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def fetch(url: str, timeout: float = 10.0) -> str:
    """The body at ``url`` once it answers (httpd starts after the container does)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                return str(resp.read().decode())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def inspect(engine: RunningEngine, cid: str) -> dict[str, object]:
    doc = json.loads(engine.docker("inspect", cid).stdout)[0]
    assert isinstance(doc, dict)
    return doc


@pytest.fixture(autouse=True)
def _containers_removed(engine: RunningEngine) -> Iterator[None]:
    yield
    left = engine.docker("ps", "-aq").stdout.split()
    if left:
        engine.docker("rm", "-f", *left, check=False)
    for ident in engine.docker("network", "ls", "-q", "--filter", "type=custom").stdout.split():
        engine.docker("network", "rm", ident, check=False)


def test_published_port_on_loopback_answers_and_is_shown_as_dockerd_shows_it(
        engine: RunningEngine, engine_busybox: str, tmp_path: Path) -> None:
    port = free_port()
    cid = engine.docker("run", "-d", "-p", f"127.0.0.1:{port}:80", "--hostname", "web", engine_busybox,
                        "sh", "-c", HTTPD).stdout.strip()
    assert fetch(f"http://127.0.0.1:{port}/") == "hello from web\n"
    assert not can_bind(port)  # the engine holds it
    settings = inspect(engine, cid)["NetworkSettings"]
    assert isinstance(settings, dict)
    assert settings["Ports"] == {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(port)}]}
    for name in ("docker", "dockyard"):
        client = make_client(name, engine, tmp_path / name)
        assert client.run("port", cid).stdout == f"80/tcp -> 127.0.0.1:{port}\n", name
        assert client.run("port", cid, "80").stdout == f"127.0.0.1:{port}\n", name
        assert client.run("ps", "--filter", f"id={cid}", "--format", "{{.Ports}}").stdout == \
            f"127.0.0.1:{port}->80/tcp\n", name
        missing = client.run("port", cid, "81/tcp", status=1)
        assert f"No public port '81/tcp' published for {cid}" in missing.stderr, name
    status, _, body = engine.request("GET", f"/containers/json?filters=%7B%22id%22%3A%5B%22{cid}%22%5D%7D")
    assert status == 200
    assert json.loads(body)[0]["Ports"] == [{"IP": "127.0.0.1", "PrivatePort": 80, "PublicPort": port,
                                             "Type": "tcp"}]
    engine.docker("stop", "-t", "0", cid)
    assert can_bind(port)  # released at stop
    assert inspect(engine, cid)["NetworkSettings"]["Ports"] == {}  # type: ignore[index]
    assert engine.docker("port", cid).stdout == ""
    engine.docker("start", cid)  # published again at the next start
    assert fetch(f"http://127.0.0.1:{port}/") == "hello from web\n"
    engine.docker("rm", "-f", cid)
    assert can_bind(port)


def test_docker_py_publishes_a_port(engine: RunningEngine, engine_busybox: str) -> None:
    client = engine.docker_py()
    port = free_port()
    try:
        container = client.containers.run(engine_busybox, ["sh", "-c", HTTPD], detach=True, hostname="py",
                                          ports={"80/tcp": ("127.0.0.1", port)})
        try:
            assert fetch(f"http://127.0.0.1:{port}/") == "hello from py\n"
            container.reload()
            assert container.ports == {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(port)}]}
        finally:
            container.remove(force=True)
    finally:
        client.close()
    assert can_bind(port)


def test_publish_all_picks_a_free_ephemeral_port(engine: RunningEngine, engine_busybox: str) -> None:
    cid = engine.docker("run", "-d", "--expose", "80", "-P", "--hostname", "all", engine_busybox, "sh", "-c",
                        HTTPD).stdout.strip()
    out = engine.docker("port", cid).stdout
    assert out.startswith("80/tcp -> 0.0.0.0:"), out
    port = int(out.strip().rsplit(":", 1)[1])
    assert 32768 <= port <= 60999
    assert fetch(f"http://127.0.0.1:{port}/") == "hello from all\n"  # 0.0.0.0: every local address
    ports = inspect(engine, cid)["NetworkSettings"]["Ports"]  # type: ignore[index]
    assert ports == {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": str(port)}]}
    second = engine.docker("run", "-d", "--expose", "80", "-P", engine_busybox, "sleep", "60").stdout.strip()
    other = int(engine.docker("port", second, "80").stdout.strip().rsplit(":", 1)[1])
    assert other != port
    engine.docker("rm", "-f", cid, second)
    assert can_bind(port, "0.0.0.0") and can_bind(other, "0.0.0.0")


UDP_ECHO = """
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 5353)); print("ready", flush=True)
data, peer = s.recvfrom(100); s.sendto(data.upper(), peer)
"""


def test_port_ranges_and_udp(engine: RunningEngine, engine_busybox: str) -> None:
    first = free_port()
    while not can_bind(first + 1):
        first = free_port()
    cid = engine.docker("run", "-d", "-p", f"127.0.0.1:{first}-{first + 1}:80-81", "-p",
                        f"127.0.0.1:{first}-{first + 9}:5353/udp", engine_busybox, "sleep", "60").stdout.strip()
    out = engine.docker("port", cid).stdout.splitlines()
    assert out[:2] == [f"80/tcp -> 127.0.0.1:{first}", f"81/tcp -> 127.0.0.1:{first + 1}"]
    assert out[2].startswith("5353/udp -> 127.0.0.1:"), out
    udp = int(out[2].rsplit(":", 1)[1])
    assert first <= udp <= first + 9  # the first free one of the range (for udp)
    sandbox = inspect(engine, cid)["NetworkSettings"]["SandboxKey"]  # type: ignore[index]
    server = subprocess.Popen(["nsenter", f"--net={sandbox}", sys.executable, "-c", UDP_ECHO], stdout=subprocess.PIPE,
                              text=True)  # an echo server in the container's network namespace
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(5)
            s.sendto(b"over udp", ("127.0.0.1", udp))
            assert s.recvfrom(100) == (b"OVER UDP", ("127.0.0.1", udp))
    finally:
        server.kill()
        server.wait()
    engine.docker("rm", "-f", cid)


def test_host_mode_discards_published_ports_with_dockerds_warning(engine: RunningEngine, engine_busybox: str) -> None:
    out = engine.docker("create", "--network", "host", "-p", "18080:80", engine_busybox, "true")
    assert "WARNING: Published ports are discarded when using host network mode" in out.stderr
    engine.docker("rm", out.stdout.strip())
    exposed = engine.docker("run", "-d", "--expose", "90", engine_busybox, "sleep", "60").stdout.strip()
    host = engine.docker("run", "-d", "--network", "host", "--expose", "90", engine_busybox, "sleep",
                         "60").stdout.strip()
    for cid, shown in ((exposed, "90/tcp\n"), (host, "\n")):  # exposed only: no host port; host mode: nothing
        assert engine.docker("ps", "--filter", f"id={cid}", "--format", "{{.Ports}}").stdout == shown
    assert inspect(engine, exposed)["NetworkSettings"]["Ports"] == {"90/tcp": None}  # type: ignore[index]
    engine.docker("rm", "-f", exposed, host)


def test_hairpin_from_the_same_bridge(engine: RunningEngine, engine_busybox: str) -> None:
    port = free_port("0.0.0.0")
    cid = engine.docker("run", "-d", "-p", f"{port}:80", "--hostname", "hp", engine_busybox, "sh", "-c",
                        HTTPD).stdout.strip()
    gateway = inspect(engine, cid)["NetworkSettings"]["Networks"]["bridge"]["Gateway"]  # type: ignore[index]
    assert fetch(f"http://127.0.0.1:{port}/") == "hello from hp\n"
    get = ["sh", "-c", f"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 5 {gateway} {port}"]
    out = engine.docker("run", "--rm", engine_busybox, *get).stdout
    assert out.startswith("HTTP/1.1 200 OK") and out.endswith("\nhello from hp\n"), out  # a neighbour, via the host
    out = engine.docker("exec", cid, *get).stdout
    assert out.startswith("HTTP/1.1 200 OK") and out.endswith("\nhello from hp\n"), out  # itself (hairpin mode)
    engine.docker("rm", "-f", cid)


def test_a_port_taken_by_another_container_or_process(engine: RunningEngine, engine_busybox: str) -> None:
    port = free_port()
    first = engine.docker("run", "-d", "-p", f"127.0.0.1:{port}:80", engine_busybox, "sleep", "60").stdout.strip()
    out = engine.docker("run", "-d", "-p", f"127.0.0.1:{port}:80", engine_busybox, "sleep", "60", check=False)
    assert out.returncode != 0 and f"Bind for 127.0.0.1:{port} failed: port is already allocated" in out.stderr
    engine.docker("rm", "-f", first)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port))
        out = engine.docker("run", "-d", "-p", f"127.0.0.1:{port}:80", engine_busybox, "sleep", "60", check=False)
        assert out.returncode != 0 and "address already in use" in out.stderr


def test_networks_are_isolated_until_connected(engine: RunningEngine, engine_busybox: str) -> None:
    a, b = str(netcheck.free_test_subnet(20)), str(netcheck.free_test_subnet(70))
    engine.docker("network", "create", "--subnet", a, "dytest-iso-a")
    engine.docker("network", "create", "--subnet", b, "dytest-iso-b")
    target = engine.docker("run", "-d", "--network", "dytest-iso-b", engine_busybox, "sleep", "60").stdout.strip()
    address = inspect(engine, target)["NetworkSettings"]["Networks"]["dytest-iso-b"]["IPAddress"]  # type: ignore
    client = engine.docker("run", "-d", "--network", "dytest-iso-a", engine_busybox, "sleep", "60").stdout.strip()
    ping = ["exec", client, "busybox", "ping", "-c", "1", "-W", "2", address]
    assert engine.docker(*ping, check=False).returncode != 0  # A -> B: dropped by the engine's table
    engine.docker("network", "connect", "dytest-iso-b", client)
    assert "1 packets received" in engine.docker(*ping).stdout
    engine.docker("rm", "-f", target, client)
    engine.docker("network", "rm", "dytest-iso-a", "dytest-iso-b")


@contextlib.contextmanager
def outside_namespace() -> Iterator[tuple[str, str, str]]:
    """A namespace with a veth pair to the host on a free 10.199.x.0/30: (namespace, host
    address, address in the namespace); removed at the end."""
    subnet = netcheck.free_test_subnet(240)
    prefix = str(subnet.network_address).rsplit(".", 1)[0]
    host_ip, ns_ip = f"{prefix}.1", f"{prefix}.2"
    token = secrets.token_hex(3)
    ns, veth, peer = f"dytns{token}", f"dytv{token}", f"dytp{token}"

    def ip(*args: str) -> None:
        subprocess.run(["ip", *args], check=True, capture_output=True)

    try:
        ip("netns", "add", ns)
        ip("link", "add", veth, "type", "veth", "peer", "name", peer, "netns", ns)
        ip("addr", "add", f"{host_ip}/30", "dev", veth)
        ip("link", "set", veth, "up")
        ip("-n", ns, "addr", "add", f"{ns_ip}/30", "dev", peer)
        ip("-n", ns, "link", "set", peer, "up")
        ip("-n", ns, "link", "set", "lo", "up")
        yield ns, host_ip, ns_ip
    finally:
        subprocess.run(["ip", "link", "del", veth], capture_output=True, check=False)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)


SERVER = """
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 9099)); s.listen(1); s.settimeout(30)
print("ready", flush=True)
c, peer = s.accept(); c.sendall(b"hi\\n"); print(peer[0], flush=True); c.close()
"""


def test_outbound_traffic_is_masqueraded(engine: RunningEngine, engine_busybox: str) -> None:
    with outside_namespace() as (ns, host_ip, ns_ip):
        server = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", SERVER, ns_ip],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert server.stdout is not None
            assert server.stdout.readline().strip() == "ready"
            out = engine.docker("run", "--rm", engine_busybox, "sh", "-c", f"nc {ns_ip} 9099 </dev/null").stdout
            assert out == "hi\n"
            assert server.stdout.readline().strip() == host_ip  # the container's address was masqueraded
        finally:
            server.kill()
            server.wait()
    assert ns not in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout


def test_published_ports_survive_a_restart_of_the_engine(tmp_path_factory: pytest.TempPathFactory) -> None:
    from tests.support.images import save_busybox_archive

    base = tmp_path_factory.mktemp("ports-restart")
    archive, _ = save_busybox_archive(tmp_path_factory.mktemp("ports-restart-image"))
    port = free_port()
    first = RunningEngine.start(base)
    try:
        first.ctr("-n", "dockyard", "images", "import", str(archive))
        cid = first.docker("run", "-d", "-p", f"127.0.0.1:{port}:80", "--hostname", "live", "busybox", "sh", "-c",
                           HTTPD).stdout.strip()
        assert fetch(f"http://127.0.0.1:{port}/") == "hello from live\n"
    finally:
        os.kill(first.process.pid, signal.SIGKILL)
        first.process.wait()
    assert fetch(f"http://127.0.0.1:{port}/") == "hello from live\n"  # kernel NAT: no engine needed
    table = netcheck.engine_args(base)[-1]
    assert table in netcheck.nft_tables()
    with dockyardd(base) as engine:
        assert engine.docker("port", cid).stdout == f"80/tcp -> 127.0.0.1:{port}\n"
        wait_for(lambda: not can_bind(port), what="the port held again")
        assert fetch(f"http://127.0.0.1:{port}/") == "hello from live\n"
        engine.docker("rm", "-f", cid)
        assert can_bind(port)
        rules = subprocess.run(["nft", "list", "table", "ip", table], capture_output=True, text=True).stdout
        assert f"dport {port}" not in rules
    assert table not in netcheck.nft_tables()  # removed with the engine's default bridge by the cleanup


def test_ps_filters_publish_and_expose(engine: RunningEngine, engine_busybox: str) -> None:
    port = free_port()
    web = engine.docker("run", "-d", "-p", f"127.0.0.1:{port}:80", "--expose", "90/udp", engine_busybox,
                        "sleep", "60").stdout.strip()
    other = engine.docker("run", "-d", engine_busybox, "sleep", "60").stdout.strip()
    try:
        def ids(flt: str) -> list[str]:
            return engine.docker("ps", "-q", "--no-trunc", "--filter", flt).stdout.split()

        # as dockerd 20.10 answers them: publish is the host port, expose the container's
        assert ids(f"publish={port}") == [web] and ids(f"publish={port}/tcp") == [web]
        assert ids(f"publish={port - 1}-{port + 1}") == [web] and ids("publish=80") == []
        assert ids(f"publish={port}/udp") == []
        assert ids("expose=90/udp") == [web] and ids("expose=80") == [web] and ids("expose=90") == []
        assert ids("expose=80/ip") == []
        bad = engine.docker("ps", "--filter", "publish=8080:80", check=False)
        assert bad.returncode == 1 and "filter for 'publish' should not contain ':': 8080:80" in bad.stderr
    finally:
        engine.docker("rm", "-f", web, other)


def test_an_engine_with_iptables_false_makes_no_table(tmp_path_factory: pytest.TempPathFactory) -> None:
    from tests.support.images import save_busybox_archive

    base = tmp_path_factory.mktemp("noiptables")
    archive, _ = save_busybox_archive(tmp_path_factory.mktemp("noiptables-image"))
    table = netcheck.engine_args(base)[-1]
    with dockyardd(base, "--iptables=false") as engine:
        engine.ctr("-n", "dockyard", "images", "import", str(archive))
        out = engine.docker("run", "--rm", "busybox", "sh", "-c", "ip -4 -o addr show eth0").stdout
        assert " inet 10.199." in out  # the bridge network works; only the firewall is left alone
        assert table not in netcheck.nft_tables()
