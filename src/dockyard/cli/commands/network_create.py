"""``dockyard network create NETWORK``: ``POST /networks/create``, then the new ID.

``--subnet``, ``--ip-range``, ``--gateway`` and ``--aux-address`` become IPAM ``Config``
entries the way docker's CLI pairs them (each range, gateway and auxiliary address must fall
in one of the subnets, at most one range and gateway per subnet), with docker's messages.
"""

from __future__ import annotations

from dockyard.cli import command
from dockyard.cli.flags import BOOL, LIST, STRING, Flag
from dockyard.errors import DockyardError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from dockyard.cli.flags import Options

USAGE = "[OPTIONS] NETWORK"
FLAGS = [
    Flag("attachable", help="Enable manual container attachment"),
    Flag("aux-address", kind=LIST, type_name="map", help="Auxiliary IPv4 or IPv6 addresses used by Network "
                                                          "driver (default map[])"),
    Flag("config-from", kind=STRING, help="The network from which to copy the configuration"),
    Flag("config-only", help="Create a configuration only network"),
    Flag("driver", "d", STRING, default="bridge", help="Driver to manage the Network"),
    Flag("gateway", kind=LIST, type_name="strings", help="IPv4 or IPv6 Gateway for the master subnet"),
    Flag("ingress", help="Create swarm routing-mesh network"),
    Flag("internal", help="Restrict external access to the network"),
    Flag("ip-range", kind=LIST, type_name="strings", help="Allocate container ip from a sub-range"),
    Flag("ipam-driver", kind=STRING, default="default", help="IP Address Management Driver"),
    Flag("ipam-opt", kind=LIST, type_name="map", help="Set IPAM driver specific options (default map[])"),
    Flag("ipv4", kind=BOOL, default=True, help="Enable or disable IPv4 address assignment"),
    Flag("ipv6", help="Enable or disable IPv6 address assignment"),
    Flag("label", kind=LIST, help="Set metadata on a network"),
    Flag("opt", "o", LIST, type_name="map", help="Set driver specific options (default map[])"),
    Flag("scope", kind=STRING, help="Control the network's scope"),
    Flag("subnet", kind=LIST, type_name="strings", help="Subnet in CIDR format that represents a network segment"),
]
ARGS = command.exact_args(1)


def _split(values: list[str]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _map(values: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in values:
        key, _, val = value.partition("=")
        out[key] = val
    return out


def _network(text: str) -> Any:
    import ipaddress

    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def _address(text: str) -> Any:
    import ipaddress

    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _within(inner: Any, outer: Any) -> bool:
    if inner is None or outer is None or inner.version != outer.version:
        return False
    return bool(inner.subnet_of(outer)) if hasattr(inner, "subnet_of") else inner in outer


def consolidate_ipam(subnets: list[str], ranges: list[str], gateways: list[str],
                     aux: dict[str, str]) -> list[dict[str, Any]]:
    """docker's consolidateIpam: one IPAM config per subnet (the daemon checks the values)."""
    if len(subnets) < len(ranges) or len(subnets) < len(gateways):
        raise DockyardError("every ip-range or gateway must have a corresponding subnet")
    nets = [_network(s) for s in subnets]
    for i, a in enumerate(nets):
        for b in nets[i + 1:]:
            if a is not None and b is not None and a.version == b.version and a.overlaps(b):
                raise DockyardError("multiple overlapping subnet configuration is not supported")
    configs: list[dict[str, Any]] = [{"Subnet": s} for s in subnets]

    def place(value: str, key: str, what: str, parsed: Any) -> None:
        match = False
        for cfg, net in zip(configs, nets, strict=True):
            if not _within(parsed, net):
                continue
            if key != "AuxiliaryAddresses" and cfg.get(key):
                plural = "ranges" if key == "IPRange" else "gateways"
                where = "on" if key == "IPRange" else "for"
                raise DockyardError(f"cannot configure multiple {plural} ({value}, {cfg[key]}) {where} the same "
                                    f"subnet ({cfg['Subnet']})")
            if key == "AuxiliaryAddresses":
                cfg.setdefault(key, {})[what] = value
            else:
                cfg[key] = value
            match = True
        if not match:
            name = {"IPRange": "range", "Gateway": "gateway"}.get(key, "aux-address")
            raise DockyardError(f"no matching subnet for {name} {value}")

    for rng in ranges:
        place(rng, "IPRange", "", _network(rng))
    for gw in gateways:
        place(gw, "Gateway", "", _address(gw))
    for key, value in aux.items():
        place(value, "AuxiliaryAddresses", key, _address(value))
    return [{k: cfg[k] for k in ("Subnet", "IPRange", "Gateway", "AuxiliaryAddresses") if k in cfg}
            for cfg in configs]


def run(cli: command.Cli, opts: Options, args: list[str]) -> int:
    configs = consolidate_ipam(_split(opts.subnet), _split(opts.ip_range), _split(opts.gateway),
                               _map(opts.aux_address))
    labels = {}
    for label in opts.label:
        key, _, value = label.partition("=")
        labels[key] = value
    body: dict[str, Any] = {"Driver": opts.driver, "Scope": opts.scope}
    if "ipv4" in opts.changed:
        body["EnableIPv4"] = opts.ipv4
    if "ipv6" in opts.changed:
        body["EnableIPv6"] = opts.ipv6
    body.update({
        "IPAM": {"Driver": opts.ipam_driver, "Options": _sorted(_map(opts.ipam_opt)), "Config": configs},
        "Internal": opts.internal, "Attachable": opts.attachable, "Ingress": opts.ingress,
        "ConfigOnly": opts.config_only, "ConfigFrom": {"Network": opts.config_from} if opts.config_from else None,
        "Options": _sorted(_map(opts.opt)), "Labels": _sorted(labels), "Name": args[0]})
    from dockyard.oci import jsonio

    data = (jsonio.dumps(body) + "\n").encode()  # as Go's json.Encoder writes it
    reply = cli.client.call("POST", "/networks/create", data=data, headers={"Content-Type": "application/json"})
    cli.out.write(f"{(reply or {}).get('Id', '')}\n")
    return 0


def _sorted(values: dict[str, str]) -> dict[str, str]:
    return dict(sorted(values.items()))
