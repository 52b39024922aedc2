"""``-p``/``--publish`` and ``--expose``: go-connections/nat's port specs, as docker parses them.

``[ip:][hostPort:]containerPort[/proto]`` with ranges (``8000-8001:80-81``), IPv6 in
brackets, and the long syntax (``published=8080,target=80,protocol=udp``). The results are
the API's ``ExposedPorts`` (``{"80/tcp": {}}``) and ``PortBindings`` (``{"80/tcp":
[{"HostIp": "", "HostPort": "8080"}]}``); errors are InvalidArgument with nat's text.
"""

from __future__ import annotations

from dockyard.errors import InvalidArgument

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _standard(spec: str) -> str:
    if "=" not in spec:
        return spec
    params = {"protocol": "tcp"}
    for param in spec.split(","):
        key, sep, value = param.partition("=")
        if not sep or not key:
            raise InvalidArgument(f"invalid publish opts format (should be name=value but got '{param}')")
        params[key] = value
    return f"{params.get('published', '')}:{params.get('target', '')}/{params['protocol']}"


def split_proto_port(raw: str) -> tuple[str, str]:
    parts = raw.split("/")
    if not raw or not parts[0]:
        return "", ""
    if len(parts) == 1 or not parts[1]:
        return "tcp", parts[0]
    return parts[1], parts[0]


def parse_port_range(ports: str) -> tuple[int, int]:
    if not ports:
        raise InvalidArgument("empty string specified for ports")
    if "-" not in ports:
        start = _port(ports)
        return start, start
    first, _, last = ports.partition("-")
    start, end = _port(first), _port(last)
    if end < start:
        raise InvalidArgument(f"invalid range specified for port: {ports}")
    return start, end


def _port(text: str) -> int:
    if not text.isdigit():
        raise InvalidArgument(f'strconv.ParseUint: parsing "{text}": invalid syntax')
    if int(text) > 65535:
        raise InvalidArgument(f'strconv.ParseUint: parsing "{text}": value out of range')
    return int(text)


def _split_parts(raw: str) -> tuple[str, str, str]:
    parts = raw.split(":")
    if len(parts) == 1:
        return "", "", parts[0]
    if len(parts) == 2:
        return "", parts[0], parts[1]
    return ":".join(parts[:-2]), parts[-2], parts[-1]


def _valid_ip(ip: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(ip)
    except ValueError:
        return False
    return True


def parse_port_spec(raw: str) -> list[tuple[str, dict[str, str]]]:
    """One ``-p`` value: [(``"80/tcp"``, {"HostIp": ..., "HostPort": ...}), ...]."""
    ip, host_port, container_port = _split_parts(raw)
    proto, container_port = split_proto_port(container_port)
    if ip.startswith("["):
        if not ip.endswith("]"):
            raise InvalidArgument(f"invalid IP address {ip}: address {ip}:: missing ']' in address")
        ip = ip[1:-1]
    if ip and not _valid_ip(ip):
        raise InvalidArgument(f"invalid IP address: {ip}")
    if not container_port:
        raise InvalidArgument(f"no port specified: {raw}<empty>")
    try:
        start, end = parse_port_range(container_port)
    except InvalidArgument:
        raise InvalidArgument(f"invalid containerPort: {container_port}") from None
    host_start = host_end = 0
    if host_port:
        try:
            host_start, host_end = parse_port_range(host_port)
        except InvalidArgument:
            raise InvalidArgument(f"invalid hostPort: {host_port}") from None
        if end - start != host_end - host_start and end != start:
            raise InvalidArgument(f"invalid ranges specified for container and host Ports: {container_port} "
                                  f"and {host_port}")
    if proto.lower() not in ("tcp", "udp", "sctp"):
        raise InvalidArgument(f"invalid proto: {proto}")
    out = []
    for i in range(end - start + 1):
        hp = str(host_start + i) if host_port else ""
        if start == end and host_start != host_end:
            hp = f"{hp}-{host_end}"
        out.append((f"{start + i}/{proto.lower()}", {"HostIp": ip, "HostPort": hp}))
    return out


def port_bindings(specs: list[str]) -> dict[str, list[dict[str, str]]]:
    bindings: dict[str, list[dict[str, str]]] = {}
    for spec in specs:
        for port, binding in parse_port_spec(_standard(spec)):
            bindings.setdefault(port, []).append(binding)
    return bindings


def exposed_ports(publish: list[str], expose: list[str]) -> dict[str, Any]:
    ports: dict[str, Any] = {}
    for spec in publish:
        for port, _ in parse_port_spec(_standard(spec)):
            ports[port] = {}
    for item in expose:
        if ":" in item:
            raise InvalidArgument(f"invalid port format for --expose: {item}")
        proto, port_text = split_proto_port(item)
        try:
            start, end = parse_port_range(port_text)
        except InvalidArgument as exc:
            raise InvalidArgument(f"invalid range format for --expose: {item}, error: {exc}") from None
        for number in range(start, end + 1):
            ports.setdefault(f"{number}/{proto}", {})
    return ports
