"""Build the container's file system tree in its new mount namespace, then switch into it.

The order follows runc (OCI config.md "Root" and "Mounts", config-linux.md "Rootfs Mount
Propagation", "Devices", "Masked Paths", "Readonly Paths"):

1. :func:`prepare_rootfs` (before pivot_root, host paths visible): propagation of ``/``
   (``linux.rootfsPropagation``, default rslave), the rootfs bind-mounted on itself, every
   ``mounts`` entry in order (destinations resolved inside the rootfs), then /dev nodes and
   links unless /dev is a bind mount. tmpfs mounts and /dev stay writable until step 3.
2. :func:`pivot_root` (or :func:`chroot_root` for ``--no-pivot``).
3. :func:`finalize_rootfs`: read-only tmpfs and /dev, ``root.readonly``, then
   ``linux.readonlyPaths`` and ``linux.maskedPaths``.

Everything happens in the container's private mount namespace, which vanishes with it, so
a failure only has to say clearly which mount failed. cgroup mounts are in cgroupfs.py.
"""

from __future__ import annotations

import errno
import os
import time

from dockyard.errors import InvalidArgument, NotImplementedYet
from dockyard.runtime import cgroupfs, devices, mountinfo
from dockyard.runtime import linux as L
from dockyard.runtime.devices import error_from
from dockyard.runtime.mount_options import MountOptions, parse, propagation_flags
from dockyard.runtime.paths import is_within, resolve_in_root
from dockyard.runtime.syscalls import Syscalls

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

DEFAULT_ROOT_PROPAGATION = L.MS_SLAVE | L.MS_REC

# files under /proc that lxcfs-style bind mounts may cover (anything else inside /proc is
# refused: a mount over /proc/sys/... could hide what masked/readonly paths protect)
PROC_MOUNT_ALLOWED = frozenset(
    {
        "cpuinfo", "diskstats", "meminfo", "stat", "swaps", "uptime", "loadavg", "slabinfo",
        "net/dev", "sys/kernel/ns_last_pid",
    }
)  # fmt: skip

# statvfs ST_* bit -> MS_* bit, for the per-mount flags a bind remount must keep
_ST_TO_MS = (
    (os.ST_RDONLY, L.MS_RDONLY),
    (os.ST_NOSUID, L.MS_NOSUID),
    (os.ST_NODEV, L.MS_NODEV),
    (os.ST_NOEXEC, L.MS_NOEXEC),
    (0x2000, L.MS_NOSYMFOLLOW),  # ST_NOSYMFOLLOW
)


def mount_flags_of(path: str) -> int:
    """The MS_RDONLY/NOSUID/NODEV/NOEXEC/NOSYMFOLLOW bits the mount at ``path`` has now."""
    st = os.statvfs(path)
    return sum(ms for st_bit, ms in _ST_TO_MS if st.f_flag & st_bit)


class Mount:
    """One ``mounts`` entry, checked: destination is a clean absolute container path."""

    __slots__ = ("dest", "kind", "opts", "source")

    def __init__(self, dest: str, source: str, kind: str, opts: MountOptions) -> None:
        self.dest = dest
        self.source = source
        self.kind = kind  # "bind" for any bind mount, whatever the type said
        self.opts = opts

    @property
    def name(self) -> str:
        return f'mount "{self.source}" on "{self.dest}"'


def parse_mount(index: int, entry: dict[str, Any], bundle: str | None = None) -> Mount:
    """Check one ``mounts[index]`` entry and parse its options."""
    where = f"mounts[{index}]"
    if not isinstance(entry, dict):
        raise InvalidArgument(f"{where}: must be an object")
    dest = entry.get("destination")
    if not isinstance(dest, str) or not dest:
        raise InvalidArgument(f"{where}.destination: required")
    dest = os.path.normpath("/" + dest.lstrip("/"))
    options = entry.get("options") or []
    if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
        raise InvalidArgument(f"{where}.options: must be a list of strings")
    opts = parse(options)
    kind = entry.get("type") or ""
    if not isinstance(kind, str):
        raise InvalidArgument(f"{where}.type: must be a string")
    if kind == "bind":
        opts.flags |= L.MS_BIND
    if opts.is_bind:
        kind = "bind"
    if not kind:
        raise InvalidArgument(f'{where}: mount on "{dest}" has no type')
    source = entry.get("source") or ""
    if not isinstance(source, str):
        raise InvalidArgument(f"{where}.source: must be a string")
    if kind == "bind":
        if not source:
            raise InvalidArgument(f'{where}: bind mount on "{dest}" has no source')
        if bundle and not source.startswith("/"):
            source = os.path.join(bundle, source)
    source = source or kind
    if entry.get("uidMappings") or entry.get("gidMappings") or any(
        e in opts.extensions for e in ("idmap", "ridmap")
    ):
        raise NotImplementedYet(f'{where}: idmapped mount on "{dest}" is not supported')
    return Mount(dest, source, kind, opts)


