"""The embedded DNS server of user-defined networks on a real dockyardd, with the docker CLI 28
and busybox's wget and nslookup: containers reach each other by name, aliases give every
address, names are scoped to the networks the asker shares, other names are forwarded to
the upstream (a fake DNS server of the test's on loopback, given to the engine with
``--dns-upstream``: nothing leaves the machine), resolv.conf names 127.0.0.11, and the
default bridge has no embedded DNS. The server listens at ports of its own on 127.0.0.11 that
the namespace's ``dockyard-dns`` nft table DNATs port 53 to: a container keeps port 53 for
itself, and an engine started again replaces the table with its new ports.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support import netcheck
from tests.support.engine import DOCKER, RunningEngine, dockyardd
from tests.support.fakedns import FakeDns

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
    pytest.mark.skipif(not os.path.exists(DOCKER), reason="the docker CLI is not installed"),
]
pytest_plugins = ["tests.support.engine_fixtures"]

EXTERNAL = {"example.test": "10.199.250.9"}
HTTPD = "mkdir -p /www && echo hello-from-web > /www/index.html && exec busybox httpd -f -p 80 -h /www"
HTTPD_53 = "mkdir -p /www && echo hello-on-53 > /www/index.html && exec busybox httpd -f -p 53 -h /www"
# run in a container's namespace: its UDP port 53 is free (TCP's is the container's httpd), and
# 127.0.0.11:53 answers over UDP (from :53, or dnspython drops it) and TCP
PROBE = """
import socket, sys
import dns.message, dns.query
own = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
own.bind(("0.0.0.0", 53))
query = dns.message.make_query(sys.argv[1], "A")
for reply in (dns.query.udp(query, "127.0.0.11", timeout=3), dns.query.tcp(query, "127.0.0.11", timeout=3)):
    print(" ".join(sorted(r.to_text() for rrset in reply.answer for r in rrset)))
"""


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeDns]:
    with FakeDns(EXTERNAL) as fake:
        yield fake


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, upstream: FakeDns) -> Iterator[RunningEngine]:
    with dockyardd(tmp_path_factory.mktemp("engine"), "--dns-upstream", upstream.address) as running:
        yield running


@pytest.fixture(autouse=True)
def _no_leftovers(engine: RunningEngine) -> Iterator[None]:
    yield
    engine.docker("container", "prune", "-f", check=False)
    for ident in engine.docker("network", "ls", "-q", "--filter", "type=custom").stdout.split():
        engine.docker("network", "rm", ident, check=False)
    netns = engine.exec_root / "netns"
    assert not (netns.exists() and list(netns.iterdir())), f"namespaces left: {list(netns.iterdir())}"


def _network(engine: RunningEngine, name: str, start: int = 10) -> str:
    subnet = str(netcheck.free_test_subnet(start))
    engine.docker("network", "create", "--subnet", subnet, name)
    return subnet.rsplit(".", 1)[0]


def _nss_libs() -> list[str]:
    """Bind mounts of the host's C library for busybox's wget: the test image's busybox is
    Debian's static one, whose getaddrinfo loads glibc's NSS modules (and crashes without them);
    its nslookup has a resolver of its own."""
    out: list[str] = []
    for directory in ("/lib/x86_64-linux-gnu", "/lib64"):
        if os.path.isdir(directory):
            out += ["-v", f"{directory}:{directory}:ro"]
    return out


def _run(engine: RunningEngine, *args: str, check: bool = True) -> str:
    out = engine.docker("run", "--rm", *args, check=check)
    return out.stdout if check else out.stdout + out.stderr


def _address(engine: RunningEngine, cid: str, network: str) -> str:
    doc = json.loads(engine.docker("inspect", cid).stdout)[0]
    return str(doc["NetworkSettings"]["Networks"][network]["IPAddress"])


def _sandbox(engine: RunningEngine, cid: str) -> str:
    return str(json.loads(engine.docker("inspect", cid).stdout)[0]["NetworkSettings"]["SandboxKey"])


def _in_netns(sandbox: str, *command: str) -> str:
    """What ``command`` prints, run by the host in the network namespace at ``sandbox``."""
    return subprocess.run(["nsenter", f"--net={sandbox}", *command], capture_output=True, text=True,
                          check=True, timeout=30).stdout


def _dns_table(sandbox: str) -> str:
    """The ``dockyard-dns`` nft table in the namespace at ``sandbox`` ("" when there is none)."""
    tables = _in_netns(sandbox, "nft", "list", "tables").split()
    return _in_netns(sandbox, "nft", "list", "table", "ip", "dockyard-dns") if "dockyard-dns" in tables else ""


def _check_dnat(sandbox: str, name: str, address: str) -> None:
    """The namespace's table DNATs 127.0.0.11:53 elsewhere, and queries from there are answered."""
    table = _dns_table(sandbox)
    for proto in ("udp", "tcp"):
        assert re.search(rf"ip daddr 127\.0\.0\.11 {proto} dport 53 dnat to 127\.0\.0\.11:\d+", table), table
    assert _in_netns(sandbox, sys.executable, "-c", PROBE, name).splitlines() == [address, address]


