"""The client's side of a build context: a directory as the tar ``POST /build`` carries.

Used by ``dockyard build`` (the CLI may import engine modules; this one stays light:
``os``, ``tarfile`` and the ``.dockerignore`` matcher). As the docker CLI:

- the ignore file is :func:`~dockyard.engine.build.dockerignore.ignore_file_for`'s, and the
  Dockerfile and ``.dockerignore`` are sent even when it excludes them;
- the directory is walked in lexical order (a deterministic archive); an excluded directory
  is skipped unless an exception pattern lies below it, then only what the patterns keep
  inside it is sent (without the directory's own entry);
- owners are 0:0 with no names; symlinks are archived as links; sockets are left out.
"""

from __future__ import annotations

import io
import os
import stat
import tarfile
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


def _info(context_dir: str, rel: str) -> tarfile.TarInfo | None:
    host = os.path.join(context_dir, rel)
    st = os.lstat(host)
    info = tarfile.TarInfo(rel + "/" if stat.S_ISDIR(st.st_mode) else rel)
    info.mode = stat.S_IMODE(st.st_mode)
    info.mtime = int(st.st_mtime)
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    if stat.S_ISREG(st.st_mode):
        info.type, info.size = tarfile.REGTYPE, st.st_size
    elif stat.S_ISDIR(st.st_mode):
        info.type = tarfile.DIRTYPE
    elif stat.S_ISLNK(st.st_mode):
        info.type, info.linkname = tarfile.SYMTYPE, os.readlink(host)
    elif stat.S_ISFIFO(st.st_mode):
        info.type = tarfile.FIFOTYPE
    elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
        info.type = tarfile.CHRTYPE if stat.S_ISCHR(st.st_mode) else tarfile.BLKTYPE
        info.devmajor, info.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
    else:
        return None  # sockets
    return info


def write_context(context_dir: str, out: IO[bytes], dockerfile: str = "Dockerfile",
                  patterns: Patterns | None = None, extra: Mapping[str, bytes] | None = None) -> int:
    """Write the context tar of ``context_dir`` to ``out`` (see :func:`context_chunks`);
    the number of bytes written."""
    total = 0
    for chunk in context_chunks(context_dir, dockerfile, patterns, extra):
        out.write(chunk)
        total += len(chunk)
    return total


class _Chunks(io.RawIOBase):
    """A write-only file that keeps what is written for a generator to take."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        return data


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
    sink = _Chunks()
    with tarfile.open(fileobj=sink, mode="w|", format=tarfile.PAX_FORMAT, bufsize=_CHUNK) as tar:
        for rel in context_paths(context_dir, patterns):
            info = _info(context_dir, rel)
            if info is None:
                continue
            if info.isreg():
                with open(os.path.join(context_dir, rel), "rb") as f:
                    tar.addfile(info, f)
            else:
                tar.addfile(info)
            if sum(len(p) for p in sink.parts) >= _CHUNK:
                yield sink.take()
        for name, data in (extra or {}).items():
            info = tarfile.TarInfo(go_clean(name).lstrip("/"))
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    tail = sink.take()
    if tail:
        yield tail
