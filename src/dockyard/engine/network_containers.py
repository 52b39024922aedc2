"""Containers on networks: which network a container joins, its namespace, its endpoints.

- :func:`network_of`: the network a ``HostConfig.NetworkMode`` names (``bridge``,
  ``default`` and ``""`` are the default bridge network; ``host``, ``none`` and
  ``container:<id>`` need no endpoint here), checked at create (``network x not found``).
- :func:`netns_path`: a container on a bridge network has a network namespace the engine
  makes before its task and binds under ``<exec-root>/netns/<container id>``; the spec's
  ``linux.namespaces`` network entry names that path (:func:`use_netns`); a
  ``container:<name|id>`` one has the other's namespace bound there at start
  (:mod:`.network_modes`).
- :func:`setup` (before the task is created): the namespace, then an endpoint on the
  network (address, veth, eth0, default route), on the default bridge the legacy links'
  hosts lines and variables (:mod:`.container_links`), and the running containers linking to
  it get its address in their /etc/hosts (:func:`update_linking_hosts`); :func:`teardown` (after the task is
  deleted, whatever happened): the endpoints and the namespace, quietly.
- :func:`check_networking`/:func:`remember`/:func:`forget`: the create's
  ``NetworkingConfig.EndpointsConfig`` (``--ip``, ``--network-alias``) checked, kept by the
  network service for every start, dropped with the container.
- :func:`connect`/:func:`disconnect`: ``docker network connect/disconnect``: a running
  container at once (eth1, eth2... in its namespace), a stopped one at its next start.
- :func:`fill_settings`: ``NetworkSettings`` of inspect with the endpoints' addresses.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from dockyard.engine import container_links, network_dns, network_modes, network_publish
from dockyard.engine.network_model import Network
from dockyard.errors import (
    DockyardError,
    FailedPrecondition,
    Internal,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)

if TYPE_CHECKING:
    from dockyard.engine.containers import Live
    from dockyard.engine.context import EngineContext
    from dockyard.engine.network_service import NetworkService

log = logging.getLogger("dockyard.engine.networks")
T = TypeVar("T")
DEFAULT_MODES = ("", "default", "bridge")


async def run_blocking(fn: Callable[..., T], *args: Any) -> T:
    return await asyncio.to_thread(fn, *args)


def netns_dir(exec_root: str) -> str:
    return os.path.join(exec_root, "netns")


def netns_path(exec_root: str, container_id: str) -> str:
    return os.path.join(netns_dir(exec_root), container_id)


def network_of(service: NetworkService | None, hc: Mapping[str, Any], network_disabled: bool = False) -> Network | None:
    """The bridge network the container's mode puts it on (None: host, none, container:...)."""
    if service is None or network_disabled:
        return None
    mode = str(hc.get("NetworkMode") or "")
    if mode in ("host", "none") or mode.startswith("container:"):
        return None
    if mode in DEFAULT_MODES:
        try:
            net = service.find("bridge")
        except NotFound:
            return None  # the daemon runs without a default bridge
        return net if net.driver == "bridge" else None
    net = service.find(mode)
    if net.driver != "bridge":
        raise FailedPrecondition(f"container cannot be connected to network {mode}: use --network {net.name}")
    return net


def for_create(service: NetworkService | None, hc: Mapping[str, Any], config: Mapping[str, Any],
               warnings: list[str] | None = None) -> Network | None:
    """At create: the bridge network of the container (``network x not found`` when its mode
    names none); published ports (``-p``, ``-P``) checked, and in host mode discarded with
    dockerd's warning."""
    from dockyard.engine.network_ports import bindings

    published = bindings(config.get("ExposedPorts"), hc.get("PortBindings"), bool(hc.get("PublishAllPorts")))
    if published and str(hc.get("NetworkMode") or "") == "host" and warnings is not None:
        warnings.append("Published ports are discarded when using host network mode")
    return network_of(service, hc, bool(config.get("NetworkDisabled")))


