"""``docker cp``'s archive logic on the client: moby's ``pkg/archive`` copy rules, in Python.

- ``CopyInfo``: a path, whether it exists and is a directory, and the name its archive
  entries must take (``rebase``).
- ``source_info`` / ``destination_info``: a local source (symlinks followed with ``-L``)
  and a local destination (its symlinks resolved, its parent required).
- ``prepare``: docker's ``PrepareArchiveCopy``: the directory to extract into and how the
  archive's top entry is renamed so that ``cp a b`` makes ``b`` (``cannot copy
  directory``, ``no such directory`` as docker says).
- ``tar_stream``: a local file or tree as a tar stream, generated entry by entry (names
  relative to the source's parent, the top one renamed, directories first, hard links kept).
- ``extract``: a tar stream unpacked into a local directory: entries renamed, nothing
  written outside the directory (``..``, absolute names and links that point out are
  refused), a directory never replaced by a file or the reverse, no chown.
"""

from __future__ import annotations

import os
import stat
import tarfile

from dockyard.errors import DockyardError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

# Go's os.FileMode type bits (the X-Docker-Container-Path-Stat "mode")
GO_DIR, GO_SYMLINK, GO_DEVICE, GO_IRREGULAR = 1 << 31, 1 << 27, 1 << 26, 1 << 19
_CHUNK = 1 << 16


class CopyInfo:
    __slots__ = ("exists", "is_dir", "path", "rebase")

    def __init__(self, path: str, exists: bool = False, is_dir: bool = False, rebase: str = "") -> None:
        self.path = path
        self.exists = exists
        self.is_dir = is_dir
        self.rebase = rebase


def specifies_current_dir(path: str) -> bool:
    return os.path.basename(path) == "."


def has_trailing_separator(path: str) -> bool:
    return len(path) > 0 and path.endswith("/")


def go_base(path: str) -> str:
    """Go's filepath.Base: the last element, trailing slashes ignored (``/`` for the root)."""
    stripped = path.rstrip("/")
    if not stripped:
        return "/" if path else "."
    return stripped.rsplit("/", 1)[-1]


def split_path_dir_entry(path: str) -> tuple[str, str]:
    cleaned = os.path.normpath(path) if path else "."
    if path.startswith("//") and not path.startswith("///"):
        cleaned = "/" + cleaned.lstrip("/")
    if specifies_current_dir(path):
        cleaned += "/."
    return os.path.dirname(cleaned) or ".", os.path.basename(cleaned) or cleaned


def preserve_trailing(cleaned: str, original: str) -> str:
    """PreserveTrailingDotOrSeparator: keep ``/.`` or ``/`` the user wrote after cleaning."""
    if specifies_current_dir(original) and not specifies_current_dir(cleaned):
        if not has_trailing_separator(cleaned):
            cleaned += "/"
        cleaned += "."
    if has_trailing_separator(original) and not has_trailing_separator(cleaned):
        cleaned += "/"
    return cleaned


def resolve_local(path: str) -> str:
    return preserve_trailing(os.path.abspath(path), path)


def rebase_name(path: str, resolved: str) -> tuple[str, str]:
    """GetRebaseName: the resolved path (keeping ``/.``, ``/``) and the name to rebase to."""
    if specifies_current_dir(path) and not specifies_current_dir(resolved):
        resolved += "/."
    if has_trailing_separator(path) and not has_trailing_separator(resolved):
        resolved += "/"
    return resolved, (go_base(path) if go_base(path) != go_base(resolved) else "")


def _oserror(exc: OSError, verb: str, path: str) -> DockyardError:
    return DockyardError(f"{verb} {path}: {(exc.strerror or str(exc)).lower()}")


def eval_symlinks(path: str) -> str:
    """Go's ``filepath.EvalSymlinks`` of an absolute path: FileNotFoundError naming the
    first element that does not exist (``lstat /nodir``)."""
    current = "/"
    for name in [p for p in path.split("/") if p]:
        candidate = os.path.join(current, name)
        if not os.path.lexists(candidate):
            raise FileNotFoundError(2, "no such file or directory", candidate)
        current = os.path.realpath(candidate)
    return current


