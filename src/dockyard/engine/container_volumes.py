"""A container's volumes: found at create, mounted at start, released at exit and removal.

At create (:class:`VolumeBinder`, one per create) dockerd's order is followed:
``VolumesFrom`` first (the other container's volumes and binds, ``:ro``/``:rw`` overriding
their mode), then ``Binds`` and ``Mounts`` (through the spec translation's volume hook:
a named volume is created when missing, a bind without a source or a volume mount
without one gets an anonymous volume), then ``Config.Volumes`` (the container's merged
with the image's ``VOLUME`` entries: an anonymous volume for each path no other mount
covers). Each volume becomes a mount point on the container record (``Container.mount_points``:
what inspect's ``Mounts`` shows, plus ``CopyData``); creates in progress hold their volumes
so that a concurrent ``volume rm`` or prune leaves them alone.

At start (:func:`setup`) each volume is mounted through the volume service (a driver's
file system on first use; a ``mount`` event) and, once, an empty volume receives the
image's content at its destination (copy-up, unless ``nocopy``). At exit (:func:`teardown`)
they are released (``unmount``). ``rm -v`` and ``--rm`` remove the anonymous ones that
no other container uses (:func:`volume_names` to the service's ``remove_anonymous``).
"""

from __future__ import annotations

import asyncio
import logging
import posixpath
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from dockyard.engine import container_rootfs as rootfs
from dockyard.engine.spec_fields import get_list, get_str_map, get_strs
from dockyard.engine.spec_mounts import bind_mount, clean_destination
from dockyard.engine.volume_copy import copy_tree, is_empty
from dockyard.engine.volumes import VolumeService, check_driver
from dockyard.errors import DockyardError, Internal, InvalidArgument, NotImplementedYet

if TYPE_CHECKING:
    from dockyard.engine.container_model import Container
    from dockyard.engine.containers import ContainerService

log = logging.getLogger("dockyard.engine.containers")

COPY = "CopyData"  # the mount point's own flag (not shown by inspect)


def volume_point(name: str, path: str, destination: str, *, rw: bool = True, mode: str = "",
                 copy: bool = True) -> dict[str, Any]:
    return {"Type": "volume", "Name": name, "Source": path, "Destination": destination, "Driver": "local",
            "Mode": mode, "RW": rw, "Propagation": "", COPY: copy}


