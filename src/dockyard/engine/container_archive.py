"""``docker cp``'s archive operations on a container's root filesystem.

- :func:`container_root`: the container's root while the caller works in it: a running
  container's is its init's ``/proc/<pid>/root`` (its mount namespace: bind mounts
  included); a stopped one's snapshot is mounted read-write on a private temporary
  directory under the engine's mount dir, unmounted and removed afterwards.
- container paths are resolved inside the root with :func:`dockyard.engine.scoped.resolve_in_scope`
  (dockerd's ``FollowSymlinkInScope``: symlinks followed as if the root were ``/``).
- :func:`resolve_path`: dockerd's ``ResolvePath``: the parents followed, the last element
  not (unless the path ends with ``/`` or ``/.``).
- :func:`path_stat`: the ``X-Docker-Container-Path-Stat`` document (Go FileMode bits).
- :func:`write_tar`: a tar of a path, its top entry renamed after the requested basename.
- :func:`extract`: an untrusted tar into a directory through the layer applier's checks
  (nothing written outside it); whiteout names are refused rather than applied.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import json
import os
import posixpath
import stat
import subprocess
import sys
import tarfile
from collections.abc import AsyncIterator
from typing import IO, Any

from dockyard.containerd.archive.names import WHITEOUT_PREFIX
from dockyard.engine import container_rootfs as rootfs
from dockyard.engine.containers import ContainerService, Live
from dockyard.engine.scoped import resolve_in_scope
from dockyard.errors import InvalidArgument, NotFound

# Go's os.FileMode type bits
MODE_DIR = 1 << 31
MODE_SYMLINK = 1 << 27
MODE_DEVICE = 1 << 26
MODE_PIPE = 1 << 25
MODE_SOCKET = 1 << 24
MODE_SETUID = 1 << 23
MODE_SETGID = 1 << 22
MODE_CHARDEV = 1 << 21
MODE_STICKY = 1 << 20


def not_found(path: str, live: Live) -> NotFound:
    return NotFound(f"Could not find the file {path} in container {live.container.short_name}")


@contextlib.asynccontextmanager
async def container_root(service: ContainerService, live: Live) -> AsyncIterator[str]:
    """The container's root directory, valid inside the ``async with``."""
    async with live.lock:
        if live.container.state.running and live.task_pid > 0:
            root = f"/proc/{live.task_pid}/root"
            if os.path.isdir(root):
                yield root
                return
        c = live.container
        mounts = await rootfs.mounts(service.sv, c.snapshot_key or c.id)
        async with rootfs.mounted_at(mounts, service.mount_dir, "dockyard-cp-") as path:
            yield path



def resolve_path(root: str, path: str) -> str:
    """dockerd's ResolvePath: the parents followed in scope, the last element kept as is."""
    clean = posixpath.normpath("/" + path)
    if path.endswith("/") or path.endswith("/.") or clean == "/":
        return resolve_in_scope(root, clean)
    parent, base = posixpath.split(clean)
    return os.path.join(resolve_in_scope(root, parent), base)


def go_mode(st: os.stat_result) -> int:
    mode = st.st_mode & 0o777
    kind = stat.S_IFMT(st.st_mode)
    mode |= {stat.S_IFDIR: MODE_DIR, stat.S_IFLNK: MODE_SYMLINK, stat.S_IFIFO: MODE_PIPE,
             stat.S_IFSOCK: MODE_SOCKET, stat.S_IFBLK: MODE_DEVICE,
             stat.S_IFCHR: MODE_DEVICE | MODE_CHARDEV}.get(kind, 0)
    if st.st_mode & stat.S_ISUID:
        mode |= MODE_SETUID
    if st.st_mode & stat.S_ISGID:
        mode |= MODE_SETGID
    if st.st_mode & stat.S_ISVTX:
        mode |= MODE_STICKY
    return mode


