"""An in-memory Snapshotter for tests of the layers above snapshotters (metadata, GC):
the contract's bookkeeping (kinds, parents, children, labels) without any files."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import replace

from dockyard.containerd.snapshots import KIND_ACTIVE, KIND_COMMITTED, KIND_VIEW, Info, Mount, Snapshotter, Usage
from dockyard.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound


class FakeSnapshotter(Snapshotter):
    """Snapshots as ``Info`` records; ``calls`` records every change (verb, key)."""

    def __init__(self, name: str = "fake") -> None:
        self.name = name
        self.snapshots: dict[str, Info] = {}
        self.calls: list[tuple[str, str]] = []
        self.fail_next: Exception | None = None

    def stat(self, key: str) -> Info:
        return replace(self._get(key))

    def update(self, info: Info, fieldpaths: Sequence[str] = ()) -> Info:
        current = self._get(info.name)
        current.labels = dict(info.labels)
        current.updated = time.time()
        self.calls.append(("update", info.name))
        return replace(current)

    def usage(self, key: str) -> Usage:
        self._get(key)
        return Usage(size=len(key), inodes=1)

    def mounts(self, key: str) -> list[Mount]:
        info = self._get(key)
        if info.kind == KIND_COMMITTED:
            raise FailedPrecondition(f"snapshot {key!r} is committed: it has no mounts")
        return [Mount("bind", f"/fake/{key}", ["ro" if info.kind == KIND_VIEW else "rw"])]

    def prepare(self, key: str, parent: str = "", labels: dict[str, str] | None = None) -> list[Mount]:
        self._create(key, parent, labels, KIND_ACTIVE)
        return self.mounts(key)

    def view(self, key: str, parent: str = "", labels: dict[str, str] | None = None) -> list[Mount]:
        self._create(key, parent, labels, KIND_VIEW)
        return self.mounts(key)

    def commit(self, name: str, key: str, labels: dict[str, str] | None = None) -> None:
        self._maybe_fail()
        info = self._get(key)
        if info.kind != KIND_ACTIVE:
            raise FailedPrecondition(f"snapshot {key!r} is not active")
        if name in self.snapshots:
            raise AlreadyExists(f"snapshot {name!r}: already exists")
        del self.snapshots[key]
        now = time.time()
        self.snapshots[name] = Info(name, KIND_COMMITTED, info.parent, dict(labels or {}), now, now)
        self.calls.append(("commit", name))

    def remove(self, key: str) -> None:
        self._get(key)
        if any(info.parent == key for info in self.snapshots.values()):
            raise FailedPrecondition(f"snapshot {key!r} has children")
        del self.snapshots[key]
        self.calls.append(("remove", key))

    def walk(self, *filters: str) -> Iterator[Info]:
        for info in list(self.snapshots.values()):
            yield replace(info)

    def _create(self, key: str, parent: str, labels: dict[str, str] | None, kind: str) -> None:
        self._maybe_fail()
        if not key:
            raise InvalidArgument("empty key")
        if key in self.snapshots:
            raise AlreadyExists(f"snapshot {key!r}: already exists")
        if parent and self._get(parent).kind != KIND_COMMITTED:
            raise FailedPrecondition(f"parent {parent!r} is not committed")
        now = time.time()
        self.snapshots[key] = Info(key, kind, parent, dict(labels or {}), now, now)
        self.calls.append((kind.lower(), key))

    def _get(self, key: str) -> Info:
        try:
            return self.snapshots[key]
        except KeyError:
            raise NotFound(f"snapshot {key!r} does not exist") from None

    def _maybe_fail(self) -> None:
        if self.fail_next is not None:
            error, self.fail_next = self.fail_next, None
            raise error
