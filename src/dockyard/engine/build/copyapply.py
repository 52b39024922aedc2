"""A COPY plan applied into an image's root filesystem, never outside it.

The root is untrusted: earlier layers may hold symlinks anywhere (``/etc -> /host/etc``,
``/app -> /``). Every destination is resolved inside the root like a chroot would
(:class:`~dockyard.engine.scoped.ScopedRoot`: directory descriptors, ``O_NOFOLLOW``),
and what is written replaces what is there instead of writing through it: a symlink at the
final name is removed, never followed; a symlink inside a copied directory's destination
tree is replaced by the directory.

Ownership: every copied entry and every directory the copy creates belongs to ``owner``
(0:0 unless ``--chown``; :func:`parse_chown` resolves names through the root's own
``/etc/passwd`` and ``/etc/group``; a user without a group uses the same string for the
group, as dockerd). ``--chmod`` (:func:`parse_chmod`, octal) replaces the mode of every
copied entry; otherwise the source's permission bits are kept. Modification times are kept.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable

from dockyard.engine.build.copyplan import CopyItem, CopyPlan
from dockyard.engine.scoped import ScopedRoot, chown_at, chown_fd
from dockyard.errors import Internal, InvalidArgument

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_CHUNK = 1 << 20

Owner = tuple[int, int]


def parse_chmod(spec: str) -> int:
    """``--chmod``'s octal mode (e.g. ``755``, ``0644``)."""
    if not spec or any(c not in "01234567" for c in spec) or int(spec, 8) > 0o7777:
        raise InvalidArgument(f"invalid chmod parameter: {spec!r}: must be an octal mode")
    return int(spec, 8)


def _lookup(table: bytes | None, name: str) -> int | None:
    """The id of ``name`` in a passwd/group file's content (field 3), None when absent."""
    for line in (table or b"").decode("utf-8", "replace").splitlines():
        fields = line.split(":")
        if len(fields) >= 3 and fields[0] == name:
            try:
                return int(fields[2])
            except ValueError:
                return None
    return None


def parse_chown(spec: str, root: str) -> Owner:
    """``--chown=user[:group]`` as (uid, gid); names resolved through ``root``'s files."""
    parts = spec.split(":")
    if len(parts) > 2:
        raise InvalidArgument(f"invalid chown string format: {spec}")
    user, group = parts[0], parts[-1]
    prefix = "unable to convert uid/gid chown string to host mapping"
    with ScopedRoot(root) as scoped:
        uid = _numeric(user)
        if uid is None:
            uid = _lookup(scoped.read_file("/etc/passwd"), user)
            if uid is None:
                raise InvalidArgument(f"{prefix}: can't find uid for user {user}: no such user: {user}")
        gid = _numeric(group)
        if gid is None:
            gid = _lookup(scoped.read_file("/etc/group"), group)
            if gid is None:
                raise InvalidArgument(f"{prefix}: can't find gid for group {group}: no such group: {group}")
    return uid, gid


def _numeric(value: str) -> int | None:
    if value.isdigit():
        number = int(value)
        if number < 2**32:
            return number
    return None


