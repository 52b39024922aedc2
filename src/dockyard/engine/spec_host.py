"""The host facts and hooks the spec translation needs, behind one replaceable object.

:class:`Host` bundles callables: facts about this machine (kernel version, CPUs, whether
swap limits or block-IO weights are available, the devices under /dev...) and hooks into
the rest of the engine that do not exist yet (the PID of another container for
``container:<id>`` modes, the volume service). The defaults read the real host lazily;
tests build a ``Host`` with fakes (``dataclasses.replace(Host(), kernel=lambda: (4, 4))``).

:class:`DeviceNode` is a device as the spec's ``linux.devices`` lists it; :func:`device_nodes`
finds them under a host path the way ``docker run --device`` does (a symlink is followed,
a directory is walked), :func:`host_devices` lists all of /dev for privileged containers.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from dockyard.errors import InvalidArgument, NotImplementedYet
from dockyard.oci.platform import normalize_arch


@dataclass(frozen=True)
class DeviceNode:
    """A device node: where it appears in the container and what it is on the host."""

    path: str
    type: str  # "c", "b" or "p"
    major: int
    minor: int
    file_mode: int
    uid: int
    gid: int

    def to_spec(self) -> dict[str, Any]:
        """The ``linux.devices`` entry."""
        return {"path": self.path, "type": self.type, "major": self.major, "minor": self.minor,
                "fileMode": self.file_mode, "uid": self.uid, "gid": self.gid}


def _node(path: str, container_path: str, st: os.stat_result) -> DeviceNode | None:
    if stat.S_ISCHR(st.st_mode):
        kind = "c"
    elif stat.S_ISBLK(st.st_mode):
        kind = "b"
    elif stat.S_ISFIFO(st.st_mode):
        kind = "p"
    else:
        return None
    return DeviceNode(container_path, kind, os.major(st.st_rdev), os.minor(st.st_rdev),
                      stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)


def device_nodes(host_path: str, container_path: str) -> list[DeviceNode]:
    """The device at ``host_path`` (symlinks followed), or every device under a directory,
    each placed at ``container_path`` (plus its path below the directory)."""
    resolved = os.path.realpath(host_path)
    try:
        st = os.stat(resolved)
    except OSError as exc:
        raise InvalidArgument(
            f"error gathering device information while adding custom device {host_path!r}: "
            f"{exc.strerror}"
        ) from None
    if not stat.S_ISDIR(st.st_mode):
        node = _node(resolved, container_path, st)
        if node is None:
            raise InvalidArgument(
                f"error gathering device information while adding custom device {host_path!r}: "
                "not a device node"
            )
        return [node]
    found = []
    for top, dirs, files in os.walk(resolved):
        dirs.sort()
        for name in sorted(files):
            full = os.path.join(top, name)
            try:
                node = _node(full, os.path.join(container_path, os.path.relpath(full, resolved)),
                             os.lstat(full))
            except OSError:
                continue
            if node is not None:
                found.append(node)
    return found


# /dev entries that are not the host's devices (or are the container's own)
_SKIPPED_DIRS = frozenset(("pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts", ".udev"))


def host_devices(root: str = "/dev") -> list[DeviceNode]:
    """Every device node under /dev (symlinks, /dev/console and the skipped dirs aside)."""
    found = []
    for top, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS)
        for name in sorted(files):
            full = os.path.join(top, name)
            if full == os.path.join(root, "console"):
                continue
            try:
                node = _node(full, full, os.lstat(full))
            except OSError:
                continue
            if node is not None:
                found.append(node)
    return found


def ensure_bind_source(path: str, create: bool) -> None:
    """A bind mount's host path must exist; ``create`` (legacy ``Binds``) makes a directory."""
    if os.path.lexists(path):
        return
    if not create:
        raise InvalidArgument(f"bind source path does not exist: {path}")
    try:
        os.makedirs(path, 0o755, exist_ok=True)
    except OSError as exc:
        raise InvalidArgument(f"error while creating mount source path {path!r}: {exc.strerror}") from None


def kernel_version() -> tuple[int, int]:
    """The running kernel's (major, minor)."""
    parts = os.uname().release.split(".")
    try:
        return int(parts[0]), int("".join(c for c in parts[1] if c.isdigit()) or 0)
    except (IndexError, ValueError):
        return (0, 0)


