"""Legacy links (``HostConfig.Links``) of containers, as dockerd 20.10 keeps them.

- :func:`for_create`: on the default bridge (and ``none``) every ``name[:alias]`` must name
  an existing container (``could not get container for <name>: No such container: <name>``);
  a target in ``container:<x>`` mode stands for the container whose namespace it shares, one
  with host networking is refused. The links are stored as ``<target id>:<alias>:<name>``
  (the first one of an alias wins). On a user-defined network they are kept as given and not
  checked, as dockerd does: they are DNS aliases there.
- :func:`at_start`: a container started on the default bridge: each target must run
  (``Cannot link to a non running container: /db AS /web/alias``, also once removed, as
  dockerd says until it restarts) on the default bridge;
  the ``/etc/hosts`` lines and the variables of its links (:mod:`.links`), which
  :func:`set_env` puts into the containerd container's spec before the task is created
  (``Config.Env`` does not show them, as with dockerd; ``docker exec`` gets them, its env
  being the spec's).
- :func:`current` / :func:`targets`: the links of a running container to the targets that
  have an address now, for rewriting its /etc/hosts when a target starts again
  (``network_containers.update_linking_hosts``, as dockerd updates the parents' files).
- :func:`dns_links`: on a user-defined network (the mode's, with ``HostConfig.Links``, or
  any with ``EndpointsConfig.<network>.Links``: ``network connect --link``), ``alias -> name``
  for the embedded DNS server, scoped to the linking container and that network.
- :func:`fill_inspect`: ``HostConfig.Links`` as dockerd shows them (``/db:/web/alias``, with
  the target's current name), ``NetworkSettings.Networks.<network>.Links`` (as given) on a
  user-defined network; :func:`link_names`: the names links give their targets, which the
  container list shows in ``Names`` (``["/db", "/web/alias"]``, sorted); :func:`remove_link`:
  ``docker rm --link``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dockyard.engine import links
from dockyard.errors import DockyardError, FailedPrecondition, InvalidArgument, NotFound

if TYPE_CHECKING:
    from dockyard.engine.container_model import Container
    from dockyard.engine.containers import ContainerService
    from dockyard.engine.network_service import NetworkService
    from dockyard.engine.supervisor import Supervisor

DEFAULT_NETWORK = "bridge"
CONTAINER = "container:"
HOST_CONFLICT = "conflicting options: host type networking can't be used with links. This would result in " \
                "undefined behavior"


def user_defined(hc: Mapping[str, Any]) -> bool:
    """Whether the network mode names a user-defined network (links are DNS aliases there)."""
    mode = str(hc.get("NetworkMode") or "")
    return mode not in ("", "default", "bridge", "host", "none") and not mode.startswith(CONTAINER)


def _raw(hc: Mapping[str, Any]) -> list[str]:
    value = hc.get("Links") or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidArgument("HostConfig.Links: must be a list of strings")
    return value


def _target(containers: ContainerService, name: str) -> Container:
    if not name:
        raise InvalidArgument('could not get container for : invalid name or ID supplied: ""')
    try:
        target = containers.get(name).container
    except NotFound as exc:
        raise InvalidArgument(f"could not get container for {name}: {exc.message}") from None
    mode = str(target.host_config.get("NetworkMode") or "")
    seen = {target.id}
    while mode.startswith(CONTAINER):  # the container whose network namespace it shares
        ref = mode[len(CONTAINER):]
        try:
            target = containers.get(ref).container
        except NotFound:
            raise InvalidArgument(f"Could not get container for {ref}") from None
        if target.id in seen:
            break
        seen.add(target.id)
        mode = str(target.host_config.get("NetworkMode") or "")
    if mode == "host":
        raise InvalidArgument(HOST_CONFLICT)
    return target


def for_create(containers: ContainerService, hc: Mapping[str, Any]) -> list[str] | None:
    """The links to store (None: none)."""
    raw = _raw(hc)
    if not raw:
        return None
    if user_defined(hc):
        return list(raw)
    by_alias: dict[str, str] = {}
    for text in raw:
        name, alias = links.parse_link(text)
        target = _target(containers, name)
        if alias and alias not in by_alias:  # "name:": no link, as with dockerd
            by_alias[alias] = links.stored(target.id, alias, target.name)
    return list(by_alias.values()) or None


@dataclass(frozen=True)
class Linked:
    """A link of a container on the default bridge, at its start."""

    name: str  # /<parent>/<alias>
    alias: str
    target: Container
    address: str

    def hosts_line(self) -> str:
        return links.hosts_line(self.address, self.alias, str(self.target.config.get("Hostname") or ""),
                                self.target.name)

    def env(self) -> list[str]:
        return links.link_env(self.name, self.address, (self.target.config.get("ExposedPorts") or {}),
                              [str(e) for e in self.target.config.get("Env") or []])


def _stored(c: Container) -> list[tuple[str, str, str]]:
    if user_defined(c.host_config):
        return []
    return [links.from_stored(str(entry)) for entry in c.host_config.get("Links") or []]


def targets(c: Container) -> set[str]:
    """The IDs of the containers ``c`` links to on the default bridge."""
    return {target_id for target_id, _, _ in _stored(c)}


def bridge_address(service: NetworkService, container_id: str) -> str:
    """The container's address on the default bridge ("" when it has none)."""
    for net, endpoint in service.endpoints_of(container_id):
        if net.name == DEFAULT_NETWORK:
            return str(endpoint.address)
    return ""


