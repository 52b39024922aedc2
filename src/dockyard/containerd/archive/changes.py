"""The changes of a directory tree as layer entries: containerd's ``fs.Changes`` + ``ChangeWriter``.

:class:`ChangeWalker` walks ``upper`` depth-first in byte order of names and writes every
change to a :class:`~.tarwrite.LayerWriter`:

- *compare* (``overlay=False``; a native snapshot against its parent, or a whole tree when
  ``lower`` is None): entries missing from ``upper`` become whiteouts ``.wh.<name>`` (one
  for a whole deleted directory); added entries are written whole; entries in both are
  written when they differ as continuity's ``sameFile`` decides: type, mode, owner, device
  number, size, mtime seconds, symlink target, exported xattrs, and when both mtimes have
  no sub-second part (times that came out of a tar) the content itself.
- *overlay* (``overlay=True``; ``upper`` is an overlay upper dir): every entry there is a
  change, a 0/0 character device is a whiteout, a directory with ``trusted.overlay.opaque``
  (or ``user.overlay.opaque``) = ``y`` gets ``.wh..wh..opq``. ``lower`` (the parent's
  merged view, optional) only lets unchanged copied-up directories stay out. Upper dirs
  written with ``redirect_dir`` or ``metacopy`` are refused: their content lives elsewhere.

Directories are written when they changed, and otherwise only when something below them
is written (containerd's ``includeParents``), just before the first such entry. Within a
directory the whiteouts come first (as the spec recommends), then the entries. Hardlinks
are found by inode: the first path written carries the data, later ones link to it, and
unchanged paths of an inode that is written later are written as links after it.
Sockets are skipped. Exported xattrs: ``security.capability`` and ``user.*`` (not
``user.overlay.*``); ``trusted.*`` and other ``security.*`` labels stay on the host.
Names are relative, directories end in ``/``, mtimes are whole seconds, owners numeric.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass

from dockyard.containerd.archive import tarread
from dockyard.containerd.archive.names import OPAQUE, WHITEOUT_PREFIX
from dockyard.containerd.archive.tarwrite import Header, LayerWriter
from dockyard.errors import NotImplementedYet

OPAQUE_XATTRS = ("trusted.overlay.opaque", "user.overlay.opaque")
_REFUSED = ("redirect", "metacopy")
_CMP_CHUNK = 1 << 20


def _exported(key: str) -> bool:
    return key == "security.capability" or (key.startswith("user.") and not key.startswith("user.overlay."))


def _listing(directory: str | None) -> dict[str, os.stat_result]:
    if directory is None:
        return {}
    with os.scandir(directory) as it:
        return {e.name: e.stat(follow_symlinks=False) for e in it}


def _sorted(names: Iterable[str]) -> list[str]:
    return sorted(names, key=os.fsencode)


@dataclass
class _Frame:
    """An open directory: its listings, the next name to visit, and its own header's state."""

    rel: str  # "" for the root, else "dir/sub/"
    upper: str
    lower: str | None
    st: os.stat_result | None  # None for the root, which is never written
    up: dict[str, os.stat_result]
    low: dict[str, os.stat_result]
    names: list[str]
    index: int = 0
    written: bool = False


