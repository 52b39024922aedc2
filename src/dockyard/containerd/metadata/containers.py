"""Containers (containerd's ``containers.Store``): per namespace, the metadata a task is made
from - labels, the image name, the runtime (name and options), the OCI spec, the snapshot
holding the root filesystem and named extensions. Nothing here runs: a container has no state.

The spec, the runtime options and the extensions are protobuf ``Any`` values, kept opaque as
:class:`AnyValue` (a type URL and bytes) so this layer needs no protobuf.

A container is a garbage-collection root: it keeps its snapshot (``snapshotter`` /
``snapshot_key``), its image and what its labels reference (see :mod:`dockyard.containerd.gc`).

The table comes with schema version 2 (:func:`create_tables`, run by the metadata
migrations)::

    containers(namespace, id, labels, image, runtime_name, runtime_options, spec,
               snapshotter, snapshot_key, extensions, created_at, updated_at)

``runtime_options``, ``spec`` and ``extensions`` are JSON (``{"type_url": ..., "value":
<base64>}``, extensions a map of those).
"""

from __future__ import annotations

import base64
import builtins
import json
import sqlite3
import time
from dataclasses import dataclass, field, replace
from functools import partial

from dockyard.containerd.filters import labels_adaptor, parse_filters
from dockyard.containerd.metadata.namespaces import ensure_namespace
from dockyard.containerd.metadata.validation import dumps, loads, validate_identifier, validate_labels
from dockyard.errors import AlreadyExists, InvalidArgument, NotFound

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from dockyard.containerd.metadata.db import DB

TABLE = """CREATE TABLE containers (
    namespace TEXT NOT NULL REFERENCES namespaces(name),
    id TEXT NOT NULL,
    labels TEXT NOT NULL DEFAULT '{}',
    image TEXT NOT NULL DEFAULT '',
    runtime_name TEXT NOT NULL,
    runtime_options TEXT,
    spec TEXT,
    snapshotter TEXT NOT NULL DEFAULT '',
    snapshot_key TEXT NOT NULL DEFAULT '',
    extensions TEXT NOT NULL DEFAULT '{}',
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (namespace, id))"""


def create_tables(conn: sqlite3.Connection) -> None:
    """Schema version 2: the containers table."""
    conn.execute(TABLE)
    conn.execute("CREATE INDEX containers_by_snapshot ON containers(namespace, snapshotter, snapshot_key)")


@dataclass(frozen=True)
class AnyValue:
    """A protobuf ``Any``: the message's type URL and its serialized bytes."""

    type_url: str
    value: bytes = b""


@dataclass
class Runtime:
    name: str
    options: AnyValue | None = None


@dataclass
class Container:
    id: str
    runtime: Runtime
    spec: AnyValue | None = None
    labels: dict[str, str] = field(default_factory=dict)
    image: str = ""
    snapshotter: str = ""
    snapshot_key: str = ""
    extensions: dict[str, AnyValue] = field(default_factory=dict)
    created_at: float = 0.0
    updated_at: float = 0.0


def validate_container(container: Container) -> Container:
    """A checked copy (labels without empty values); InvalidArgument names the field."""
    validate_identifier(container.id, "container.ID")
    for key in container.extensions:
        if not key:
            raise InvalidArgument(f"container {container.id!r}: extension keys must not be empty")
    labels = validate_labels(container.labels, f"container {container.id!r}")
    if not container.runtime.name:
        raise InvalidArgument(f"container {container.id!r}: container.Runtime.Name must be set")
    if container.spec is None:
        raise InvalidArgument(f"container {container.id!r}: container.Spec must be set")
    if container.snapshot_key and not container.snapshotter:
        raise InvalidArgument(
            f"container {container.id!r}: container.Snapshotter must be set if container.SnapshotKey is set")
    return replace(container, labels=labels, extensions=dict(container.extensions))