def at_start(containers: ContainerService, service: NetworkService, c: Container) -> list[Linked]:
    """The links of ``c``, started on the default bridge."""
    out = []
    for target_id, alias, target_name in _stored(c):
        name = links.link_name(c.name, alias)
        try:
            target = containers.get(target_id).container
        except NotFound:
            raise FailedPrecondition(f"Cannot link to a non running container: {target_name} AS {name}") from None
        if not target.state.running or target.state.restarting:
            raise FailedPrecondition(f"Cannot link to a non running container: {target.name} AS {name}")
        address = bridge_address(service, target.id)
        if not address:
            raise FailedPrecondition(f"Cannot link to {target.name}, as it does not belong to the default network")
        out.append(Linked(name, alias, target, address))
    return out


def current(containers: ContainerService, service: NetworkService, c: Container) -> list[Linked]:
    """The links of a running ``c`` to the targets that have a default-bridge address now
    (no running check: a target being started has its endpoint before its task)."""
    out = []
    for target_id, alias, _ in _stored(c):
        try:
            target = containers.get(target_id).container
        except NotFound:
            continue
        address = bridge_address(service, target.id)
        if address:
            out.append(Linked(links.link_name(c.name, alias), alias, target, address))
    return out


def has_links(c: Container) -> bool:
    return bool(_stored(c))


async def set_env(sv: Supervisor, c: Container, linked: Sequence[Linked]) -> None:
    """The containerd container's ``process.env`` with the links' variables (after PATH,
    HOSTNAME and TERM, before the container's own), written only when it changes."""
    from google.protobuf import field_mask_pb2

    from dockyard.containerd.api.services.containers.v1 import containers_pb2
    from dockyard.engine.spec import process_env

    record = await sv.get_container(c.id)
    spec = json.loads(record.spec.value)
    process = spec.setdefault("process", {})
    env = process_env([str(e) for e in c.config.get("Env") or []], hostname=str(spec.get("hostname") or ""),
                      tty=bool(process.get("terminal")),
                      linked=links.first_of_each(e for each in linked for e in each.env()))
    if env == process.get("env"):
        return
    process["env"] = env
    record.spec.value = json.dumps(spec).encode()
    await sv.unary(sv.containers.Update, containers_pb2.UpdateContainerRequest(
        container=record, update_mask=field_mask_pb2.FieldMask(paths=["spec"])))