class ChangeWalker:
    """Writes the changes of ``upper`` (against ``lower``) into ``writer``."""

    def __init__(self, writer: LayerWriter, upper: str, lower: str | None, overlay: bool) -> None:
        self.writer = writer
        self.upper = upper
        self.lower = lower
        self.overlay = overlay
        self._frames: list[_Frame] = []
        self._links: dict[tuple[int, int], str] = {}  # inode -> name written with the data
        self._refs: dict[tuple[int, int], list[str]] = {}  # inode -> unchanged names seen first

    def run(self) -> None:
        self._enter("", self.upper, self.lower, None, changed=False, opaque=False)
        frames = self._frames
        while frames:
            frame = frames[-1]
            if frame.index == len(frame.names):
                frames.pop()
                continue
            name = frame.names[frame.index]
            frame.index += 1
            rel = frame.rel + name
            path = frame.upper + "/" + name
            st = frame.up[name]
            lst = frame.low.get(name)
            lpath = None if frame.lower is None or lst is None else frame.lower + "/" + name
            if stat.S_ISDIR(st.st_mode):
                self._directory(rel, path, st, lpath, lst)
            elif not stat.S_ISSOCK(st.st_mode):
                self._other(rel, path, st, lpath, lst)

    # -- directories -----------------------------------------------------------------------
    def _enter(self, rel: str, upper: str, lower: str | None, st: os.stat_result | None,
               changed: bool, opaque: bool) -> None:
        up = _listing(upper)
        low = _listing(lower)
        if self.overlay:
            gone = [n for n, s in up.items() if stat.S_ISCHR(s.st_mode) and s.st_rdev == 0]
            for n in gone:
                del up[n]
        else:
            gone = [n for n in low if n not in up]
        self._frames.append(_Frame(rel, upper, lower, st, up, low, _sorted(up), written=st is None))
        if changed:
            self._flush_parents()
        if opaque:
            self._emit(Header(rel + OPAQUE))
        for n in _sorted(gone):
            self._emit(Header(rel + WHITEOUT_PREFIX + n))

    def _directory(self, rel: str, path: str, st: os.stat_result, lpath: str | None,
                   lst: os.stat_result | None) -> None:
        opaque = self.overlay and self._is_opaque(path)
        if lpath is None or lst is None or not stat.S_ISDIR(lst.st_mode) or opaque:
            self._enter(rel + "/", path, None, st, changed=True, opaque=opaque)
        else:
            changed = not self._same_dir(path, st, lpath, lst)
            self._enter(rel + "/", path, lpath, st, changed=changed, opaque=False)

    def _flush_parents(self) -> None:
        """Write the headers of the open directories not written yet, outermost first."""
        for frame in self._frames:
            if not frame.written:
                frame.written = True
                assert frame.st is not None
                self._write(frame.rel[:-1], frame.upper, frame.st)

    def _same_dir(self, path: str, st: os.stat_result, lpath: str, lst: os.stat_result) -> bool:
        if (st.st_mode, st.st_uid, st.st_gid) != (lst.st_mode, lst.st_uid, lst.st_gid):
            return False
        if self.overlay and not _same_time(st, lst):
            return False
        return self._xattrs(path) == self._xattrs(lpath)

    def _is_opaque(self, path: str) -> bool:
        for key in OPAQUE_XATTRS:
            try:
                if os.getxattr(path, key, follow_symlinks=False) == b"y":
                    return True
            except OSError:
                continue
        return False

    # -- everything else ---------------------------------------------------------------------
    def _other(self, rel: str, path: str, st: os.stat_result, lpath: str | None, lst: os.stat_result | None) -> None:
        key = (st.st_dev, st.st_ino) if st.st_nlink > 1 else None
        if key is not None and key in self._links:
            self._emit(self._link_header(rel, st, self._links[key]))
            return
        if not self.overlay and lpath is not None and lst is not None and self._same(path, st, lpath, lst):
            if key is not None:
                self._refs.setdefault(key, []).append(rel)
            return
        self._flush_parents()
        self._write(rel, path, st)
        if key is not None:
            self._links[key] = rel
            for other in self._refs.pop(key, ()):
                self._emit(self._link_header(other, st, rel))

    @staticmethod
    def _link_header(rel: str, st: os.stat_result, target: str) -> Header:
        return Header(rel, tarread.LINK, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, 0, _seconds(st), target)

    def _same(self, path: str, st: os.stat_result, lpath: str, lst: os.stat_result) -> bool:
        """continuity's sameFile for two non-directories."""
        if (st.st_dev, st.st_ino) == (lst.st_dev, lst.st_ino):
            return True
        if (st.st_mode, st.st_uid, st.st_gid, st.st_rdev) != (lst.st_mode, lst.st_uid, lst.st_gid, lst.st_rdev):
            return False
        if st.st_size != lst.st_size or _seconds(st) != _seconds(lst):
            return False
        if stat.S_ISLNK(st.st_mode) and os.readlink(path) != os.readlink(lpath):
            return False
        if self._xattrs(path) != self._xattrs(lpath):
            return False
        ns, lns = st.st_mtime_ns % 10**9, lst.st_mtime_ns % 10**9
        if ns or lns:
            return ns == lns
        # both times came out of a tar (whole seconds): only the content can tell
        return not stat.S_ISREG(st.st_mode) or not st.st_size or _same_content(path, lpath)

    # -- writing -----------------------------------------------------------------------------
    def _emit(self, header: Header) -> None:
        self._flush_parents()
        self.writer.add(header)

    def _write(self, rel: str, path: str, st: os.stat_result) -> None:
        mode = st.st_mode
        header = Header(rel, tarread.REG, stat.S_IMODE(mode), st.st_uid, st.st_gid, 0, _seconds(st),
                        xattrs=self._xattrs(path))
        if stat.S_ISDIR(mode):
            header.type = tarread.DIR
            header.name = rel + "/"
        elif stat.S_ISLNK(mode):
            header.type = tarread.SYMLINK
            header.linkname = os.readlink(path)
        elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            header.type = tarread.CHAR if stat.S_ISCHR(mode) else tarread.BLOCKDEV
            header.devmajor, header.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
        elif stat.S_ISFIFO(mode):
            header.type = tarread.FIFO
        elif stat.S_ISREG(mode):
            header.size = st.st_size
            if header.size:
                fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
                try:
                    self.writer.add(header, fd)
                finally:
                    os.close(fd)
                return
        self.writer.add(header)

    def _xattrs(self, path: str) -> dict[str, bytes]:
        try:
            keys = os.listxattr(path, follow_symlinks=False)
        except OSError:
            return {}
        found: dict[str, bytes] = {}
        for key in keys:
            if self.overlay and key.split(".")[-1] in _REFUSED and ".overlay." in key:
                raise NotImplementedYet(
                    f"{path}: overlay {key} is not supported in a layer diff (mount without redirect_dir/metacopy)"
                )
            if _exported(key):
                try:
                    found[key] = os.getxattr(path, key, follow_symlinks=False)
                except OSError:
                    continue
        return found


def _seconds(st: os.stat_result) -> int:
    return st.st_mtime_ns // 10**9


def _same_time(a: os.stat_result, b: os.stat_result) -> bool:
    """continuity's sameFsTime: equal, or same second with one side truncated."""
    if a.st_mtime_ns == b.st_mtime_ns:
        return True
    truncated = a.st_mtime_ns % 10**9 == 0 or b.st_mtime_ns % 10**9 == 0
    return truncated and _seconds(a) == _seconds(b)


def _same_content(a: str, b: str) -> bool:
    with open(a, "rb", buffering=0) as fa, open(b, "rb", buffering=0) as fb:
        while True:
            ca = fa.read(_CMP_CHUNK)
            cb = fb.read(_CMP_CHUNK)
            if ca != cb:
                return False
            if not ca:
                return True