def source_info(path: str, follow: bool) -> CopyInfo:
    """CopyInfoSourcePath for a local source."""
    rebase = ""
    try:
        if follow:
            resolved, rebase = rebase_name(path, eval_symlinks(path))
        else:  # Go: filepath.Split, EvalSymlinks(dir) + "/" + base ("//x" for "/x", as docker prints it)
            parent, base = path[:path.rfind("/") + 1], path[path.rfind("/") + 1:]
            resolved = (eval_symlinks(parent) if parent else "") + "/" + base
            if has_trailing_separator(path) and go_base(path) != go_base(resolved):
                rebase = go_base(path)
        st = os.lstat(resolved)
    except OSError as exc:
        raise _oserror(exc, "lstat", exc.filename or path) from None
    return CopyInfo(resolved, True, stat.S_ISDIR(st.st_mode), rebase)


def destination_info(path: str) -> CopyInfo:
    """CopyInfoDestinationPath: follow symlinks of the last element; the parent must exist."""
    original = path
    for _ in range(11):
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            parent, _ = split_path_dir_entry(path)
            try:
                parent_st = os.stat(parent)
            except OSError as exc:
                raise _oserror(exc, "stat", parent) from None
            if not stat.S_ISDIR(parent_st.st_mode):
                raise DockyardError("not a directory") from None
            return CopyInfo(path)
        except OSError as exc:
            raise _oserror(exc, "lstat", path) from None
        if not stat.S_ISLNK(st.st_mode):
            return CopyInfo(path, True, stat.S_ISDIR(st.st_mode))
        target = os.readlink(path)
        if not target.startswith("/"):
            target = os.path.join(split_path_dir_entry(path)[0], target)
        path = target
    raise DockyardError(f"too many symlinks in {original}")


def prepare(src: CopyInfo, dst: CopyInfo) -> tuple[str, str, str]:
    """PrepareArchiveCopy: (directory to extract into, archive base name, the name it takes)."""
    dst_dir, dst_base = split_path_dir_entry(dst.path)
    _, src_base = split_path_dir_entry(src.path)
    if dst.exists and dst.is_dir:
        return dst.path, src_base, src.rebase or src_base
    if dst.exists and src.is_dir:
        raise DockyardError("cannot copy directory")
    if not dst.exists and not src.is_dir and (has_trailing_separator(dst.path) or specifies_current_dir(dst.path)):
        raise DockyardError("no such directory")
    return dst_dir, src.rebase or src_base, dst_base


def rename(name: str, old: str, new: str) -> str:
    """RebaseArchiveEntries: the first ``old`` in an entry name becomes ``new``."""
    if old == new:
        return name
    if old == "/":
        old = ""
    return name.replace(old, new, 1)


# --- writing ---------------------------------------------------------------------------

def _header(info: tarfile.TarInfo) -> bytes:
    return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


def tar_stream(src: CopyInfo, new_base: str) -> Iterator[bytes]:
    """TarResourceRebase: ``src`` (a file or a tree) as tar entries named from its base."""
    source_dir, source_base = split_path_dir_entry(src.path)
    root = os.path.join(source_dir, source_base)
    links: dict[tuple[int, int], str] = {}

    def entries(path: str, name: str) -> Iterator[tuple[str, str]]:
        """Depth first in name order, as Go's filepath.Walk."""
        yield path, name
        if os.path.isdir(path) and not os.path.islink(path):
            for child in sorted(os.listdir(path)):
                yield from entries(os.path.join(path, child), f"{name}/{child}")

    for full, name in entries(root, source_base):
        try:
            st = os.lstat(full)
        except OSError:
            continue
        info = tarfile.TarInfo(rename(name, source_base, new_base) if new_base else name)
        info.mode = stat.S_IMODE(st.st_mode)
        info.uid, info.gid = st.st_uid, st.st_gid
        info.mtime = int(st.st_mtime)
        info.uname = info.gname = ""
        key = (st.st_dev, st.st_ino)
        if stat.S_ISREG(st.st_mode) and st.st_nlink > 1 and key in links:
            info.type, info.linkname = tarfile.LNKTYPE, links[key]
        elif stat.S_ISREG(st.st_mode):
            info.size = st.st_size
            if st.st_nlink > 1:
                links[key] = info.name
        elif stat.S_ISDIR(st.st_mode):
            info.type = tarfile.DIRTYPE
            info.name += "/"
        elif stat.S_ISLNK(st.st_mode):
            info.type, info.linkname = tarfile.SYMTYPE, os.readlink(full)
        elif stat.S_ISFIFO(st.st_mode):
            info.type = tarfile.FIFOTYPE
        elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
            info.type = tarfile.CHRTYPE if stat.S_ISCHR(st.st_mode) else tarfile.BLKTYPE
            info.devmajor, info.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
        else:
            continue  # sockets are not archived
        yield _header(info)
        if info.type == tarfile.REGTYPE and info.size:
            remaining = info.size
            with open(full, "rb") as fh:
                while remaining > 0:
                    chunk = fh.read(min(_CHUNK, remaining))
                    if not chunk:
                        chunk = b"\0" * remaining  # the file shrank: keep the archive well-formed
                    remaining -= len(chunk)
                    yield chunk
            if info.size % tarfile.BLOCKSIZE:
                yield b"\0" * (tarfile.BLOCKSIZE - info.size % tarfile.BLOCKSIZE)
    yield b"\0" * (tarfile.BLOCKSIZE * 2)