def use_netns(spec: dict[str, Any], path: str) -> None:
    """Point the spec's network namespace entry at ``path``."""
    for ns in spec.get("linux", {}).get("namespaces", []):
        if ns.get("type") == "network" and "path" not in ns:
            ns["path"] = path


def _service(ctx: EngineContext) -> NetworkService | None:
    return getattr(ctx, "networks", None)


def check_networking(ctx: EngineContext, hc: Mapping[str, Any], networking: Any) -> None:
    """Before a create: ``NetworkingConfig.EndpointsConfig`` names existing networks, and
    ``--ip`` only user-defined ones with a subnet."""
    from dockyard.engine import network_service

    service = _service(ctx)
    if service is None or not networking:
        return
    if not isinstance(networking, Mapping) or not isinstance(networking.get("EndpointsConfig") or {}, Mapping):
        raise InvalidArgument("NetworkingConfig.EndpointsConfig: must be an object")
    mode = str(hc.get("NetworkMode") or "")
    for name, settings in (networking.get("EndpointsConfig") or {}).items():
        if name.startswith(network_modes.CONTAINER):
            continue  # the mode itself (--network container:x, network_modes checked it): no network
        if name in DEFAULT_MODES and mode in DEFAULT_MODES:
            name = "bridge"
            if not service.has("bridge"):
                continue  # the daemon runs without a default bridge (--bridge none): no network
        net = service.find(name)
        ipam = (settings or {}).get("IPAMConfig") or {} if isinstance(settings, Mapping) else {}
        if ipam.get("IPv4Address") and (net.name == "bridge" or net.driver != "bridge"):
            raise InvalidArgument("user specified IP address is supported on user defined networks only")
        if (settings or {}).get("Aliases") and net.name == "bridge":
            raise InvalidArgument("network-scoped alias is supported only for containers in user defined networks")
        mac = str((settings or {}).get("MacAddress") or "") if isinstance(settings, Mapping) else ""
        if mac and not network_service.valid_mac(mac):
            raise InvalidArgument(f"{mac} is not a valid mac address")


def remember(ctx: EngineContext, container_id: str, hc: Mapping[str, Any], networking: Any) -> None:
    """After a create: the endpoint settings the container asked for, for its starts."""
    service = _service(ctx)
    if service is None or not isinstance(networking, Mapping):
        return
    mode = str(hc.get("NetworkMode") or "")
    for name, settings in (networking.get("EndpointsConfig") or {}).items():
        if name.startswith(network_modes.CONTAINER):
            continue  # the mode itself: no network to join
        if name in DEFAULT_MODES and mode in DEFAULT_MODES:
            name = "bridge"
            if not service.has("bridge"):
                continue  # no default bridge (--bridge none): the container has no network
        service.want(container_id, service.find(name).name, settings or {})


def forget(ctx: EngineContext, container_id: str) -> None:
    """The container is removed: its network wishes go too."""
    service = _service(ctx)
    if service is not None:
        service.forget_container(container_id)