def rfc3339(ns: int) -> str:
    when = datetime.datetime.fromtimestamp(ns // 1_000_000_000, datetime.UTC)
    frac = ns % 1_000_000_000
    text = when.strftime("%Y-%m-%dT%H:%M:%S")
    if frac:
        text += "." + f"{frac:09d}".rstrip("0")
    return text + "Z"


def _lstat(root: str, resolved: str) -> os.stat_result:
    """lstat of a path inside ``root``; the root itself followed (a running container's
    ``/proc/<pid>/root`` is a magic link to its directory)."""
    return os.stat(root) if resolved == root else os.lstat(resolved)


def path_stat(root: str, path: str, live: Live) -> tuple[str, dict[str, Any]]:
    """(the resolved host path, the stat document) of container ``path``; NotFound if missing."""
    resolved = resolve_path(root, path)
    try:
        st = _lstat(root, resolved)
    except (FileNotFoundError, NotADirectoryError):
        raise not_found(path, live) from None
    link = ""
    if stat.S_ISLNK(st.st_mode):
        target = resolve_in_scope(root, posixpath.normpath("/" + path))
        link = "/" + os.path.relpath(target, root).lstrip("./") if target != root else "/"
    name = posixpath.basename(posixpath.normpath("/" + path)) or "/"
    if resolved == root:
        resolved = os.path.join(root, "")  # "/proc/<pid>/root/": tar lstats through the link
    doc = {"name": name, "size": st.st_size, "mode": go_mode(st), "mtime": rfc3339(st.st_mtime_ns),
           "linkTarget": link}
    return resolved, doc


def stat_header(doc: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(doc).encode()).decode()


# the kernel's file systems a running container has mounted there: their directories go
# into an archive, their contents not (dockerd archives the root file system, where
# nothing is mounted on them)
KERNEL_MOUNTS = ("proc", "sys", "dev")


def write_tar(resolved: str, path: str, out: IO[bytes], root: str = "") -> None:
    """A tar of ``resolved`` (not following its symlinks), the top entry named after ``path``;
    under ``root`` (the container's), the contents of /proc, /sys and /dev left out."""
    clean = posixpath.normpath("/" + path)
    base = posixpath.basename(clean) or "."
    if path.endswith("/.") and base != ".":
        base = "."
    skipped = {os.path.join(root, name) for name in KERNEL_MOUNTS} if root else set()
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        _add(tar, resolved, base, skipped)


def _add(tar: tarfile.TarFile, host: str, arcname: str, skipped: set[str]) -> None:
    try:
        tar.add(host, arcname=arcname, recursive=False)
    except FileNotFoundError:
        return  # gone meanwhile (a running container changes its files)
    if stat.S_ISDIR(os.lstat(host).st_mode) and host.rstrip("/") not in skipped:
        try:
            names = sorted(os.listdir(host))
        except FileNotFoundError:
            return
        for name in names:
            _add(tar, os.path.join(host, name), f"{arcname}/{name}", skipped)


def _check_entries(spool: IO[bytes], dest: str, no_overwrite_dir_non_dir: bool) -> None:
    with tarfile.open(fileobj=spool, mode="r|*") as tar:
        for member in tar:
            name = member.name
            if posixpath.basename(name.rstrip("/")).startswith(WHITEOUT_PREFIX):
                raise InvalidArgument(f"unsupported file name in archive: {name}")
            if not no_overwrite_dir_non_dir:
                continue
            rel = posixpath.normpath("/" + name).lstrip("/")
            if not rel:
                continue
            try:
                st = os.lstat(os.path.join(dest, rel))
            except OSError:
                continue
            if stat.S_ISDIR(st.st_mode) and not member.isdir():
                raise InvalidArgument(f"cannot overwrite directory {name!r} with non-directory")
            if not stat.S_ISDIR(st.st_mode) and member.isdir():
                raise InvalidArgument(f"cannot overwrite non-directory {name!r} with directory")
    spool.seek(0)


def extract(root: str, path: str, live: Live, spool: IO[bytes], no_overwrite_dir_non_dir: bool,
            copy_uid_gid: bool) -> None:
    """Extract the tar in ``spool`` into container directory ``path``."""
    dest = resolve_in_scope(root, posixpath.normpath("/" + path))
    try:
        st = _lstat(root, dest)
    except (FileNotFoundError, NotADirectoryError):
        raise not_found(path, live) from None
    if not stat.S_ISDIR(st.st_mode):
        raise InvalidArgument("extraction point is not a directory")
    try:
        _check_entries(spool, dest, no_overwrite_dir_non_dir)
    except tarfile.TarError as exc:
        raise InvalidArgument(f"invalid tar archive: {exc}") from None
    inside = "/" + os.path.relpath(dest, root) if dest != root else "/"
    proc = subprocess.run([sys.executable, "-c", _CHROOT_APPLY, root, inside, "1" if copy_uid_gid else "0"],
                          stdin=spool, capture_output=True, check=False)
    if proc.returncode != 0:
        raise InvalidArgument(proc.stderr.decode(errors="replace").strip().splitlines()[-1:][0]
                              if proc.stderr.strip() else "extracting the archive failed")


# Applied chrooted in the container's root: a path the applier resolves (``realpath``) can
# never lead out of it, even through /proc/<pid>/root.
_CHROOT_APPLY = """
import os, sys, gzip, zlib
from dockyard.containerd.archive import apply, compression, fsops, names, resolve, stream, tarread, whiteouts
from dockyard.errors import DockyardError
root, dest, owners = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
os.chroot(root)
os.chdir("/")
apply._check_root = lambda top: os.path.realpath(os.fspath(top))  # "/" is the container's root here
try:
    apply.apply_layer(sys.stdin.buffer, dest, compression="auto", same_owner=owners)
except DockyardError as exc:
    sys.stderr.write(str(exc) + "\\n")
    sys.exit(1)
"""
