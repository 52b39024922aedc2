"""Leases (containerd's ``leases.Manager``): named holds on resources that garbage collection
must keep while the lease lives, such as the blobs and snapshots of a pull in progress.

A lease has an id, labels and a creation time. Its label ``containerd.io/gc.expire`` (an
RFC 3339 time) ends its protection at that time; ``containerd.io/gc.flat`` makes it protect
only the resources themselves, not what they reference. Resources are ``(type, id)``:
``content`` (a digest), ``ingests`` (a ref), ``images`` (a name) and
``snapshots/<snapshotter>`` (a key). The stores add what they create to the lease they
were opened with (:func:`add_resource`).
"""

from __future__ import annotations

import base64
import builtins
import os
import sqlite3
import time
from dataclasses import dataclass, field
from functools import partial

from dockyard.containerd.filters import labels_adaptor, parse_filters
from dockyard.containerd.metadata.namespaces import ensure_namespace
from dockyard.containerd.metadata.validation import (
    dumps,
    format_time,
    loads,
    validate_labels,
)
from dockyard.errors import AlreadyExists, InvalidArgument, NotFound, NotImplementedYet
from dockyard.oci.digest import parse_digest

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from dockyard.containerd.metadata.db import DB

LABEL_EXPIRE = "containerd.io/gc.expire"
LABEL_FLAT = "containerd.io/gc.flat"


@dataclass
class Lease:
    id: str
    labels: dict[str, str] = field(default_factory=dict)
    created_at: float = 0.0


@dataclass(frozen=True)
class Resource:
    """A leased object: ``type`` is content, ingests, images or snapshots/<snapshotter>."""

    id: str
    type: str


def check_resource(resource: Resource) -> Resource:
    """The resource with a normalised id; InvalidArgument or NotImplementedYet otherwise."""
    parts = resource.type.split("/")
    kind = parts[0]
    if kind in ("content", "ingests", "images"):
        if len(parts) != 1:
            raise InvalidArgument(f"invalid resource type {resource.type!r}")
        if kind == "content":
            parse_digest(resource.id)
    elif kind == "snapshots":
        if len(parts) != 2 or not parts[1]:
            raise InvalidArgument(f"invalid snapshot resource type {resource.type!r}: want snapshots/<snapshotter>")
    else:
        raise NotImplementedYet(f"resource type {resource.type!r} not supported")
    if not resource.id:
        raise InvalidArgument(f"resource of type {resource.type!r}: id must not be empty")
    return resource


def add_resource(conn: sqlite3.Connection, namespace: str, lease: str, type_: str, id_: str) -> None:
    """Add a resource to ``lease`` (nothing when ``lease`` is empty); NotFound if the lease
    does not exist. Inside a write transaction."""
    if not lease:
        return
    if conn.execute("SELECT 1 FROM leases WHERE namespace = ? AND id = ?", (namespace, lease)).fetchone() is None:
        raise NotFound(f"lease {lease!r}: not found")
    conn.execute("INSERT INTO lease_resources (namespace, lease, type, id) VALUES (?, ?, ?, ?)"
                 " ON CONFLICT DO NOTHING", (namespace, lease, type_, id_))


def remove_resource(conn: sqlite3.Connection, namespace: str, lease: str, type_: str, id_: str) -> None:
    if lease:
        conn.execute("DELETE FROM lease_resources WHERE namespace = ? AND lease = ? AND type = ? AND id = ?",
                     (namespace, lease, type_, id_))


MAX_LEASE_ID = 256


def validate_lease_id(value: str) -> str:
    """A lease id: printable ASCII without blanks. Looser than an identifier, as in
    containerd, whose clients make ids like ``166334371-3pL-`` (nanoseconds and base64)."""
    if not value:
        raise InvalidArgument("lease id must not be empty")
    if len(value) > MAX_LEASE_ID or not all("!" <= ch <= "~" for ch in value):
        raise InvalidArgument(f"lease id {value[:80]!r}: must be 1 to {MAX_LEASE_ID} printable characters "
                              "without blanks")
    return value


