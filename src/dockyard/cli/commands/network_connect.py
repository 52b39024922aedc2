"""``dockyard network connect NETWORK CONTAINER``: ``POST /networks/{id}/connect``.

``--ip``/``--ip6``/``--link-local-ip`` go in ``EndpointConfig.IPAMConfig``, ``--alias``,
``--link``, ``--driver-opt`` (key=value) and ``--gw-priority`` beside it, as docker sends them.
"""

from __future__ import annotations

from dockyard.cli import command
from dockyard.cli.flags import INT, LIST, STRING, Flag

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from dockyard.cli.flags import Options

USAGE = "[OPTIONS] NETWORK CONTAINER"
FLAGS = [
    Flag("alias", kind=LIST, type_name="strings", help="Add network-scoped alias for the container"),
    Flag("driver-opt", kind=LIST, type_name="strings", help="driver options for the network"),
    Flag("gw-priority", kind=INT, help="Highest gw-priority provides the default gateway. Accepts positive and "
                                       "negative values."),
    Flag("ip", kind=STRING, help='IPv4 address (e.g., "172.30.100.104")'),
    Flag("ip6", kind=STRING, help='IPv6 address (e.g., "2001:db8::33")'),
    Flag("link", kind=LIST, help="Add link to another container"),
    Flag("link-local-ip", kind=LIST, type_name="strings", help="Add a link-local address for the container"),
]
ARGS = command.exact_args(2)


def _split(values: list[str]) -> list[str]:
    return [part for value in values for part in value.split(",") if part]


def run(cli: command.Cli, opts: Options, args: list[str]) -> int:
    from dockyard.cli.apiquery import path_escape

    driver_opts: dict[str, str] = {}
    for item in _split(opts.driver_opt):
        key, _, value = item.partition("=")
        driver_opts[key] = value
    ipam: dict[str, Any] = {}
    if opts.ip:
        ipam["IPv4Address"] = opts.ip
    if opts.ip6:
        ipam["IPv6Address"] = opts.ip6
    if _split(opts.link_local_ip):
        ipam["LinkLocalIPs"] = _split(opts.link_local_ip)
    endpoint: dict[str, Any] = {
        "IPAMConfig": ipam, "Links": list(opts.link) or None, "Aliases": _split(opts.alias), "MacAddress": "",
        "DriverOpts": dict(sorted(driver_opts.items())), "GwPriority": opts.gw_priority, "NetworkID": "",
        "EndpointID": "", "Gateway": "", "IPAddress": "", "IPPrefixLen": 0, "IPv6Gateway": "",
        "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "DNSNames": None}
    post_json(cli, f"/networks/{path_escape(args[0])}/connect", {"Container": args[1], "EndpointConfig": endpoint})
    return 0


def post_json(cli: command.Cli, path: str, body: Any) -> None:
    """POST ``body`` as Go's json.Encoder writes it (with the trailing newline)."""
    from dockyard.oci import jsonio

    cli.client.call("POST", path, data=(jsonio.dumps(body) + "\n").encode(),
                    headers={"Content-Type": "application/json"})
