"""Published ports: a container's ``HostConfig.PortBindings`` and ``PublishAllPorts`` as the
concrete list of bindings the engine sets up, and ``NetworkSettings.Ports`` for inspect.

The CLI already turned ``-p [ip:]host:container[/proto]`` (ranges included, see
``dockyard.cli.ctr_ports``) into the API's shape: ``{"80/tcp": [{"HostIp": "", "HostPort":
"8080"}]}``; a host port may be a range (``8000-8010``: the first free one of it is taken)
or empty (a free ephemeral port). ``PublishAllPorts`` (``-P``) publishes every exposed port
(``Config.ExposedPorts``) without a binding on a free ephemeral port, as dockerd does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from dockyard.errors import FailedPrecondition, InvalidArgument

PROTOCOLS = ("tcp", "udp", "sctp")
EPHEMERAL = (32768, 60999)  # Linux's default ip_local_port_range: dockerd picks from it too


@dataclass(frozen=True)
class Binding:
    """One published port: ``host_ip:host_start-host_end`` -> ``container_port/proto``;
    ``host_start`` 0 is "any free port"; a range means "the first free one of it"."""

    proto: str
    container_port: int
    host_ip: str
    host_start: int
    host_end: int


def parse_port_key(key: str) -> tuple[int, str]:
    """``"80/tcp"`` (or ``"80"``: tcp) -> (80, "tcp")."""
    port_text, _, proto = key.partition("/")
    proto = proto or "tcp"
    if proto not in PROTOCOLS:
        raise InvalidArgument(f"invalid port {key!r}: unknown protocol {proto!r}")
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise InvalidArgument(f"invalid port {key!r}: invalid container port")
    return int(port_text), proto


def parse_host_ports(text: str, key: str) -> tuple[int, int]:
    if not text:
        return 0, 0
    first, _, last = text.partition("-")
    last = last or first
    if not (first.isdigit() and last.isdigit()) or not (0 <= int(first) <= int(last) < 65536):
        raise InvalidArgument(f"invalid host port {text!r} for {key}")
    return int(first), int(last)


def bindings(exposed: Mapping[str, Any] | None, port_bindings: Mapping[str, Any] | None,
             publish_all: bool) -> list[Binding]:
    """Every binding to set up, ordered by container port then protocol."""
    out: list[Binding] = []
    bound: set[str] = set()
    for key, entries in (port_bindings or {}).items():
        port, proto = parse_port_key(key)
        bound.add(f"{port}/{proto}")
        for entry in entries or [{}]:
            if not isinstance(entry, Mapping):
                raise InvalidArgument(f"HostConfig.PortBindings[{key!r}]: must be a list of objects")
            start, end = parse_host_ports(str(entry.get("HostPort") or ""), key)
            out.append(Binding(proto, port, str(entry.get("HostIp") or ""), start, end))
    if publish_all:
        for key in exposed or {}:
            port, proto = parse_port_key(key)
            if f"{port}/{proto}" not in bound:
                out.append(Binding(proto, port, "", 0, 0))
    out.sort(key=lambda b: (b.container_port, b.proto, b.host_ip, b.host_start))
    return out


def choose_host_port(binding: Binding, is_free: Callable[[str, str, int], bool],
                     taken: Iterable[tuple[str, str, int]] = ()) -> int:
    """The host port for ``binding``: its own if fixed, else the first free one of its range
    or of the ephemeral range. ``is_free(proto, host_ip, port)`` asks the host."""
    used = set(taken)
    start, end = (binding.host_start, binding.host_end) if binding.host_start else EPHEMERAL
    for port in range(start, end + 1):
        if (binding.proto, binding.host_ip, port) in used:
            continue
        if binding.host_start == binding.host_end != 0 or is_free(binding.proto, binding.host_ip, port):
            return port
    what = f"{binding.host_start}-{binding.host_end}" if binding.host_start else "the ephemeral range"
    raise FailedPrecondition(f"Bind for {binding.host_ip or '0.0.0.0'}:{what} failed: no free host port")


def ports_view(exposed: Mapping[str, Any] | None, published: Iterable[tuple[Binding, int]]) -> dict[str, Any]:
    """``NetworkSettings.Ports``: every exposed or published port; the published ones with
    their host address and port, the others ``null``."""
    out: dict[str, Any] = {}
    for key in exposed or {}:
        port, proto = parse_port_key(key)
        out.setdefault(f"{port}/{proto}", None)
    for binding, host_port in published:
        key = f"{binding.container_port}/{binding.proto}"
        if out.get(key) is None:
            out[key] = []
        out[key].append({"HostIp": binding.host_ip or "0.0.0.0", "HostPort": str(host_port)})
    return out