def random_id() -> str:
    """A fresh lease id (containerd's ``WithRandomID``: nanoseconds, then random)."""
    suffix = base64.urlsafe_b64encode(os.urandom(8)).decode().rstrip("=").replace("_", "x").replace("-", "y")
    return f"{time.time_ns() % 1_000_000_000}-{suffix}"


class LeaseManager:
    """The leases of one namespace."""

    def __init__(self, db: DB, namespace: str) -> None:
        self._db = db
        self.namespace = namespace

    def create(self, id: str = "", labels: dict[str, str] | None = None, expire: float | None = None) -> Lease:
        """A new lease (a random id when ``id`` is empty). ``expire`` (seconds from now)
        sets the ``containerd.io/gc.expire`` label."""
        lease_id = validate_lease_id(id or random_id())
        given = dict(labels or {})
        if expire is not None:
            given[LABEL_EXPIRE] = format_time(time.time() + expire)
        checked = validate_labels(given, f"lease {lease_id!r}")
        now = time.time()
        with self._db.write() as conn:
            ensure_namespace(conn, self.namespace)
            if conn.execute("SELECT 1 FROM leases WHERE namespace = ? AND id = ?",
                            (self.namespace, lease_id)).fetchone():
                raise AlreadyExists(f"lease {lease_id!r}: already exists")
            conn.execute("INSERT INTO leases (namespace, id, labels, created_at) VALUES (?, ?, ?, ?)",
                         (self.namespace, lease_id, dumps(checked), now))
        return Lease(lease_id, checked, now)

    def delete(self, id: str) -> None:
        """Delete a lease and its resource list; what it protected is left to the next
        garbage collection."""
        with self._db.write() as conn:
            cursor = conn.execute("DELETE FROM leases WHERE namespace = ? AND id = ?", (self.namespace, id))
            if cursor.rowcount == 0:
                raise NotFound(f"lease {id!r}: not found")

    def get(self, id: str) -> Lease:
        with self._db.read() as conn:
            row = conn.execute("SELECT * FROM leases WHERE namespace = ? AND id = ?", (self.namespace, id)).fetchone()
        if row is None:
            raise NotFound(f"lease {id!r}: not found")
        return Lease(row["id"], loads(row["labels"]), row["created_at"])

    def list(self, *filters: str) -> builtins.list[Lease]:
        """Leases matching any of ``filters`` (fields: id, labels)."""
        flt = parse_filters(filters)
        with self._db.read() as conn:
            rows = conn.execute("SELECT * FROM leases WHERE namespace = ? ORDER BY id", (self.namespace,)).fetchall()
        out = []
        for row in rows:
            lease = Lease(row["id"], loads(row["labels"]), row["created_at"])
            if flt.match(partial(_adapt, lease)):
                out.append(lease)
        return out

    def add_resource(self, id: str, resource: Resource) -> None:
        checked = check_resource(resource)
        with self._db.write() as conn:
            add_resource(conn, self.namespace, id, checked.type, checked.id)

    def delete_resource(self, id: str, resource: Resource) -> None:
        checked = check_resource(resource)
        with self._db.write() as conn:
            self._require(conn, id)
            remove_resource(conn, self.namespace, id, checked.type, checked.id)

    def list_resources(self, id: str) -> builtins.list[Resource]:
        with self._db.read() as conn:
            self._require(conn, id)
            rows = conn.execute("SELECT type, id FROM lease_resources WHERE namespace = ? AND lease = ?"
                                " ORDER BY type, id", (self.namespace, id)).fetchall()
        return [Resource(row["id"], row["type"]) for row in rows]

    def _require(self, conn: sqlite3.Connection, id: str) -> None:
        if conn.execute("SELECT 1 FROM leases WHERE namespace = ? AND id = ?", (self.namespace, id)).fetchone() is None:
            raise NotFound(f"lease {id!r}: not found")


def _adapt(lease: Lease, path: Sequence[str]) -> tuple[str, bool]:
    if not path:
        return "", False
    if path[0] == "id":
        return lease.id, True
    if path[0] == "labels":
        return labels_adaptor(lease.labels, path)
    return "", False
