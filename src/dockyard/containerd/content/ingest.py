"""One ingest on disk and its lock.

An ingest is a blob being written under a caller's *ref*. It lives in
``<root>/ingest/<sha256(ref)>/``:

- ``ref``        the ref itself (the directory name is its hash);
- ``data``       the bytes written so far (its size is the offset);
- ``startedat``, ``updatedat``  seconds since the epoch, as text;
- ``total``      the expected size, when the writer gave one;
- ``expected``   the expected digest, when the writer gave one;
- ``lock``       flock(2)ed by the one writer of the ref; holds the time it was taken.

The lock is an exclusive, non-blocking ``flock`` on an open file description, so it excludes
a second writer in this process as well as in any other, and it dies with its process: a
writer that crashed never leaves its ref locked. Whoever fails to take it gets
:class:`Unavailable` "ref ... locked for ...", as from containerd.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import time
from datetime import UTC, datetime
from pathlib import Path

from dockyard.containerd.content.types import Status
from dockyard.errors import NotFound, Unavailable

FILES = ("ref", "data", "startedat", "updatedat", "total", "expected", "lock")


def ingest_path(root: Path, ref: str) -> Path:
    """The directory of ``ref``'s ingest under the store ``root``."""
    return root / "ingest" / hashlib.sha256(ref.encode()).hexdigest()


class IngestLock:
    """A held ingest lock; :meth:`release` drops it (idempotent)."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    @property
    def held(self) -> bool:
        return self._fd >= 0

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)  # closing the description drops the flock
            self._fd = -1


def lock_ingest(path: Path, ref: str, create: bool) -> IngestLock:
    """Take the lock of the ingest at ``path``, creating the directory if ``create``.

    NotFound when the ingest does not exist and ``create`` is false; Unavailable when
    another writer holds it.
    """
    lock_path = path / "lock"
    while True:
        if create:
            path.mkdir(parents=True, exist_ok=True)
        elif not path.is_dir():
            raise NotFound(f"ingest ref {ref!r}: not found")
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except FileNotFoundError:
            continue  # the directory went away (a commit or abort); look again
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            since = _read_float(fd)
            os.close(fd)
            raise Unavailable(_locked_message(ref, since)) from None
        except BaseException:
            os.close(fd)
            raise
        # The file may have been unlinked (its ingest committed) between open and flock:
        # only the lock file still at the path counts.
        try:
            current = os.stat(lock_path)
        except FileNotFoundError:
            os.close(fd)
            continue
        if current.st_ino != os.fstat(fd).st_ino:
            os.close(fd)
            continue
        os.ftruncate(fd, 0)
        os.pwrite(fd, repr(time.time()).encode(), 0)
        return IngestLock(fd)


def _locked_message(ref: str, since: float) -> str:
    if since <= 0:
        return f"ref {ref} locked"
    held = max(0.0, time.time() - since)
    when = datetime.fromtimestamp(since, UTC).isoformat(timespec="seconds")
    return f"ref {ref} locked for {held:.1f}s (since {when})"


def _read_float(fd: int) -> float:
    try:
        return float(os.pread(fd, 64, 0).decode() or 0)
    except (OSError, ValueError):
        return 0.0


def write_text(path: Path, value: str) -> None:
    """Write a small metadata file of the ingest."""
    path.write_text(value, encoding="utf-8")


def read_text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def read_status(path: Path) -> Status:
    """The status of the ingest at ``path``; NotFound when it is missing or incomplete."""
    try:
        data = os.stat(path / "data")
        ref = read_text(path / "ref")
        started = float(read_text(path / "startedat"))
        updated = float(read_text(path / "updatedat"))
    except (FileNotFoundError, NotADirectoryError, ValueError):
        raise NotFound(f"ingest {path.name}: not found or incomplete") from None
    return Status(
        ref=ref,
        offset=data.st_size,
        total=_optional_int(path / "total"),
        expected=_optional_text(path / "expected"),
        started_at=started,
        # updatedat is written when a writer closes; the data's mtime may be newer.
        updated_at=max(updated, data.st_mtime),
    )


def _optional_int(path: Path) -> int:
    try:
        return int(read_text(path))
    except (FileNotFoundError, ValueError):
        return 0


def _optional_text(path: Path) -> str:
    try:
        return read_text(path)
    except FileNotFoundError:
        return ""
