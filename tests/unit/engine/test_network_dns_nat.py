"""The embedded DNS server behind its nft table, without root: the table's text (pure), and the
server binding kernel-chosen ports and handing exactly those to the table (the namespace's
thread and libnftables replaced by fakes; the sockets are on the host's loopback)."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import dns.asyncquery
import dns.message
import pytest
from tests.unit.engine.test_network_dns import _free_port as free_port

from dockyard.engine import network_bridge, network_dns, network_dns_nat
from dockyard.engine.network_dns import EmbeddedDns
from dockyard.engine.network_dns_names import NameTable, entry
from dockyard.engine.nftables import NftError

A = "a" * 64

TABLE = """\
table ip dockyard-dns
delete table ip dockyard-dns
table ip dockyard-dns {
\tchain output {
\t\ttype nat hook output priority -100; policy accept;
\t\tip daddr 127.0.0.11 udp dport 53 dnat to 127.0.0.11:40001
\t\tip daddr 127.0.0.11 tcp dport 53 dnat to 127.0.0.11:40002
\t}
\tchain postrouting {
\t\ttype nat hook postrouting priority srcnat; policy accept;
\t\tip saddr 127.0.0.11 udp sport 40001 snat to 127.0.0.11:53
\t\tip saddr 127.0.0.11 tcp sport 40002 snat to 127.0.0.11:53
\t}
}
"""


def test_the_table_dnats_port_53_to_the_servers_ports_and_replaces_an_older_one() -> None:
    assert network_dns_nat.ruleset("127.0.0.11", 53, 40001, 40002) == TABLE
    other = network_dns_nat.ruleset("127.0.0.2", 5353, 1, 2, table="t")
    assert other.startswith("table ip t\ndelete table ip t\ntable ip t {\n")
    assert "ip daddr 127.0.0.2 udp dport 5353 dnat to 127.0.0.2:1" in other
    assert "ip saddr 127.0.0.2 tcp sport 2 snat to 127.0.0.2:5353" in other


def test_the_withdrawal_deletes_the_table_even_when_there_is_none() -> None:
    assert network_dns_nat.withdrawal() == "table ip dockyard-dns\ndelete table ip dockyard-dns\n"


@pytest.fixture
def no_netns(monkeypatch: pytest.MonkeyPatch) -> None:
    """``in_thread`` runs the function here, in the host's namespace."""
    monkeypatch.setattr(network_bridge, "in_thread", lambda fn, netns="", new_netns=False: fn())


def test_behind_nat_the_sockets_get_ports_of_their_own_and_the_table_names_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_netns: None) -> None:
    installed: list[tuple[str, int, int, int]] = []
    withdrawn: list[bool] = []
    monkeypatch.setattr(network_dns_nat, "install", lambda *args: installed.append(args))
    monkeypatch.setattr(network_dns_nat, "withdraw", lambda: withdrawn.append(True))
    netns = tmp_path / "netns"
    netns.touch()

    async def main() -> None:
        server = EmbeddedDns(["127.0.0.1:9"], address="127.0.0.1", port=53, timeout=0.2)
        server.table = NameTable((entry(A, "front", "10.199.1.2", "web", []),))
        await server.add(A, str(netns))
        try:
            sandbox = server.sandboxes[A]
            assert sandbox.udp is not None and sandbox.tcp is not None and sandbox.netns == str(netns)
            udp_port = sandbox.udp.get_extra_info("sockname")[1]
            tcp_port = sandbox.tcp.sockets[0].getsockname()[1]
            assert installed == [("127.0.0.1", 53, udp_port, tcp_port)] and udp_port != 53 and tcp_port != 53
            query = dns.message.make_query("web", "A")
            reply = await dns.asyncquery.udp(query, "127.0.0.1", port=udp_port, timeout=2)
            assert [r.to_text() for rrset in reply.answer for r in rrset] == ["10.199.1.2"]
            reply = await dns.asyncquery.tcp(query, "127.0.0.1", port=tcp_port, timeout=2)
            assert [r.to_text() for rrset in reply.answer for r in rrset] == ["10.199.1.2"]
            await server.withdraw(A)  # the namespace is still there: its table goes
            assert withdrawn == [True] and A not in server.sandboxes
        finally:
            server.close()

    asyncio.run(main())


def test_without_the_table_the_port_itself_is_bound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    no_netns: None) -> None:
    def refuse(*args: object) -> None:
        raise NftError("Error: Could not process rule: No such file or directory")

    bound: list[tuple[int, socket.socket, socket.socket]] = []

    def bind(address: str, port: int) -> tuple[socket.socket, socket.socket]:
        udp, tcp = real_bind(address, port)
        bound.append((port, udp, tcp))
        return udp, tcp

    real_bind = network_dns.bind_sockets
    monkeypatch.setattr(network_dns, "bind_sockets", bind)
    monkeypatch.setattr(network_dns_nat, "install", refuse)
    monkeypatch.setattr(network_dns_nat, "withdraw", refuse)
    port = free_port()

    async def main() -> None:
        server = EmbeddedDns(address="127.0.0.1", port=port)
        await server.add(A, str(tmp_path / "netns"))
        try:
            assert [b[0] for b in bound] == [0, port]
            assert bound[0][1].fileno() == -1 and bound[0][2].fileno() == -1  # the first pair closed again
            sandbox = server.sandboxes[A]
            assert sandbox.udp is not None and sandbox.udp.get_extra_info("sockname")[1] == port
        finally:
            server.close()

    asyncio.run(main())
