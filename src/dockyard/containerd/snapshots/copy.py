"""Copy a snapshot tree faithfully (the native snapshotter's ``prepare``).

Kept: file types (regular files, directories, symlinks, character and block devices, fifos,
sockets), owners, modes (setuid/setgid/sticky too), extended attributes (``security.*``,
``trusted.*``, ``user.*``, POSIX ACLs), hard links (one inode stays one inode), and access and
modification times in nanoseconds (directories after their contents).

File data: a reflink (``FICLONE``) where the file system shares extents, else
``copy_file_range``, else ``sendfile`` (``copy_file_range`` says EXDEV across file systems,
e.g. ext4 to tmpfs), else read/write. Metadata order matters: chown clears setuid bits and
file capabilities, so the mode and the xattrs are written after it.
"""

from __future__ import annotations

import errno
import os
import stat

FICLONE = 0x40049409
_CHUNK = 1 << 30
_FALLBACK = (errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP, errno.EINVAL, errno.ENOTTY)


def _clone(src_fd: int, dst_fd: int) -> bool:
    import fcntl

    try:
        fcntl.ioctl(dst_fd, FICLONE, src_fd)
    except OSError as exc:
        if exc.errno in _FALLBACK:
            return False
        raise
    return True


def _copy_range(src_fd: int, dst_fd: int) -> bool:
    """copy_file_range until EOF; False (nothing written) if the kernel will not do it here."""
    done = 0
    while True:
        try:
            n = os.copy_file_range(src_fd, dst_fd, _CHUNK)
        except OSError as exc:
            if done == 0 and exc.errno in _FALLBACK:
                return False
            raise
        if n == 0:
            return True
        done += n


def _sendfile(src_fd: int, dst_fd: int) -> bool:
    offset = 0
    while True:
        try:
            n = os.sendfile(dst_fd, src_fd, offset, _CHUNK)
        except OSError as exc:
            if offset == 0 and exc.errno in (errno.EINVAL, errno.ENOSYS):
                return False
            raise
        if n == 0:
            return True
        offset += n


def copy_data(src_fd: int, dst_fd: int, size: int) -> None:
    """Copy the bytes of one regular file (the destination is empty, at offset 0)."""
    if size == 0:
        return
    if _clone(src_fd, dst_fd) or _copy_range(src_fd, dst_fd):
        return
    os.lseek(src_fd, 0, os.SEEK_SET)
    os.lseek(dst_fd, 0, os.SEEK_SET)
    if _sendfile(src_fd, dst_fd):
        return
    while chunk := os.read(src_fd, 1 << 20):
        os.write(dst_fd, chunk)


def copy_xattrs(src: str, dst: str) -> None:
    try:
        names = os.listxattr(src, follow_symlinks=False)
    except OSError as exc:
        if exc.errno in (errno.ENOTSUP, errno.EOPNOTSUPP):
            return
        raise
    for name in names:
        try:
            value = os.getxattr(src, name, follow_symlinks=False)
        except OSError as exc:
            if exc.errno == errno.ENODATA:  # removed meanwhile
                continue
            raise
        os.setxattr(dst, name, value, follow_symlinks=False)


def copy_metadata(src: str, dst: str, st: os.stat_result) -> None:
    """Owner, mode, xattrs and times of ``src`` onto ``dst`` (in that order)."""
    link = stat.S_ISLNK(st.st_mode)
    os.chown(dst, st.st_uid, st.st_gid, follow_symlinks=False)
    if not link:
        os.chmod(dst, stat.S_IMODE(st.st_mode))
    copy_xattrs(src, dst)
    os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)


class TreeCopier:
    """One copy of one tree; remembers inodes with several links to keep them shared."""

    def __init__(self) -> None:
        self.links: dict[tuple[int, int], str] = {}

    def copy(self, src: str, dst: str, *, dst_exists: bool = False) -> None:
        """Copy the tree at directory ``src`` to ``dst`` (created, or an existing empty dir)."""
        st = os.lstat(src)
        if not stat.S_ISDIR(st.st_mode):
            raise NotADirectoryError(errno.ENOTDIR, f"copy {src}: not a directory")
        if not dst_exists:
            os.mkdir(dst, 0o700)
        self._copy_dir(src, dst, st)

    def _copy_dir(self, src: str, dst: str, st: os.stat_result) -> None:
        with os.scandir(src) as it:
            entries = list(it)
        for entry in entries:
            self._copy_entry(entry.path, os.path.join(dst, entry.name), entry.stat(follow_symlinks=False))
        copy_metadata(src, dst, st)

    def _copy_entry(self, src: str, dst: str, st: os.stat_result) -> None:
        mode = st.st_mode
        if stat.S_ISDIR(mode):
            os.mkdir(dst, 0o700)
            self._copy_dir(src, dst, st)
            return
        ident = (st.st_dev, st.st_ino)
        if st.st_nlink > 1 and not stat.S_ISDIR(mode):
            first = self.links.get(ident)
            if first is not None:
                os.link(first, dst, follow_symlinks=False)
                return
            self.links[ident] = dst
        if stat.S_ISREG(mode):
            self._copy_file(src, dst, st)
        elif stat.S_ISLNK(mode):
            os.symlink(os.readlink(src), dst)
        elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
            os.mknod(dst, stat.S_IFMT(mode) | 0o600, st.st_rdev)
        else:
            raise OSError(errno.EINVAL, f"copy {src}: unknown file type {stat.S_IFMT(mode):o}")
        copy_metadata(src, dst, st)

    def _copy_file(self, src: str, dst: str, st: os.stat_result) -> None:
        src_fd = os.open(src, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
        try:
            dst_fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
            try:
                copy_data(src_fd, dst_fd, st.st_size)
            finally:
                os.close(dst_fd)
        finally:
            os.close(src_fd)


def copy_tree(src: str, dst: str, *, dst_exists: bool = False) -> None:
    """Copy directory ``src`` to ``dst`` keeping everything (see the module docstring)."""
    TreeCopier().copy(src, dst, dst_exists=dst_exists)