async def setup(ctx: EngineContext, live: Live) -> None:
    """Before the task: namespace and endpoints for a container on bridge networks (the one
    of its mode as eth0, then those it was connected to while stopped)."""
    service = _service(ctx)
    c = live.container
    if network_modes.joins(c.host_config, c.config) and ctx.containers is not None:
        network_modes.join(ctx.containers, live, netns_dir(ctx.config.exec_root))  # container:<name|id>
        return
    net = network_of(service, c.host_config, bool(c.config.get("NetworkDisabled")))
    if service is None or net is None:
        return
    path = netns_path(ctx.config.exec_root, c.id)
    if os.path.exists(path) or service.endpoints_of(c.id):
        await teardown(ctx, c.id)  # what a previous run may have left (an engine killed with -9)
    wanted = service.wanted_by(c.id)
    linked = container_links.at_start(ctx.containers, service, c) \
        if net.name == container_links.DEFAULT_NETWORK and ctx.containers is not None else []
    try:
        await run_blocking(service.driver.create_netns, path)
        nets = [net]
        for name in wanted:
            try:
                other = service.find(name)
            except NotFound:
                raise NotFound(f"network {name} not found") from None
            if other.id != net.id:
                nets.append(other)
        for i, each in enumerate(nets):
            settings = wanted.get(each.name) or {}
            ip = str((settings.get("IPAMConfig") or {}).get("IPv4Address") or "")
            mac = str(settings.get("MacAddress") or (c.config.get("MacAddress") if i == 0 else "") or "")
            endpoint = await run_blocking(service.attach, each, c.id, c.short_name, path, ip,
                                          list(settings.get("Aliases") or []), i == 0, mac)
            if i == 0 and c.hosts_path and endpoint.address:
                write_hosts(c.hosts_path, c.config, c.host_config, endpoint.address, host_gateway(service),
                            "".join(link.hosts_line() for link in linked))
            if i == 0:
                await run_blocking(network_publish.publish, service, c.id, c.config, c.host_config, each, endpoint)
            if each.name == container_links.DEFAULT_NETWORK:
                await run_blocking(update_linking_hosts, ctx, service, c.id)
        if net.name == container_links.DEFAULT_NETWORK and container_links.has_links(c):
            await container_links.set_env(ctx.supervisor, c, linked)
        await network_dns.sync(service, c, path, starting=True)
    except BaseException as exc:
        await teardown(ctx, c.id)
        if isinstance(exc, DockyardError) or not isinstance(exc, Exception):
            raise
        raise Internal(f"setting up the network of container {c.short_name}: {exc}") from exc


def host_gateway(service: NetworkService | None) -> str:
    """The address ``--add-host name:host-gateway`` stands for: the default bridge's gateway,
    as dockerd's (docker0's address); "" without a default bridge."""
    if service is None or not service.has("bridge"):
        return ""
    pool = service.find("bridge").pool
    return str(pool.gateway) if pool is not None else ""


def write_hosts(path: str, config: Mapping[str, Any], hc: Mapping[str, Any], address: str, gateway: str = "",
                links: str = "", in_place: bool = False) -> None:
    """The container's /etc/hosts with its own address and hostname last, as dockerd writes it
    at start (before the task: the file is bound into the container when it is created):
    ``<address>\t<hostname>``, or with a domain ``<hostname>.<domain> <hostname>``; the lines
    of its legacy links (``links``) before it, after the ``ExtraHosts``."""
    from dockyard.engine.container_files import hosts

    text = hosts(config, hc, False, gateway) + links
    hostname = str(config.get("Hostname") or "")
    domain = str(config.get("Domainname") or "")
    fqdn = f"{hostname}.{domain}" if hostname and domain else hostname
    if "." in fqdn:
        fqdn += " " + fqdn.split(".", 1)[0]
    if hostname:
        text += f"{address}\t{fqdn}\n"
    if in_place:  # a running container's: the file is bound into it, its inode must stay
        with open(path, "r+") as f:
            f.write(text)
            f.truncate()
        return
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.chmod(path + ".tmp", 0o644)
    os.replace(path + ".tmp", path)


def update_linking_hosts(ctx: EngineContext, service: NetworkService, target_id: str) -> None:
    """A container just got its address on the default bridge: the running containers that
    link to it get their /etc/hosts written again with its (maybe new) address, as dockerd
    updates the parents' hosts files (never raises)."""
    containers = ctx.containers
    if containers is None:
        return
    for live in containers.all():
        p = live.container
        if not p.state.running or not p.hosts_path or target_id not in container_links.targets(p):
            continue
        try:
            linked = container_links.current(containers, service, p)
            own = container_links.bridge_address(service, p.id)
            if own:
                write_hosts(p.hosts_path, p.config, p.host_config, own, host_gateway(service),
                            "".join(link.hosts_line() for link in linked), in_place=True)
        except (DockyardError, OSError) as exc:
            log.warning("container %s: its links' hosts lines: %s", p.id, exc)


