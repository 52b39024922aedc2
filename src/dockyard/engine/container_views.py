"""What clients read about containers: ``docker inspect``'s document (ContainerJSON),
``docker ps``'s summaries with their filters, and which containers a prune removes.

The shapes are those of the Engine API 1.47 as the docker CLI 28 and docker-py 7 read them.
Network settings are minimal until the network service exists: no addresses, one entry
in ``Networks`` named after the network mode.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from dockyard.engine.container_model import (
    CREATED,
    DEAD,
    EXITED,
    PAUSED,
    REMOVING,
    RESTARTING,
    RUNNING,
    STATUSES,
    Container,
    parse_time,
    status_text,
)
from dockyard.engine.filters import Filters
from dockyard.errors import InvalidArgument

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.engine.containers import ContainerService, Live

LIST_FILTERS = ("ancestor", "before", "expose", "exited", "health", "id", "isolation", "is-task", "label",
                "name", "network", "publish", "since", "status", "volume")
PRUNE_FILTERS = ("until", "label", "label!")
HEALTH_STATES = ("starting", "healthy", "unhealthy", "none")
NO_HEALTHCHECK = "none"  # the health filter's value for a container without a check


def state_string(c: Container) -> str:
    """Docker's ``StateString``."""
    s = c.state
    if s.running:
        if s.paused:
            return PAUSED
        if s.restarting:
            return RESTARTING
        return RUNNING
    if s.removing:
        return REMOVING
    if s.dead:
        return DEAD
    if s.started_at.startswith("0001"):
        return CREATED
    return EXITED


def command_line(c: Container) -> str:
    args = [f"'{a}'" if " " in a else a for a in c.args]
    return " ".join([c.path, *args]) if args else c.path


def endpoint() -> dict[str, Any]:
    return {"IPAMConfig": None, "Links": None, "Aliases": None, "MacAddress": "", "DriverOpts": None,
            "NetworkID": "", "EndpointID": "", "Gateway": "", "IPAddress": "", "IPPrefixLen": 0,
            "IPv6Gateway": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "DNSNames": None}


def network_settings(c: Container) -> dict[str, Any]:
    mode = str(c.host_config.get("NetworkMode") or "bridge")
    sandbox = f"/proc/{c.state.pid}/ns/net" if c.state.running and c.state.pid else ""
    return {"Bridge": "", "SandboxID": "", "SandboxKey": sandbox, "Ports": {}, "HairpinMode": False,
            "LinkLocalIPv6Address": "", "LinkLocalIPv6PrefixLen": 0, "SecondaryIPAddresses": None,
            "SecondaryIPv6Addresses": None, "EndpointID": "", "Gateway": "", "GlobalIPv6Address": "",
            "GlobalIPv6PrefixLen": 0, "IPAddress": "", "IPPrefixLen": 0, "IPv6Gateway": "", "MacAddress": "",
            "Networks": {mode: endpoint()}}


def _bind_point(spec: str) -> dict[str, Any] | None:
    parts = spec.split(":")
    if len(parts) < 2:
        return None
    source, dest = parts[0], parts[1]
    mode = parts[2] if len(parts) > 2 else ""
    options = mode.split(",") if mode else []
    propagation = next((o for o in options if o.endswith(("shared", "slave", "private"))), "rprivate")
    if not source.startswith("/"):
        return {"Type": "volume", "Name": source, "Source": "", "Destination": dest, "Driver": "local",
                "Mode": mode, "RW": "ro" not in options, "Propagation": ""}
    return {"Type": "bind", "Source": source, "Destination": dest, "Mode": mode, "RW": "ro" not in options,
            "Propagation": propagation}


def mount_points(c: Container) -> list[dict[str, Any]]:
    from dockyard.engine.container_volumes import api_points

    out = []
    for spec in c.host_config.get("Binds") or []:
        point = _bind_point(str(spec))
        if point is not None and (point["Type"] != "volume" or not c.mount_points):
            out.append(point)
    for m in c.host_config.get("Mounts") or []:
        if not isinstance(m, dict):
            continue
        kind = m.get("Type", "volume")
        if kind == "volume" and c.mount_points:
            continue
        point = {"Type": kind, "Source": m.get("Source", "") if kind == "bind" else "",
                 "Destination": m.get("Target", ""), "Mode": "", "RW": not m.get("ReadOnly", False),
                 "Propagation": (m.get("BindOptions") or {}).get("Propagation", "rprivate") if kind == "bind" else ""}
        if kind == "volume":
            point["Name"] = m.get("Source", "")
            point["Driver"] = "local"
        out.append(point)
    return out + api_points(c.mount_points)


def inspect(c: Container, exec_ids: list[str] | None = None, size: tuple[int, int] | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "Id": c.id, "Created": c.created, "Path": c.path, "Args": c.args, "State": c.state.to_api(),
        "Image": c.image_id, "ResolvConfPath": c.resolv_conf_path, "HostnamePath": c.hostname_path,
        "HostsPath": c.hosts_path, "LogPath": c.log_path, "Name": c.name, "RestartCount": c.restart_count,
        "Driver": c.driver, "Platform": c.platform, "MountLabel": "", "ProcessLabel": "", "AppArmorProfile": "",
        "ExecIDs": exec_ids or None, "HostConfig": c.host_config,
        "GraphDriver": {"Data": None, "Name": c.driver},
    }
    if size is not None:
        doc["SizeRw"], doc["SizeRootFs"] = size
    doc.update(Mounts=mount_points(c), Config=c.config, NetworkSettings=network_settings(c))
    return doc


