"""The engine's nft table as text, from its bridge networks and published ports (pure).

One ``table ip <name>`` holds everything; :func:`ruleset` returns a script that replaces it
in one transaction (``table``, ``delete table``, then the table again), so the rules always
match the engine's state, also after a daemon killed with -9 starts again.

- ``nat-prerouting``/``nat-output`` (hooks prerouting and output, priority dstnat): traffic
  to a local address (``fib daddr type local``: from other hosts and containers, and from
  the host itself, 127.0.0.1 included) jumps to ``published``, which DNATs each published
  port (``[ip daddr H] tcp dport P dnat to C:p``; a host IP of ``0.0.0.0``/empty is any
  local address).
- ``nat-postrouting`` (srcnat): a bridge subnet's traffic leaving by another interface is
  masqueraded (not for internal networks, nor with
  ``com.docker.network.bridge.enable_ip_masquerade=false``); on each bridge, loopback
  sources (host -> 127.0.0.1:P, needs ``route_localnet``) and DNATed traffic of the
  bridge's own subnet (hairpin: a container -> host:P -> itself or a neighbour) are
  masqueraded so replies come back through the host.
- ``forward`` (filter): traffic between two bridges of the engine is dropped (isolation);
  an internal network's bridge talks only to itself; ``enable_icc=false`` drops traffic
  within the bridge.
- ``raw-prerouting`` (raw): packets arriving on our bridges for 127.0.0.0/8 are dropped
  (``route_localnet`` would let containers reach the host's loopback services).

A drop here is final; an accept is not (other tables may still drop), so the table only
drops and translates.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class BridgeNet:
    """A bridge network as the firewall sees it."""

    bridge: str
    subnet: str
    internal: bool = False
    masquerade: bool = True
    icc: bool = True


@dataclass(frozen=True)
class PortRule:
    """``host_ip:host_port/proto`` -> ``address:port`` (host_ip "" or 0.0.0.0: any)."""

    proto: str
    host_ip: str
    host_port: int
    address: str
    port: int


def _name(text: str) -> str:
    return '"' + text.replace("\\", "").replace('"', "") + '"'


def _set(names: Iterable[str]) -> str:
    items = [_name(n) for n in names]
    return items[0] if len(items) == 1 else "{ " + ", ".join(items) + " }"


def _chain(name: str, hook: str, rules: list[str]) -> list[str]:
    head = [f"\tchain {name} {{"]
    if hook:
        head.append(f"\t\t{hook}; policy accept;")
    return head + [f"\t\t{r}" for r in rules] + ["\t}"]


def dnat_rule(p: PortRule) -> str:
    daddr = f"ip daddr {p.host_ip} " if p.host_ip and p.host_ip != "0.0.0.0" else ""
    return f"{daddr}{p.proto} dport {p.host_port} dnat to {p.address}:{p.port}"


def ruleset(table: str, bridges: Iterable[BridgeNet], ports: Iterable[PortRule]) -> str:
    """The nft script that makes ``table ip <table>`` exactly this (deletes it when there
    is no bridge)."""
    nets = sorted(bridges, key=lambda b: b.bridge)
    lines = [f"table ip {table}", f"delete table ip {table}"]
    if not nets:
        return "\n".join(lines) + "\n"
    names = [b.bridge for b in nets]
    published = sorted(ports, key=lambda p: (p.host_port, p.proto, p.host_ip, p.address, p.port))
    post: list[str] = []
    forward: list[str] = []
    for b in nets:
        if b.masquerade and not b.internal:
            post.append(f"oifname != {_name(b.bridge)} ip saddr {b.subnet} masquerade")
        post.append(f"oifname {_name(b.bridge)} ip saddr 127.0.0.0/8 masquerade")
        post.append(f"oifname {_name(b.bridge)} ip saddr {b.subnet} ct status dnat masquerade")
        others = [n for n in names if n != b.bridge]
        if b.internal:
            forward.append(f"iifname {_name(b.bridge)} oifname != {_name(b.bridge)} drop")
            forward.append(f"oifname {_name(b.bridge)} iifname != {_name(b.bridge)} drop")
        elif others:
            forward.append(f"iifname {_name(b.bridge)} oifname {_set(others)} drop")
        if not b.icc:
            forward.append(f"iifname {_name(b.bridge)} oifname {_name(b.bridge)} drop")
    body = [f"table ip {table} {{"]
    body += _chain("raw-prerouting", "type filter hook prerouting priority raw",
                   [f"iifname {_set(names)} ip daddr 127.0.0.0/8 drop"])
    body += _chain("nat-prerouting", "type nat hook prerouting priority dstnat",
                   ["fib daddr type local jump published"])
    body += _chain("nat-output", "type nat hook output priority -100", ["fib daddr type local jump published"])
    body += _chain("published", "", [dnat_rule(p) for p in published])
    body += _chain("nat-postrouting", "type nat hook postrouting priority srcnat", post)
    body += _chain("forward", "type filter hook forward priority filter", forward)
    body.append("}")
    return "\n".join(lines + body) + "\n"
