"""Where an entry lands: parent directories resolved inside the root, never outside it.

:class:`Dirs` maps the cleaned parent path of an entry to a host directory below the root.
Each component is looked at with ``lstat``; a symlink is followed the way the container
will see it after pivot_root (an absolute target restarts at the root, ``..`` never climbs
above it), as containerd's ``fs.RootPath`` does, so a hostile ``evil -> /`` followed by
``evil/etc/passwd`` writes the root's own ``etc/passwd``, never the host's. Missing
components are created as directories (0755, or with the attributes of the same directory
in the lower layers when applying into an overlay upper dir, as containerd's ``mkparent``).

Results are cached by entry path; the applier calls :meth:`Dirs.forget` whenever it
removes a directory or a symlink, the only changes that can alter a cached resolution.
Every cached path is made of real directories only, so later path-based calls cannot be
redirected: the final component is always created or opened with O_NOFOLLOW/O_EXCL
semantics by the caller.

:func:`link_target` checks a hardlink's target: inside the root, reached without any
symlink, existing, and not a directory.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence

from dockyard.containerd.archive.names import clean, entry_error
from dockyard.containerd.archive.tarread import show

MAX_LINKS = 40  # as the kernel (ELOOP)


class Dirs:
    """Host directories for entry parent paths, resolved chroot-style and created on demand."""

    def __init__(self, root: str, parents: Sequence[str] = (), same_owner: bool = True) -> None:
        self.root = root
        self._parents = tuple(parents)
        self._same_owner = same_owner
        self._cache: dict[str, str] = {}
        self.created = 0

    def get(self, rel: str, entry: str) -> str:
        """The host directory of cleaned relative path ``rel`` ("" is the root)."""
        if not rel:
            return self.root
        path = self._cache.get(rel)
        if path is None:
            path = self._walk(rel, entry)
            self._cache[rel] = path
        return path

    def remember(self, rel: str, path: str) -> None:
        """``rel`` is the real directory ``path`` (just created or merged by the applier)."""
        self._cache[rel] = path

    def forget(self) -> None:
        self._cache.clear()

    def _walk(self, rel: str, entry: str) -> str:
        root = self.root
        parts: list[str] = []
        pending = rel.split("/")
        pending.reverse()
        links = 0
        while pending:
            comp = pending.pop()
            if not comp or comp == ".":
                continue
            if comp == "..":
                if parts:
                    parts.pop()
                continue
            parts.append(comp)
            path = root + "/" + "/".join(parts)
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                self._mkdir(path, "/".join(parts))
                continue
            mode = st.st_mode
            if stat.S_ISDIR(mode):
                continue
            if not stat.S_ISLNK(mode):
                raise entry_error(entry, f'parent "{show("/".join(parts))}" is not a directory')
            links += 1
            if links > MAX_LINKS:
                raise entry_error(entry, "too many levels of symbolic links in the parent path")
            target = os.readlink(path)
            parts.pop()
            if target.startswith("/"):
                parts = []
            more = target.split("/")
            more.reverse()
            pending.extend(more)
        return root + "/" + "/".join(parts) if parts else root

    def _mkdir(self, path: str, rel: str) -> None:
        os.mkdir(path, 0o755)
        self.created += 1
        for lower in self._parents:
            try:
                st = os.lstat(lower + "/" + rel)
            except (FileNotFoundError, NotADirectoryError):
                continue
            if stat.S_ISDIR(st.st_mode):
                _copy_dir_info(lower + "/" + rel, st, path, self._same_owner)
                return
            break  # replaced by a non-directory in that layer: defaults
        os.chmod(path, 0o755)  # not subject to the umask


def _copy_dir_info(src: str, st: os.stat_result, dst: str, same_owner: bool) -> None:
    if same_owner:
        os.chown(dst, st.st_uid, st.st_gid, follow_symlinks=False)
    os.chmod(dst, stat.S_IMODE(st.st_mode))
    try:
        keys = os.listxattr(src, follow_symlinks=False)
    except OSError:
        keys = []
    for key in keys:
        if key.startswith("trusted."):
            continue
        try:
            os.setxattr(dst, key, os.getxattr(src, key, follow_symlinks=False), follow_symlinks=False)
        except OSError:
            continue
    os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)


def link_target(root: str, linkname: str, entry: str) -> str:
    """The host path a hardlink entry links to; InvalidArgument unless it is safe to link."""
    rel = clean(linkname, entry, "hardlink target")
    if not rel:
        raise entry_error(entry, "hardlink to the root directory")
    comps = rel.split("/")
    path = root
    for comp in comps[:-1]:
        path = path + "/" + comp
        try:
            st = os.lstat(path)
        except (FileNotFoundError, NotADirectoryError):
            raise entry_error(entry, f'hardlink target "{show(linkname)}" does not exist') from None
        if stat.S_ISLNK(st.st_mode):
            raise entry_error(entry, f'hardlink target "{show(linkname)}" passes through a symlink')
        if not stat.S_ISDIR(st.st_mode):
            raise entry_error(entry, f'hardlink target "{show(linkname)}" does not exist')
    path = path + "/" + comps[-1]
    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        raise entry_error(entry, f'hardlink target "{show(linkname)}" does not exist') from None
    if stat.S_ISDIR(st.st_mode):
        raise entry_error(entry, f'hardlink target "{show(linkname)}" is a directory')
    return path
