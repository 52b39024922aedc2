"""Copy-up: an image's directory copied into an empty volume, as Docker fills a new volume.

:func:`copy_tree` copies everything under ``source`` into ``target`` keeping what a
non-root user of the container depends on: owners, modes (setuid/setgid/sticky too),
access and modification times, symlinks as symlinks, hard links as links, device nodes,
fifos and extended attributes where the file system has them. ``target`` itself takes
the owner, mode and times of ``source`` (so ``USER nobody`` can write a volume mounted on
a directory the image gave to nobody). Sockets are skipped. Nothing is followed out of
``source``: symlinks are copied, never read through.
"""

from __future__ import annotations

import os
import stat

CHUNK = 1 << 20


def _xattrs(src: str, dst: str) -> None:
    try:
        names = os.listxattr(src, follow_symlinks=False)
    except OSError:
        return
    for name in names:
        try:
            os.setxattr(dst, name, os.getxattr(src, name, follow_symlinks=False), follow_symlinks=False)
        except OSError:
            continue  # e.g. security.* the target file system refuses


def _meta(dst: str, st: os.stat_result, *, link: bool = False) -> None:
    os.chown(dst, st.st_uid, st.st_gid, follow_symlinks=False)
    if not link:
        os.chmod(dst, stat.S_IMODE(st.st_mode))  # after chown, which clears setuid bits
    os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)


def _copy_file(src: str, dst: str) -> None:
    fd_in = os.open(src, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        fd_out = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            while True:
                chunk = os.read(fd_in, CHUNK)
                if not chunk:
                    break
                view = memoryview(chunk)
                while view:
                    view = view[os.write(fd_out, view):]
        finally:
            os.close(fd_out)
    finally:
        os.close(fd_in)


def copy_tree(source: str, target: str) -> int:
    """Copy the contents of directory ``source`` into directory ``target``; the bytes copied."""
    links: dict[tuple[int, int], str] = {}
    copied = 0
    dirs: list[tuple[str, os.stat_result]] = []

    def walk(src_dir: str, dst_dir: str) -> None:
        nonlocal copied
        with os.scandir(src_dir) as it:
            entries = sorted(it, key=lambda e: e.name)
        for entry in entries:
            src = entry.path
            dst = os.path.join(dst_dir, entry.name)
            st = os.lstat(src)
            mode = st.st_mode
            if stat.S_ISDIR(mode):
                os.mkdir(dst, 0o700)
                walk(src, dst)
                dirs.append((dst, st))
                _xattrs(src, dst)
                continue
            key = (st.st_dev, st.st_ino)
            if st.st_nlink > 1 and not stat.S_ISDIR(mode) and key in links:
                os.link(links[key], dst, follow_symlinks=False)
                continue
            if stat.S_ISREG(mode):
                _copy_file(src, dst)
                copied += st.st_size
            elif stat.S_ISLNK(mode):
                os.symlink(os.readlink(src), dst)
            elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode):
                os.mknod(dst, mode, st.st_rdev)
            else:
                continue  # sockets
            links[key] = dst
            _xattrs(src, dst)
            _meta(dst, st, link=stat.S_ISLNK(mode))

    walk(source, target)
    for path, st in dirs:  # children first; times last: creating the children changed them
        _meta(path, st)
    _meta(target, os.lstat(source))
    return copied


def is_empty(path: str) -> bool:
    """Whether directory ``path`` has no entries (a missing one counts as empty)."""
    try:
        with os.scandir(path) as it:
            return next(it, None) is None
    except FileNotFoundError:
        return True
