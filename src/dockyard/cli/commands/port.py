"""``dockyard port``: a container's published ports (``80/tcp -> 0.0.0.0:8080``), or one port's."""

from __future__ import annotations

from dockyard.cli import command
from dockyard.cli.ctr_common import path_of
from dockyard.errors import DockyardError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.cli.flags import Options

USAGE = "CONTAINER [PRIVATE_PORT[/PROTO]]"
FLAGS: list[object] = []
ARGS = command.range_args(1, 2)


def join_host_port(host: str, port: str) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def natural_key(text: str) -> list[tuple[int, int | str]]:
    """sortorder.NaturalLess: runs of digits compare as numbers."""
    key: list[tuple[int, int | str]] = []
    digits = ""
    for ch in text:
        if ch.isdigit():
            digits += ch
            continue
        if digits:
            key.append((0, int(digits)))
            digits = ""
        key.append((1, ch))
    if digits:
        key.append((0, int(digits)))
    return key


def run(cli: command.Cli, opts: Options, args: list[str]) -> int:
    info = cli.client.get(f"{path_of(args[0])}/json") or {}
    ports = (info.get("NetworkSettings") or {}).get("Ports") or {}
    out = []
    if len(args) > 1:
        port, _, proto = args[1].partition("/")
        if not port.isdigit() or int(port) > 65535:
            kind = "value out of range" if port.isdigit() else "invalid syntax"
            raise DockyardError(f'Error: invalid port ({port}): strconv.ParseUint: parsing "{port}": {kind}')
        frontends = ports.get(f"{port}/{proto or 'tcp'}")
        if not frontends:
            raise DockyardError(f"Error: No public port '{args[1]}' published for {args[0]}")
        out = [join_host_port(f.get("HostIp", ""), f.get("HostPort", "")) for f in frontends]
    else:
        for private, frontends in ports.items():
            for f in frontends or []:
                out.append(f"{private} -> {join_host_port(f.get('HostIp', ''), f.get('HostPort', ''))}")
    if out:
        cli.out.write("\n".join(sorted(out, key=natural_key)) + "\n")
    return 0