def go_arch() -> str:
    """This machine's architecture as Go names it (``amd64``, ``arm64``...)."""
    return normalize_arch(os.uname().machine, "")[0]


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def cap_last_cap() -> int:
    """The highest capability number this kernel knows (40 for CAP_CHECKPOINT_RESTORE)."""
    text = _read("/proc/sys/kernel/cap_last_cap")
    return int(text) if text and text.isdigit() else 40


def sysctl_exists(name: str) -> bool:
    """Whether /proc/sys has ``name`` (``net.ipv4.ping_group_range``)."""
    return os.path.exists("/proc/sys/" + name.replace(".", "/"))


def _cgroup_file(v1: str, v2: str) -> bool:
    return os.path.exists(f"/sys/fs/cgroup/{v1}") or os.path.exists(f"/sys/fs/cgroup/{v2}")


def swap_limit_supported() -> bool:
    """Whether memory+swap can be limited (v1 memsw accounting, or v2 memory.swap.max)."""
    return _cgroup_file("memory/memory.memsw.limit_in_bytes", "memory.swap.max")


def blkio_weight_supported() -> bool:
    """Whether a block-IO weight can be set (v1 blkio.weight, or v2 io.weight)."""
    return _cgroup_file("blkio/blkio.weight", "io.weight") or _cgroup_file(
        "blkio/blkio.bfq.weight", "io.bfq.weight")


def apparmor_enabled() -> bool:
    """Whether AppArmor is enabled on this host."""
    return _read("/sys/module/apparmor/parameters/enabled") == "Y"


def online_cpus() -> str | None:
    """The host's online CPUs as a list (``0-3``), or None if unknown."""
    return _read("/sys/devices/system/cpu/online")


def online_mems() -> str | None:
    """The host's online memory nodes (``0``), or None if unknown (no NUMA info)."""
    return _read("/sys/devices/system/node/online")


def _no_namespace_path(kind: str, ref: str) -> str:
    raise NotImplementedYet(f"joining the {kind} namespace of container {ref!r} needs the container service")


def _no_shm_path(ref: str) -> str:
    raise NotImplementedYet(f"sharing /dev/shm of container {ref!r} needs the container service")


def _no_volumes(name: str, target: str, options: Mapping[str, Any]) -> str:
    what = f"volume {name!r}" if name else "an anonymous volume"
    raise NotImplementedYet(f"{what} at {target}: volumes need the volume service (not available yet)")


@dataclass(frozen=True)
class Host:
    """Host facts and engine hooks used by :func:`dockyard.engine.spec.build_spec`."""

    kernel: Callable[[], tuple[int, int]] = kernel_version
    arch: Callable[[], str] = go_arch
    hostname: Callable[[], str] = lambda: os.uname().nodename
    cpu_count: Callable[[], int] = lambda: os.cpu_count() or 1
    cap_last_cap: Callable[[], int] = cap_last_cap
    sysctl_exists: Callable[[str], bool] = sysctl_exists
    swap_limit: Callable[[], bool] = swap_limit_supported
    blkio_weight: Callable[[], bool] = blkio_weight_supported
    apparmor: Callable[[], bool] = apparmor_enabled
    online_cpus: Callable[[], str | None] = online_cpus
    online_mems: Callable[[], str | None] = online_mems
    # (host path, container path) -> the device nodes; and all host devices (privileged)
    devices_at: Callable[[str, str], list[DeviceNode]] = device_nodes
    all_devices: Callable[[], list[DeviceNode]] = host_devices
    # (namespace type, container name or id) -> /proc/<pid>/ns/<type> of that container
    namespace_path: Callable[[str, str], str] = _no_namespace_path
    # container name or id -> host path of that container's /dev/shm
    shm_path: Callable[[str], str] = _no_shm_path
    # (volume name or "" for anonymous, target, the mount's options) -> host path
    volume_source: Callable[[str, str, Mapping[str, Any]], str] = _no_volumes
    # (host path, create if missing) for bind mounts; raises InvalidArgument
    prepare_bind: Callable[[str, bool], None] = ensure_bind_source
