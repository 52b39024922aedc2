"""Garbage collection of the metadata store: mark and sweep over every namespace, then
remove from disk what no namespace names (containerd's ``metadata/gc.go`` and the
``garbageCollect`` of its content store and snapshotters).

Roots, per namespace:

- leases that have not expired (``containerd.io/gc.expire``) and the resources they hold
  (``containerd.io/gc.flat`` leases hold those alone, not what they reference);
- images that have not expired, and through them their target;
- ingests whose 24-hour protection has not run out (an ingest in a lease is held by it);
- content and snapshots labelled ``containerd.io/gc.root``;
- containers, and through them their snapshot (``snapshotter``/``snapshot_key``), their
  image and what their labels reference;
- active and view snapshots, unless ``active_snapshots_are_roots=False`` (the daemon's
  setting: there containers and leases hold the snapshots in use, as in containerd; the
  library's callers that make snapshots without either keep the default).

References, followed from every marked object: labels ``containerd.io/gc.ref.content``
(alone or followed by ``.`` or ``/`` and any name) name a digest,
``containerd.io/gc.ref.snapshot.<snapshotter>[/name]`` a snapshot key,
``containerd.io/gc.ref.image`` an image; a snapshot references its parent; an image its
target; an ingest the blob it expects. Back references (``containerd.io/gc.bref.content``,
``.image``, ``.snapshot.<snapshotter>``) make the labelled object referenced *by* the one
they name.

The sweep deletes unmarked rows in one write transaction (expired images and leases,
ingests, content, snapshots children first). The cleanup then, under a second write
transaction (so no commit or prepare can interleave), deletes the blobs, backend ingests
and backend snapshots (children first) that no namespace names any more. Blobs and
snapshots shared by two images stay as long as either image does.
"""

from __future__ import annotations

import sqlite3
import time
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from dockyard.containerd.metadata.db import DB
from dockyard.containerd.metadata.leases import LABEL_EXPIRE, LABEL_FLAT
from dockyard.containerd.metadata.validation import loads, parse_time
from dockyard.containerd.snapshots import KIND_ACTIVE, KIND_VIEW, Snapshotter
from dockyard.errors import FailedPrecondition, NotFound, Unavailable

LABEL_ROOT = "containerd.io/gc.root"
REF_CONTENT = "containerd.io/gc.ref.content"
REF_IMAGE = "containerd.io/gc.ref.image"
REF_SNAPSHOT = "containerd.io/gc.ref.snapshot."
BREF_CONTENT = "containerd.io/gc.bref.content"
BREF_IMAGE = "containerd.io/gc.bref.image"
BREF_SNAPSHOT = "containerd.io/gc.bref.snapshot."

Node = tuple[str, str, str]  # (type, namespace, key); a snapshot's key is "<snapshotter>/<key>"


@dataclass
class GCResult:
    """What one collection removed."""

    images: list[tuple[str, str]] = field(default_factory=list)  # (namespace, name), expired
    leases: list[tuple[str, str]] = field(default_factory=list)  # (namespace, id), expired
    ingests: list[tuple[str, str]] = field(default_factory=list)  # (namespace, ref)
    content: list[tuple[str, str]] = field(default_factory=list)  # (namespace, digest)
    snapshots: list[tuple[str, str, str]] = field(default_factory=list)  # (namespace, snapshotter, key)
    blobs: list[str] = field(default_factory=list)  # digests removed from disk
    backend_ingests: list[str] = field(default_factory=list)  # refs aborted in the content store
    backend_snapshots: list[tuple[str, str]] = field(default_factory=list)  # (snapshotter, backend key)
    duration: float = 0.0


def collect(db: DB, *, now: float | None = None, active_snapshots_are_roots: bool = True) -> GCResult:
    """Collect garbage in every namespace of ``db`` (``now``: the time expiries compare to)."""
    started = time.monotonic()
    moment = time.time() if now is None else now
    result = GCResult()
    with db.write() as conn:
        graph = _Graph(conn, moment, active_snapshots_are_roots)
        _sweep(conn, graph, graph.mark(), result)
    with db.write() as conn:
        _cleanup(db, conn, result)
    result.duration = time.monotonic() - started
    return result