def _addresses(nslookup_output: str) -> list[str]:
    """The answers of busybox's nslookup (after its "Name:" line; the server's own lines come first)."""
    answers = nslookup_output.split("Name:", 1)[1] if "Name:" in nslookup_output else ""
    return sorted(re.findall(r"Address(?: \d+)?:\s*(\d+\.\d+\.\d+\.\d+)", answers))


def test_two_containers_reach_each_other_by_name(engine: RunningEngine, engine_busybox: str) -> None:
    _network(engine, "dytest-dns")
    web = engine.docker("run", "-d", "--name", "dyweb", "--network", "dytest-dns", engine_busybox,
                        "sh", "-c", HTTPD).stdout.strip()
    try:
        out = _run(engine, "--network", "dytest-dns", *_nss_libs(), engine_busybox,
                   "busybox", "wget", "-qO-", "http://dyweb/")
        assert out == "hello-from-web\n"
        # its short ID and hostname are names too; PTR gives <name>.<network>
        address = _address(engine, web, "dytest-dns")
        assert _addresses(_run(engine, "--network", "dytest-dns", engine_busybox,
                               "busybox", "nslookup", web[:12])) == [address]
    finally:
        engine.docker("rm", "-f", web)


def test_hostname_and_reverse_lookup(engine: RunningEngine, engine_busybox: str) -> None:
    _network(engine, "dytest-dnsh")
    cid = engine.docker("run", "-d", "--name", "dyhost", "--hostname", "myhost", "--network", "dytest-dnsh",
                        engine_busybox, "sleep", "60").stdout.strip()
    try:
        address = _address(engine, cid, "dytest-dnsh")
        out = _run(engine, "--network", "dytest-dnsh", engine_busybox, "busybox", "nslookup", "myhost")
        assert _addresses(out) == [address]
        out = _run(engine, "--network", "dytest-dnsh", engine_busybox, "busybox", "nslookup", address)
        assert "name = dyhost.dytest-dnsh" in out
    finally:
        engine.docker("rm", "-f", cid)


def test_one_alias_on_two_containers_gives_both_addresses(engine: RunningEngine, engine_busybox: str) -> None:
    _network(engine, "dytest-dnsa")
    ids = [engine.docker("run", "-d", "--network", "dytest-dnsa", "--network-alias", "svc", engine_busybox,
                         "sleep", "60").stdout.strip() for _ in range(2)]
    try:
        want = sorted(_address(engine, cid, "dytest-dnsa") for cid in ids)
        out = _run(engine, "--network", "dytest-dnsa", engine_busybox, "busybox", "nslookup", "svc")
        assert _addresses(out) == want
    finally:
        engine.docker("rm", "-f", *ids)