def _namespaces(config: dict[str, Any]) -> set[str]:
    linux = config.get("linux") or {}
    return {str(ns.get("type")) for ns in linux.get("namespaces") or [] if isinstance(ns, dict)}


class _Preparer:
    """Mounts the entries of one config into one rootfs."""

    def __init__(
        self, sys: Syscalls, rootfs: str, cgroup_paths: dict[str, str], cgroup_ns: bool,
        user_ns: bool, net_ns: bool,
    ) -> None:
        self.sys = sys
        self.rootfs = rootfs
        self.cgroup_paths = cgroup_paths
        self.cgroup_ns = cgroup_ns
        self.user_ns = user_ns
        self.net_ns = net_ns

    def call(self, m: Mount, what: str, fn: Any, *args: Any) -> None:
        try:
            fn(*args)
        except OSError as exc:
            raise error_from(f"{m.name}{what}", exc) from None

    def mount(self, m: Mount, source: str | None, target: str, fstype: str | None, flags: int,
              data: str | None, what: str = "") -> None:  # fmt: skip
        self.call(m, what, self.sys.mount, source, target, fstype, flags, data or None)

    def mkdir(self, m: Mount, path: str) -> None:
        self.call(m, f": mkdir {path}", self.sys.mkdir_p, path, 0o755)

    def propagate(self, m: Mount, dest: str) -> None:
        for flag in m.opts.propagation:
            self.mount(m, None, dest, None, flag, None, " (propagation)")

    def bind_remount(self, m: Mount, dest: str, flags: int) -> None:
        """Apply ro/nosuid/... to a bind mount, which the first mount(2) call ignores."""
        if not flags & ~(L.MS_REC | L.MS_REMOUNT | L.MS_BIND):
            return
        flags = (flags & ~L.MS_REC) | L.MS_REMOUNT | L.MS_BIND
        try:
            self.sys.mount(None, dest, None, flags, None)
        except PermissionError:
            # flags locked by a user namespace (nosuid, ro of the source): keep them
            self.mount(m, None, dest, None, flags | mount_flags_of(dest), None, " (remount)")
        except OSError as exc:
            raise error_from(f"{m.name} (remount)", exc) from None

    def check_proc(self, m: Mount, dest: str) -> None:
        proc = self.rootfs + "/proc"
        if dest == proc or not dest.startswith(proc + "/"):
            return
        if dest[len(proc) + 1 :] not in PROC_MOUNT_ALLOWED:
            raise InvalidArgument(f"{m.name}: cannot be mounted because it is inside /proc")

    def run(self, m: Mount) -> None:
        if m.kind == "sysfs" and self.user_ns and not self.net_ns:
            # sysfs cannot be mounted in a user ns without its own net ns: bind the host's
            m = Mount(m.dest, "/sys", "bind", m.opts)
            m.opts.flags |= L.MS_BIND | L.MS_REC
        dest = resolve_in_root(self.rootfs, m.dest)
        if dest == self.rootfs:
            raise InvalidArgument(f"{m.name}: the destination is the root itself")
        if m.kind == "bind":
            self.bind(m, dest)
        elif m.kind in ("proc", "sysfs"):
            if os.path.lexists(dest) and not os.path.isdir(dest):
                raise InvalidArgument(f"{m.name}: {m.kind} must be mounted on a directory")
            self.mkdir(m, dest)
            self.mount(m, m.source, dest, m.kind, m.opts.flags, m.opts.data)
            self.propagate(m, dest)
        elif m.kind == "cgroup":
            cgroupfs.mount_cgroups(self, m, dest)
        elif m.kind == "tmpfs":
            self.check_proc(m, dest)
            data = m.opts.data
            if os.path.isdir(dest):  # keep the image's mode unless the options say otherwise
                mode = f"mode={os.stat(dest).st_mode & 0o7777:04o}"
                data = f"{mode},{data}" if data else mode
            else:
                self.mkdir(m, dest)
            self.mount(m, m.source, dest, "tmpfs", m.opts.flags & ~L.MS_RDONLY, data)
            self.propagate(m, dest)
        else:
            self.check_proc(m, dest)
            self.mkdir(m, dest)
            flags = m.opts.flags & ~L.MS_RDONLY if m.dest == "/dev" else m.opts.flags
            self.other(m, dest, flags)
            self.propagate(m, dest)

    def other(self, m: Mount, dest: str, flags: int) -> None:
        data = m.opts.data
        try:
            self.sys.mount(m.source, dest, m.kind, flags, data or None)
            return
        except OSError as exc:
            err = exc
        gid_free = ",".join(o for o in data.split(",") if not o.startswith("gid="))
        if m.kind == "devpts" and self.user_ns and err.errno == errno.EINVAL and gid_free != data:
            # gid=5 may be unmapped in the user namespace: retry without it, as crun does
            self.mount(m, m.source, dest, m.kind, flags, gid_free)
            return
        raise error_from(m.name, err) from None

    def bind(self, m: Mount, dest: str) -> None:
        try:
            is_dir = os.path.isdir(m.source)
            os.stat(m.source)
        except OSError as exc:
            raise error_from(f"{m.name}: source", exc) from None
        self.check_proc(m, dest)
        if not os.path.exists(dest):
            if is_dir:
                self.mkdir(m, dest)
            else:
                self.mkdir(m, os.path.dirname(dest))
                self.call(m, f": create {dest}", self.sys.touch, dest, 0o755)
        self.mount(m, m.source, dest, None, m.opts.flags & (L.MS_BIND | L.MS_REC), None)
        self.bind_remount(m, dest, m.opts.flags)
        self.propagate(m, dest)


