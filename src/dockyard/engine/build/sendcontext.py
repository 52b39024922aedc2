"""The client's side of a build context: a directory as the tar ``POST /build`` carries.

Used by ``dockyard build`` (the CLI may import engine modules; this one stays light:
``os`` and the ``.dockerignore`` matcher). The headers are written here, the bytes
``tarfile``'s PAX format writes for them (tested against it); only a member that needs a
PAX record (a long or non-ASCII name, a huge size) loads ``tarfile``, whose import costs
the CLI ~8 ms. As the docker CLI:

- the ignore file is :func:`~dockyard.engine.build.dockerignore.ignore_file_for`'s, and the
  Dockerfile and ``.dockerignore`` are sent even when it excludes them;
- the directory is walked in lexical order (a deterministic archive); an excluded directory
  is skipped unless an exception pattern lies below it, then only what the patterns keep
  inside it is sent (without the directory's own entry);
- owners are 0:0 with no names; symlinks are archived as links; sockets are left out.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Mapping

from dockyard.engine.build.dockerignore import Patterns, go_clean, keep_build_files, load
from dockyard.errors import InvalidArgument

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO

_CHUNK = 1 << 16


def context_patterns(context_dir: str, dockerfile: str = "Dockerfile") -> Patterns:
    """The patterns the client applies: the ignore file's, Dockerfile and itself kept."""
    return keep_build_files(load(context_dir, dockerfile), dockerfile)


def context_paths(context_dir: str, patterns: Patterns) -> Iterator[str]:
    """The relative paths sent, in archive order."""
    def walk(rel: str) -> Iterator[str]:
        host = os.path.join(context_dir, rel) if rel else context_dir
        try:
            names = sorted(os.listdir(host))
        except OSError as exc:
            raise InvalidArgument(f"error checking context: can't read {rel or '.'}: {exc.strerror}") from exc
        for name in names:
            child = f"{rel}/{name}" if rel else name
            is_dir = stat.S_ISDIR(os.lstat(os.path.join(context_dir, child)).st_mode)
            if patterns.excludes(child):
                if is_dir and patterns.descend_excluded(child):
                    yield from walk(child)
                continue
            yield child
            if is_dir:
                yield from walk(child)
    yield from walk("")


REGTYPE, SYMTYPE, CHRTYPE, BLKTYPE, DIRTYPE, FIFOTYPE = b"0", b"2", b"3", b"4", b"5", b"6"
BLOCK = 512
_MAGIC = b"ustar\x0000"


class Member:
    """One entry of the context tar (root-owned, no owner names)."""

    __slots__ = ("devmajor", "devminor", "linkname", "mode", "mtime", "name", "size", "type")

    def __init__(self, name: str, type: bytes, mode: int, mtime: int, size: int = 0, linkname: str = "",
                 devmajor: int = 0, devminor: int = 0) -> None:
        self.name, self.type, self.mode, self.mtime, self.size = name, type, mode, mtime, size
        self.linkname, self.devmajor, self.devminor = linkname, devmajor, devminor

    def header(self) -> bytes:
        """The member's header block(s): ustar, or through ``tarfile`` when PAX is needed."""
        fields = self._ustar()
        if fields is not None:
            return fields
        import tarfile

        info = tarfile.TarInfo(self.name)
        info.type, info.mode, info.mtime, info.size = self.type, self.mode, self.mtime, self.size
        info.linkname, info.devmajor, info.devminor = self.linkname, self.devmajor, self.devminor
        info.uname = info.gname = ""
        return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")

    def _ustar(self) -> bytes | None:
        name = self.name + "/" if self.type == DIRTYPE and not self.name.endswith("/") else self.name
        if not (name.isascii() and self.linkname.isascii()) or len(name) > 100 or len(self.linkname) > 100:
            return None
        numbers = ((self.mode & 0o7777, 8), (0, 8), (0, 8), (self.size, 12), (self.mtime, 12))
        if any(not 0 <= value < 8 ** (width - 1) for value, width in numbers):
            return None
        parts = [name.encode().ljust(100, b"\0"), *(b"%0*o\0" % (width - 1, value) for value, width in numbers),
                 b" " * 8, self.type, self.linkname.encode().ljust(100, b"\0"), _MAGIC, bytes(64),
                 (b"%07o\0%07o\0" % (self.devmajor, self.devminor)) if self.type in (CHRTYPE, BLKTYPE) else bytes(16),
                 bytes(155)]
        block = b"".join(parts).ljust(BLOCK, b"\0")
        checksum = sum(block)
        return block[:148] + b"%06o\0 " % checksum + block[156:]


