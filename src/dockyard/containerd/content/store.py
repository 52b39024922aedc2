"""The local content store: blobs by digest under one root directory, shared by every
namespace (containerd's ``plugins/content/local``).

Layout::

    <root>/blobs/<alg>/<hex>        committed blobs, read-only (mode 0444)
    <root>/ingest/<sha256(ref)>/    ingests in progress (see :mod:`.ingest`)

Blobs appear only through :meth:`Writer.commit` (verified, then linked in atomically) and
leave only through :meth:`ContentStore.delete`; which blobs a namespace *has*, and their
labels, is the metadata layer's business (:mod:`dockyard.containerd.metadata.content`),
which is also the only caller that should delete (through garbage collection).
"""

from __future__ import annotations

import builtins
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from dockyard.containerd.content.ingest import ingest_path, lock_ingest, read_status, read_text
from dockyard.containerd.content.reader import ReaderAt
from dockyard.containerd.content.types import Info, Status
from dockyard.containerd.content.writer import Writer, open_writer
from dockyard.errors import AlreadyExists, InvalidArgument, NotFound
from dockyard.oci.digest import ALGORITHMS, parse_digest, validate_digest

_HEX = frozenset("0123456789abcdef")


class ContentStore:
    """Blobs under ``root`` (created if missing)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        for sub in ("blobs", "ingest"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    def blob_path(self, digest: str) -> Path:
        """Where the blob ``digest`` lives (whether or not it exists)."""
        algorithm, encoded = parse_digest(digest)
        return self.root / "blobs" / algorithm / encoded

    # -- committed blobs -------------------------------------------------------------

    def info(self, digest: str) -> Info:
        """Size and times of a blob; NotFound if absent."""
        try:
            st = os.stat(self.blob_path(digest))
        except FileNotFoundError:
            raise NotFound(f"content {digest}: not found") from None
        return Info(digest=digest, size=st.st_size, created_at=st.st_mtime, updated_at=st.st_mtime)

    def exists(self, digest: str) -> bool:
        return self.blob_path(digest).is_file()

    def reader(self, digest: str) -> ReaderAt:
        """An open, seekable reader of a blob; NotFound if absent."""
        try:
            return ReaderAt(self.blob_path(digest), digest)
        except FileNotFoundError:
            raise NotFound(f"content {digest}: not found") from None

    def read_all(self, digest: str) -> bytes:
        """A whole blob (for small ones: manifests, configs)."""
        with self.reader(digest) as reader:
            return reader.read_at(reader.size, 0)

    def walk(self) -> Iterator[Info]:
        """Every committed blob, in no particular order."""
        for algorithm, length in ALGORITHMS.items():
            directory = self.root / "blobs" / algorithm
            try:
                entries = list(os.scandir(directory))
            except FileNotFoundError:
                continue
            for entry in entries:
                name = entry.name
                if len(name) != length or not _HEX.issuperset(name):
                    continue  # not a blob (a stray file)
                try:
                    st = entry.stat()
                except FileNotFoundError:
                    continue  # deleted meanwhile
                yield Info(digest=f"{algorithm}:{name}", size=st.st_size,
                           created_at=st.st_mtime, updated_at=st.st_mtime)

    def list(self) -> builtins.list[Info]:
        return sorted(self.walk(), key=lambda info: info.digest)

    def delete(self, digest: str) -> None:
        """Remove a blob from disk; NotFound if absent."""
        try:
            os.unlink(self.blob_path(digest))
        except FileNotFoundError:
            raise NotFound(f"content {digest}: not found") from None

    # -- ingests ---------------------------------------------------------------------

    def writer(self, ref: str, expected_digest: str | None = None, total: int | None = None) -> Writer:
        """The writer of ``ref``, resuming its ingest if one exists.

        AlreadyExists if ``expected_digest`` is committed already; Unavailable if another
        writer (in any process) holds ``ref``.
        """
        if not ref:
            raise InvalidArgument("ref must not be empty")
        expected = validate_digest(expected_digest) if expected_digest else ""
        if total is not None and total < 0:
            raise InvalidArgument(f"ref {ref}: negative total {total}")
        if expected and self.exists(expected):
            raise AlreadyExists(f"content {expected}: already exists")
        return open_writer(self.root, ingest_path(self.root, ref), ref, expected, total or 0)

    def status(self, ref: str) -> Status:
        """The progress of ``ref``'s ingest; NotFound if there is none."""
        status = read_status(ingest_path(self.root, ref))
        if status.ref != ref:
            raise NotFound(f"ingest ref {ref!r}: not found")
        return status

    def list_statuses(self) -> builtins.list[Status]:
        statuses = []
        for path in self._ingest_dirs():
            try:
                statuses.append(read_status(path))
            except NotFound:
                continue  # committed or aborted meanwhile, or half set up
        return sorted(statuses, key=lambda status: status.ref)

    def walk_status_refs(self) -> Iterator[str]:
        """The ref of every ingest directory (also of incomplete ones)."""
        for path in self._ingest_dirs():
            try:
                yield read_text(path / "ref")
            except (FileNotFoundError, NotADirectoryError):
                continue

    def abort(self, ref: str) -> None:
        """Drop ``ref``'s ingest. NotFound if none; Unavailable while a writer holds it
        (close the writer first)."""
        path = ingest_path(self.root, ref)
        lock = lock_ingest(path, ref, create=False)
        try:
            shutil.rmtree(path)
        finally:
            lock.release()

    def _ingest_dirs(self) -> builtins.list[Path]:
        try:
            return [Path(entry.path) for entry in os.scandir(self.root / "ingest") if entry.is_dir()]
        except FileNotFoundError:
            return []
