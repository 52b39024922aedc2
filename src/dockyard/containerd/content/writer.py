"""Writing one blob: open (or resume) an ingest, append, then commit or close.

:func:`open_writer` takes the ref's lock and resumes an existing ingest at its offset,
re-hashing what is there (a writer that crashed midway resumes too); an ingest that does not
match the new request (another total or expected digest, unreadable metadata) starts over.

:meth:`Writer.commit` publishes the blob so that a crash never leaves half of it visible:
fsync the data, check size and digest, make it read-only, ``link(2)`` it to
``blobs/<alg>/<hex>`` (atomic, and it never replaces: a blob committed concurrently under
the same digest gives AlreadyExists and the ingest is removed), fsync the directory, remove
the ingest.
"""

from __future__ import annotations

import errno
import os
import shutil
import time
from collections.abc import Mapping
from pathlib import Path

from dockyard.containerd.content.ingest import (
    IngestLock,
    lock_ingest,
    read_status,
    write_text,
)
from dockyard.containerd.content.types import Status
from dockyard.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from dockyard.oci.digest import Digester, parse_digest

_CHUNK = 1 << 20


class Writer:
    """The one writer of an ingest (containerd's ``content.Writer``)."""

    def __init__(self, *, ref: str, path: Path, blobs: Path, lock: IngestLock, fd: int,
                 digester: Digester, status: Status) -> None:
        self.ref = ref
        self._path = path
        self._blobs = blobs
        self._lock = lock
        self._fd = fd
        self._digester = digester
        self._offset = status.offset
        self._total = status.total
        self._expected = status.expected
        self._started_at = status.started_at
        self._updated_at = status.updated_at

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def closed(self) -> bool:
        return self._fd < 0

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Append all of ``data``; returns its length."""
        fd = self._require_open("write")
        view = memoryview(data).cast("B")
        written = 0
        try:
            while written < len(view):
                written += os.write(fd, view[written:])
        finally:
            self._digester.update(view[:written])
            self._offset += written
            self._updated_at = time.time()
        return written

    def digest(self) -> str:
        """The digest of what was written so far."""
        return self._digester.digest()

    def status(self) -> Status:
        return Status(self.ref, self._offset, self._total, self._expected, self._started_at, self._updated_at)

    def truncate(self, size: int = 0) -> None:
        """Start the ingest over (only size 0 is supported, as in containerd)."""
        fd = self._require_open("truncate")
        if size != 0:
            raise InvalidArgument(f"ref {self.ref}: truncate to {size}: only 0 is supported")
        os.ftruncate(fd, 0)
        self._digester = Digester(self._digester.algorithm)
        self._offset = 0
        self._updated_at = time.time()

    def sync(self) -> None:
        """Flush the data written so far to disk."""
        os.fsync(self._require_open("sync"))

    def commit(self, size: int = 0, expected: str | None = None,
               labels: Mapping[str, str] | None = None) -> str:
        """Verify and publish the blob; return its digest. The writer is closed afterwards.

        ``size`` (0: the ``total`` given when opening, if any) and ``expected`` (None: the
        digest given when opening, if any) are checked: FailedPrecondition names both
        numbers and the ingest stays (resume it or abort it). ``labels`` are not stored
        here: the metadata layer keeps them per namespace.
        """
        del labels  # kept by dockyard.containerd.metadata
        fd = self._require_open("commit")
        self._fd = -1
        try:
            try:
                os.fsync(fd)
                actual_size = os.fstat(fd).st_size
            finally:
                os.close(fd)
            want_size = size if size > 0 else self._total
            if want_size > 0 and want_size != actual_size:
                raise FailedPrecondition(
                    f"ref {self.ref}: unexpected commit size {actual_size}, expected {want_size}")
            want = expected or self._expected
            dgst = self._digester.digest()
            if want:
                algorithm, _ = parse_digest(want)
                if algorithm != self._digester.algorithm:
                    dgst = _hash_file(self._path / "data", algorithm)
                if want != dgst:
                    raise FailedPrecondition(f"ref {self.ref}: unexpected commit digest {dgst}, expected {want}")
            self._publish(dgst)
            return dgst
        finally:
            self._lock.release()

    def close(self) -> None:
        """Release the ingest, keeping its progress for a later writer of the same ref."""
        if self._fd < 0:
            return
        fd, self._fd = self._fd, -1
        try:
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            write_text(self._path / "updatedat", repr(self._updated_at))
        finally:
            self._lock.release()

    def _publish(self, dgst: str) -> None:
        algorithm, encoded = parse_digest(dgst)
        directory = self._blobs / algorithm
        directory.mkdir(parents=True, exist_ok=True)
        data = self._path / "data"
        target = directory / encoded
        os.chmod(data, 0o444)
        try:
            os.link(data, target)
        except FileExistsError:
            shutil.rmtree(self._path, ignore_errors=True)
            raise AlreadyExists(f"content {dgst}: already exists") from None
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EMLINK):
                os.chmod(data, 0o644)  # left resumable
                raise
            # No hard links here: rename, which replaces, so check first (not atomic
            # against a concurrent commit of the same digest, whose bytes are the same).
            if target.exists():
                shutil.rmtree(self._path, ignore_errors=True)
                raise AlreadyExists(f"content {dgst}: already exists") from None
            os.rename(data, target)
        now = time.time()
        os.utime(target, (now, now))
        _fsync_dir(directory)
        shutil.rmtree(self._path, ignore_errors=True)

    def _require_open(self, what: str) -> int:
        if self._fd < 0:
            raise FailedPrecondition(f"ref {self.ref}: cannot {what} on a closed writer")
        return self._fd


def open_writer(root: Path, path: Path, ref: str, expected: str, total: int) -> Writer:
    """Lock and open (or resume) the ingest of ``ref`` at ``path`` under store ``root``."""
    lock = lock_ingest(path, ref, create=True)
    try:
        algorithm = parse_digest(expected)[0] if expected else "sha256"
        digester = Digester(algorithm)
        status = _resume(path, ref, expected, total, digester)
        if status is None:
            digester = Digester(algorithm)
            status = _start(path, ref, expected, total)
        fd = os.open(path / "data", os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except BaseException:
        if not (path / "ref").exists():
            shutil.rmtree(path, ignore_errors=True)  # leave no nameless ingest behind
        lock.release()
        raise
    return Writer(ref=ref, path=path, blobs=root / "blobs", lock=lock, fd=fd, digester=digester, status=status)


def _resume(path: Path, ref: str, expected: str, total: int, digester: Digester) -> Status | None:
    """The status of a usable existing ingest (its data hashed into ``digester``), else None."""
    try:
        status = read_status(path)
    except NotFound:
        return None
    if status.ref != ref:
        return None
    if total and status.total and total != status.total:
        return None
    if expected and status.expected and expected != status.expected:
        return None
    if status.expected and not expected and parse_digest(status.expected)[0] != digester.algorithm:
        return None
    with open(path / "data", "rb") as data:
        while chunk := data.read(_CHUNK):
            digester.update(chunk)
    status.offset = digester.size
    if total and not status.total:
        write_text(path / "total", str(total))
        status.total = total
    if expected and not status.expected:
        write_text(path / "expected", expected)
        status.expected = expected
    return status


def _start(path: Path, ref: str, expected: str, total: int) -> Status:
    """Set up ``path`` as a new, empty ingest."""
    now = time.time()
    for name in ("data", "total", "expected"):
        (path / name).unlink(missing_ok=True)
    (path / "data").touch(mode=0o644)
    write_text(path / "ref", ref)
    write_text(path / "startedat", repr(now))
    write_text(path / "updatedat", repr(now))
    if total:
        write_text(path / "total", str(total))
    if expected:
        write_text(path / "expected", expected)
    return Status(ref=ref, offset=0, total=total, expected=expected, started_at=now, updated_at=now)


def _hash_file(path: Path, algorithm: str) -> str:
    digester = Digester(algorithm)
    with open(path, "rb") as data:
        while chunk := data.read(_CHUNK):
            digester.update(chunk)
    return digester.digest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
