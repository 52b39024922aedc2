"""Content per namespace (containerd's ``metadata/content.go``): which blobs of the shared
content store a namespace *has*, with labels, and the namespace's ingests.

A blob is visible in a namespace once a writer of that namespace commits it, or - the
"shared" policy - once a writer opened with an ``expected`` digest that is already on disk
(from another namespace) commits without writing a byte. Deleting content removes only the
namespace's row; the bytes leave the disk through garbage collection when no namespace has
them. Labels such as ``containerd.io/gc.ref.content.*`` and ``containerd.io/uncompressed``
live here.

An ingest is a row naming the backend ref (``<namespace>/<n>/<ref>``) of the shared store.
Opened under a lease, the ingest is added to it (and the blob, once committed); otherwise
the ingest is protected for 24 hours from its last open.
"""

from __future__ import annotations

import builtins
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from functools import partial

from dockyard.containerd.content import ContentStore, Info, ReaderAt, Status, Writer
from dockyard.containerd.filters import labels_adaptor, parse_filters
from dockyard.containerd.metadata.leases import add_resource, remove_resource
from dockyard.containerd.metadata.namespaces import ensure_namespace
from dockyard.containerd.metadata.schema import next_sequence
from dockyard.containerd.metadata.validation import dumps, loads, update_labels, validate_labels
from dockyard.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from dockyard.oci.digest import validate_digest

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.containerd.metadata.db import DB

INGEST_EXPIRY = 24 * 3600.0  # seconds an ingest outside any lease is kept