def _make_parent_private(sys: Syscalls, rootfs: str) -> None:
    """pivot_root refuses a new root whose parent mount is shared: make that one private."""
    best = None
    for entry in mountinfo.read():
        if is_within(entry.mountpoint, rootfs) and (
            best is None or len(entry.mountpoint) >= len(best.mountpoint)
        ):
            best = entry
    if best is not None and any(f.startswith("shared:") for f in best.optional):
        try:
            sys.mount(None, best.mountpoint, None, L.MS_PRIVATE, None)
        except OSError as exc:
            raise error_from(f'make the parent mount "{best.mountpoint}" private', exc) from None


def prepare_rootfs(
    sys: Syscalls, config: dict[str, Any], rootfs: str, *, cgroup_paths: dict[str, str],
    cgroup_ns: bool, user_ns: bool, bundle: str | None = None,
) -> None:  # fmt: skip
    """Step 1, in the new mount namespace before pivot_root: mounts, devices, /dev links.

    ``cgroup_paths`` maps a v1 controller ("memory", "cpu", "name=systemd", ...) or ""
    (cgroup2) to the container's cgroup as a host path (``/sys/fs/cgroup/memory/x``) or
    a cgroup path (``/x``); missing ones fall back to /proc/self/cgroup. ``bundle`` makes
    relative bind sources absolute.
    """
    rootfs = os.path.abspath(rootfs)
    linux = config.get("linux") or {}
    mounts = [parse_mount(i, m, bundle) for i, m in enumerate(config.get("mounts") or [])]
    device_list = devices.parse_devices(linux.get("devices"))
    name = linux.get("rootfsPropagation") or ""
    try:
        root_flags = propagation_flags(name) if name else DEFAULT_ROOT_PROPAGATION
    except ValueError:
        raise InvalidArgument(f"linux.rootfsPropagation: unknown value {name!r}") from None
    try:
        sys.mount(None, "/", None, root_flags, None)
    except OSError as exc:
        raise error_from('set the propagation of "/"', exc) from None
    if root_flags & L.MS_SHARED:
        _make_parent_private(sys, rootfs)
    try:
        sys.mount(rootfs, rootfs, None, L.MS_BIND | L.MS_REC, None)
    except OSError as exc:
        raise error_from(f'bind mount the rootfs "{rootfs}" on itself', exc) from None
    prep = _Preparer(
        sys, rootfs, cgroup_paths, cgroup_ns, user_ns, "network" in _namespaces(config)
    )
    for m in mounts:
        prep.run(m)
    if not any(m.kind == "bind" and m.dest == "/dev" for m in mounts):
        devices.create_devices(sys, rootfs, device_list, bind=user_ns)
        devices.setup_ptmx(sys, rootfs)
        devices.setup_dev_symlinks(sys, rootfs)


def _open_dir(path: str) -> int:
    return os.open(path, os.O_DIRECTORY | os.O_RDONLY | os.O_CLOEXEC)


def _fchdir(fd: int) -> None:
    os.fchdir(fd)


