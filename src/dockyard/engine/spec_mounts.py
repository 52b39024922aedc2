"""A container's mounts: Docker's defaults, ``Binds``, ``Mounts``, ``Tmpfs`` and /dev/shm.

* ``Binds``: ``src:dst[:opts]`` with ``src`` an absolute host path (a bind mount; a
  missing directory is created, as dockerd does for ``-v``) or a volume name (through the
  volume hook), or just ``dst`` (an anonymous volume). ``opts``, comma-separated, at most
  one of each kind: ``rw``/``ro``, ``z``/``Z`` (SELinux, ignored here), a propagation
  (``[r]shared``, ``[r]slave``, ``[r]private``), ``nocopy`` (volumes only) and the macOS
  consistency words (ignored).
* ``Mounts``: ``bind`` (the source must exist unless ``BindOptions.CreateMountpoint``;
  ``NonRecursive`` binds without ``rbind``), ``tmpfs`` (``TmpfsOptions.SizeBytes``/``Mode``
  /``Options``), ``volume`` (through the volume hook); other types are refused.
* ``Tmpfs``: ``{path: "size=64m,mode=1777,exec"}``. Every tmpfs starts from
  ``noexec,nosuid,nodev,rprivate``; later options win over earlier ones of their kind.
* Binds default to ``rprivate``; a shared or slave bind makes the rootfs propagation
  ``shared``/``rslave`` so it works.
* Defaults (/proc, /dev, /dev/pts, /sys, /sys/fs/cgroup, /dev/mqueue, /dev/shm sized
  ``ShmSize``) are dropped where a user mount has the same destination (everything under
  /dev when the user mounts /dev; /dev/shm with ``IpcMode: none``); IPC modes ``host``
  and ``container:`` bind that /dev/shm, ``shareable`` the engine's ``shm_source`` (a
  private tmpfs until the engine gives one). User mounts follow the defaults, sorted by
  depth (parents first). Two user mounts on one destination are a 400.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dockyard.engine import defaults
from dockyard.engine.spec_fields import get_bool, get_int, get_list, get_str, get_str_map, get_strs
from dockyard.engine.spec_host import Host
from dockyard.errors import InvalidArgument, NotImplementedYet

PROPAGATIONS = ("shared", "rshared", "slave", "rslave", "private", "rprivate")
DEFAULT_PROPAGATION = "rprivate"
TMPFS_BASE = ("noexec", "nosuid", "nodev", DEFAULT_PROPAGATION)
_MODE_KINDS: dict[str, str] = {
    "rw": "access", "ro": "access", "z": "label", "Z": "label", "nocopy": "copy",
    "consistent": "consistency", "cached": "consistency", "delegated": "consistency",
    **{p: "propagation" for p in PROPAGATIONS},
}
_VOLUME_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
# tmpfs flags: options of one kind override each other (the later one wins)
_TMPFS_FLAGS: dict[str, str] = {
    "ro": "ro", "rw": "ro", "suid": "suid", "nosuid": "suid", "dev": "dev", "nodev": "dev",
    "exec": "exec", "noexec": "exec", "sync": "sync", "async": "sync", "dirsync": "dirsync",
    "atime": "atime", "noatime": "atime", "diratime": "diratime", "nodiratime": "diratime",
    "relatime": "relatime", "norelatime": "relatime", "strictatime": "strictatime",
    "nostrictatime": "strictatime", "mand": "mand", "nomand": "mand", "remount": "remount",
    "bind": "bind", "rbind": "rbind",
    **{p: "propagation" for p in (*PROPAGATIONS, "unbindable", "runbindable")},
}
_TMPFS_DATA = frozenset(("size", "mode", "uid", "gid", "nr_inodes", "nr_blocks", "mpol"))


@dataclass
class MountPlan:
    """The spec's ``mounts`` and the ``linux.rootfsPropagation`` they need ("" for none)."""

    mounts: list[dict[str, Any]]
    rootfs_propagation: str = ""


def clean_destination(path: str, what: str) -> str:
    """An absolute, normalised mount destination other than ``/``."""
    if not path.startswith("/"):
        raise InvalidArgument(f"{what}: invalid mount path: '{path}' mount path must be absolute")
    clean = "/" + posixpath.normpath(path).lstrip("/")
    if clean == "/":
        raise InvalidArgument(f"{what}: invalid specification: destination can't be '/'")
    return clean


def merge_tmpfs_options(options: Sequence[str], what: str) -> list[str]:
    """Drop overridden tmpfs options: the last flag of each kind and last ``key=`` win."""
    seen: set[str] = set()
    kept: list[str] = []
    for option in reversed(options):
        if option in ("", "defaults"):
            continue
        if option in _TMPFS_FLAGS:
            key = "flag:" + _TMPFS_FLAGS[option]
        else:
            name, eq, _ = option.partition("=")
            if not eq or name not in _TMPFS_DATA:
                raise InvalidArgument(f"{what}: invalid tmpfs option {option!r}")
            key = "data:" + name
        if key not in seen:
            seen.add(key)
            kept.append(option)
    return kept[::-1]