class NamespacedContentStore:
    """The content of one namespace; ``lease`` (optional) protects what it writes."""

    def __init__(self, db: DB, store: ContentStore, namespace: str, lease: str = "") -> None:
        self._db = db
        self.store = store
        self.namespace = namespace
        self.lease = lease

    # -- committed content ---------------------------------------------------------

    def info(self, digest: str) -> Info:
        with self._db.read() as conn:
            return _info(self._row(conn, digest))

    def update(self, info: Info, fieldpaths: Sequence[str] = ()) -> Info:
        """Change labels (``labels`` or ``labels.<k>`` field paths; all when empty)."""
        with self._db.write() as conn:
            current = _info(self._row(conn, info.digest))
            labels = update_labels(current.labels, info.labels, fieldpaths, f"content {info.digest}")
            current.labels, current.updated_at = labels, time.time()
            conn.execute("UPDATE content SET labels = ?, updated_at = ? WHERE namespace = ? AND digest = ?",
                         (dumps(labels), current.updated_at, self.namespace, info.digest))
        return current

    def walk(self, *filters: str) -> Iterator[Info]:
        """The namespace's blobs matching any of ``filters`` (fields: digest, size, labels)."""
        flt = parse_filters(filters)
        with self._db.read() as conn:
            rows = conn.execute("SELECT * FROM content WHERE namespace = ? ORDER BY digest",
                                (self.namespace,)).fetchall()
        for row in rows:
            info = _info(row)
            if flt.match(partial(_adapt, info)):
                yield info

    def list(self, *filters: str) -> builtins.list[Info]:
        return builtins.list(self.walk(*filters))

    def delete(self, digest: str) -> None:
        """Forget a blob in this namespace (the bytes go at the next garbage collection)."""
        with self._db.write() as conn:
            self._row(conn, digest)
            conn.execute("DELETE FROM content WHERE namespace = ? AND digest = ?", (self.namespace, digest))
            remove_resource(conn, self.namespace, self.lease, "content", digest)

    def reader(self, digest: str) -> ReaderAt:
        with self._db.read() as conn:
            self._row(conn, digest)
        return self.store.reader(digest)

    def read_all(self, digest: str) -> bytes:
        with self.reader(digest) as reader:
            return reader.read_at(reader.size, 0)

    # -- ingests -------------------------------------------------------------------------

    def writer(self, ref: str, expected_digest: str | None = None, total: int | None = None) -> NamespacedWriter:
        """Open or resume the ingest ``ref``. AlreadyExists (after leasing it) if the
        namespace has ``expected_digest`` already; Unavailable if ``ref`` is being written."""
        if not ref:
            raise InvalidArgument("ref must not be empty")
        expected = validate_digest(expected_digest) if expected_digest else ""
        size = total or 0
        shared = exists = False
        backend: Writer | None = None
        backend_ref, started = "", 0.0
        with self._db.write() as conn:
            ensure_namespace(conn, self.namespace)
            if expected and self._has(conn, expected):
                add_resource(conn, self.namespace, self.lease, "content", expected)
                exists = True
            else:
                if expected and self.store.exists(expected):
                    on_disk = self.store.info(expected).size
                    if not size or size == on_disk:
                        shared, size = True, on_disk
                backend_ref, started = self._open_ingest(conn, ref, expected, size, shared)
                if not shared:
                    backend = self.store.writer(backend_ref, total=size or None)
        if exists:
            raise AlreadyExists(f"content {expected}: already exists")
        return NamespacedWriter(self, ref, backend_ref, backend, expected, size, started)

    def status(self, ref: str) -> Status:
        with self._db.read() as conn:
            row = self._ingest(conn, ref)
        return self._status(row)

    def list_statuses(self, *filters: str) -> builtins.list[Status]:
        """The namespace's ingests matching any of ``filters`` (field: ref)."""
        flt = parse_filters(filters)
        with self._db.read() as conn:
            rows = conn.execute("SELECT * FROM ingests WHERE namespace = ? ORDER BY ref", (self.namespace,)).fetchall()
        out = []
        for row in rows:
            try:
                status = self._status(row)
            except NotFound:
                continue
            if flt.match(partial(_adapt_status, status)):
                out.append(status)
        return out

    def abort(self, ref: str) -> None:
        """Drop an ingest. Unavailable while a writer holds it."""
        with self._db.write() as conn:
            row = self._ingest(conn, ref)
            if not row["shared"]:
                try:
                    self.store.abort(row["backend_ref"])
                except NotFound:
                    pass
            conn.execute("DELETE FROM ingests WHERE namespace = ? AND ref = ?", (self.namespace, ref))
            remove_resource(conn, self.namespace, self.lease, "ingests", ref)

    # -- helpers -------------------------------------------------------------------------

    def _open_ingest(self, conn: sqlite3.Connection, ref: str, expected: str, total: int,
                     shared: bool) -> tuple[str, float]:
        add_resource(conn, self.namespace, self.lease, "ingests", ref)
        expires = None if self.lease else time.time() + INGEST_EXPIRY
        row = conn.execute("SELECT backend_ref, started_at FROM ingests WHERE namespace = ? AND ref = ?",
                           (self.namespace, ref)).fetchone()
        if row is None:
            backend_ref = f"{self.namespace}/{next_sequence(conn, 'ingests')}/{ref}"
            started = time.time()
            conn.execute("INSERT INTO ingests (namespace, ref, backend_ref, expected, total, shared, expires_at,"
                         " started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                         (self.namespace, ref, backend_ref, expected, total, int(shared), expires, started))
            return backend_ref, started
        conn.execute("UPDATE ingests SET expected = ?, total = ?, shared = ?, expires_at = ?"
                     " WHERE namespace = ? AND ref = ?", (expected, total, int(shared), expires, self.namespace, ref))
        return row["backend_ref"], row["started_at"]

    def _status(self, row: sqlite3.Row) -> Status:
        if row["shared"]:
            total = row["total"]
            return Status(row["ref"], total, total, row["expected"], row["started_at"], row["started_at"])
        status = self.store.status(row["backend_ref"])
        status.ref, status.expected = row["ref"], row["expected"]
        return status

    def _has(self, conn: sqlite3.Connection, digest: str) -> bool:
        return conn.execute("SELECT 1 FROM content WHERE namespace = ? AND digest = ?",
                            (self.namespace, digest)).fetchone() is not None

    def _row(self, conn: sqlite3.Connection, digest: str) -> sqlite3.Row:
        row: sqlite3.Row | None = conn.execute(
            "SELECT * FROM content WHERE namespace = ? AND digest = ?", (self.namespace, digest)).fetchone()
        if row is None:
            raise NotFound(f"content {digest}: not found")
        return row

    def _ingest(self, conn: sqlite3.Connection, ref: str) -> sqlite3.Row:
        row: sqlite3.Row | None = conn.execute(
            "SELECT * FROM ingests WHERE namespace = ? AND ref = ?", (self.namespace, ref)).fetchone()
        if row is None:
            raise NotFound(f"ingest ref {ref!r}: not found")
        return row

    def _commit_row(self, conn: sqlite3.Connection, ref: str, digest: str, size: int,
                    labels: Mapping[str, str]) -> bool:
        """Record a committed blob and end the ingest; False if the namespace had it."""
        existed = self._has(conn, digest)
        if not existed:
            now = time.time()
            conn.execute("INSERT INTO content (namespace, digest, size, labels, created_at, updated_at)"
                         " VALUES (?, ?, ?, ?, ?, ?)", (self.namespace, digest, size, dumps(labels), now, now))
        conn.execute("DELETE FROM ingests WHERE namespace = ? AND ref = ?", (self.namespace, ref))
        remove_resource(conn, self.namespace, self.lease, "ingests", ref)
        add_resource(conn, self.namespace, self.lease, "content", digest)
        return not existed


class NamespacedWriter:
    """A writer of one namespace's ingest; :meth:`commit` makes the blob the namespace's."""

    def __init__(self, owner: NamespacedContentStore, ref: str, backend_ref: str, backend: Writer | None,
                 expected: str, size: int, started: float) -> None:
        self._owner = owner
        self.ref = ref
        self._backend_ref = backend_ref
        self._backend = backend
        self._expected = expected
        self._size = size  # the blob's size when shared, else the expected total
        self._started = started

    def __enter__(self) -> NamespacedWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def write(self, data: bytes | bytearray | memoryview) -> int:
        if self._backend is None:
            if not len(data):
                return 0
            self._unshare(copy=True)
        assert self._backend is not None
        return self._backend.write(data)

    def digest(self) -> str:
        return self._backend.digest() if self._backend else self._expected

    def status(self) -> Status:
        if self._backend is None:
            return Status(self.ref, self._size, self._size, self._expected, self._started, self._started)
        status = self._backend.status()
        status.ref, status.expected = self.ref, self._expected
        return status

    def truncate(self, size: int = 0) -> None:
        if self._backend is None:
            if size != 0:
                raise InvalidArgument(f"ref {self.ref}: truncate to {size}: only 0 is supported")
            self._unshare(copy=False)
        else:
            self._backend.truncate(size)

    def commit(self, size: int = 0, expected: str | None = None, labels: Mapping[str, str] | None = None) -> str:
        """Verify, publish and record the blob in the namespace; return its digest.
        FailedPrecondition on a size or digest mismatch (the ingest stays); AlreadyExists
        if the namespace had the blob already (the ingest is gone)."""
        owner = self._owner
        checked = validate_labels(labels, f"ref {self.ref}")
        want = validate_digest(expected) if expected else self._expected
        if self._backend is not None:
            self._backend.sync()  # the slow part, outside the database lock
        with owner._db.write() as conn:
            owner._ingest(conn, self.ref)
            if self._backend is None:
                if size and size != self._size:
                    raise FailedPrecondition(f"ref {self.ref}: unexpected commit size {self._size}, expected {size}")
                if want != self._expected:
                    raise FailedPrecondition(f"ref {self.ref}: unexpected commit digest {self._expected}, "
                                             f"expected {want}")
                digest, size = self._expected, self._size
            else:
                size = size or self._backend.status().offset
                try:
                    digest = self._backend.commit(size, want or None)
                except AlreadyExists:
                    digest = want or self._backend.digest()
            added = owner._commit_row(conn, self.ref, digest, size, checked)
        if not added:
            raise AlreadyExists(f"content {digest}: already exists")
        return digest

    def close(self) -> None:
        """Keep the ingest for a later writer of the same ref."""
        if self._backend is not None:
            self._backend.close()

    def _unshare(self, copy: bool) -> None:
        """Turn a shared writer into a real ingest (``copy``: start from the blob's bytes)."""
        owner = self._owner
        backend = owner.store.writer(self._backend_ref, total=self._size or None)
        try:
            if copy and self._expected:
                with owner.store.reader(self._expected) as reader:
                    while chunk := reader.read(1 << 20):
                        backend.write(chunk)
            with owner._db.write() as conn:
                conn.execute("UPDATE ingests SET shared = 0 WHERE namespace = ? AND ref = ?",
                             (owner.namespace, self.ref))
        except BaseException:
            backend.close()
            raise
        self._backend = backend


def _info(row: sqlite3.Row) -> Info:
    return Info(row["digest"], row["size"], row["created_at"], row["updated_at"], loads(row["labels"]))


def _adapt_status(status: Status, path: Sequence[str]) -> tuple[str, bool]:
    if list(path) == ["ref"]:
        return status.ref, True
    return "", False


def _adapt(info: Info, path: Sequence[str]) -> tuple[str, bool]:
    if not path:
        return "", False
    if path[0] == "digest":
        return info.digest, True
    if path[0] == "size":
        return str(info.size), True
    if path[0] == "labels":
        return labels_adaptor(info.labels, path)
    return "", False