def api_points(points: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The mount points as inspect shows them."""
    return [{k: v for k, v in p.items() if k != COPY} for p in points]


def _destinations(hc: Mapping[str, Any]) -> set[str]:
    """Where Binds, Mounts and Tmpfs mount (leniently: the spec translation checks them)."""
    found: set[str] = set()
    raw = [s.split(":")[1] if ":" in s else s for s in get_strs(hc, "Binds")]
    raw += [m.get("Target", "") for m in get_list(hc, "Mounts") if isinstance(m, dict)]
    raw += list(get_str_map(hc, "Tmpfs"))
    for path in raw:
        try:
            found.add(clean_destination(path, "mount"))
        except InvalidArgument:
            continue
    return found


def _bind_modes(hc: Mapping[str, Any]) -> dict[str, str]:
    """Destination -> the mode string of each volume given in ``Binds``."""
    out = {}
    for spec in get_strs(hc, "Binds"):
        parts = spec.split(":")
        if len(parts) >= 2 and not parts[0].startswith("/"):
            try:
                out[clean_destination(parts[1], "bind")] = parts[2] if len(parts) > 2 else ""
            except InvalidArgument:
                continue
    return out


class VolumeBinder:
    """The volumes of one container being created (see the module's docstring)."""

    def __init__(self, volumes: VolumeService, token: str) -> None:
        self.volumes = volumes
        self.token = token
        self.points: dict[str, dict[str, Any]] = {}  # destination -> mount point
        self.created: list[str] = []  # anonymous volumes this create made
        self.held: list[str] = []
        self.from_user: set[str] = set()  # destinations of Binds and Mounts volumes

    def _use(self, name: str, driver: str = "", labels: Mapping[str, str] | None = None,
             options: Mapping[str, str] | None = None) -> str:
        if name and name in self.volumes.volumes:
            volume = self.volumes.get(name)
        else:
            volume = self.volumes.create(name, driver, labels, options)
            if not name:
                self.created.append(volume.name)
        self.volumes.hold(volume.name, self.token)
        self.held.append(volume.name)
        return volume.name

    def source(self, name: str, destination: str, options: Mapping[str, Any]) -> str:
        """The spec translation's volume hook: the host path of the volume at ``destination``."""
        copy = True
        driver = ""
        labels = options_ = None
        subpath = ""
        if "nocopy" in options:  # from Binds
            copy = not options["nocopy"]
        else:  # a Mounts entry's VolumeOptions
            copy = not options.get("NoCopy", False)
            config = options.get("DriverConfig") or {}
            driver = str(config.get("Name") or "")
            options_ = config.get("Options") or None
            labels = options.get("Labels") or None
            subpath = str(options.get("Subpath") or "")
        check_driver(name, driver)
        volume = self.volumes.get(self._use(name, driver, labels, options_))
        path = volume.path
        if subpath:
            clean = posixpath.normpath(subpath)
            if clean.startswith(("/", "..")):
                raise InvalidArgument(f"subpath must be a relative path within the volume: {subpath}")
            if volume.mount_options is not None:
                raise NotImplementedYet("a subpath of a volume with driver options is not supported")
            path = posixpath.join(volume.path, clean)
            if not posixpath.exists(path):
                raise InvalidArgument(f"cannot access path {path}: no such file or directory")
            copy = False
        # a local volume of Binds or Mounts shows mode "z" unless Binds gave one (dockerd's setBindModeIfNull)
        self.points[destination] = volume_point(volume.name, path, destination, copy=copy, mode="z")
        self.from_user.add(destination)
        return path

    def extra_mounts(self, service: ContainerService, config: Mapping[str, Any],
                     hc: Mapping[str, Any]) -> list[dict[str, Any]]:
        """OCI mounts for ``VolumesFrom`` and ``Config.Volumes`` (user mounts go through :meth:`source`)."""
        taken = _destinations(hc)
        mounts: list[dict[str, Any]] = []
        for i, entry in enumerate(get_strs(hc, "VolumesFrom")):
            ref, _, mode = entry.partition(":")
            if mode not in ("", "ro", "rw"):
                raise InvalidArgument(f"HostConfig.VolumesFrom[{i}]: invalid mode: {mode}")
            source = service.get(ref).container
            for point in [*source.mount_points, *_bind_points(source.host_config)]:
                dest = point["Destination"]
                if dest in taken:
                    continue
                rw = point["RW"] if not mode else mode == "rw"
                if point["Type"] == "volume":
                    self._use(point["Name"])
                self.points[dest] = {**point, "RW": rw, COPY: False}
                mounts.append(bind_mount(point["Source"], dest, readonly=not rw,
                                         propagation=point.get("Propagation") or ""))
                taken.add(dest)
        for path in sorted((config.get("Volumes") or {}) if isinstance(config.get("Volumes"), dict) else ()):
            try:
                dest = clean_destination(path, f"Config.Volumes[{path}]")
            except InvalidArgument:
                raise InvalidArgument(f"Config.Volumes: invalid volume path: {path!r}") from None
            if dest in taken or dest in self.points:
                continue
            name = self._use("")
            volume = self.volumes.get(name)
            self.points[dest] = volume_point(name, volume.path, dest)
            mounts.append(bind_mount(volume.path, dest, readonly=False))
            taken.add(dest)
        return mounts

    def finish(self, spec: Mapping[str, Any], hc: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The container's mount points, with ``RW`` and ``Mode`` as the spec and Binds have them."""
        modes = _bind_modes(hc)
        by_dest = {m["destination"]: m for m in spec.get("mounts", [])}
        out = []
        for dest in sorted(self.points):
            point = dict(self.points[dest])
            mount = by_dest.get(dest)
            if mount is not None and dest in self.from_user:
                point["RW"] = "ro" not in mount.get("options", [])
                point["Mode"] = modes.get(dest) or "z"
            out.append(point)
        return out

    def release(self) -> None:
        """The create ended: the holds go (the container's record references its volumes now)."""
        for name in self.held:
            self.volumes.release(name, self.token)
        self.held.clear()

    def undo(self) -> None:
        """The create failed: release, and remove the anonymous volumes it made."""
        self.release()
        self.volumes.remove_anonymous(self.created)


def _bind_points(hc: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A container's bind mounts as mount points (what ``--volumes-from`` copies besides volumes)."""
    out = []
    for spec in get_strs(hc, "Binds"):
        parts = spec.split(":")
        if len(parts) < 2 or not parts[0].startswith("/"):
            continue
        mode = parts[2] if len(parts) > 2 else ""
        options = mode.split(",") if mode else []
        propagation = next((o for o in options if o.endswith(("shared", "slave", "private"))), "rprivate")
        out.append({"Type": "bind", "Source": parts[0], "Destination": clean_destination(parts[1], "bind"),
                    "Mode": mode, "RW": "ro" not in options, "Propagation": propagation})
    for m in get_list(hc, "Mounts"):
        if isinstance(m, dict) and m.get("Type") == "bind":
            out.append({"Type": "bind", "Source": m.get("Source", ""),
                        "Destination": clean_destination(str(m.get("Target", "")), "bind"), "Mode": "",
                        "RW": not m.get("ReadOnly", False),
                        "Propagation": (m.get("BindOptions") or {}).get("Propagation") or "rprivate"})
    return out


def users(service: ContainerService) -> dict[str, list[str]]:
    """Volume name -> the IDs of the containers that have it (the volume service's references)."""
    out: dict[str, list[str]] = {}
    for live in service.live.values():
        if live.removed:
            continue
        for point in live.container.mount_points:
            if point.get("Type") == "volume":
                out.setdefault(point["Name"], []).append(live.id)
    return out


def volume_names(container: Container) -> list[str]:
    """The volumes a container has (``remove_anonymous`` keeps the named ones)."""
    return [p["Name"] for p in container.mount_points if p.get("Type") == "volume"]


async def setup(service: ContainerService, container: Container) -> None:
    """Before the task starts: mount the volumes, then copy-up into the empty ones (once)."""
    volumes = service.volumes
    if volumes is None:
        return
    done: list[str] = []
    try:
        changed = False
        for point in container.mount_points:
            if point.get("Type") != "volume":
                continue
            volumes.mount(point["Name"], container.id, destination=point["Destination"],
                          propagation=point.get("Propagation", ""), **{"read/write": str(point["RW"]).lower()})
            done.append(point["Name"])
            if point.get(COPY):
                await _copy_up(service, container, point)
                point[COPY] = False
                changed = True
        if changed:
            service.save(container)
    except BaseException:
        for name in done:
            volumes.unmount(name, container.id)
        raise


def teardown(service: ContainerService, container: Container) -> None:
    """The task is gone: release the volumes (a driver's file system goes with its last user)."""
    volumes = service.volumes
    if volumes is None:
        return
    for point in container.mount_points:
        if point.get("Type") == "volume":
            try:
                volumes.unmount(point["Name"], container.id)
            except DockyardError as exc:
                log.warning("container %s: volume %s: unmount: %s", container.id, point["Name"], exc)


def restored(service: ContainerService, container: Container) -> None:
    """A container whose task is found at engine start (running, or ended meanwhile and about
    to be handled as an exit) has its volumes mounted."""
    if service.volumes is None:
        return
    for point in container.mount_points:
        if point.get("Type") == "volume":
            service.volumes.restored(point["Name"], container.id)


async def _copy_up(service: ContainerService, container: Container, point: Mapping[str, Any]) -> None:
    assert service.volumes is not None
    target = point["Source"]
    async with service.volumes.copy_lock(point["Name"]):  # two containers starting on one new volume
        if not is_empty(target):
            return
        mounts = await rootfs.mounts(service.sv, container.snapshot_key or container.id)
        try:
            await asyncio.to_thread(_copy_from_image, mounts, service.mount_dir, point["Destination"], target)
        except OSError as exc:
            raise Internal(f"copying the image's {point['Destination']} into volume {point['Name']}: "
                           f"{exc.strerror or exc}") from None


def _copy_from_image(mounts: list[Any], parent_dir: str, destination: str, target: str) -> None:
    import os

    from dockyard.containerd.mount import mounted
    from dockyard.engine.scoped import resolve_in_scope

    lowers = rootfs.lower_mounts(mounts)
    if not lowers:
        return
    with mounted(lowers, parent_dir=parent_dir) as root:
        source = resolve_in_scope(root, destination)
        if os.path.isdir(source) and not os.path.islink(source):
            copy_tree(source, target)