def summary(c: Container, size: tuple[int, int] | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "Id": c.id, "Names": [c.name], "Image": c.image_name, "ImageID": c.image_id, "Command": command_line(c),
        "Created": parse_time(c.created) // 1_000_000_000, "Ports": [], "Labels": c.labels,
        "State": state_string(c), "Status": status_text(c.state),
        "HostConfig": {"NetworkMode": str(c.host_config.get("NetworkMode") or "bridge")},
        "NetworkSettings": {"Networks": network_settings(c)["Networks"]}, "Mounts": mount_points(c),
    }
    if size is not None:
        doc["SizeRw"], doc["SizeRootFs"] = size
    return doc


def _regex_match(values: Iterable[str], source: str) -> bool:
    for value in values:
        try:
            if re.search(value, source):
                return True
        except re.error:
            if value in source:
                return True
    return False


def _mounts_any(c: Container, volumes: frozenset[str]) -> bool:
    """Docker's ``volume`` filter: a mount's destination, or its volume name (else its source)."""
    for point in mount_points(c):
        if point["Destination"] in volumes or (point.get("Name") or point["Source"]) in volumes:
            return True
    return False


def _port_filter(key: str, values: Iterable[str]) -> set[str]:
    """The ``publish``/``expose`` filter's values as ``port/proto`` keys: ``80``, ``80/udp``,
    ``8000-8010/tcp`` (a range: each of its ports); tcp when no protocol is given (another
    protocol is taken as it is, and matches nothing, as with dockerd)."""
    keys: set[str] = set()
    for value in values:
        if ":" in value:
            raise InvalidArgument(f"filter for '{key}' should not contain ':': {value}")
        ports, _, proto = value.partition("/")
        first, _, last = ports.partition("-")
        last = last or first
        if not (first.isdigit() and last.isdigit() and 0 < int(first) <= int(last) < 65536):
            raise InvalidArgument(f"invalid filter '{key}={value}'")
        keys.update(f"{port}/{proto or 'tcp'}" for port in range(int(first), int(last) + 1))
    return keys


def _port_keys(ports: Any) -> set[str]:
    """``port/proto`` keys of a ports map (``"80"`` alone is ``80/tcp``)."""
    return {key if "/" in key else f"{key}/tcp" for key in (ports or {})}


def select(service: ContainerService, filters: Filters, all_: bool, limit: int,
           ancestors: set[str] | None = None,
           host_ports: Callable[[Container], set[str]] = lambda c: set()) -> list[Live]:
    """The containers ``GET /containers/json`` answers, newest first. ``host_ports``: the
    ``port/proto`` keys of the host ports a container has published now (the ``publish``
    filter matches those, as dockerd's does; ``expose`` matches ``Config.ExposedPorts``)."""
    filters.validate(LIST_FILTERS)
    for status in filters.values("status"):
        if status not in STATUSES:
            raise InvalidArgument(f"invalid filter 'status={status}'")
    exited_codes: set[int] = set()
    for value in filters.values("exited"):
        try:
            exited_codes.add(int(value))
        except ValueError:
            raise InvalidArgument(f"invalid filter 'exited={value}'") from None
    for value in filters.values("health"):
        if value not in HEALTH_STATES:
            raise InvalidArgument(f"Unrecognised filter value for health: {value}")
    tasks = filters.values("is-task")
    if tasks and tasks not in ({"true"}, {"false"}):
        raise InvalidArgument(f"Invalid filter 'is-task={next(iter(tasks))}'")
    published = _port_filter("publish", filters.values("publish"))
    exposed = _port_filter("expose", filters.values("expose"))
    before = since = None
    if filters.values("before"):
        before = parse_time(service.get(next(iter(filters.values("before")))).container.created)
    if filters.values("since"):
        since = parse_time(service.get(next(iter(filters.values("since")))).container.created)
    out = []
    for live in service.all():
        c = live.container
        state = state_string(c)
        if not all_ and not c.state.running and not filters.values("status") and not exited_codes and \
                limit <= 0 and before is None and since is None:
            continue
        created = parse_time(c.created)
        if before is not None and created >= before:
            continue
        if since is not None and created <= since:
            continue
        if not filters.fuzzy_match("id", c.id):
            continue
        names = filters.values("name")
        if names and not (_regex_match(names, c.name) or _regex_match(names, c.short_name)):
            continue
        if not filters.match_kv_list("label", c.labels):
            continue
        if filters.values("status") and state not in filters.values("status"):
            continue
        if exited_codes and (state != EXITED or c.state.exit_code not in exited_codes):
            continue
        if ancestors is not None and c.image_id not in ancestors and c.image_name not in ancestors:
            continue
        networks = filters.values("network")
        if networks and str(c.host_config.get("NetworkMode")) not in networks:
            continue
        health = (c.state.health or {}).get("Status") or NO_HEALTHCHECK
        if filters.values("health") and health not in filters.values("health"):
            continue
        if tasks == {"true"}:  # no container is a swarm task
            continue
        if filters.values("volume") and not _mounts_any(c, filters.values("volume")):
            continue
        if published and not published & host_ports(c):
            continue
        if exposed and not exposed & _port_keys(c.config.get("ExposedPorts")):
            continue
        out.append(live)
    if limit > 0:
        out = out[:limit]
    return out


def prune_candidates(service: ContainerService, until_ns: int | None, labels: Filters) -> list[Live]:
    out = []
    for live in service.all():
        c = live.container
        if c.state.running or c.state.paused or c.state.restarting or c.state.removing:
            continue
        if until_ns is not None and parse_time(c.created) >= until_ns:
            continue
        if labels.values("label") and not labels.match_kv_list("label", c.labels):
            continue
        if labels.values("label!") and Filters.of(label=labels.values("label!")).match_kv_list("label", c.labels):
            continue
        out.append(live)
    return out