def tmpfs_mount(destination: str, data: str, what: str) -> dict[str, Any]:
    """A tmpfs at ``destination`` with Docker's base options and ``data`` (``size=..,mode=..``)."""
    options = merge_tmpfs_options([*TMPFS_BASE, *(data.split(",") if data else [])], what)
    return {"destination": destination, "type": "tmpfs", "source": "tmpfs", "options": options}


def size_option(size: int) -> str:
    """``size=`` in the largest unit that divides ``size`` (``size=64m``), as Docker writes it."""
    for suffix, unit in (("g", 1 << 30), ("m", 1 << 20), ("k", 1 << 10)):
        if size % unit == 0:
            return f"size={size // unit}{suffix}"
    return f"size={size}"


def bind_mount(source: str, destination: str, *, readonly: bool, propagation: str = "",
               recursive: bool = True) -> dict[str, Any]:
    """A bind mount as dockerd writes it: ``rbind``, ``ro`` if read-only, a propagation."""
    options = ["rbind" if recursive else "bind"]
    if readonly:
        options.append("ro")
    options.append(propagation or DEFAULT_PROPAGATION)
    return {"destination": destination, "type": "bind", "source": source, "options": options}


def _parse_mode(mode: str, what: str) -> dict[str, str]:
    kinds: dict[str, str] = {}
    for option in mode.split(",") if mode else []:
        kind = _MODE_KINDS.get(option)
        if kind is None or kind in kinds:
            raise InvalidArgument(f"{what}: invalid mode: {mode}")
        kinds[kind] = option
    return kinds


def _volume(host: Host, name: str, destination: str, options: Mapping[str, Any], what: str) -> str:
    if name and not _VOLUME_NAME.match(name):
        raise InvalidArgument(
            f"{what}: create {name}: {name!r} includes invalid characters for a local volume "
            'name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host '
            "directory, use absolute path"
        )
    try:
        return host.volume_source(name, destination, options)
    except NotImplementedYet as exc:
        raise NotImplementedYet(f"{what}: {exc.message}") from None


def _bind_source(host: Host, path: str, create: bool, what: str) -> None:
    try:
        host.prepare_bind(path, create)
    except InvalidArgument as exc:
        raise InvalidArgument(f"{what}: {exc.message}") from None


def parse_bind(spec: str, host: Host, what: str) -> dict[str, Any]:
    """One ``Binds`` entry as an OCI mount."""
    parts = spec.split(":")
    if len(parts) > 3 or any(not p for p in parts[:2]):
        raise InvalidArgument(f"{what}: invalid volume specification: '{spec}'")
    if len(parts) == 1:
        source, destination, mode = "", parts[0], ""
    else:
        source, destination, mode = parts[0], parts[1], parts[2] if len(parts) == 3 else ""
    destination = clean_destination(destination, f"{what}: invalid volume specification: '{spec}'")
    kinds = _parse_mode(mode, f"{what}: invalid volume specification: '{spec}'")
    readonly = kinds.get("access") == "ro"
    if source.startswith("/"):
        if "copy" in kinds:
            raise InvalidArgument(f"{what}: invalid volume specification: '{spec}': invalid mode: {mode}")
        _bind_source(host, source, True, what)
    else:
        source = _volume(host, source, destination, {"nocopy": "copy" in kinds}, what)
    return bind_mount(source, destination, readonly=readonly, propagation=kinds.get("propagation", ""))


def _tmpfs_data(options: Mapping[str, Any], readonly: bool, what: str) -> str:
    raw = []
    if readonly:
        raw.append("ro")
    mode = get_int(options, "Mode", what)
    if mode:
        raw.append(f"mode={mode:o}")
    size = get_int(options, "SizeBytes", what)
    if size:
        if size < 0:
            raise InvalidArgument(f"{what}.SizeBytes: must not be negative")
        raw.append(size_option(size))
    for item in get_list(options, "Options", what):
        if not isinstance(item, list) or not 1 <= len(item) <= 2 or not all(isinstance(x, str) for x in item):
            raise InvalidArgument(f"{what}.Options: must be a list of [flag] or [key, value]")
        raw.append("=".join(item))
    return ",".join(raw)