def test_a_name_on_another_network_does_not_resolve(engine: RunningEngine, engine_busybox: str,
                                                    upstream: FakeDns) -> None:
    _network(engine, "dytest-dns1", 10)
    _network(engine, "dytest-dns2", 60)
    cid = engine.docker("run", "-d", "--name", "dyhidden", "--network", "dytest-dns1", engine_busybox,
                        "sleep", "60").stdout.strip()
    try:
        out = _run(engine, "--network", "dytest-dns2", engine_busybox, "busybox", "nslookup", "dyhidden",
                   check=False)
        assert "NXDOMAIN" in out and not _addresses(out)
        assert "dyhidden" in upstream.queries  # not known on dytest-dns2: forwarded, and unknown there
        # connected to dytest-dns1 while running, the asker sees it
        asker = engine.docker("run", "-d", "--network", "dytest-dns2", engine_busybox, "sleep", "60").stdout.strip()
        try:
            engine.docker("network", "connect", "dytest-dns1", asker)
            out = engine.docker("exec", asker, "busybox", "nslookup", "dyhidden").stdout
            assert _addresses(out) == [_address(engine, cid, "dytest-dns1")]
        finally:
            engine.docker("rm", "-f", asker)
    finally:
        engine.docker("rm", "-f", cid)


def test_external_names_are_forwarded_to_the_upstream(engine: RunningEngine, engine_busybox: str,
                                                      upstream: FakeDns) -> None:
    _network(engine, "dytest-dnsf")
    out = _run(engine, "--network", "dytest-dnsf", engine_busybox, "busybox", "nslookup", "example.test")
    assert _addresses(out) == [EXTERNAL["example.test"]]
    assert "example.test" in upstream.queries
    out = _run(engine, "--network", "dytest-dnsf", engine_busybox, "busybox", "nslookup", "nothing.test",
               check=False)
    assert "NXDOMAIN" in out


def test_resolv_conf_of_a_user_defined_network(engine: RunningEngine, engine_busybox: str) -> None:
    _network(engine, "dytest-dnsr")
    text = _run(engine, "--network", "dytest-dnsr", engine_busybox, "cat", "/etc/resolv.conf")
    lines = text.splitlines()
    assert lines[0] == "nameserver 127.0.0.11" and [n for n in lines if n.startswith("nameserver")] == lines[:1]
    assert lines[-1].startswith("options") and lines[-1].endswith("ndots:0")
    text = _run(engine, "--network", "dytest-dnsr", "--dns", "192.0.2.1", "--dns-search", "a.test",
                "--dns-option", "timeout:2", engine_busybox, "cat", "/etc/resolv.conf")
    assert text == "nameserver 127.0.0.11\nsearch a.test\noptions timeout:2 ndots:0\n"


def test_the_default_bridge_has_no_embedded_dns(engine: RunningEngine, engine_busybox: str) -> None:
    cid = engine.docker("run", "-d", "--name", "dyplain", engine_busybox, "sleep", "60").stdout.strip()
    try:
        text = _run(engine, engine_busybox, "cat", "/etc/resolv.conf")
        assert "127.0.0.11" not in text
        # nothing listens on 127.0.0.11 there (asked explicitly: the host's servers are not used)
        out = _run(engine, engine_busybox, "busybox", "nslookup", "-timeout=2", "dyplain", "127.0.0.11",
                   check=False)
        assert not _addresses(out)
        # connected to a user-defined network, it gets the embedded DNS (resolv.conf rewritten in place)
        _network(engine, "dytest-dnsb")
        engine.docker("network", "connect", "dytest-dnsb", cid)
        assert engine.docker("exec", cid, "cat", "/etc/resolv.conf").stdout.startswith("nameserver 127.0.0.11\n")
        out = engine.docker("exec", cid, "busybox", "nslookup", "dyplain").stdout
        assert _addresses(out) == [_address(engine, cid, "dytest-dnsb")]
        assert _dns_table(_sandbox(engine, cid))
        # disconnected again, its namespace's nft table goes with the server's sockets
        engine.docker("network", "disconnect", "dytest-dnsb", cid)
        assert _dns_table(_sandbox(engine, cid)) == ""
    finally:
        engine.docker("rm", "-f", cid)


