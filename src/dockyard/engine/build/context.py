"""The build context on the engine's side: a client's tar unpacked, the Dockerfile found.

``POST /build`` carries the context as a tar archive, plain or compressed with gzip, bzip2
or xz (the Engine API's list). The input is untrusted, so :func:`extract_context`:

- refuses absolute names and names with a ``..`` component, naming the entry;
- never follows a symlink while writing: every parent is opened with ``O_NOFOLLOW`` from
  a descriptor of the destination, and a symlink where a directory is needed is an error
  (a symlink in the context may point anywhere: it is only ever read in scope later);
- replaces an existing entry instead of writing through it (a later entry wins, as tar);
- allows hard links only to regular files extracted before (no symlink on the way);
- skips devices and fifos; ignores ownership (the files belong to the engine: COPY sets
  ownership itself) and keeps permission bits and modification times.

:func:`find_dockerfile` is dockerd's lookup (``Dockerfile`` by default, then ``dockerfile``),
:func:`remove_build_files` its rule that an excluded Dockerfile or ``.dockerignore``, though
sent by the CLI, is removed before any COPY sees the context.
"""

from __future__ import annotations

import errno
import lzma
import os
import stat
import tarfile
import zlib
from dataclasses import dataclass
from typing import IO

from dockyard.engine.build.dockerignore import IGNORE_FILE, Patterns
from dockyard.engine.scoped import is_inside, resolve_in_scope, split
from dockyard.errors import Internal, InvalidArgument, NotFound

DEFAULT_DOCKERFILE = "Dockerfile"
_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_CHUNK = 1 << 20


def _bad(name: str, problem: str) -> InvalidArgument:
    return InvalidArgument(f"build context: entry {name[:200]!r}: {problem}")


def entry_parts(name: str) -> list[str]:
    """The components of a tar entry name, refused if absolute or escaping with ``..``."""
    if name.startswith("/"):
        raise _bad(name, "absolute path")
    parts = split(name)
    if ".." in parts:
        raise _bad(name, "path contains '..'")
    if any("\x00" in p for p in parts):
        raise _bad(name, "path contains NUL")
    return parts


@dataclass
class ExtractResult:
    """What :func:`extract_context` wrote."""

    entries: int = 0
    skipped: int = 0
    bytes: int = 0