async def teardown(ctx: EngineContext, container_id: str) -> None:
    """After the task: no endpoint and no namespace left (idempotent, never raises)."""
    service = _service(ctx)
    if service is None:
        return
    def work() -> None:
        network_publish.release(service, container_id)
        service.detach_all(container_id)
        service.driver.remove_netns(netns_path(ctx.config.exec_root, container_id))

    try:
        await run_blocking(work)
    except Exception:
        log.exception("container %s: removing its network", container_id)
    await network_dns.gone(service, container_id)  # its DNS sockets close, its names go


async def connect(service: NetworkService, exec_root: str, live: Live, ref: str,
                  config: Mapping[str, Any]) -> None:
    """``docker network connect``: a running container gets the endpoint now (eth1...), a
    stopped one at its next start; either way the wish is kept for later starts."""
    net = service.find(ref)
    c = live.container
    network_modes.check_connect(c.host_config, c.config)  # container:, host and none modes first, as dockerd
    if net.driver != "bridge":
        raise FailedPrecondition("container cannot be disconnected from host network or connected to host network"
                                 if net.driver == "host" else
                                 f"container cannot be connected to network {net.name}")
    mode = network_of(service, c.host_config, bool(c.config.get("NetworkDisabled")))
    if mode is None:
        raise FailedPrecondition(f"container {c.short_name} has no network namespace of its own to connect "
                                 f"(network mode {c.host_config.get('NetworkMode') or 'default'})")
    ipam = config.get("IPAMConfig") or {}
    if ipam.get("IPv4Address") and net.name == "bridge":
        raise InvalidArgument("user specified IP address is supported on user defined networks only")
    if c.id in net.endpoints or (not c.state.running and net.name in service.wanted_by(c.id)):
        raise PermissionDenied(f"endpoint with name {c.short_name} already exists in network {net.name}")
    if c.state.running:
        path = netns_path(exec_root, c.id)
        if not os.path.exists(path):
            raise FailedPrecondition(f"container {c.short_name} has no network namespace of its own to connect")
        first = not service.endpoints_of(c.id)
        await run_blocking(service.attach, net, c.id, c.short_name, path, str(ipam.get("IPv4Address") or ""),
                           list(config.get("Aliases") or []), first, str(config.get("MacAddress") or ""))
        await network_dns.sync(service, c, path, starting=False)
    if net.id != mode.id:
        await run_blocking(service.want, c.id, net.name, config)
        if c.state.running and config.get("Links"):  # --link: its DNS aliases there, from the wish
            await network_dns.sync(service, c, netns_path(exec_root, c.id), starting=False)


async def renamed(ctx: EngineContext, container_id: str, name: str) -> None:
    """After ``docker rename``: the endpoints and the embedded DNS answer to the new name."""
    service = _service(ctx)
    if service is not None and await run_blocking(service.rename_endpoints, container_id, name) \
            and service.dns is not None:
        await service.dns.refresh(service)


async def disconnect(service: NetworkService, live: Live, net: Network) -> None:
    wanted = net.name in service.wanted_by(live.id)
    if live.id not in net.endpoints and not wanted:
        raise FailedPrecondition(f"container {live.id} is not connected to network {net.name}")
    if live.id in net.endpoints:
        await run_blocking(service.detach, net, live.id)
        await network_dns.sync(service, live.container, "", starting=False)
    if wanted:
        await run_blocking(service.want, live.id, net.name, None)