def parse_mount(entry: Any, host: Host, what: str) -> dict[str, Any]:
    """One ``Mounts`` entry (the Engine API's Mount object) as an OCI mount."""
    if not isinstance(entry, dict):
        raise InvalidArgument(f"{what}: must be an object")
    kind = get_str(entry, "Type", what)
    target = get_str(entry, "Target", what)
    if not target:
        raise InvalidArgument(f"{what}.Target: field Target must not be empty")
    label = f'{what}: invalid mount config for type "{kind}"'
    destination = clean_destination(target, label)
    source = get_str(entry, "Source", what)
    readonly = get_bool(entry, "ReadOnly", what)
    for key, allowed in (("BindOptions", "bind"), ("VolumeOptions", "volume"), ("TmpfsOptions", "tmpfs")):
        if entry.get(key) is not None and kind != allowed:
            raise InvalidArgument(f"{label}: field {key} must not be specified")
    if kind == "bind":
        if not source:
            raise InvalidArgument(f"{label}: field Source must not be empty")
        if not source.startswith("/"):
            raise InvalidArgument(f"{label}: invalid mount path: '{source}' mount path must be absolute")
        opts = entry.get("BindOptions") or {}
        if get_bool(opts, "ReadOnlyForceRecursive", f"{what}.BindOptions"):
            raise NotImplementedYet(f"{what}.BindOptions.ReadOnlyForceRecursive: not supported")
        propagation = get_str(opts, "Propagation", f"{what}.BindOptions")
        if propagation and propagation not in PROPAGATIONS:
            raise InvalidArgument(f"{what}.BindOptions.Propagation: invalid propagation mode: {propagation}")
        _bind_source(host, source, get_bool(opts, "CreateMountpoint", f"{what}.BindOptions"), label)
        return bind_mount(source, destination, readonly=readonly, propagation=propagation,
                          recursive=not get_bool(opts, "NonRecursive", f"{what}.BindOptions"))
    if kind == "tmpfs":
        if source:
            raise InvalidArgument(f"{label}: field Source must not be specified")
        data = _tmpfs_data(entry.get("TmpfsOptions") or {}, readonly, f"{what}.TmpfsOptions")
        return tmpfs_mount(destination, data, what)
    if kind == "volume":
        opts = entry.get("VolumeOptions") or {}
        path = _volume(host, source, destination, opts, what)
        return bind_mount(path, destination, readonly=readonly)
    if kind == "npipe":
        raise InvalidArgument(f"{what}.Type: npipe mounts are Windows-only")
    if kind == "cluster":
        raise NotImplementedYet(f"{what}.Type: cluster volumes are not supported")
    raise InvalidArgument(f"{what}.Type: mount type unknown: {kind!r}")


def user_mounts(hc: Mapping[str, Any], host: Host) -> list[dict[str, Any]]:
    """Binds, Mounts and Tmpfs as OCI mounts; a repeated destination is a 400."""
    found: list[dict[str, Any]] = []
    for i, spec in enumerate(get_strs(hc, "Binds")):
        found.append(parse_bind(spec, host, f"HostConfig.Binds[{i}]"))
    for i, entry in enumerate(get_list(hc, "Mounts")):
        found.append(parse_mount(entry, host, f"HostConfig.Mounts[{i}]"))
    for path, data in get_str_map(hc, "Tmpfs").items():
        what = f"HostConfig.Tmpfs[{path}]"
        found.append(tmpfs_mount(clean_destination(path, what), data, what))
    seen: set[str] = set()
    for mount in found:
        if mount["destination"] in seen:
            raise InvalidArgument(f"HostConfig: Duplicate mount point: {mount['destination']}")
        seen.add(mount["destination"])
    return found


def shm_size(hc: Mapping[str, Any]) -> int:
    """``ShmSize`` in bytes (0: Docker's 64 MiB)."""
    size = get_int(hc, "ShmSize") or 0
    if size < 0:
        raise InvalidArgument("HostConfig.ShmSize: SHM size can not be less than 0")
    return size or defaults.DEFAULT_SHM_SIZE


def _depth(mount: Mapping[str, Any]) -> int:
    return len(posixpath.normpath(mount["destination"]).split("/"))


def _clear_readonly(mount: dict[str, Any]) -> None:
    mount["options"] = [o for o in mount.get("options", []) if o != "ro"]


def plan(hc: Mapping[str, Any], host: Host, *, ipc_mode: str, ipc_ref: str, shm_source: str | None,
         readonly_rootfs: bool, privileged: bool,
         extra_mounts: Sequence[Mapping[str, Any]] = ()) -> MountPlan:
    """All the container's mounts (the init binary aside)."""
    users = user_mounts(hc, host)
    taken = {m["destination"] for m in users}
    users += [dict(m) for m in extra_mounts if m["destination"] not in taken]
    shm_bind = {"host": "/dev/shm", "shareable": shm_source}.get(ipc_mode)
    if ipc_mode == "container":
        shm_bind = host.shm_path(ipc_ref)
    if shm_bind and "/dev/shm" not in taken:
        users.append(bind_mount(shm_bind, "/dev/shm", readonly=False))
    user_dests = {m["destination"] for m in users}
    mounts = []
    for mount in defaults.default_mounts(shm_size(hc)):
        dest = mount["destination"]
        if dest in user_dests or ("/dev" in user_dests and dest.startswith("/dev/")):
            continue
        if dest == "/dev/shm" and ipc_mode == "none":
            continue
        if readonly_rootfs and dest not in defaults.WRITABLE_WITH_READONLY_ROOTFS and "ro" not in mount["options"]:
            mount["options"].append("ro")
        if privileged and mount["type"] in ("sysfs", "cgroup"):
            _clear_readonly(mount)
        mounts.append(mount)
    mounts += sorted(users, key=_depth)
    propagation = ""
    for mount in users:
        opts = mount.get("options", [])
        if mount["type"] == "bind" and any(o in ("shared", "rshared") for o in opts):
            propagation = "shared"
        elif mount["type"] == "bind" and any(o in ("slave", "rslave") for o in opts) and propagation != "shared":
            propagation = "rslave"
    return MountPlan(mounts, propagation)
