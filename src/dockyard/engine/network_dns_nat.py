"""The embedded DNS server's nft table inside a container's network namespace, as dockerd's.

The server's sockets are bound on ``127.0.0.11`` at ports the kernel chose, so the container
keeps port 53 for itself (a DNS server of its own on ``0.0.0.0:53``, ``httpd -p 53``...). A
small table, ``table ip dockyard-dns``, in the container's namespace sends its queries there:

- ``output`` (hook output, priority -100, dstnat): ``ip daddr 127.0.0.11 udp dport 53`` is
  DNATed to ``127.0.0.11:<udp port>``, and the same for TCP. Conntrack gives the replies of
  these flows ``127.0.0.11:53`` back as their source, which is what resolvers check (glibc,
  busybox's nslookup and musl drop an answer from another port).
- ``postrouting`` (hook postrouting, srcnat): what leaves the server's ports without a
  conntrack entry to undo the DNAT (one that expired under a slow upstream) is SNATed to
  ``127.0.0.11:53`` as well, as dockerd's ``DOCKER_POSTROUTING`` does.

:func:`ruleset` is the script (pure) that replaces the table in one transaction, so an
engine started again swaps the rules to its new ports atomically; :func:`withdrawal` deletes
it. Both run through :mod:`dockyard.engine.nftables` from a thread that joined the namespace
(:func:`install` and :func:`withdraw` are what such a thread calls): libnftables opens its
netlink socket when the call makes its context, in the calling thread's namespace. The
table goes with the namespace; the host's own ruleset is never touched. Where nft cannot make
it, :func:`dockyard.engine.network_dns.bind_behind_nat` falls back to binding port 53 itself.
"""

from __future__ import annotations

from dockyard.engine import nftables

TABLE = "dockyard-dns"


def ruleset(address: str, port: int, udp_port: int, tcp_port: int, table: str = TABLE) -> str:
    """The nft script that makes ``table ip <table>`` send ``address:port`` (UDP and TCP) to the
    server's ``udp_port`` and ``tcp_port`` on the same address (replacing what was there)."""
    rules = {"udp": udp_port, "tcp": tcp_port}
    dnat = [f"\t\tip daddr {address} {proto} dport {port} dnat to {address}:{to}" for proto, to in rules.items()]
    snat = [f"\t\tip saddr {address} {proto} sport {to} snat to {address}:{port}" for proto, to in rules.items()]
    return "\n".join([
        *withdrawal(table).splitlines(),
        f"table ip {table} {{",
        "\tchain output {",
        "\t\ttype nat hook output priority -100; policy accept;",
        *dnat,
        "\t}",
        "\tchain postrouting {",
        "\t\ttype nat hook postrouting priority srcnat; policy accept;",
        *snat,
        "\t}",
        "}",
    ]) + "\n"


def withdrawal(table: str = TABLE) -> str:
    """The nft script that deletes ``table ip <table>`` (also when there is none)."""
    return f"table ip {table}\ndelete table ip {table}\n"


def install(address: str, port: int, udp_port: int, tcp_port: int) -> None:
    """The table in the calling thread's network namespace (:class:`~.nftables.NftError` or
    :class:`~dockyard.errors.Unavailable` if nft cannot)."""
    nftables.run(ruleset(address, port, udp_port, tcp_port), json_output=False)


def withdraw() -> None:
    """No table in the calling thread's network namespace."""
    nftables.run(withdrawal(), json_output=False)