def fill_settings(doc: dict[str, Any], ctx: EngineContext) -> None:
    """Inspect's ``NetworkSettings``: the endpoints of a running container; for a stopped one
    the networks it will join, without addresses (as dockerd shows them)."""
    service = _service(ctx)
    settings = doc.get("NetworkSettings")
    if service is None or not isinstance(settings, dict):
        return
    cid = str(doc.get("Id"))
    if network_modes.joins(doc.get("HostConfig") or {}, doc.get("Config") or {}):
        settings.update(Networks={}, SandboxKey="")  # as dockerd shows a container:<id> one
        return
    pairs = service.endpoints_of(cid)
    wanted = service.wanted_by(cid)
    networks: dict[str, Any] = {}
    if not pairs:
        hc = doc.get("HostConfig") or {}
        try:
            mode = network_of(service, hc, bool((doc.get("Config") or {}).get("NetworkDisabled")))
        except DockyardError:
            mode = None
        names = ([mode.name] if mode is not None else []) + [n for n in wanted if mode is None or n != mode.name]
        own = str(hc.get("NetworkMode") or "")
        if mode is None and own in ("host", "none") and not (doc.get("Config") or {}).get("NetworkDisabled"):
            names.insert(0, own)  # its network's ID shown, as dockerd shows it
        for name in names:
            try:
                net = service.find(name)
            except DockyardError:
                continue
            networks[net.name] = _endpoint_view(net, None, wanted.get(net.name))
        if networks:
            settings["Networks"] = networks
        return
    for net, e in pairs:
        networks[net.name] = _endpoint_view(net, e, wanted.get(net.name))
    settings["Networks"] = networks
    settings["Ports"] = network_publish.ports_view_of(service, cid, (doc.get("Config") or {}).get("ExposedPorts"))
    first_net, first = pairs[0]
    if first_net.name == "bridge":  # the deprecated top-level fields: the default bridge's endpoint
        view = networks["bridge"]
        settings.update(EndpointID=first.endpoint_id, Gateway=view["Gateway"], IPAddress=first.address,
                        IPPrefixLen=view["IPPrefixLen"], MacAddress=first.mac)
    settings["SandboxKey"] = netns_path(ctx.config.exec_root, cid)


def _endpoint_view(net: Network, e: Any, wanted: Mapping[str, Any] | None) -> dict[str, Any]:
    ipam = (wanted or {}).get("IPAMConfig") or {}
    aliases = list((wanted or {}).get("Aliases") or []) or None
    view: dict[str, Any] = {
        "IPAMConfig": {"IPv4Address": ipam["IPv4Address"]} if ipam.get("IPv4Address") else None, "Links": None,
        "Aliases": aliases, "MacAddress": "", "DriverOpts": None, "GwPriority": 0, "NetworkID": net.id,
        "EndpointID": "", "Gateway": "", "IPAddress": "", "IPPrefixLen": 0, "IPv6Gateway": "",
        "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "DNSNames": None}
    if e is not None and net.pool is not None:
        view.update(MacAddress=e.mac, EndpointID=e.endpoint_id, Gateway=str(net.pool.gateway), IPAddress=e.address,
                    IPPrefixLen=net.pool.subnet.prefixlen)
        if net.name != "bridge":
            view["DNSNames"] = [e.name, e.container_id[:12], *(aliases or [])]
    return view


def build_service(config: Any, hub: Any) -> NetworkService:
    """The engine's network service with the bridge driver, its networks loaded and their
    bridges in place (``config``: the EngineConfig)."""
    from dockyard.engine.network_bridge import BridgeDriver
    from dockyard.engine.network_firewall import Firewall
    from dockyard.engine.network_ipam import host_routes, pools_of
    from dockyard.engine.network_service import NetworkService

    service = NetworkService(config.data_root, hub, BridgeDriver(), bridge=config.bridge, bip=config.bip,
                             pools=pools_of(config.default_address_pools), routes=host_routes)
    service.firewall = Firewall.of(config)
    service.load()
    return service


async def restore(ctx: EngineContext, running: set[str]) -> None:
    """At start-up, after the containers' restore: what containers that no longer run left
    (a daemon killed with -9) goes: their endpoints, veths and namespaces."""
    service = _service(ctx)
    if service is None:
        return
    await run_blocking(service.forget_others, running)
    await run_blocking(network_publish.restore, service, running)
    cleanup = getattr(service.driver, "cleanup", None)
    if cleanup is not None:
        removed = await run_blocking(cleanup, netns_dir(ctx.config.exec_root), running)
        for name in removed:
            log.info("removed the network namespace of container %s", name)
    if service.dns is not None and ctx.containers is not None:  # the DNS sockets died with the last engine
        for live in ctx.containers.all():
            if live.id in running:
                await network_dns.sync(service, live.container, netns_path(ctx.config.exec_root, live.id), False)