def label_refs(namespace: str, labels: Mapping[str, str]) -> Iterator[Node]:
    """The objects ``labels`` reference."""
    for key, value in labels.items():
        if _is_ref(key, REF_CONTENT):
            yield ("content", namespace, value)
        elif key.startswith(REF_SNAPSHOT) and len(key) > len(REF_SNAPSHOT):
            yield ("snapshot", namespace, f"{key[len(REF_SNAPSHOT):].split('/', 1)[0]}/{value}")
        elif _is_ref(key, REF_IMAGE):
            yield ("image", namespace, value)


def back_refs(namespace: str, labels: Mapping[str, str]) -> Iterator[Node]:
    """The objects that ``labels`` say reference their owner."""
    for key, value in labels.items():
        if _is_ref(key, BREF_CONTENT):
            yield ("content", namespace, value)
        elif key.startswith(BREF_SNAPSHOT) and len(key) > len(BREF_SNAPSHOT):
            yield ("snapshot", namespace, f"{key[len(BREF_SNAPSHOT):].split('/', 1)[0]}/{value}")
        elif _is_ref(key, BREF_IMAGE):
            yield ("image", namespace, value)


def _is_ref(key: str, prefix: str) -> bool:
    return key == prefix or (key.startswith(prefix) and key[len(prefix)] in "./")


def _expired(labels: Mapping[str, str], now: float) -> bool:
    value = labels.get(LABEL_EXPIRE)
    when = parse_time(value) if value else None
    return when is not None and when < now  # an unreadable expiry is ignored, as in containerd


class _Graph:
    """Every object of the database, its outgoing references and the roots."""

    def __init__(self, conn: sqlite3.Connection, now: float, active_roots: bool) -> None:
        self.refs: dict[Node, list[Node]] = defaultdict(list)  # followed unless flat
        self.flat_refs: dict[Node, list[Node]] = defaultdict(list)  # followed always
        self.roots: list[tuple[Node, bool]] = []  # (node, flat)
        self.rows: dict[str, list[Node]] = defaultdict(list)  # type -> every node of it
        self.parent: dict[Node, Node] = {}
        for row in conn.execute("SELECT namespace, digest, labels FROM content"):
            node: Node = ("content", row[0], row[1])
            self._object(node, loads(row[2]))
        for row in conn.execute("SELECT namespace, snapshotter, key, parent, kind, labels FROM snapshots"):
            node = ("snapshot", row[0], f"{row[1]}/{row[2]}")
            self._object(node, loads(row[5]))
            if row[3]:
                self.parent[node] = ("snapshot", row[0], f"{row[1]}/{row[3]}")
                self.flat_refs[node].append(self.parent[node])
            if active_roots and row[4] in (KIND_ACTIVE, KIND_VIEW):
                self.roots.append((node, False))
        for row in conn.execute("SELECT namespace, name, digest, labels FROM images"):
            node = ("image", row[0], row[1])
            labels = self._object(node, loads(row[3]), root=False)
            self.flat_refs[node].append(("content", row[0], row[2]))
            if not _expired(labels, now):
                self.roots.append((node, False))
        for row in conn.execute("SELECT namespace, ref, expected, expires_at FROM ingests"):
            node = ("ingest", row[0], row[1])
            self.rows["ingest"].append(node)
            if row[2]:
                self.refs[node].append(("content", row[0], row[2]))
            if row[3] is not None and row[3] >= now:
                self.roots.append((node, False))
        for row in conn.execute("SELECT namespace, id, labels, snapshotter, snapshot_key, image FROM containers"):
            node = ("container", row[0], row[1])
            self._object(node, loads(row[2]), root=False)
            self.roots.append((node, False))
            if row[3] and row[4]:
                self.refs[node].append(("snapshot", row[0], f"{row[3]}/{row[4]}"))
            if row[5]:
                self.refs[node].append(("image", row[0], row[5]))
        resources: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
        for row in conn.execute("SELECT namespace, lease, type, id FROM lease_resources"):
            resources[(row[0], row[1])].append((row[2], row[3]))
        for row in conn.execute("SELECT namespace, id, labels FROM leases"):
            node = ("lease", row[0], row[1])
            self.rows["lease"].append(node)
            labels = loads(row[2])
            if _expired(labels, now):
                continue
            self.roots.append((node, False))
            flat = LABEL_FLAT in labels
            for type_, id_ in resources[(row[0], row[1])]:
                self.roots.append((_resource_node(row[0], type_, id_), flat if type_ != "ingests" else False))

    def _object(self, node: Node, labels: dict[str, str], root: bool = True) -> dict[str, str]:
        self.rows[node[0]].append(node)
        self.refs[node].extend(label_refs(node[1], labels))
        for target in back_refs(node[1], labels):
            self.refs[target].append(node)
        if root and LABEL_ROOT in labels:
            self.roots.append((node, False))
        return labels

    def mark(self) -> set[Node]:
        """Every node reachable from the roots."""
        marked: set[Node] = set()
        full: set[Node] = set()  # marked and followed through all references
        queue: deque[tuple[Node, bool]] = deque()

        def push(node: Node, flat: bool) -> None:
            if node in full or (flat and node in marked):
                return
            marked.add(node)
            if not flat:
                full.add(node)
            queue.append((node, flat))

        for node, flat in self.roots:
            push(node, flat)
        while queue:
            node, flat = queue.popleft()
            for target in self.flat_refs.get(node, ()):
                push(target, flat)
            if not flat:
                for target in self.refs.get(node, ()):
                    push(target, False)
        return marked

    def depth(self, node: Node) -> int:
        depth = 0
        while node in self.parent and depth <= len(self.parent):
            node = self.parent[node]
            depth += 1
        return depth


