"""What the embedded DNS server answers, without I/O: names on user-defined networks.

- :class:`NameTable`: a snapshot of the user-defined bridge networks' endpoints (the
  default ``bridge`` has no service discovery, as with dockerd). Each endpoint is known by
  the container's name, its network-scoped aliases, its short ID (12 hex) and its hostname
  (:func:`dns_names`, dockerd's ``DNSNames`` order), on its network only. A legacy link
  (``--link db:dbalias`` on a user-defined network) is an alias known to the linking
  container alone, on that network.
- :meth:`NameTable.lookup`: the addresses of a name for the container that asks, looked up
  only on the networks it shares with the target; several containers with one alias give
  all their addresses. ``<name>.<network>`` names the network too, as with dockerd.
- :meth:`NameTable.reverse`: ``<container name>.<network>`` of an address on a shared network.
- :func:`answer`: the reply to a query from a container, or None when it is to be forwarded
  (a name the table does not know, a type other than A/AAAA/PTR); AAAA of a known name is
  an empty NOERROR answer (the networks are IPv4 only).
- :func:`upstreams`: where forwarded queries go: the container's ``--dns`` servers, else
  the engine's override, else the host resolv.conf's name servers (Google's when it has none).
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.reversename
import dns.rrset

TTL = 600  # dockerd's answers' TTL
DNS_PORT = 53
DEFAULT_UPSTREAMS = ("8.8.8.8", "8.8.4.4")
DEFAULT_NETWORK = "bridge"  # the default bridge network: no embedded DNS

Upstream = tuple[str, int]  # (address, port)


def dns_names(name: str, container_id: str, aliases: Iterable[str], hostname: str = "") -> list[str]:
    """The names an endpoint answers to: name, aliases, short ID, hostname (no duplicates)."""
    out: list[str] = []
    for each in (name, *aliases, container_id[:12], hostname):
        if each and each not in out:
            out.append(each)
    return out


@dataclass(frozen=True)
class Entry:
    """One endpoint of a container on a user-defined network."""

    container_id: str
    network: str
    address: str
    name: str  # the container's name (the answer of a PTR query)
    names: tuple[str, ...]  # every name it answers to, lower case
    links: tuple[tuple[str, str], ...] = ()  # its legacy links here: (alias, name), lower case, for it alone


def entry(container_id: str, network: str, address: str, name: str, aliases: Iterable[str],
          hostname: str = "", links: Iterable[tuple[str, str]] = ()) -> Entry:
    names = tuple(dict.fromkeys(n.lower().rstrip(".") for n in dns_names(name, container_id, aliases, hostname)))
    return Entry(container_id, network, address, name, names,
                 tuple((alias.lower().rstrip("."), target.lower()) for alias, target in links))


@dataclass(frozen=True)
class NameTable:
    entries: tuple[Entry, ...] = ()
    _networks: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False, repr=False)
    _addresses: dict[tuple[str, str], list[str]] = field(default_factory=dict, compare=False, repr=False)
    _links: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for e in self.entries:  # the networks of each container, in endpoint order; (network, name) -> addresses
            self._networks[e.container_id] = (*self._networks.get(e.container_id, ()), e.network)
            if e.links:
                self._links[(e.container_id, e.network)] = dict(e.links)
            if e.address:
                for name in e.names:
                    self._addresses.setdefault((e.network, name), []).append(e.address)

    def networks_of(self, container_id: str) -> tuple[str, ...]:
        return self._networks.get(container_id, ())

    def _on(self, network: str, name: str, asker: str = "") -> list[str]:
        """The addresses of ``name`` on ``network``; a link alias of ``asker`` there stands for
        its target (before any container's own name, as with dockerd)."""
        name = self._links.get((asker, network), {}).get(name, name)
        return list(self._addresses.get((network, name), ()))

    def lookup(self, asker: str, qname: str) -> list[str] | None:
        """The addresses ``qname`` has for container ``asker`` (None: not a name known to it).
        The first shared network that knows the name answers, as with dockerd."""
        name = qname.lower().rstrip(".")
        shared = self.networks_of(asker)
        for network in shared:
            found = self._on(network, name, asker)
            if found:
                return found
        for i, char in enumerate(name):  # <name>.<network>
            if char == "." and name[i + 1:] in {n.lower() for n in shared}:
                network = next(n for n in shared if n.lower() == name[i + 1:])
                found = self._on(network, name[:i], asker)
                if found:
                    return found
        return None

    def reverse(self, asker: str, address: str) -> str | None:
        """``<container name>.<network>`` of ``address`` on a network ``asker`` is on."""
        for network in self.networks_of(asker):
            for e in self.entries:
                if e.network == network and e.address == address:
                    return f"{e.name}.{network}"
        return None


def _reply(query: dns.message.Message) -> dns.message.Message:
    response = dns.message.make_response(query)
    response.flags |= dns.flags.RA
    return response


def servfail(query: dns.message.Message) -> dns.message.Message:
    response = _reply(query)
    response.set_rcode(dns.rcode.SERVFAIL)
    return response


def answer(table: NameTable, asker: str, query: dns.message.Message,
           shuffle: bool = True) -> dns.message.Message | None:
    """The reply to ``query`` from container ``asker`` (None: forward it upstream)."""
    if query.opcode() != dns.opcode.QUERY or len(query.question) != 1:
        response = _reply(query)
        response.set_rcode(dns.rcode.NOTIMP if query.opcode() != dns.opcode.QUERY else dns.rcode.FORMERR)
        return response
    question = query.question[0]
    if question.rdclass != dns.rdataclass.IN:
        return None
    qname = question.name
    text = qname.to_text(omit_final_dot=True)
    if question.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
        addresses = table.lookup(asker, text)
        if addresses is None:
            return None
        response = _reply(query)
        if question.rdtype == dns.rdatatype.A:
            if shuffle:
                addresses = random.sample(addresses, len(addresses))  # round robin, as dockerd
            response.answer.append(dns.rrset.from_text_list(qname, TTL, dns.rdataclass.IN, dns.rdatatype.A,
                                                            addresses))
        return response
    if question.rdtype == dns.rdatatype.PTR:
        try:
            address = dns.reversename.to_address(qname)
        except (dns.exception.SyntaxError, ValueError):
            return None
        host = table.reverse(asker, address)
        if host is None:
            return None
        response = _reply(query)
        response.answer.append(dns.rrset.from_text(qname, TTL, dns.rdataclass.IN, dns.rdatatype.PTR, host + "."))
        return response
    return None


def parse_upstream(text: str) -> Upstream:
    """``1.2.3.4``, ``1.2.3.4:5353``, ``::1`` or ``[::1]:5353`` (ValueError otherwise)."""
    text = text.strip()
    port = DNS_PORT
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"{text!r}: not an address[:port]")
            port = int(rest[1:])
        text = host
    elif text.count(":") == 1:
        text, _, port_text = text.partition(":")
        port = int(port_text)
    address = ipaddress.ip_address(text.split("%")[0])
    if not 0 < port < 65536:
        raise ValueError(f"port {port}: out of range")
    return str(address), port


def resolv_nameservers(text: str) -> list[str]:
    """The ``nameserver`` addresses of a resolv.conf."""
    out = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) > 1 and fields[0] == "nameserver":
            out.append(fields[1])
    return out


def upstreams(container_dns: Sequence[str], override: Sequence[str], host_resolv: str) -> list[Upstream]:
    """Where the queries of a container are forwarded, in order (see the module docstring)."""
    for source in (container_dns, override, resolv_nameservers(host_resolv)):
        found = []
        for text in source:
            try:
                found.append(parse_upstream(str(text)))
            except ValueError:
                continue
        if found:
            return found
    return [(a, DNS_PORT) for a in DEFAULT_UPSTREAMS]
