"""The volume service: Docker's ``local`` volume driver over :mod:`.volume_store`.

- Names follow the local driver's rule ``[a-zA-Z0-9][a-zA-Z0-9_.-]+``; an anonymous volume
  is named by 64 random hex digits and labelled ``com.docker.volume.anonymous``.
- Creating a name that exists returns the existing volume (same driver), as dockerd does.
- Driver options ``type``, ``device`` and ``o`` ask for a file system: it is mounted on the
  volume's ``_data`` (``mount -t type -o o device``) when the first container using it
  starts and unmounted when the last one stops (a ``tmpfs`` volume forgets its data then,
  as with Docker). Other drivers are refused with Docker's "plugin not found".
- References: a volume is in use while a container (running or not) has it among its
  mount points, or a create in progress holds it; ``users`` (set by the engine) answers
  from the container service. An in-use volume cannot be removed (409) nor pruned.
- Events ``create``, ``mount``, ``unmount``, ``destroy`` and ``prune`` (type ``volume``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from dockyard.engine.events import EventHub
from dockyard.engine.filters import Filters
from dockyard.engine.volume_store import ANONYMOUS_LABEL, Volume, VolumeStore
from dockyard.errors import DockyardError, FailedPrecondition, InvalidArgument, NotFound

log = logging.getLogger("dockyard.engine.volumes")

DRIVER = "local"
VALID_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
VALID_OPTIONS = ("type", "device", "o", "size")
LIST_FILTERS = ("dangling", "name", "driver", "label")
PRUNE_FILTERS = ("label", "label!", "all")

Users = Callable[[], Mapping[str, list[str]]]


def no_users() -> Mapping[str, list[str]]:
    return {}


def invalid_name(name: str) -> InvalidArgument:
    return InvalidArgument(
        f"create {name}: \"{name}\" includes invalid characters for a local volume name, only "
        "\"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path")


def check_driver(name: str, driver: str) -> None:
    """Only the local driver exists (Docker's error for a missing plugin otherwise)."""
    if driver not in ("", DRIVER):
        raise NotFound(f"create {name}: error looking up volume plugin {driver}: plugin \"{driver}\" not found")


def created_at(ns: int) -> str:
    """RFC 3339 to the second in local time, as dockerd formats ``CreatedAt``."""
    local = time.localtime(ns // 1_000_000_000)
    offset = local.tm_gmtoff
    sign, minutes = "+" if offset >= 0 else "-", abs(offset) // 60
    zone = "Z" if offset == 0 else f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"
    return time.strftime("%Y-%m-%dT%H:%M:%S", local) + zone


def _str_map(value: Any, what: str) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise InvalidArgument(f"{what}: must be an object of strings")
    return dict(value)


def dir_size(path: str) -> int:
    """Bytes of the regular files under ``path`` (each inode once), as Docker's ``directory.Size``."""
    total = 0
    seen: set[tuple[int, int]] = set()
    for top, dirs, files in os.walk(path):
        for name in files + dirs:
            try:
                st = os.lstat(os.path.join(top, name))
            except OSError:
                continue
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            if name in files:
                total += st.st_size
    return total


class VolumeService:
    """The engine's volumes (one per engine; ``ctx.volumes``)."""

    def __init__(self, data_root: str, hub: EventHub | None = None, users: Users = no_users) -> None:
        self.root = os.path.join(data_root, "volumes")
        self.store = VolumeStore(self.root)
        self.hub = hub
        self.users = users
        self.volumes: dict[str, Volume] = {v.name: v for v in self.store.load()}
        self.mounted: dict[str, set[str]] = {}  # volume -> containers it is mounted for
        self.holds: dict[str, set[str]] = {}  # volume -> creates in progress that use it
        self.copy_locks: dict[str, asyncio.Lock] = {}  # one copy-up at a time into a volume

    def _publish(self, action: str, name: str, **attributes: str) -> None:
        if self.hub is not None:
            self.hub.publish("volume", action, name, attributes)

    # -- records -----------------------------------------------------------------------------
    def get(self, name: str) -> Volume:
        volume = self.volumes.get(name)
        if volume is None:
            raise NotFound(f"get {name}: no such volume")
        return volume

    def create(self, name: str = "", driver: str = "", labels: Mapping[str, str] | None = None,
               options: Mapping[str, str] | None = None, *, anonymous: bool = False) -> Volume:
        """A new volume (or the existing one of that name); an anonymous one without ``name``."""
        check_driver(name, driver)
        if not name:
            name = secrets.token_hex(32)
            anonymous = True
        elif not VALID_NAME.match(name):
            raise invalid_name(name)
        labels_ = _str_map(labels, "Labels")
        options_ = _str_map(options, "DriverOpts")
        for key in options_ or {}:
            if key not in VALID_OPTIONS:
                raise InvalidArgument(f"create {name}: invalid option key: \"{key}\"")
        if (options_ or {}).get("size"):
            raise InvalidArgument(f"create {name}: quota size requested but no quota support")
        existing = self.volumes.get(name)
        if existing is not None:
            self._publish("create", name, driver=existing.driver)
            return existing
        if anonymous:
            labels_ = {**(labels_ or {}), ANONYMOUS_LABEL: ""}
        volume = Volume(name=name, driver=DRIVER, created_ns=time.time_ns(), path=self.store.data_path(name),
                        labels=labels_, options=options_)
        self.store.add(volume)
        self.volumes[name] = volume
        self._publish("create", name, driver=DRIVER)
        return volume

    def references(self, name: str) -> list[str]:
        """The containers using the volume (and creates in progress)."""
        return sorted({*self.users().get(name, ()), *self.holds.get(name, ())})

    def remove(self, name: str, force: bool = False) -> None:
        """``DELETE /volumes/{name}``: refused while in use; ``force`` forgives a missing one."""
        try:
            volume = self.get(name)
        except NotFound:
            if force:
                return
            raise
        users = self.references(name)
        if users:
            raise FailedPrecondition(f"remove {name}: volume is in use - [{', '.join(users)}]")
        self._destroy(volume)

    def _destroy(self, volume: Volume) -> None:
        if volume.mount_options is not None:
            self._unmount_fs(volume)
        self.store.delete(volume.name)
        self.volumes.pop(volume.name, None)
        self.mounted.pop(volume.name, None)
        self.copy_locks.pop(volume.name, None)
        self._publish("destroy", volume.name, driver=volume.driver)

    def remove_anonymous(self, names: Iterable[str]) -> None:
        """``rm -v`` / ``--rm``: the anonymous ones of ``names`` that nothing else uses."""
        for name in names:
            volume = self.volumes.get(name)
            if volume is None or not volume.anonymous or self.references(name):
                continue
            try:
                self._destroy(volume)
            except DockyardError as exc:
                log.warning("volume %s: removing it: %s", name, exc)

    # -- queries -----------------------------------------------------------------------------
    def inspect(self, volume: Volume) -> dict[str, Any]:
        """The Engine API's Volume document."""
        return {"CreatedAt": created_at(volume.created_ns), "Driver": volume.driver, "Labels": volume.labels,
                "Mountpoint": volume.path, "Name": volume.name, "Options": volume.options, "Scope": "local"}

    def select(self, filters: Filters) -> list[Volume]:
        """``GET /volumes``'s volumes, by name."""
        filters.validate(LIST_FILTERS)
        dangling = _bool_filter(filters, "dangling")
        users = self.users()
        out = []
        for volume in sorted(self.volumes.values(), key=lambda v: v.name):
            used = bool(users.get(volume.name) or self.holds.get(volume.name))
            if dangling is not None and used == dangling:
                continue
            names = filters.values("name")
            if names and not any(n in volume.name for n in names):
                continue
            if not filters.exact_match("driver", volume.driver):
                continue
            if not filters.match_kv_list("label", volume.labels or {}):
                continue
            out.append(volume)
        return out

    def prune(self, filters: Filters, all_: bool = False) -> dict[str, Any]:
        """Unused volumes, anonymous ones only unless ``all`` (the filter or API < 1.42)."""
        filters.validate(PRUNE_FILTERS)
        all_ = all_ or bool(_bool_filter(filters, "all"))
        deleted: list[str] = []
        reclaimed = 0
        for volume in sorted(self.volumes.values(), key=lambda v: v.name):
            labels = volume.labels or {}
            if not all_ and not volume.anonymous:
                continue
            if self.references(volume.name):
                continue
            if filters.values("label") and not filters.match_kv_list("label", labels):
                continue
            if filters.values("label!") and Filters.of(label=filters.values("label!")).match_kv_list("label", labels):
                continue
            size = dir_size(volume.path)
            try:
                self._destroy(volume)
            except DockyardError as exc:
                log.warning("prune: volume %s: %s", volume.name, exc)
                continue
            deleted.append(volume.name)
            reclaimed += size
        if self.hub is not None:
            self.hub.publish("volume", "prune", "", {"reclaimed": str(reclaimed)})
        return {"VolumesDeleted": deleted or None, "SpaceReclaimed": reclaimed}

    async def disk_usage(self) -> list[dict[str, Any]]:
        """``Volumes`` of ``/system/df``: each volume with ``UsageData`` (sizes measured off the loop)."""
        chosen = sorted(self.volumes.values(), key=lambda v: v.name)
        sizes = await asyncio.to_thread(lambda: [dir_size(v.path) for v in chosen])
        out = []
        for volume, size in zip(chosen, sizes, strict=True):
            doc = self.inspect(volume)
            doc["UsageData"] = {"RefCount": len(self.references(volume.name)), "Size": size}
            out.append(doc)
        return out

    # -- use by containers ----------------------------------------------------------------------
    def hold(self, name: str, token: str) -> None:
        self.holds.setdefault(name, set()).add(token)

    def release(self, name: str, token: str) -> None:
        users = self.holds.get(name)
        if users is not None:
            users.discard(token)
            if not users:
                del self.holds[name]

    def mount(self, name: str, container_id: str, **attributes: str) -> str:
        """The volume is used by a starting container: its file system mounted if it has one."""
        volume = self.get(name)
        users = self.mounted.setdefault(name, set())
        if not users and volume.mount_options is not None and not _is_mountpoint(volume.path):
            self._mount_fs(volume)
        users.add(container_id)
        self._publish("mount", name, driver=volume.driver, container=container_id, **attributes)
        return volume.path

    def unmount(self, name: str, container_id: str) -> None:
        """The container stopped: the file system goes with the last user."""
        volume = self.volumes.get(name)
        users = self.mounted.get(name)
        if volume is None or users is None or container_id not in users:
            return
        users.discard(container_id)
        if not users:
            del self.mounted[name]
            if volume.mount_options is not None:
                self._unmount_fs(volume)
        self._publish("unmount", name, driver=volume.driver, container=container_id)

    def restored(self, name: str, container_id: str) -> None:
        """A container whose task the engine finds at start keeps its volume mounted (until its exit)."""
        if name in self.volumes:
            self.mounted.setdefault(name, set()).add(container_id)

    def sweep(self) -> None:
        """At engine start, after the containers were found again: a driver's file system
        that no container uses any more (its last user ended while no engine ran) is unmounted."""
        for volume in list(self.volumes.values()):
            if volume.mount_options is not None and not self.mounted.get(volume.name) \
                    and _is_mountpoint(volume.path):
                try:
                    self._unmount_fs(volume)
                except DockyardError as exc:
                    log.warning("volume %s: unmounting it: %s", volume.name, exc)

    def copy_lock(self, name: str) -> asyncio.Lock:
        lock = self.copy_locks.get(name)
        if lock is None:
            lock = self.copy_locks[name] = asyncio.Lock()
        return lock

    def _mount_fs(self, volume: Volume) -> None:
        from dockyard.containerd.mount import mount_one
        from dockyard.containerd.snapshots import Mount

        kind, device, options = volume.mount_options or ("", "", "")
        opts = [o for o in options.split(",") if o]
        if kind == "" and device:
            kind, opts = "bind", ["rbind", *opts]
        try:
            mount_one(Mount(kind, device, opts), volume.path)
        except DockyardError as exc:
            raise DockyardError(f"error while mounting volume '{volume.path}': {exc}") from None

    def _unmount_fs(self, volume: Volume) -> None:
        from dockyard.containerd.mount import unmount_all

        unmount_all(volume.path)

    def close(self) -> None:
        self.store.close()


def _is_mountpoint(path: str) -> bool:
    return os.path.ismount(path)


def _bool_filter(filters: Filters, key: str) -> bool | None:
    values = filters.values(key)
    if not values:
        return None
    out = None
    for value in values:
        if value.lower() in ("true", "1"):
            out = True
        elif value.lower() in ("false", "0"):
            out = False
        else:
            raise InvalidArgument(f"invalid filter '{key}={value}'")
    return out
