"""Device nodes and the standard links of a container's /dev (OCI config-linux "Devices").

Called by :func:`dockyard.runtime.rootfs.prepare_rootfs` before pivot_root, when /dev is
not a bind mount of the host. The default devices (null, zero, full, random, urandom, tty;
``crw-rw-rw-`` root:root) come first unless ``linux.devices`` names the same path, then
``linux.devices`` in order. Nodes are made with mknod; in a user namespace (where mknod
gives EPERM) an empty file is bound over by the host's node of the same path instead, and
a plain EPERM from mknod falls back to the same. Paths are resolved inside the rootfs.

As runc 1.1: a relative ``path`` is taken from the rootfs' top (``dev/foo`` is /dev/foo,
``foo`` is /foo), an entry without a path makes no node, a missing ``major`` or ``minor``
is 0, a default device is replaced only by an entry with exactly its path string
(``/dev//null`` does not replace /dev/null, and then finds it already made), and a node
that exists already is left alone (the first entry for a path wins).
"""

from __future__ import annotations

import errno
import os
import stat

from dockyard.errors import Internal, InvalidArgument, PermissionDenied
from dockyard.runtime import linux as L
from dockyard.runtime.paths import resolve_in_root
from dockyard.runtime.syscalls import Syscalls

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class Device:
    """One device node to create: ``kind`` is c, b, u or p."""

    __slots__ = ("gid", "kind", "major", "minor", "mode", "path", "uid")

    def __init__(
        self, path: str, kind: str, major: int, minor: int, mode: int = 0o666, uid: int = 0,
        gid: int = 0,
    ) -> None:
        self.path = path
        self.kind = kind
        self.major = major
        self.minor = minor
        self.mode = mode
        self.uid = uid
        self.gid = gid

    def __repr__(self) -> str:
        return f"Device({self.path!r}, {self.kind!r}, {self.major}, {self.minor}, {self.mode:#o})"

    @property
    def st_mode(self) -> int:
        fmt = {"c": stat.S_IFCHR, "u": stat.S_IFCHR, "b": stat.S_IFBLK, "p": stat.S_IFIFO}
        return fmt[self.kind] | self.mode


DEFAULT_DEVICES = (
    Device("/dev/null", "c", 1, 3),
    Device("/dev/zero", "c", 1, 5),
    Device("/dev/full", "c", 1, 7),
    Device("/dev/random", "c", 1, 8),
    Device("/dev/urandom", "c", 1, 9),
    Device("/dev/tty", "c", 5, 0),
)

# (link target, name in /dev)
DEV_SYMLINKS = (
    ("/proc/self/fd", "fd"),
    ("/proc/self/fd/0", "stdin"),
    ("/proc/self/fd/1", "stdout"),
    ("/proc/self/fd/2", "stderr"),
)


def _int(entry: dict[str, Any], key: str, where: str, default: int = 0) -> int:
    value = entry.get(key)
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InvalidArgument(f"{where}.{key}: must be a non-negative integer")
    return value


def parse_devices(entries: list[dict[str, Any]] | None) -> list[Device]:
    """The default devices not overridden by path, then ``linux.devices`` validated."""
    result: list[Device] = []
    given: list[Device] = []
    paths: set[str] = set()
    for i, entry in enumerate(entries or []):
        where = f"linux.devices[{i}]"
        if not isinstance(entry, dict):
            raise InvalidArgument(f"{where}: must be an object")
        path = entry.get("path")
        if path is None:
            path = ""
        if not isinstance(path, str):
            raise InvalidArgument(f"{where}.path: must be a string")
        kind = entry.get("type")
        if kind not in ("c", "b", "u", "p"):
            raise InvalidArgument(f"{where}.type: must be one of c, b, u, p (got {kind!r})")
        major = _int(entry, "major", where)
        minor = _int(entry, "minor", where)
        mode = _int(entry, "fileMode", where, 0o666) & 0o7777
        uid = _int(entry, "uid", where)
        gid = _int(entry, "gid", where)
        if not path:
            continue  # runc: only there for the device cgroup, no node to make
        paths.add(path)
        absolute = path if path.startswith("/") else "/" + path  # resolved in the rootfs later
        given.append(Device(absolute, kind, major, minor, mode, uid, gid))
    result.extend(d for d in DEFAULT_DEVICES if d.path not in paths)
    result.extend(given)
    return result


_INVALID = (
    errno.EINVAL, errno.ENOENT, errno.ENOTDIR, errno.EEXIST, errno.EISDIR, errno.ENODEV,
    errno.ELOOP,
)


def error_from(what: str, exc: OSError) -> Exception:
    """A dockyard error for a failed call: ``<what>: <strerror>``, classed by errno."""
    err = exc.errno or 0
    text = os.strerror(err).lower() if err else str(exc)
    msg = f"{what}: {text}"
    if err in (errno.EPERM, errno.EACCES):
        return PermissionDenied(msg)
    if err in _INVALID:
        return InvalidArgument(msg)
    return Internal(msg)


def _bind_node(sys: Syscalls, dev: Device, dest: str) -> None:
    try:
        sys.touch(dest, 0o644)
        sys.mount(dev.path, dest, None, L.MS_BIND, None)
    except OSError as exc:
        raise error_from(f'device "{dev.path}": bind mount from the host', exc) from None


def create_devices(sys: Syscalls, rootfs: str, devices: list[Device], *, bind: bool) -> None:
    """Create every node under ``rootfs`` (mknod, or bind mounts when ``bind``)."""
    for dev in devices:
        dest = resolve_in_root(rootfs, dev.path)
        if dest == os.path.abspath(rootfs):
            raise InvalidArgument(f'device "{dev.path}": resolves to the root')
        try:
            sys.mkdir_p(os.path.dirname(dest), 0o755)
        except OSError as exc:
            raise error_from(f'device "{dev.path}": mkdir {os.path.dirname(dest)}', exc) from None
        if bind:
            _bind_node(sys, dev, dest)
            continue
        try:
            sys.mknod(dest, dev.st_mode, os.makedev(dev.major, dev.minor))
        except FileExistsError:
            continue
        except PermissionError:
            _bind_node(sys, dev, dest)
            continue
        except OSError as exc:
            raise error_from(f'device "{dev.path}": mknod', exc) from None
        try:
            sys.chmod(dest, dev.mode)  # mknod's mode passed through the umask
            sys.chown(dest, dev.uid, dev.gid)
        except OSError as exc:
            raise error_from(f'device "{dev.path}": chmod/chown', exc) from None


def setup_ptmx(sys: Syscalls, rootfs: str) -> None:
    """/dev/ptmx -> pts/ptmx, so the container's devpts instance serves its ptys."""
    dest = resolve_in_root(rootfs, "/dev") + "/ptmx"
    try:
        if os.path.lexists(dest):
            os.unlink(dest)  # the image's own node or link; Syscalls has no unlink yet
        sys.symlink("pts/ptmx", dest)
    except OSError as exc:
        raise error_from('symlink "/dev/ptmx"', exc) from None


def setup_dev_symlinks(sys: Syscalls, rootfs: str) -> None:
    """/dev/fd, stdin, stdout, stderr (and core if the kernel has /proc/kcore)."""
    devdir = resolve_in_root(rootfs, "/dev")
    links = list(DEV_SYMLINKS)
    if os.path.exists("/proc/kcore"):
        links.append(("/proc/kcore", "core"))
    for target, name in links:
        try:
            sys.symlink(target, devdir + "/" + name)
        except FileExistsError:
            continue
        except OSError as exc:
            raise error_from(f'symlink "/dev/{name}"', exc) from None