class ContainerStore:
    """The containers of one namespace."""

    def __init__(self, db: DB, namespace: str) -> None:
        self._db = db
        self.namespace = namespace

    def get(self, id: str) -> Container:
        with self._db.read() as conn:
            return _container(self._row(conn, id))

    def list(self, *filters: str) -> builtins.list[Container]:
        """Containers matching any of ``filters`` (fields: id, image, runtime.name,
        snapshotter, snapshot_key, labels)."""
        flt = parse_filters(filters)
        with self._db.read() as conn:
            rows = conn.execute("SELECT * FROM containers WHERE namespace = ? ORDER BY id",
                                (self.namespace,)).fetchall()
        return [c for c in map(_container, rows) if flt.match(partial(_adapt, c))]

    def create(self, container: Container) -> Container:
        """Store a new container; AlreadyExists if the id is taken."""
        checked = validate_container(container)
        with self._db.write() as conn:
            ensure_namespace(conn, self.namespace)
            if self._find(conn, checked.id) is not None:
                raise AlreadyExists(f"container {checked.id!r}: already exists")
            checked.created_at = checked.updated_at = time.time()
            conn.execute(
                "INSERT INTO containers (namespace, id, labels, image, runtime_name, runtime_options, spec,"
                " snapshotter, snapshot_key, extensions, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (self.namespace, checked.id, *_columns(checked), checked.created_at, checked.updated_at))
        return checked

    def update(self, container: Container, fieldpaths: Sequence[str] = ()) -> Container:
        """Change a container: without ``fieldpaths`` labels, spec, extensions, image and the
        snapshot key (snapshotter and runtime name must stay); else the named parts
        (``labels``, ``labels.<k>``, ``spec``, ``extensions``, ``extensions.<k>``, ``image``,
        ``snapshotkey``). Anything else is InvalidArgument."""
        if not container.id:
            raise InvalidArgument("container id is required for update")
        with self._db.write() as conn:
            current = _container(self._row(conn, container.id))
            paths = list(fieldpaths)
            if not paths:
                paths = ["labels", "spec", "extensions", "image", "snapshotkey"]
                if container.snapshotter != current.snapshotter:
                    raise InvalidArgument(f"container {container.id!r}: container.Snapshotter field is immutable")
                if container.runtime.name != current.runtime.name:
                    raise InvalidArgument(f"container {container.id!r}: container.Runtime.Name field is immutable")
            updated = _apply(current, container, paths)
            checked = validate_container(updated)
            checked.created_at, checked.updated_at = current.created_at, time.time()
            conn.execute(
                "UPDATE containers SET labels = ?, image = ?, runtime_name = ?, runtime_options = ?, spec = ?,"
                " snapshotter = ?, snapshot_key = ?, extensions = ?, updated_at = ? WHERE namespace = ? AND id = ?",
                (*_columns(checked), checked.updated_at, self.namespace, checked.id))
        return checked

    def delete(self, id: str) -> None:
        """Forget a container; its snapshot and image stay until garbage collection finds
        nothing else uses them."""
        with self._db.write() as conn:
            cursor = conn.execute("DELETE FROM containers WHERE namespace = ? AND id = ?", (self.namespace, id))
            if cursor.rowcount == 0:
                raise NotFound(f"container {id!r}: not found")

    def _find(self, conn: sqlite3.Connection, id: str) -> sqlite3.Row | None:
        row: sqlite3.Row | None = conn.execute(
            "SELECT * FROM containers WHERE namespace = ? AND id = ?", (self.namespace, id)).fetchone()
        return row

    def _row(self, conn: sqlite3.Connection, id: str) -> sqlite3.Row:
        row = self._find(conn, id)
        if row is None:
            raise NotFound(f"container {id!r}: not found")
        return row


def _apply(current: Container, given: Container, paths: Sequence[str]) -> Container:
    out = replace(current, labels=dict(current.labels), extensions=dict(current.extensions))
    for path in paths:
        if path.startswith("labels."):
            key = path[len("labels."):]
            out.labels[key] = given.labels.get(key, "")
        elif path.startswith("extensions."):
            key = path[len("extensions."):]
            if key in given.extensions:
                out.extensions[key] = given.extensions[key]
            else:
                out.extensions.pop(key, None)
        elif path == "labels":
            out.labels = dict(given.labels)
        elif path == "spec":
            out.spec = given.spec
        elif path == "extensions":
            out.extensions = dict(given.extensions)
        elif path == "image":
            out.image = given.image
        elif path in ("snapshotkey", "snapshot_key"):
            out.snapshot_key = given.snapshot_key
        else:
            raise InvalidArgument(f"cannot update {path!r} field on container {current.id!r}")
    return out


def _any_json(value: AnyValue | None) -> str | None:
    if value is None:
        return None
    return json.dumps({"type_url": value.type_url, "value": base64.b64encode(value.value).decode()})


def _any_load(text: str | None) -> AnyValue | None:
    if not text:
        return None
    doc = json.loads(text)
    return AnyValue(str(doc["type_url"]), base64.b64decode(doc["value"]))


def _columns(c: Container) -> tuple[object, ...]:
    extensions = json.dumps({k: json.loads(_any_json(v) or "null") for k, v in sorted(c.extensions.items())})
    return (dumps(c.labels), c.image, c.runtime.name, _any_json(c.runtime.options), _any_json(c.spec),
            c.snapshotter, c.snapshot_key, extensions)


def _container(row: sqlite3.Row) -> Container:
    extensions = {k: AnyValue(str(v["type_url"]), base64.b64decode(v["value"]))
                  for k, v in json.loads(row["extensions"] or "{}").items()}
    return Container(
        id=row["id"], runtime=Runtime(row["runtime_name"], _any_load(row["runtime_options"])),
        spec=_any_load(row["spec"]), labels=loads(row["labels"]), image=row["image"],
        snapshotter=row["snapshotter"], snapshot_key=row["snapshot_key"], extensions=extensions,
        created_at=row["created_at"], updated_at=row["updated_at"])


def _adapt(container: Container, path: Sequence[str]) -> tuple[str, bool]:
    if not path:
        return "", False
    head = path[0]
    if head == "id":
        return container.id, bool(container.id)
    if head == "image":
        return container.image, bool(container.image)
    if head == "runtime":
        if len(path) == 2 and path[1] == "name":
            return container.runtime.name, bool(container.runtime.name)
        return "", False
    if head == "snapshotter":
        return container.snapshotter, bool(container.snapshotter)
    if head in ("snapshot_key", "snapshotkey"):
        return container.snapshot_key, bool(container.snapshot_key)
    if head == "labels":
        return labels_adaptor(container.labels, path)
    return "", False