class _Copier:
    def __init__(self, scoped: ScopedRoot, owner: Owner, mode: int | None) -> None:
        self.scoped = scoped
        self.owner = owner
        self.mode = mode
        self.written = 0

    def _clear(self, parent: int, name: str, dest: str, keep_dir: bool) -> bool:
        """Remove a non-directory at ``name``; whether a directory is there (kept)."""
        try:
            st = os.stat(name, dir_fd=parent, follow_symlinks=False)
        except FileNotFoundError:
            return False
        if stat.S_ISDIR(st.st_mode):
            if keep_dir:
                return True
            raise InvalidArgument(f"cannot overwrite directory {dest} with non-directory")
        os.unlink(name, dir_fd=parent)
        return False

    def copy_file(self, src: str, st: os.stat_result, parent: int, name: str, dest: str) -> None:
        self._clear(parent, name, dest, keep_dir=False)
        with open(src, "rb", opener=lambda p, f: os.open(p, f | os.O_NOFOLLOW | os.O_CLOEXEC)) as source:
            fd = os.open(name, _NEW_FILE, 0o600, dir_fd=parent)
            try:
                while True:
                    chunk = source.read(_CHUNK)
                    if not chunk:
                        break
                    view = memoryview(chunk)
                    while view:
                        view = view[os.write(fd, view):]
                self._finish(fd, st)
            finally:
                os.close(fd)
        self.written += 1

    def _finish(self, fd: int, st: os.stat_result) -> None:
        chown_fd(fd, *self.owner)  # before chmod: chown clears set-id bits
        os.fchmod(fd, self.mode if self.mode is not None else stat.S_IMODE(st.st_mode))
        os.utime(fd, ns=(st.st_atime_ns, st.st_mtime_ns))

    def copy_symlink(self, src: str, st: os.stat_result, parent: int, name: str, dest: str) -> None:
        self._clear(parent, name, dest, keep_dir=False)
        os.symlink(os.readlink(src), name, dir_fd=parent)
        chown_at(parent, name, *self.owner)
        os.utime(name, ns=(st.st_atime_ns, st.st_mtime_ns), dir_fd=parent, follow_symlinks=False)
        self.written += 1

    def copy_tree(self, src: str, dir_fd: int, dest: str) -> None:
        """The contents of host directory ``src`` into the open directory ``dir_fd``."""
        for entry in sorted(os.scandir(src), key=lambda e: e.name):
            st = entry.stat(follow_symlinks=False)
            child = f"{dest.rstrip('/')}/{entry.name}"
            if stat.S_ISDIR(st.st_mode):
                existed = self._clear(dir_fd, entry.name, child, keep_dir=True)
                if not existed:
                    os.mkdir(entry.name, 0o700, dir_fd=dir_fd)
                fd = os.open(entry.name, _DIR_FLAGS, dir_fd=dir_fd)
                try:
                    self.copy_tree(entry.path, fd, child)
                    self._finish(fd, st)
                finally:
                    os.close(fd)
                self.written += 1
            elif stat.S_ISREG(st.st_mode):
                self.copy_file(entry.path, st, dir_fd, entry.name, child)
            elif stat.S_ISLNK(st.st_mode):
                self.copy_symlink(entry.path, st, dir_fd, entry.name, child)
            # devices, fifos and sockets are not copied (a context never has them)

    def apply(self, item: CopyItem) -> None:
        st = os.stat(item.source)
        if item.is_dir:
            existed = self.scoped.is_dir(item.dest)
            fd = self.scoped.open_dir(item.dest, create=True)
            try:
                self.copy_tree(item.source, fd, item.dest)
                if not existed:
                    self._finish(fd, st)
            finally:
                os.close(fd)
            return
        dest = item.dest
        if dest.endswith("/") or self.scoped.is_dir(dest):
            dest = f"{dest.rstrip('/')}/{item.name}"
        parent, name = self.scoped.open_parent(dest, create=True)
        try:
            if not name:
                raise InvalidArgument(f"cannot overwrite directory {dest} with non-directory")
            self.copy_file(item.source, st, parent, name, dest)
        finally:
            os.close(parent)


def apply_plan(root: str, plan: CopyPlan | Iterable[CopyItem], owner: Owner = (0, 0),
               mode: int | None = None) -> int:
    """Copy every item of ``plan`` into ``root`` (an image's root filesystem, mounted);
    the number of entries written."""
    items = plan.items if isinstance(plan, CopyPlan) else list(plan)
    with ScopedRoot(root, owner=owner, dir_mode=0o755) as scoped:
        copier = _Copier(scoped, owner, mode)
        for item in items:
            try:
                copier.apply(item)
            except OSError as exc:
                raise Internal(f"copy to {item.dest}: {exc.strerror or exc}") from exc
        return copier.written
