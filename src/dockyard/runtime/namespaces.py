"""Namespaces of a container: which to create, which to join, and in what order.

The runtime's init joins namespaces given by path with setns(2) and creates the others with
unshare(2). The user namespace comes first (its uid/gid maps are written by the parent
while the child waits), the mount namespace is created in the child so that pivot_root
never touches the caller, and a new PID namespace only applies to children, so the init
forks once more after unshare.
"""

from __future__ import annotations

import os

from dockyard.errors import InvalidArgument, NotFound
from dockyard.runtime import linux

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from dockyard.runtime.syscalls import Syscalls

# setns order when joining: user first (it grants the rights for the rest), mount last
JOIN_ORDER = ("user", "ipc", "uts", "network", "pid", "cgroup", "time", "mount")


class NamespacePlan:
    """The namespaces of one container, split into those to join and those to create."""

    def __init__(self, namespaces: list[dict[str, Any]]) -> None:
        self.create: set[str] = set()
        self.join: dict[str, str] = {}
        for ns in namespaces:
            kind = ns.get("type", "")
            if kind not in linux.NAMESPACE_FLAGS:
                raise InvalidArgument(f"config.json: linux.namespaces: unknown type {kind!r}")
            path = ns.get("path") or ""
            if path:
                self.join[kind] = path
            else:
                self.create.add(kind)

    def has(self, kind: str) -> bool:
        return kind in self.create or kind in self.join

    def new(self, kind: str) -> bool:
        return kind in self.create

    def unshare_flags(self, exclude: tuple[str, ...] = ("user",)) -> int:
        flags = 0
        for kind in self.create:
            if kind not in exclude:
                flags |= linux.NAMESPACE_FLAGS[kind]
        return flags

    def open_joins(self) -> list[tuple[str, int]]:
        """Open every namespace path to join, in JOIN_ORDER; :func:`join` closes the fds."""
        return open_namespaces(self.join)


def open_namespaces(paths: dict[str, str]) -> list[tuple[str, int]]:
    """Open ``{type: path}`` in JOIN_ORDER; on failure close what was opened and raise."""
    fds: list[tuple[str, int]] = []
    try:
        for kind in JOIN_ORDER:
            path = paths.get(kind)
            if path is None:
                continue
            try:
                fds.append((kind, os.open(path, os.O_RDONLY | os.O_CLOEXEC)))
            except FileNotFoundError:
                raise NotFound(f"namespace {kind} path {path}: no such file") from None
    except BaseException:
        for _, fd in fds:
            os.close(fd)
        raise
    return fds


def join(sys: Syscalls, fds: list[tuple[str, int]], kinds: tuple[str, ...] | None = None) -> None:
    """setns into each opened namespace (optionally only those in ``kinds``) and close it."""
    for kind, fd in fds:
        if kinds is not None and kind not in kinds:
            continue
        try:
            sys.setns(fd, linux.NAMESPACE_FLAGS[kind])
        except OSError as exc:
            raise OSError(exc.errno, f"setns into {kind} namespace: {exc.strerror}") from None
        finally:
            os.close(fd)


def id_map_text(mappings: list[dict[str, Any]]) -> str:
    """The uid_map/gid_map file content for OCI id mappings."""
    return "".join(
        f"{int(m['containerID'])} {int(m['hostID'])} {int(m['size'])}\n" for m in mappings
    )


def write_id_maps(pid: int, linux_config: dict[str, Any]) -> None:
    """Write /proc/<pid>/uid_map and gid_map from the parent (one write each)."""
    for name, key in (("uid_map", "uidMappings"), ("gid_map", "gidMappings")):
        mappings = linux_config.get(key) or []
        if not mappings:
            continue
        path = f"/proc/{pid}/{name}"
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
        try:
            os.write(fd, id_map_text(mappings).encode())
        except OSError as exc:
            raise OSError(exc.errno, f"write {name}: {exc.strerror}") from None
        finally:
            os.close(fd)


def bring_up_loopback() -> None:
    """Set IFF_UP on ``lo`` in the current (new) network namespace, as runc does."""
    import _socket
    import fcntl

    siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 0x1
    sock = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM)
    try:
        req = b"lo".ljust(16, b"\0") + bytes(24)
        res = fcntl.ioctl(sock.fileno(), siocgifflags, req)
        flags = int.from_bytes(res[16:18], "little") | iff_up
        fcntl.ioctl(sock.fileno(), siocsifflags, res[:16] + flags.to_bytes(2, "little") + res[18:])
    finally:
        sock.close()
