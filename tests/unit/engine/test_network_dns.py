"""The embedded DNS server without root: the name table and its answers (scoped to the
asker's networks, aliases, short IDs, hostnames, PTR, AAAA), the upstreams, the resolv.conf
of user-defined networks, and the server itself on a loopback port of the host's namespace
(local answers, forwarding over UDP and TCP to a fake upstream, SERVFAIL)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from pathlib import Path

import dns.asyncquery
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.reversename
import pytest
from tests.support.fakedns import FakeDns

from dockyard.engine.container_files import internal_resolv_conf, uses_internal_dns, write_network_files
from dockyard.engine.container_model import Container
from dockyard.engine.network_dns import EmbeddedDns, build_table, sync, write_resolv_conf
from dockyard.engine.network_dns_names import (
    DEFAULT_UPSTREAMS,
    NameTable,
    answer,
    dns_names,
    entry,
    parse_upstream,
    upstreams,
)
from dockyard.engine.network_ipam import pools_of
from dockyard.engine.network_service import NetworkService, NoDriver

A = "a" * 64
B = "b" * 64
C = "c" * 64


def table() -> NameTable:
    return NameTable((
        entry(A, "front", "10.199.1.2", "web", ["www"], "webhost"),
        entry(B, "front", "10.199.1.3", "db", ["store"]),
        entry(B, "back", "10.199.2.3", "db", ["store", "pg"]),
        entry(C, "back", "10.199.2.4", "cache", ["store"]),
    ))


def ask(name: str, rdtype: str = "A") -> dns.message.Message:
    return dns.message.make_query(name, rdtype)


def addresses(reply: dns.message.Message | None) -> list[str]:
    assert reply is not None
    return sorted(r.to_text() for rrset in reply.answer for r in rrset)


def test_dns_names_in_dockerds_order_without_duplicates() -> None:
    assert dns_names("web", A, ["www", "web"], "webhost") == ["web", "www", A[:12], "webhost"]
    assert dns_names("web", A, [], A[:12]) == ["web", A[:12]]


def test_names_aliases_short_id_and_hostname_resolve_on_shared_networks() -> None:
    t = table()
    assert t.lookup(B, "web") == ["10.199.1.2"]
    assert t.lookup(B, "WWW.") == ["10.199.1.2"]
    assert t.lookup(B, A[:12]) == ["10.199.1.2"]
    assert t.lookup(B, "webhost") == ["10.199.1.2"]
    assert t.lookup(A, "db") == ["10.199.1.3"]  # on front, where A is
    assert t.lookup(A, "cache") is None  # only on back: A is not there
    assert t.lookup(A, "pg") is None  # an alias of db on back only
    assert t.lookup(A, "nothing") is None
    assert t.lookup("x" * 64, "web") is None  # a container on no user-defined network


def test_one_alias_on_several_containers_gives_all_their_addresses() -> None:
    t = table()
    assert sorted(t.lookup(C, "store") or []) == ["10.199.2.3", "10.199.2.4"]
    assert t.lookup(A, "store") == ["10.199.1.3"]


def test_name_dot_network() -> None:
    t = table()
    assert t.lookup(B, "db.back") == ["10.199.2.3"]
    assert t.lookup(B, "db.front") == ["10.199.1.3"]
    assert t.lookup(A, "db.back") is None  # A is not on back


def test_reverse_names_container_and_network() -> None:
    t = table()
    assert t.reverse(B, "10.199.1.2") == "web.front"
    assert t.reverse(A, "10.199.2.4") is None
    assert t.reverse(C, "10.199.2.3") == "db.back"


def test_answers_a_aaaa_ptr_and_forwards_the_rest() -> None:
    t = table()
    reply = answer(t, C, ask("store"))
    assert addresses(reply) == ["10.199.2.3", "10.199.2.4"]
    assert reply is not None and reply.rcode() == dns.rcode.NOERROR and reply.flags & dns.flags.AA == 0
    assert reply.answer[0].ttl == 600
    empty = answer(t, A, ask("web", "AAAA"))
    assert empty is not None and empty.rcode() == dns.rcode.NOERROR and not empty.answer
    ptr = answer(t, B, ask(dns.reversename.from_address("10.199.1.2").to_text(), "PTR"))
    assert addresses(ptr) == ["web.front."]
    assert answer(t, A, ask("example.com")) is None
    assert answer(t, A, ask("example.com", "AAAA")) is None
    assert answer(t, A, ask("web", "MX")) is None
    assert answer(t, A, ask(dns.reversename.from_address("192.0.2.1").to_text(), "PTR")) is None


def test_upstreams_container_dns_then_override_then_host() -> None:
    host = "# comment\nnameserver 10.0.0.53\nnameserver 127.0.0.53\nsearch example.org\n"
    assert upstreams(["192.0.2.1"], ["127.0.0.1:5353"], host) == [("192.0.2.1", 53)]
    assert upstreams([], ["127.0.0.1:5353"], host) == [("127.0.0.1", 5353)]
    assert upstreams([], [], host) == [("10.0.0.53", 53), ("127.0.0.53", 53)]  # forwarded from the host
    assert upstreams([], [], "") == [(a, 53) for a in DEFAULT_UPSTREAMS]
    assert parse_upstream("[::1]:5353") == ("::1", 5353)
    assert parse_upstream("fe80::1") == ("fe80::1", 53)
    for bad in ("nope", "1.2.3.4:0", "1.2.3.4:x"):
        with pytest.raises(ValueError):
            parse_upstream(bad)


def test_resolv_conf_of_a_user_defined_network() -> None:
    host = "nameserver 10.0.0.53\nsearch example.org\noptions edns0 trust-ad\n"
    assert internal_resolv_conf(host, {}) == ("nameserver 127.0.0.11\nsearch example.org\n"
                                             "options edns0 trust-ad ndots:0\n")
    text = internal_resolv_conf(host, {"Dns": ["192.0.2.1"], "DnsSearch": ["a.test"], "DnsOptions": ["timeout:2"]})
    assert text == "nameserver 127.0.0.11\nsearch a.test\noptions timeout:2 ndots:0\n"
    assert internal_resolv_conf("", {"DnsOptions": ["ndots:2"]}) == "nameserver 127.0.0.11\noptions ndots:2\n"
    assert uses_internal_dns({"NetworkMode": "mynet"})
    for mode in ("", "default", "bridge", "host", "none", "container:abc"):
        assert not uses_internal_dns({"NetworkMode": mode})


def test_write_network_files_chooses_by_network_mode(tmp_path: Path) -> None:
    write_network_files(str(tmp_path), {"Hostname": "h"}, {"NetworkMode": "mynet"})
    assert (tmp_path / "resolv.conf").read_text().startswith("nameserver 127.0.0.11\n")
    write_network_files(str(tmp_path), {"Hostname": "h"}, {"NetworkMode": "bridge", "Dns": ["192.0.2.1"]})
    assert (tmp_path / "resolv.conf").read_text().startswith("nameserver 192.0.2.1\n")
    path = str(tmp_path / "resolv.conf")
    inode = (tmp_path / "resolv.conf").stat().st_ino
    write_resolv_conf(path, {}, True, in_place=True)
    assert (tmp_path / "resolv.conf").stat().st_ino == inode
    assert (tmp_path / "resolv.conf").read_text().startswith("nameserver 127.0.0.11\n")


# -- the server, on a loopback port of the host's namespace ------------------------------------------


def _free_port() -> int:
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = int(udp.getsockname()[1])
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            try:
                tcp.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise AssertionError("no free port")


def _service(tmp_path: Path) -> NetworkService:
    service = NetworkService(str(tmp_path), None, NoDriver(), pools=pools_of([("10.199.0.0/16", 24)]),
                             routes=lambda: [])
    service.load()
    for name, subnet in (("front", "10.199.1.0/24"), ("back", "10.199.2.0/24")):
        service.create({"Name": name, "IPAM": {"Config": [{"Subnet": subnet}]}})
    return service


def _container(cid: str, name: str, hc: dict[str, object] | None = None, hostname: str = "") -> Container:
    return Container(cid, "/" + name, "", "sh", [], {"Hostname": hostname or cid[:12]},
                     dict(hc or {"NetworkMode": "front"}), "sha256:x", "runc")


def test_build_table_leaves_the_default_bridge_out(tmp_path: Path) -> None:
    service = _service(tmp_path)
    service.attach(service.find("front"), A, "web", "", aliases=["www"])
    service.attach(service.find("bridge"), B, "db", "")
    t = build_table(service, {A: "webhost"})
    assert t.lookup(A, "webhost") == ["10.199.1.2"]
    assert t.networks_of(B) == ()


def test_server_answers_forwards_and_fails_over_udp_and_tcp(tmp_path: Path) -> None:
    service = _service(tmp_path)
    port = _free_port()

    async def main() -> None:
        with FakeDns({"example.test": "10.199.250.9"}) as upstream:
            server = EmbeddedDns([upstream.address], address="127.0.0.1", port=port, timeout=0.5)
            service.dns = server
            web = _container(A, "web", hostname="webhost")
            db = _container(B, "db")
            service.attach(service.find("front"), A, "web", "", aliases=["www"])
            service.attach(service.find("front"), B, "db", "")
            await sync(service, web, "", starting=True)  # no namespace: not served, names known
            assert A not in server.sandboxes and server.table.lookup(B, "webhost") == ["10.199.1.2"]
            await server.add(B, "", [])  # the asker, served on the host's loopback (no netns given)
            try:
                reply = await dns.asyncquery.udp(ask("web"), "127.0.0.1", port=port, timeout=2)
                assert addresses(reply) == ["10.199.1.2"] and reply.flags & dns.flags.RA
                reply = await dns.asyncquery.tcp(ask("www"), "127.0.0.1", port=port, timeout=2)
                assert addresses(reply) == ["10.199.1.2"]
                reply = await dns.asyncquery.udp(ask("example.test"), "127.0.0.1", port=port, timeout=2)
                assert addresses(reply) == ["10.199.250.9"]
                reply = await dns.asyncquery.tcp(ask("missing.test"), "127.0.0.1", port=port, timeout=2)
                assert reply.rcode() == dns.rcode.NXDOMAIN
                assert upstream.queries == ["example.test", "missing.test"]
                # the upstream is gone: SERVFAIL after its timeout
                server.sandboxes[B].upstreams = [("127.0.0.1", _free_port())]
                reply = await dns.asyncquery.udp(ask("example.test"), "127.0.0.1", port=port, timeout=3)
                assert reply.rcode() == dns.rcode.SERVFAIL
                # web leaves the network: its names go
                service.detach(service.find("front"), A)
                await sync(service, web, "", starting=False)
                reply = await dns.asyncquery.udp(ask("web"), "127.0.0.1", port=port, timeout=3)
                assert reply.rcode() == dns.rcode.SERVFAIL  # forwarded to the dead upstream
                assert db.id in server.sandboxes
            finally:
                server.close()
            assert not server.sandboxes
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:  # the port is free again
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                probe.bind(("127.0.0.1", port))

    asyncio.run(main())


def test_a_reply_too_big_for_udp_is_truncated(tmp_path: Path) -> None:
    service = _service(tmp_path)
    port = _free_port()
    net = service.find("front")
    for i in range(60):
        service.attach(net, f"{i:064x}", f"c{i}", "", aliases=["many"])

    async def main() -> None:
        server = EmbeddedDns(["127.0.0.1:9"], address="127.0.0.1", port=port, timeout=0.2)
        await server.refresh(service)
        await server.add(f"{0:064x}", "")
        try:
            reply = await dns.asyncquery.udp(ask("many"), "127.0.0.1", port=port, timeout=2)
            assert reply.flags & dns.flags.TC and not reply.answer
            full = await dns.asyncquery.tcp(ask("many"), "127.0.0.1", port=port, timeout=2)
            assert len(addresses(full)) == 60
            assert all(ipaddress.ip_address(a) in ipaddress.ip_network("10.199.1.0/24") for a in addresses(full))
        finally:
            server.close()

    asyncio.run(main())


def test_no_forwarding_on_internal_networks_only(tmp_path: Path) -> None:
    service = _service(tmp_path)
    service.create({"Name": "inside", "Internal": True, "IPAM": {"Config": [{"Subnet": "10.199.3.0/24"}]}})
    port = _free_port()

    async def main() -> None:
        with FakeDns({"example.test": "10.199.250.9"}) as upstream:
            server = service.dns = EmbeddedDns([upstream.address], address="127.0.0.1", port=port, timeout=0.5)
            c = _container(A, "web", {"NetworkMode": "inside"})
            service.attach(service.find("inside"), A, "web", "")
            await server.add(A, "")
            await sync(service, c, "", starting=False)
            try:
                assert server.sandboxes[A].external is False
                reply = await dns.asyncquery.udp(ask("example.test"), "127.0.0.1", port=port, timeout=2)
                assert reply.rcode() == dns.rcode.SERVFAIL and upstream.queries == []
                reply = await dns.asyncquery.udp(ask("web"), "127.0.0.1", port=port, timeout=2)
                assert addresses(reply) == ["10.199.3.2"]
                service.attach(service.find("front"), A, "web", "")  # and now a network with a way out
                await sync(service, c, "", starting=False)
                reply = await dns.asyncquery.udp(ask("example.test"), "127.0.0.1", port=port, timeout=2)
                assert addresses(reply) == ["10.199.250.9"]
            finally:
                server.close()

    asyncio.run(main())