def _member(context_dir: str, rel: str) -> Member | None:
    host = os.path.join(context_dir, rel)
    st = os.lstat(host)
    mode, mtime = stat.S_IMODE(st.st_mode), int(st.st_mtime)
    if stat.S_ISREG(st.st_mode):
        return Member(rel, REGTYPE, mode, mtime, st.st_size)
    if stat.S_ISDIR(st.st_mode):
        return Member(rel + "/", DIRTYPE, mode, mtime)
    if stat.S_ISLNK(st.st_mode):
        return Member(rel, SYMTYPE, mode, mtime, linkname=os.readlink(host))
    if stat.S_ISFIFO(st.st_mode):
        return Member(rel, FIFOTYPE, mode, mtime)
    if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
        return Member(rel, CHRTYPE if stat.S_ISCHR(st.st_mode) else BLKTYPE, mode, mtime,
                      devmajor=os.major(st.st_rdev), devminor=os.minor(st.st_rdev))
    return None  # sockets


def write_context(context_dir: str, out: IO[bytes], dockerfile: str = "Dockerfile",
                  patterns: Patterns | None = None, extra: Mapping[str, bytes] | None = None) -> int:
    """Write the context tar of ``context_dir`` to ``out`` (see :func:`context_chunks`);
    the number of bytes written."""
    total = 0
    for chunk in context_chunks(context_dir, dockerfile, patterns, extra):
        out.write(chunk)
        total += len(chunk)
    return total


def context_chunks(context_dir: str, dockerfile: str = "Dockerfile", patterns: Patterns | None = None,
                   extra: Mapping[str, bytes] | None = None) -> Iterator[bytes]:
    """The context tar of ``context_dir`` as byte chunks (a chunked HTTP request body).

    ``dockerfile`` is relative to the context; ``extra`` adds files by name at the end
    (e.g. a Dockerfile from stdin or from outside the context).
    """
    if not os.path.isdir(context_dir):
        raise InvalidArgument(f"unable to prepare context: path {context_dir!r} not found")
    if patterns is None:
        patterns = context_patterns(context_dir, dockerfile)
    pending: list[bytes] = []
    size = 0
    for rel in context_paths(context_dir, patterns):
        member = _member(context_dir, rel)
        if member is None:
            continue
        pending.append(member.header())
        size += BLOCK
        if member.type == REGTYPE:
            with open(os.path.join(context_dir, rel), "rb") as f:
                left = member.size
                while left:
                    data = f.read(min(left, _CHUNK))
                    if not data:
                        raise InvalidArgument(f"{rel}: changed while the context was read")
                    pending.append(data)
                    size += len(data)
                    left -= len(data)
                    if size >= _CHUNK:
                        yield b"".join(pending)
                        pending, size = [], 0
            pending.append(bytes(-member.size % BLOCK))
        if size >= _CHUNK:
            yield b"".join(pending)
            pending, size = [], 0
    for name, data in (extra or {}).items():
        pending.append(Member(go_clean(name).lstrip("/"), REGTYPE, 0o644, 0, len(data)).header())
        pending.append(data + bytes(-len(data) % BLOCK))
    pending.append(bytes(2 * BLOCK))  # the end of the archive (no record padding, as Go's writer)
    yield b"".join(pending)