def _mode_network(service: NetworkService, hc: Mapping[str, Any]) -> str:
    """The name of the user-defined network of the mode ("" for other modes)."""
    if not user_defined(hc):
        return ""
    try:
        return service.find(str(hc.get("NetworkMode"))).name
    except DockyardError:
        return ""


def network_links(service: NetworkService, container_id: str, hc: Mapping[str, Any]) -> dict[str, list[str]]:
    """User-defined network -> the links given for it: ``HostConfig.Links`` for the mode's
    network, ``EndpointsConfig.<network>.Links`` (create, ``network connect --link``) for any."""
    out: dict[str, list[str]] = {}
    mode = _mode_network(service, hc)
    if mode and hc.get("Links"):
        out[mode] = [str(link) for link in hc["Links"]]
    for network, settings in service.wanted_by(container_id).items():
        if settings.get("Links") and network != "bridge":
            out.setdefault(network, [])
            out[network] += [link for link in settings["Links"] if link not in out[network]]
    return out


def dns_links(service: NetworkService, c: Container) -> tuple[tuple[str, str, str], ...]:
    """``(network, alias, target name)`` of each link of a container on user-defined networks."""
    out = []
    for network, given in network_links(service, c.id, c.host_config).items():
        for text in given:
            try:
                name, alias = links.parse_link(text)
            except InvalidArgument:
                continue
            if name and alias:
                out.append((network, alias, name.lstrip("/")))
    return tuple(out)


def fill_inspect(doc: dict[str, Any], containers: ContainerService | None, service: NetworkService | None) -> None:
    """Inspect's ``HostConfig.Links`` and ``NetworkSettings.Networks.<network>.Links``."""
    hc = doc.get("HostConfig")
    if not isinstance(hc, dict):
        return
    if service is not None:
        networks = (doc.get("NetworkSettings") or {}).get("Networks") or {}
        for network, given in network_links(service, str(doc.get("Id")), hc).items():
            if isinstance(networks.get(network), dict):
                networks[network]["Links"] = given
    if not hc.get("Links"):
        return
    doc["HostConfig"] = hc = dict(hc)  # not the stored HostConfig itself
    if user_defined(hc):
        hc["Links"] = None  # not links of the default bridge: dockerd shows none
        return
    shown = []
    parent = str(doc.get("Name") or "")
    for entry in hc["Links"]:
        target_id, alias, name = links.from_stored(str(entry))
        try:
            name = containers.get(target_id).container.name if containers is not None else name
        except NotFound:
            pass  # removed: still shown, as dockerd does
        shown.append(f"{name}:{links.link_name(parent, alias)}")
    hc["Links"] = shown or None


def link_names(containers: ContainerService) -> dict[str, list[str]]:
    """Target ID -> the names its links give it (``/<parent>/<alias>``), which the
    container list adds to its ``Names``, as dockerd does."""
    out: dict[str, list[str]] = {}
    for live in containers.all():
        for target_id, alias, _ in _stored(live.container):
            out.setdefault(target_id, []).append(links.link_name(live.container.name, alias))
    return out


def remove_link(containers: ContainerService, ref: str) -> None:
    """``docker rm --link /<parent>/<alias>``: the parent forgets the link (its running
    process keeps what it was given), with dockerd's errors."""
    import posixpath

    full = ref if ref.startswith("/") else "/" + ref
    parent_name, alias = posixpath.split(full)
    if parent_name == "/":
        raise InvalidArgument("Conflict, cannot remove the default link name of the container")
    try:
        parent = containers.get(parent_name).container
    except NotFound:
        raise NotFound(f"No such container: {full[1:]}") from None
    kept = [entry for entry in _stored(parent) if entry[1] != alias]
    if len(kept) == len(_stored(parent)):
        raise NotFound(f"No such container: {full[1:]}")
    parent.host_config["Links"] = [links.stored(*entry) for entry in kept] or None
    containers.save(parent)
