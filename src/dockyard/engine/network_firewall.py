"""The engine's firewall: its one nft table, rebuilt from the current state, and the sysctls
bridge networks need.

:meth:`Firewall.apply` turns the bridge networks and the published ports
(:class:`~dockyard.engine.network_publish.PortMap`) into ``table ip <name>``
(:func:`dockyard.engine.network_rules.ruleset`) and runs it through libnftables in one
transaction. It runs when the engine starts (so that the table is right again after a
``kill -9``), when a network is created or removed and when ports are published or
released. With bridge networks it also turns on ``net.ipv4.ip_forward`` (unless the
daemon's ``ip-forward`` is false, as dockerd) and ``route_localnet`` on each bridge (the
host's 127.0.0.1:port reaches containers through NAT). An engine that never had a bridge
network leaves the host's firewall alone; the table stays when the daemon stops (the
containers keep running and their ports keep working).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from typing import Any

from dockyard.engine import nftables
from dockyard.engine.network_model import Network
from dockyard.engine.network_publish import PortMap
from dockyard.engine.network_rules import BridgeNet, ruleset

log = logging.getLogger("dockyard.engine.networks")
IP_FORWARD = "/proc/sys/net/ipv4/ip_forward"
MASQUERADE = "com.docker.network.bridge.enable_ip_masquerade"
ICC = "com.docker.network.bridge.enable_icc"


def bridge_net(net: Network) -> BridgeNet | None:
    if net.driver != "bridge" or net.pool is None or not net.bridge:
        return None
    return BridgeNet(net.bridge, str(net.pool.subnet), internal=net.internal,
                     masquerade=net.options.get(MASQUERADE, "true").lower() not in ("false", "0"),
                     icc=net.options.get(ICC, "true").lower() not in ("false", "0"))


def write_sysctl(path: str, value: str) -> None:
    """Set a /proc/sys value unless it is so already (a warning when it cannot be set)."""
    try:
        with open(path) as f:
            if f.read().strip() == value:
                return
        with open(path, "w") as f:
            f.write(value)
    except OSError as exc:
        log.warning("%s: cannot set it to %s: %s", path, value, exc.strerror)
        return
    log.info("%s set to %s", path, value)


class Firewall:
    """The table ``table ip <table>`` of this engine (see the module's docstring)."""

    def __init__(self, table: str, ports: PortMap, ip_forward: bool = True, enabled: bool = True) -> None:
        self.table = table
        self.ports = ports
        self.ip_forward = ip_forward
        self.enabled = enabled  # dockerd's --iptables: false leaves the firewall alone
        self.active = False  # the table was made by this process

    @classmethod
    def of(cls, config: Any) -> Firewall:
        """The engine's firewall (``config``: the EngineConfig): its table, its published
        ports under ``<data-root>/networks/ports``."""
        return cls(config.firewall_table, PortMap(os.path.join(config.data_root, "networks", "ports")),
                   config.ip_forward, config.iptables)

    def apply(self, networks: Iterable[Network]) -> None:
        """Rebuild the table from ``networks`` and the published ports (NftError on failure)."""
        bridges = [b for b in (bridge_net(n) for n in networks) if b is not None]
        if bridges and self.ip_forward:
            write_sysctl(IP_FORWARD, "1")
        if not self.enabled or (not bridges and not self.active):
            return
        for b in bridges:
            write_sysctl(f"/proc/sys/net/ipv4/conf/{b.bridge}/route_localnet", "1")
        nftables.run(ruleset(self.table, bridges, self.ports.rules()), json_output=False)
        self.active = bool(bridges)

    def refresh(self, networks: Iterable[Network]) -> None:
        """:meth:`apply`, a failure logged (the network work that asked for it stands)."""
        try:
            self.apply(networks)
        except Exception:
            log.exception("firewall: rebuilding table ip %s", self.table)

    def close(self) -> None:
        self.ports.close()
