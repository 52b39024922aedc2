"""Apply a layer (tar, tar+gzip or tar+zstd) into a directory: containerd's ``archive.Apply``.

:func:`apply_layer` reads the stream once. A helper thread decompresses while this thread
parses headers and writes files; the diffID (sha256 of the whole uncompressed stream,
including what follows the tar's end, as containerd's applier counts it) comes out of the
same pass. Entries are applied per the OCI image spec's "Applying Changesets":

- regular files, directories, symlinks, hardlinks (to entries already inside the root),
  character and block devices, fifos; numeric owners (when running as root, or with
  ``same_owner=True``), modes with setuid/setgid/sticky, mtimes (directories' after
  their content), ``SCHILY.xattr.*`` extended attributes;
- an entry over an existing path of another type replaces it; two directories merge and
  the entry's attributes win;
- whiteouts and opaque directories (see :mod:`.whiteouts`), written the overlay way with
  ``overlay_whiteouts=True`` when applying straight into an overlay upper dir, with the
  lower dirs in ``parents`` (topmost first) to copy the attributes of implicitly created
  parent directories from.

The archive is untrusted: names are cleaned (:mod:`.names`), a ``..`` escaping the root is
refused, parents are resolved inside the root (:mod:`.resolve`), hardlink targets must be
inside the root and reached without symlinks. Any refusal raises InvalidArgument naming the
entry; what was applied so far stays (the caller removes the half-applied snapshot).
The root entry (``./``) is ignored, as containerd does.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from dockyard.containerd.archive import fsops, tarread
from dockyard.containerd.archive.names import WHITEOUT_PREFIX, check_parents, clean, entry_error
from dockyard.containerd.archive.resolve import Dirs, link_target
from dockyard.containerd.archive.stream import Blocks, LayerStream, Readable, StreamFault
from dockyard.containerd.archive.tarread import Entry, show
from dockyard.containerd.archive.whiteouts import Whiteouts
from dockyard.errors import DockyardError, Internal, InvalidArgument, NotFound, PermissionDenied

log = logging.getLogger("dockyard.containerd.archive")

_NODE_TYPES = {tarread.CHAR: stat.S_IFCHR, tarread.BLOCKDEV: stat.S_IFBLK, tarread.FIFO: stat.S_IFIFO}
_CALLER_ERRNOS = frozenset(
    (errno.ENAMETOOLONG, errno.ELOOP, errno.ENOTDIR, errno.EISDIR, errno.EEXIST, errno.EINVAL, errno.ENOENT)
)


@dataclass(frozen=True)
class ApplyResult:
    """What one apply read: the diffID, the uncompressed size and the compression found."""

    diff_id: str
    size: int
    compression: str


def apply_layer(
    stream: Readable,
    root: str | os.PathLike[str],
    *,
    compression: str = "auto",
    overlay_whiteouts: bool = False,
    parents: Sequence[str] = (),
    same_owner: bool | None = None,
) -> ApplyResult:
    """Apply the layer read from ``stream`` into directory ``root``.

    ``compression`` is ``auto`` (sniffed from the magic bytes), ``gzip``, ``zstd`` or
    ``none``. ``same_owner`` (default: when running as root) sets the archive's numeric
    owners. InvalidArgument names the offending entry for bad or hostile input.
    """
    top = _check_root(root)
    owners = os.geteuid() == 0 if same_owner is None else same_owner
    layer = LayerStream(stream, compression)
    try:
        blocks = Blocks(layer)
        _Applier(top, blocks, overlay_whiteouts, parents, owners).run()
        try:
            blocks.drain()
        except StreamFault as exc:
            raise InvalidArgument(f"layer: {exc.message}") from None
    finally:
        layer.close()
    return ApplyResult(layer.diff_id(), layer.size, layer.compression)


def _check_root(root: str | os.PathLike[str]) -> str:
    path = os.path.realpath(os.fspath(root))
    if path == "/":
        raise InvalidArgument("refusing to apply a layer into /")
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise NotFound(f"layer root {os.fspath(root)}: no such directory") from None
    if not stat.S_ISDIR(st.st_mode):
        raise InvalidArgument(f"layer root {os.fspath(root)}: not a directory")
    return path


def _os_error(name: str, exc: OSError) -> DockyardError:
    message = f'layer entry "{show(name)}": {(exc.strerror or str(exc)).lower()}'
    if exc.errno in (errno.EPERM, errno.EACCES):
        return PermissionDenied(message)
    if exc.errno in _CALLER_ERRNOS:
        return InvalidArgument(message)
    return Internal(message)


class _Applier:
    def __init__(
        self, root: str, blocks: Blocks, overlay: bool, parents: Sequence[str], same_owner: bool
    ) -> None:
        self.root = root
        self.blocks = blocks
        self.same_owner = same_owner
        self.dirs = Dirs(root, parents if overlay else (), same_owner)
        self.whiteouts = Whiteouts(root, overlay, same_owner, self._removed)
        self.deferred: list[tuple[str, int, tuple[int, int]]] = []  # directory, mode, times
        self.careful = False  # a directory or symlink was removed: cached paths may be stale
        self._handlers: dict[bytes, Callable[[Entry, str, str], None]] = {
            tarread.DIR: self._dir,
            tarread.SYMLINK: self._symlink,
            tarread.LINK: self._hardlink,
        }
        for kind in tarread.FILE_TYPES:
            self._handlers[kind] = self._file
        for kind in _NODE_TYPES:
            self._handlers[kind] = self._node

    def run(self) -> None:
        current: Entry | None = None
        last = ""
        try:
            for entry in tarread.entries(self.blocks):
                current = entry
                self.apply(entry)
                last, current = entry.name, None
            for path, mode, times in self.deferred:
                fsops.finish_dir(self.root, path, mode, times, self.careful)
        except StreamFault as exc:
            if current is not None:
                raise entry_error(current.name, exc.message) from None
            after = f' after entry "{show(last)}"' if last else ""
            raise InvalidArgument(f"layer: {exc.message}{after}") from None
        except DockyardError as exc:
            if current is None or "layer entry" in exc.message:
                raise
            raise type(exc)(f'layer entry "{show(current.name)}": {exc.message}') from None
        except OSError as exc:
            raise _os_error(current.name if current else last, exc) from None
        except (ValueError, OverflowError) as exc:  # embedded NUL, numbers out of range
            raise entry_error(current.name if current else last, str(exc)) from None

    def apply(self, entry: Entry) -> None:
        name = clean(entry.name)
        if not name:
            return  # the root directory itself
        parent, _, base = name.rpartition("/")
        check_parents(parent, entry.name)
        parent_dir = self.dirs.get(parent, entry.name)
        if base.startswith(WHITEOUT_PREFIX):
            self.whiteouts.apply(entry, parent_dir, base)
            return
        path = parent_dir + "/" + base
        self._handlers[entry.type](entry, path, name)
        self.whiteouts.mark(path)

    def _removed(self) -> None:
        self.dirs.forget()
        self.careful = True

    def _replace(self, path: str) -> None:
        if fsops.remove(path):
            self._removed()

    @staticmethod
    def _times(entry: Entry) -> tuple[int, int]:
        mtime = entry.mtime_ns
        atime = entry.atime_ns
        return (mtime if atime is None or atime < mtime else atime, mtime)

    def _file(self, entry: Entry, path: str, name: str) -> None:
        try:
            fd = os.open(path, fsops.FILE_FLAGS, 0o600)
        except FileExistsError:
            self._replace(path)
            fd = os.open(path, fsops.FILE_FLAGS, 0o600)
        try:
            if entry.size:
                fsops.write_all(fd, self.blocks, entry.size)
            if self.same_owner:
                os.fchown(fd, entry.uid, entry.gid)
            if entry.xattrs:
                fsops.set_xattrs(fd, entry.xattrs, entry.name, True)
            os.fchmod(fd, entry.mode)
            os.utime(fd, ns=self._times(entry))
        finally:
            os.close(fd)

    def _dir(self, entry: Entry, path: str, name: str) -> None:
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            if not stat.S_ISDIR(os.lstat(path).st_mode):
                self._replace(path)
                os.mkdir(path, 0o700)
        if self.same_owner:
            os.chown(path, entry.uid, entry.gid, follow_symlinks=False)
        if entry.xattrs:
            fsops.set_xattrs(path, entry.xattrs, entry.name, True)
        self.deferred.append((path, entry.mode, self._times(entry)))
        self.dirs.remember(name, path)

    def _symlink(self, entry: Entry, path: str, name: str) -> None:
        if not entry.linkname:
            raise entry_error(entry.name, "symlink with an empty target")
        try:
            os.symlink(entry.linkname, path)
        except FileExistsError:
            self._replace(path)
            os.symlink(entry.linkname, path)
        self._owner_and_times(entry, path, symlink=True)

    def _hardlink(self, entry: Entry, path: str, name: str) -> None:
        target = link_target(self.root, entry.linkname, entry.name)
        if target == path:
            return  # a link to itself: nothing to do
        try:
            os.link(target, path, follow_symlinks=False)
        except FileExistsError:
            self._replace(path)
            os.link(target, path, follow_symlinks=False)
        # containerd applies the header's attributes to the (shared) inode too
        self._owner_and_times(entry, path, symlink=stat.S_ISLNK(os.lstat(path).st_mode))

    def _node(self, entry: Entry, path: str, name: str) -> None:
        kind = _NODE_TYPES[entry.type]
        device = 0
        if kind != stat.S_IFIFO:
            if not (0 <= entry.devmajor < 1 << 32 and 0 <= entry.devminor < 1 << 32):
                raise entry_error(entry.name, f"device number {entry.devmajor}:{entry.devminor} out of range")
            device = os.makedev(entry.devmajor, entry.devminor)
        try:
            try:
                os.mknod(path, kind | 0o600, device)
            except FileExistsError:
                self._replace(path)
                os.mknod(path, kind | 0o600, device)
        except PermissionError:
            if kind != stat.S_IFIFO and fsops.in_user_namespace():
                log.warning("layer entry %r: device node skipped in a user namespace", entry.name)
                return
            raise
        self._owner_and_times(entry, path, symlink=False)

    def _owner_and_times(self, entry: Entry, path: str, symlink: bool) -> None:
        if self.same_owner:
            os.chown(path, entry.uid, entry.gid, follow_symlinks=False)
        if entry.xattrs:
            fsops.set_xattrs(path, entry.xattrs, entry.name, False)
        if not symlink:
            os.chmod(path, entry.mode)  # just created here, not a symlink
        os.utime(path, ns=self._times(entry), follow_symlinks=False)