def pivot_root(sys: Syscalls, rootfs: str) -> None:
    """Step 2: make ``rootfs`` the root; the old root is detached (never seen again).

    pivot_root(".", ".") stacks the old root on top of the new one; we fchdir to it, make it
    rslave so the unmount cannot propagate to the host, and detach it.
    """
    try:
        old = _open_dir("/")
    except OSError as exc:
        raise error_from("pivot_root: open /", exc) from None
    try:
        sys.chdir(rootfs)
        sys.pivot_root(".", ".")
        _fchdir(old)
        sys.mount(None, ".", None, L.MS_SLAVE | L.MS_REC, None)
        sys.umount2(".", L.MNT_DETACH)
        sys.chdir("/")
    except OSError as exc:
        raise error_from(f'pivot_root to "{rootfs}"', exc) from None
    finally:
        os.close(old)


def chroot_root(sys: Syscalls, rootfs: str) -> None:
    """Step 2 for ``--no-pivot``: move the rootfs onto "/" and chroot into it.

    The host's proc and sysfs mounts would stay reachable in this mount namespace (and the
    kernel's mount checks for a new procfs look at them), so they are detached first.
    """
    rootfs = os.path.abspath(rootfs)
    try:
        sys.chdir(rootfs)
        for entry in mountinfo.read():
            if entry.fstype not in ("proc", "sysfs") or is_within(rootfs, entry.mountpoint):
                continue
            try:
                sys.mount(None, entry.mountpoint, None, L.MS_SLAVE | L.MS_REC, None)
                sys.umount2(entry.mountpoint, L.MNT_DETACH)
            except OSError as exc:
                if exc.errno in (errno.ENOENT,):  # gone with a parent detached before it
                    continue
                if exc.errno not in (errno.EINVAL, errno.EPERM):
                    raise
                sys.mount("tmpfs", entry.mountpoint, "tmpfs", 0, None)
        sys.mount(rootfs, "/", None, L.MS_MOVE, None)
        sys.chroot(".")
        sys.chdir("/")
    except OSError as exc:
        raise error_from(f'move the rootfs "{rootfs}" to "/"', exc) from None


def _remount_ro(sys: Syscalls, m: Mount, target: str) -> None:
    flags = (m.opts.flags & ~L.MS_REC) | L.MS_REMOUNT | L.MS_BIND | L.MS_RDONLY
    for attempt in range(5):
        try:
            sys.mount(None, target, None, flags, None)
            return
        except OSError as exc:
            if exc.errno != errno.EBUSY or attempt == 4:
                raise error_from(f"{m.name}: remount read-only", exc) from None
            time.sleep(0.1)


def finalize_rootfs(sys: Syscalls, config: dict[str, Any], *, root: str = "/") -> None:
    """Step 3, after pivot_root (``root`` is "/" except in tests).

    Remounts read-only the tmpfs and /dev mounts that asked for it, makes the root
    read-only if ``root.readonly``, then applies ``linux.readonlyPaths`` and
    ``linux.maskedPaths``; paths that do not exist are skipped.
    """
    root = os.path.abspath(root)
    prefix = "" if root == "/" else root
    for i, entry in enumerate(config.get("mounts") or []):
        m = parse_mount(i, entry)
        if m.kind != "bind" and m.opts.flags & L.MS_RDONLY and (
            m.kind == "tmpfs" or m.dest == "/dev"
        ):
            _remount_ro(sys, m, resolve_in_root(root, m.dest))
    if (config.get("root") or {}).get("readonly"):
        try:
            flags = L.MS_BIND | L.MS_REMOUNT | L.MS_RDONLY | mount_flags_of(root)
            sys.mount(None, root, None, flags, None)
        except OSError as exc:
            raise error_from('remount the root "/" read-only', exc) from None
    linux = config.get("linux") or {}
    for path in linux.get("readonlyPaths") or []:
        target = resolve_in_root(root, path)
        if not os.path.lexists(target):
            continue
        try:
            sys.mount(target, target, None, L.MS_BIND | L.MS_REC, None)
            flags = L.MS_BIND | L.MS_REMOUNT | L.MS_RDONLY | mount_flags_of(target)
            sys.mount(None, target, None, flags, None)
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise error_from(f'readonly path "{path}"', exc) from None
    for path in linux.get("maskedPaths") or []:
        target = resolve_in_root(root, path)
        if not os.path.lexists(target):
            continue
        try:
            if os.path.isdir(target):
                sys.mount("tmpfs", target, "tmpfs", L.MS_RDONLY, None)
            else:
                sys.mount(prefix + "/dev/null", target, None, L.MS_BIND, None)
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise error_from(f'masked path "{path}"', exc) from None