def test_the_dns_comes_back_after_an_engine_restart(tmp_path_factory: pytest.TempPathFactory,
                                                    upstream: FakeDns) -> None:
    from tests.support.images import save_busybox_archive

    base: Path = tmp_path_factory.mktemp("dnsrestart")
    archive, _ = save_busybox_archive(tmp_path_factory.mktemp("dnsrestart-image"))
    first = RunningEngine.start(base, "--dns-upstream", upstream.address)
    try:
        subnet = str(netcheck.free_test_subnet(120))  # now that its default bridge's route is there
        first.ctr("-n", "dockyard", "images", "import", str(archive))
        first.docker("network", "create", "--subnet", subnet, "dytest-dnsrs")
        cid = first.docker("run", "-d", "--name", "dykeep", "--network", "dytest-dnsrs", "busybox",
                           "sh", "-c", HTTPD_53).stdout.strip()
        sandbox = _sandbox(first, cid)
        before = _dns_table(sandbox)
        _check_dnat(sandbox, "dykeep", _address(first, cid, "dytest-dnsrs"))
    finally:
        assert first.stop() == 0  # its DNS sockets close with it; the container runs on
    with dockyardd(base, "--dns-upstream", upstream.address) as second:
        try:
            out = second.docker("exec", cid, "busybox", "nslookup", "dykeep").stdout
            assert _addresses(out) == [_address(second, cid, "dytest-dnsrs")]
            after = _dns_table(sandbox)  # replaced (one table, one rule each) with the new sockets' ports
            assert after.count("dnat to") == 2 and after.count("table ip dockyard-dns") == 1 and after != before
            _check_dnat(sandbox, "dykeep", _address(second, cid, "dytest-dnsrs"))
        finally:
            second.docker("rm", "-f", cid)
            second.docker("network", "rm", "dytest-dnsrs")


def test_a_renamed_container_answers_to_its_new_name(engine: RunningEngine, engine_busybox: str) -> None:
    _network(engine, "dytest-dnsr")
    cid = engine.docker("run", "-d", "--name", "dyold", "--network", "dytest-dnsr", engine_busybox,
                        "sleep", "60").stdout.strip()
    try:
        address = _address(engine, cid, "dytest-dnsr")
        engine.docker("rename", "dyold", "dynew")
        assert _addresses(_run(engine, "--network", "dytest-dnsr", engine_busybox, "busybox", "nslookup",
                               "dynew")) == [address]
        assert _addresses(_run(engine, "--network", "dytest-dnsr", engine_busybox, "busybox", "nslookup",
                               "dyold", check=False)) == []
        doc = json.loads(engine.docker("inspect", cid).stdout)[0]
        assert "dynew" in doc["NetworkSettings"]["Networks"]["dytest-dnsr"]["DNSNames"]
    finally:
        engine.docker("rm", "-f", cid)


def test_a_container_serves_port_53_itself(engine: RunningEngine, engine_busybox: str) -> None:
    _network(engine, "dytest-dns53")
    cid = engine.docker("run", "-d", "--name", "dy53", "--network", "dytest-dns53", *_nss_libs(), engine_busybox,
                        "sh", "-c", HTTPD_53).stdout.strip()
    try:
        address = _address(engine, cid, "dytest-dns53")
        # its own lookups still reach the embedded server: busybox's resolver, and glibc's (wget),
        # whose answer leads to its own httpd on port 53
        assert _addresses(engine.docker("exec", cid, "busybox", "nslookup", "dy53").stdout) == [address]
        assert engine.docker("exec", cid, "busybox", "wget", "-qO-", "http://dy53:53/").stdout == "hello-on-53\n"
        # a neighbour finds it by name and reaches its port 53
        assert _run(engine, "--network", "dytest-dns53", *_nss_libs(), engine_busybox,
                    "busybox", "wget", "-qO-", "http://dy53:53/") == "hello-on-53\n"
        sandbox = _sandbox(engine, cid)
        _check_dnat(sandbox, "dy53", address)  # UDP 53 free there too; UDP and TCP lookups answered
        # the table is in the container's namespace (libnftables' socket was), not the host's
        assert "dockyard-dns" not in subprocess.run(["nft", "list", "tables"], capture_output=True, text=True,
                                                    check=True).stdout.split()
    finally:
        engine.docker("rm", "-f", cid)
