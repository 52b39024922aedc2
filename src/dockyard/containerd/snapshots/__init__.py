"""The snapshotter interface (containerd's ``snapshots.Snapshotter``) and its value types.

A snapshot is a directory tree in one of three kinds: *active* (writable, from ``prepare``),
*view* (read-only, from ``view``) and *committed* (read-only, from ``commit``; only committed
snapshots may be parents). Keys name active and view snapshots; names (the ``name`` given to
``commit``) name committed ones; both live in one key space. A backend returns the mounts
that assemble a snapshot; the caller mounts them (see :mod:`dockyard.containerd.mount`).

Backends: ``overlay`` (default; layers share their bytes through overlayfs lowerdirs) and
``native`` (full copies; for file systems without overlay). Every backend passes the one
conformance suite in tests/integration.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

KIND_VIEW = "View"
KIND_ACTIVE = "Active"
KIND_COMMITTED = "Committed"
KINDS = (KIND_VIEW, KIND_ACTIVE, KIND_COMMITTED)
# on prepare: the name the snapshot will be committed as (containerd's unpacker sets it)
LABEL_SNAPSHOT_REF = "containerd.io/snapshot.ref"


@dataclass
class Mount:
    """One mount(2) call: ``type``, ``source`` and the comma-free list of ``options``."""

    type: str
    source: str
    options: list[str] = field(default_factory=list)


@dataclass
class Info:
    """What a snapshotter knows of one snapshot (containerd's ``snapshots.Info``)."""

    name: str
    kind: str
    parent: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    created: float = 0.0  # seconds since the epoch
    updated: float = 0.0


@dataclass
class Usage:
    """Disk used by one snapshot's own layer (not its parents)."""

    size: int = 0  # bytes
    inodes: int = 0


def info_field(info: Info, path: Sequence[str]) -> tuple[str, bool]:
    """The adaptor of :mod:`dockyard.containerd.filters` for snapshots: ``name``, ``kind``
    (compare with casefold), ``parent`` and ``labels.<key>``."""
    from dockyard.containerd.filters import labels_adaptor

    if not path:
        return "", False
    if path[0] == "name":
        return info.name, True
    if path[0] == "kind":
        return info.kind, True
    if path[0] == "parent":
        return info.parent, bool(info.parent)
    if path[0] == "labels":
        return labels_adaptor(info.labels, path)
    return "", False


class Snapshotter:
    """containerd's snapshotter contract. Errors: NotFound (no such key), AlreadyExists (key or
    name taken), FailedPrecondition (wrong kind, parent not committed, has children),
    InvalidArgument (bad key or label)."""

    name = ""

    def stat(self, key: str) -> Info:
        raise NotImplementedError

    def update(self, info: Info, fieldpaths: Sequence[str] = ()) -> Info:
        """Change labels (``labels`` or ``labels.<key>`` field paths; all labels when empty)."""
        raise NotImplementedError

    def usage(self, key: str) -> Usage:
        raise NotImplementedError

    def mounts(self, key: str) -> list[Mount]:
        """The mounts of an active or view snapshot."""
        raise NotImplementedError

    def prepare(self, key: str, parent: str = "", labels: dict[str, str] | None = None) -> list[Mount]:
        """A new active snapshot on top of committed ``parent`` (or empty)."""
        raise NotImplementedError

    def view(self, key: str, parent: str = "", labels: dict[str, str] | None = None) -> list[Mount]:
        """A new read-only view of committed ``parent``."""
        raise NotImplementedError

    def commit(self, name: str, key: str, labels: dict[str, str] | None = None) -> None:
        """Turn active ``key`` into committed ``name`` (the key is gone afterwards)."""
        raise NotImplementedError

    def remove(self, key: str) -> None:
        """Remove a snapshot; FailedPrecondition if other snapshots use it as parent."""
        raise NotImplementedError

    def walk(self, *filters: str) -> Iterator[Info]:
        """Every snapshot, optionally filtered (containerd filter syntax, e.g. ``parent==x``,
        ``labels."a"==b``, ``kind==Committed``)."""
        raise NotImplementedError

    def close(self) -> None:
        """Release what the backend holds (database handles)."""