# --- reading ---------------------------------------------------------------------------

class ChunkReader:
    """A file object over an iterable of byte chunks (a streamed reply), counting what was read."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self.chunks = iter(chunks)
        self.buf = b""
        self.total = 0

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self.buf) < size:
            try:
                self.buf += next(self.chunks)
            except StopIteration:
                break
        if size < 0:
            data, self.buf = self.buf, b""
        else:
            data, self.buf = self.buf[:size], self.buf[size:]
        self.total += len(data)
        return data


def _inside(root: str, path: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def extract(reader: ChunkReader, dst_dir: str, old_base: str, new_base: str) -> None:
    """Untar with NoOverwriteDirNonDir and NoLchown into ``dst_dir``."""
    root = os.path.realpath(dst_dir)
    dir_times: list[tuple[str, int]] = []
    with tarfile.open(fileobj=reader, mode="r|") as archive:  # type: ignore[call-overload]
        for member in archive:
            name = rename(member.name, old_base, new_base).lstrip("/")
            path = os.path.normpath(os.path.join(root, name))
            if not _inside(root, path):
                raise DockyardError(f"invalid archive entry {member.name!r}: outside of {dst_dir!r}")
            parent = os.path.dirname(path)
            if not _inside(root, os.path.realpath(parent)):
                raise DockyardError(f"invalid archive entry {member.name!r}: outside of {dst_dir!r}")
            os.makedirs(parent, 0o755, exist_ok=True)
            try:
                existing = os.lstat(path)
            except FileNotFoundError:
                existing = None
            if existing is not None and path != root:
                if stat.S_ISDIR(existing.st_mode) and not member.isdir():
                    raise DockyardError(f'cannot overwrite directory "{path}" with non-directory "{name}"')
                if not stat.S_ISDIR(existing.st_mode) and member.isdir():
                    raise DockyardError(f'cannot overwrite non-directory "{path}" with directory "{name}"')
                if not member.isdir():
                    os.unlink(path)
            _create(archive, member, path, root)
            if member.isdir():
                dir_times.append((path, int(member.mtime)))
    for path, mtime in reversed(dir_times):
        os.utime(path, (mtime, mtime))


def _create(archive: tarfile.TarFile, member: tarfile.TarInfo, path: str, root: str) -> None:
    if member.isdir():
        if not os.path.isdir(path):
            os.mkdir(path, 0o755)
        os.chmod(path, member.mode & 0o7777)
        return
    if member.issym():
        target = os.path.normpath(os.path.join(os.path.dirname(path), member.linkname))
        if not _inside(root, target):
            raise DockyardError(f'invalid symlink "{path}" -> "{member.linkname}"')
        os.symlink(member.linkname, path)
        return
    if member.islnk():
        target = os.path.normpath(os.path.join(root, member.linkname.lstrip("/")))
        if not _inside(root, target):
            raise DockyardError(f'invalid hardlink "{path}" -> "{member.linkname}"')
        os.link(target, path)
        return
    if member.isfifo():
        os.mkfifo(path, member.mode & 0o7777)
    elif member.isfile():
        source = archive.extractfile(member)
        with open(path, "wb") as fh:
            while source is not None and (chunk := source.read(_CHUNK)):
                fh.write(chunk)
        os.chmod(path, member.mode & 0o7777)
    else:
        return  # devices need privileges the client does not ask for
    os.utime(path, (member.mtime, member.mtime))
