"""The file-system side of applying one tar entry: create, replace, set owner/mode/xattrs/times.

Every creation is exclusive and never follows a symlink at the final component
(``O_CREAT|O_EXCL|O_NOFOLLOW``, ``mkdir``, ``symlink``, ``mknod``, ``link`` without
``AT_SYMLINK_FOLLOW``); an existing path is removed first unless both it and the entry are
directories (the OCI spec's "changeset over existing files"), and a directory is removed
with ``shutil.rmtree``, which does not follow symlinks. Owners are set before the mode
(chown clears setuid/setgid) and before xattrs (chown clears ``security.capability``).

Extended attributes follow containerd: ``trusted.*`` from an archive is never set (it
would let a layer forge overlayfs whiteouts, opaque dirs or redirects), unsupported ones
(ENOTSUP) are skipped with a warning, and so are ``security.*`` attributes the host
refuses (EPERM/EACCES, or EINVAL for a label the host does not know) and ``user.*`` on
files that cannot carry them.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import stat

from dockyard.containerd.archive.stream import Blocks

log = logging.getLogger("dockyard.containerd.archive")

FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_SKIP_ANY = (errno.ENOTSUP, errno.EOPNOTSUPP)
_SKIP_SECURITY = (errno.EPERM, errno.EACCES, errno.EINVAL)
_userns: bool | None = None


def in_user_namespace() -> bool:
    """True inside a user namespace (no mknod of devices there; containerd skips them)."""
    global _userns
    if _userns is None:
        try:
            with open("/proc/self/uid_map") as f:
                _userns = f.read().split() != ["0", "0", "4294967295"]
        except OSError:
            _userns = False
    return _userns


def remove(path: str) -> bool:
    """Remove whatever is at ``path``; True if it was a directory or a symlink (or nothing)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(path)
        return True
    os.unlink(path)
    return stat.S_ISLNK(st.st_mode)


def write_all(fd: int, blocks: Blocks, size: int) -> None:
    """Copy ``size`` bytes of entry data from ``blocks`` to ``fd``."""
    write = os.write
    for piece in blocks.pieces(size):
        while piece:
            done = write(fd, piece)
            piece = piece[done:]


def set_xattrs(target: str | int, xattrs: dict[str, bytes], name: str, regular_or_dir: bool) -> None:
    """Set ``xattrs`` on a path (not followed) or an open fd, skipping what containerd skips."""
    for key, value in xattrs.items():
        if key.startswith("trusted."):
            log.warning("layer entry %r: ignored xattr %s (trusted.* is not set from an archive)", name, key)
            continue
        try:
            if isinstance(target, int):
                os.setxattr(target, key, value)
            else:
                os.setxattr(target, key, value, follow_symlinks=False)
        except OSError as exc:
            skip = exc.errno in _SKIP_ANY
            skip = skip or (key.startswith("security.") and exc.errno in _SKIP_SECURITY)
            skip = skip or (key.startswith("user.") and exc.errno == errno.EPERM and not regular_or_dir)
            if not skip:
                raise
            log.warning("layer entry %r: ignored xattr %s: %s", name, key, exc.strerror)


def finish_dir(root: str, path: str, mode: int, times: tuple[int, int], careful: bool) -> None:
    """Mode and times of directory ``path`` once its content is in; nothing if it is gone.

    With ``careful`` (something was removed or replaced during the apply, so a component
    of ``path`` may have become a symlink) the directory is reached one component at a
    time with O_NOFOLLOW from ``root``.
    """
    try:
        fd = _open_beneath(root, path[len(root) + 1 :]) if careful else os.open(path, DIR_FLAGS)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
            return  # removed or replaced later in the same layer
        raise
    try:
        os.fchmod(fd, mode)
        os.utime(fd, ns=times)
    finally:
        os.close(fd)


def _open_beneath(root: str, rel: str) -> int:
    fd = os.open(root, DIR_FLAGS)
    try:
        for comp in rel.split("/"):
            nxt = os.open(comp, DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = nxt
    except BaseException:
        os.close(fd)
        raise
    return fd