def _resource_node(namespace: str, type_: str, id_: str) -> Node:
    if type_.startswith("snapshots/"):
        return ("snapshot", namespace, f"{type_[len('snapshots/'):]}/{id_}")
    return ({"content": "content", "ingests": "ingest", "images": "image"}.get(type_, type_), namespace, id_)


def _sweep(conn: sqlite3.Connection, graph: _Graph, marked: set[Node], result: GCResult) -> None:
    def dead(type_: str) -> list[Node]:
        return [node for node in graph.rows[type_] if node not in marked]

    for _, ns, name in dead("image"):
        conn.execute("DELETE FROM images WHERE namespace = ? AND name = ?", (ns, name))
        result.images.append((ns, name))
    for _, ns, lease in dead("lease"):
        conn.execute("DELETE FROM leases WHERE namespace = ? AND id = ?", (ns, lease))
        result.leases.append((ns, lease))
    for _, ns, ref in dead("ingest"):
        conn.execute("DELETE FROM ingests WHERE namespace = ? AND ref = ?", (ns, ref))
        result.ingests.append((ns, ref))
    for _, ns, digest in dead("content"):
        conn.execute("DELETE FROM content WHERE namespace = ? AND digest = ?", (ns, digest))
        result.content.append((ns, digest))
    for node in sorted(dead("snapshot"), key=graph.depth, reverse=True):  # children first
        _, ns, both = node
        snapshotter, key = both.split("/", 1)
        conn.execute("DELETE FROM snapshots WHERE namespace = ? AND snapshotter = ? AND key = ?",
                     (ns, snapshotter, key))
        result.snapshots.append((ns, snapshotter, key))


def _cleanup(db: DB, conn: sqlite3.Connection, result: GCResult) -> None:
    """Remove from disk what no row names (the caller holds the write lock)."""
    store = db.content_store
    if store is not None:
        seen = {row[0] for row in conn.execute("SELECT DISTINCT digest FROM content")}
        seen.update(row[0] for row in conn.execute("SELECT expected FROM ingests WHERE expected != ''"))
        for info in list(store.walk()):
            if info.digest not in seen:
                try:
                    store.delete(info.digest)
                except NotFound:
                    continue
                result.blobs.append(info.digest)
        refs = {row[0] for row in conn.execute("SELECT backend_ref FROM ingests")}
        for ref in list(store.walk_status_refs()):
            if ref not in refs:
                try:
                    store.abort(ref)
                except (NotFound, Unavailable):
                    continue  # gone meanwhile, or a writer still holds it
                result.backend_ingests.append(ref)
    for name, backend in db.snapshotters.items():
        keys = {row[0] for row in conn.execute("SELECT backend_key FROM snapshots WHERE snapshotter = ?", (name,))}
        for key in _orphans(backend, keys):
            try:
                backend.remove(key)
            except (NotFound, FailedPrecondition):
                continue  # gone meanwhile, or a kept snapshot still has it as parent
            result.backend_snapshots.append((name, key))


def _orphans(backend: Snapshotter, keep: Iterable[str]) -> list[str]:
    """Backend snapshots not in ``keep``, children before parents."""
    kept = set(keep)
    parents = {info.name: info.parent for info in backend.walk()}

    def depth(name: str) -> int:
        level = 0
        while parents.get(name) and level <= len(parents):
            name = parents[name]
            level += 1
        return level

    return sorted((name for name in parents if name not in kept), key=depth, reverse=True)