class _Extractor:
    def __init__(self, dest: str) -> None:
        self.root_fd = os.open(dest, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        self.dirs: list[tuple[list[str], int, int]] = []  # (parts, mode, mtime) to finish
        self.result = ExtractResult()

    def close(self) -> None:
        os.close(self.root_fd)

    def parent(self, parts: list[str], name: str) -> int:
        """A descriptor of the directory holding ``parts[-1]``; missing parents made 0755."""
        fd = os.dup(self.root_fd)
        try:
            for part in parts[:-1]:
                try:
                    child = os.open(part, _DIR_FLAGS, dir_fd=fd)
                except FileNotFoundError:
                    os.mkdir(part, 0o755, dir_fd=fd)
                    child = os.open(part, _DIR_FLAGS, dir_fd=fd)
                except OSError as exc:
                    if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                        raise _bad(name, f"parent {part!r} is not a directory (a symlink or a file)") from None
                    raise
                os.close(fd)
                fd = child
            return fd
        except BaseException:
            os.close(fd)
            raise

    def clear(self, parent: int, base: str, keep_dir: bool) -> bool:
        """Remove what is at ``base`` unless it is a directory to keep; whether a dir stays."""
        try:
            st = os.stat(base, dir_fd=parent, follow_symlinks=False)
        except FileNotFoundError:
            return False
        if stat.S_ISDIR(st.st_mode):
            if keep_dir:
                return True
            _remove_tree(parent, base)
            return False
        os.unlink(base, dir_fd=parent)
        return False

    def add(self, tar: tarfile.TarFile, member: tarfile.TarInfo) -> None:
        name = member.name
        parts = entry_parts(name)
        if not parts:
            return  # "./": the destination itself
        if member.ischr() or member.isblk() or member.isfifo() or not (
                member.isfile() or member.isdir() or member.issym() or member.islnk()):
            self.result.skipped += 1
            return
        base = parts[-1]
        parent = self.parent(parts, name)
        try:
            if member.isdir():
                if not self.clear(parent, base, keep_dir=True):
                    os.mkdir(base, 0o700, dir_fd=parent)
                self.dirs.append((parts, member.mode & 0o7777, int(member.mtime)))
            elif member.issym():
                self.clear(parent, base, keep_dir=False)
                os.symlink(member.linkname, base, dir_fd=parent)
                os.utime(base, (member.mtime, member.mtime), dir_fd=parent, follow_symlinks=False)
            elif member.islnk():
                self._link(parent, base, member)
            else:
                self._file(tar, parent, base, member)
        finally:
            os.close(parent)
        self.result.entries += 1

    def _link(self, parent: int, base: str, member: tarfile.TarInfo) -> None:
        target = member.linkname
        tparts = entry_parts(target) if target else []
        if not tparts:
            raise _bad(member.name, f"hard link target {target!r} is not a file in the context")
        tparent = self.parent(tparts, member.name)
        try:
            try:
                st = os.stat(tparts[-1], dir_fd=tparent, follow_symlinks=False)
            except FileNotFoundError:
                raise _bad(member.name, f"hard link target {target!r} does not exist") from None
            if not stat.S_ISREG(st.st_mode):
                raise _bad(member.name, f"hard link target {target!r} is not a regular file")
            if tparts != split(member.name):
                self.clear(parent, base, keep_dir=False)
                os.link(tparts[-1], base, src_dir_fd=tparent, dst_dir_fd=parent, follow_symlinks=False)
        finally:
            os.close(tparent)

    def _file(self, tar: tarfile.TarFile, parent: int, base: str, member: tarfile.TarInfo) -> None:
        self.clear(parent, base, keep_dir=False)
        fd = os.open(base, _FILE_FLAGS, 0o600, dir_fd=parent)
        try:
            src = tar.extractfile(member)
            if src is not None:
                while True:
                    chunk = src.read(_CHUNK)
                    if not chunk:
                        break
                    _write_all(fd, chunk)
                    self.result.bytes += len(chunk)
            os.fchmod(fd, member.mode & 0o7777)
            os.utime(fd, (member.mtime, member.mtime))
        finally:
            os.close(fd)

    def finish(self) -> None:
        """Directory modes and times, deepest first (a 0555 directory after its children)."""
        for parts, mode, mtime in sorted(self.dirs, key=lambda d: -len(d[0])):
            parent = self.parent(parts, "/".join(parts))
            try:
                fd = os.open(parts[-1], _DIR_FLAGS, dir_fd=parent)
            except OSError:
                continue  # replaced by a later entry
            finally:
                os.close(parent)
            try:
                os.fchmod(fd, mode)
                os.utime(fd, (mtime, mtime))
            finally:
                os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _remove_tree(parent: int, name: str) -> None:
    fd = os.open(name, _DIR_FLAGS, dir_fd=parent)
    try:
        for entry in os.listdir(fd):
            st = os.stat(entry, dir_fd=fd, follow_symlinks=False)
            if stat.S_ISDIR(st.st_mode):
                _remove_tree(fd, entry)
            else:
                os.unlink(entry, dir_fd=fd)
    finally:
        os.close(fd)
    os.rmdir(name, dir_fd=parent)


def extract_context(stream: IO[bytes], dest: str) -> ExtractResult:
    """Unpack a build context tar (plain, gzip, bzip2 or xz) from ``stream`` into ``dest``."""
    extractor = _Extractor(dest)
    try:
        try:
            with tarfile.open(fileobj=stream, mode="r|*") as tar:
                for member in tar:
                    try:
                        extractor.add(tar, member)
                    except OSError as exc:
                        if exc.errno in (errno.ENAMETOOLONG, errno.EINVAL, errno.EILSEQ, errno.EEXIST):
                            raise _bad(member.name, exc.strerror or str(exc)) from exc
                        raise Internal(f"build context: entry {member.name[:200]!r}: {exc.strerror or exc}") from exc
        except OSError as exc:
            if exc.errno is not None:
                raise Internal(f"build context: {exc.strerror or exc}") from exc
            # gzip's BadGzipFile and bz2's "Invalid data stream" have no errno
            raise InvalidArgument(f"build context: not a valid tar archive: {exc}") from exc
        except (tarfile.TarError, EOFError, zlib.error, lzma.LZMAError) as exc:
            raise InvalidArgument(f"build context: not a valid tar archive: {exc}") from exc
        extractor.finish()
    finally:
        extractor.close()
    return extractor.result


def context_path(context_dir: str, path: str) -> str:
    """The host path of ``path`` in the context, symlinks followed inside it.

    Raises dockerd's ``forbidden path outside the build context`` for a path that climbs
    out with ``..`` (a symlink cannot: it is followed in scope).
    """
    rel = path.lstrip("/")
    if not is_inside(rel):
        raise InvalidArgument(f"forbidden path outside the build context: {path} ()")
    return resolve_in_scope(context_dir, rel)


def find_dockerfile(context_dir: str, dockerfile: str = "") -> tuple[str, str]:
    """(name as the build knows it, host path) of the Dockerfile in the context.

    ``dockerfile`` is the API's parameter (default ``Dockerfile``); for the default name a
    lower-case ``dockerfile`` is the fallback, as dockerd's.
    """
    name = dockerfile or DEFAULT_DOCKERFILE
    candidates = [name]
    if name == DEFAULT_DOCKERFILE:
        candidates.append(name.lower())
    for candidate in candidates:
        host = context_path(context_dir, candidate)
        if os.path.isfile(host):
            return candidate, host
    raise NotFound(f"Cannot locate specified Dockerfile: {name}")


def read_dockerfile(context_dir: str, dockerfile: str = "") -> tuple[str, bytes]:
    """(name, content) of the Dockerfile (see :func:`find_dockerfile`)."""
    name, host = find_dockerfile(context_dir, dockerfile)
    with open(host, "rb") as f:
        return name, f.read()


def load_patterns(context_dir: str) -> Patterns:
    """The context's own ``.dockerignore`` (what dockerd reads), empty when there is none."""
    host = resolve_in_scope(context_dir, IGNORE_FILE)
    try:
        with open(host, encoding="utf-8", errors="surrogateescape") as f:
            return Patterns.parse(f.read())
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return Patterns()


def remove_build_files(context_dir: str, dockerfile: str) -> list[str]:
    """Remove ``.dockerignore`` and the Dockerfile when the context's ignore file excludes
    them (dockerd's ``removeDockerfile``); the names removed."""
    patterns = load_patterns(context_dir)
    removed = []
    for name in (IGNORE_FILE, dockerfile):
        rel = name.lstrip("/")
        if patterns and is_inside(rel) and patterns.excludes(rel):
            host = resolve_in_scope(context_dir, rel, follow_last=False)
            try:
                os.unlink(host)
            except FileNotFoundError:
                continue
            removed.append(rel)
    return removed
