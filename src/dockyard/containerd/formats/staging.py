"""Writing blobs into a content store so that a failed load leaves the store as it was.

A :class:`Staging` hands out ingests under unique refs (``<prefix>-<token>-<n>``), commits
them once the caller has verified everything, remembers which blobs it added, and on
:meth:`Staging.rollback` aborts the open ingests and deletes the blobs it added. Blobs the
store had before are never touched.

Works with the local :class:`~dockyard.containerd.content.ContentStore` and with a
namespace's view (``DB.content(namespace, lease)``), which also keeps the labels given at
commit (``containerd.io/gc.ref.content.*``, ``containerd.io/uncompressed``). Open the
namespaced view under a lease so that garbage collection cannot take blobs between their
commit and the image record that references them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextlib import suppress
from typing import Protocol

from dockyard.containerd.content import Info, Status
from dockyard.errors import AlreadyExists, DockyardError, NotFound

CHUNK = 1 << 20

LABEL_UNCOMPRESSED = "containerd.io/uncompressed"
LABEL_REF_CONFIG = "containerd.io/gc.ref.content.config"
LABEL_REF_LAYER = "containerd.io/gc.ref.content.l.{}"
LABEL_REF_MANIFEST = "containerd.io/gc.ref.content.m.{}"


class BlobWriter(Protocol):
    """What the formats need of a content store writer."""

    def write(self, data: bytes | bytearray | memoryview) -> int: ...
    def digest(self) -> str: ...
    def status(self) -> Status: ...
    def truncate(self, size: int = 0) -> None: ...
    def commit(self, size: int = 0, expected: str | None = None,
               labels: Mapping[str, str] | None = None) -> str: ...
    def close(self) -> None: ...


class BlobReader(Protocol):
    size: int

    def read(self, size: int = -1, /) -> bytes | None: ...
    def fileno(self) -> int: ...
    def close(self) -> None: ...
    def __enter__(self) -> BlobReader: ...
    def __exit__(self, *exc: object) -> None: ...


class Store(Protocol):
    """A content store: the local one or a namespace's view."""

    def writer(self, ref: str, expected_digest: str | None = None, total: int | None = None) -> BlobWriter: ...
    def info(self, digest: str) -> Info: ...
    def reader(self, digest: str) -> BlobReader: ...
    def read_all(self, digest: str) -> bytes: ...
    def abort(self, ref: str) -> None: ...
    def delete(self, digest: str) -> None: ...


def has_blob(store: Store, digest: str) -> bool:
    try:
        store.info(digest)
    except NotFound:
        return False
    return True


def manifest_labels(config: str, layers: list[str]) -> dict[str, str]:
    """The garbage-collection references of a manifest to its config and layers."""
    labels = {LABEL_REF_CONFIG: config}
    for n, digest in enumerate(layers):
        labels[LABEL_REF_LAYER.format(n)] = digest
    return labels


def index_labels(manifests: list[str]) -> dict[str, str]:
    return {LABEL_REF_MANIFEST.format(n): digest for n, digest in enumerate(manifests)}


class Staged:
    """One blob on its way into the store: an open ingest, or (``present``) one the store has."""

    __slots__ = ("digest", "present", "ref", "size", "writer")

    def __init__(self, ref: str, writer: BlobWriter | None, digest: str = "", size: int = 0,
                 present: bool = False) -> None:
        self.ref = ref
        self.writer = writer
        self.digest = digest
        self.size = size
        self.present = present


class Staging:
    """Ingests of one load; commit them at the end, or roll everything back."""

    def __init__(self, store: Store, prefix: str = "load") -> None:
        self.store = store
        self._prefix = f"{prefix}-{os.urandom(6).hex()}"
        self._count = 0
        self._open: dict[str, Staged] = {}
        self.added: list[str] = []  # blobs this load put into the store, in order

    def open(self, expected: str = "", size: int = 0) -> Staged:
        """A fresh ingest, or a ``present`` one when the store has ``expected`` already.

        A present ingest wants no bytes (hash them elsewhere if they must be checked);
        committing it only records the blob (in a namespace that had it on disk only).
        """
        self._count += 1
        ref = f"{self._prefix}-{self._count}"
        try:
            writer = self.store.writer(ref, expected or None, size or None)
        except AlreadyExists:
            return Staged(ref, None, expected, size, present=True)
        staged = Staged(ref, writer, expected, size)
        self._open[ref] = staged
        offset = writer.status().offset
        if expected and size and offset == size:
            staged.present = True  # shared with another namespace: nothing to write
        elif offset:
            writer.truncate(0)
        return staged

    def write(self, staged: Staged, data: bytes | bytearray | memoryview) -> None:
        if staged.writer is not None and not staged.present:
            staged.writer.write(data)

    def commit(self, staged: Staged, digest: str, size: int, labels: Mapping[str, str] | None = None) -> bool:
        """Publish ``staged`` as ``digest``; True if the store did not have it before."""
        writer = staged.writer
        if writer is None:
            return False
        staged.writer = None
        self._open.pop(staged.ref, None)
        try:
            writer.commit(size, digest, labels)
        except AlreadyExists:
            return False
        except BaseException:
            writer.close()
            self._abort(staged.ref)
            raise
        self.added.append(digest)
        return True

    def discard(self, staged: Staged) -> None:
        """Drop an ingest that is not needed."""
        writer = staged.writer
        staged.writer = None
        if writer is not None:
            self._open.pop(staged.ref, None)
            writer.close()
            self._abort(staged.ref)

    def discard_all(self) -> None:
        for staged in list(self._open.values()):
            self.discard(staged)

    def rollback(self) -> None:
        """Abort every open ingest and delete the blobs this load added. Best effort: the
        caller is already handling the error that made it roll back."""
        for staged in list(self._open.values()):
            with suppress(DockyardError, OSError):
                self.discard(staged)
        for digest in reversed(self.added):
            with suppress(DockyardError, OSError):
                self.store.delete(digest)
        self.added.clear()

    def _abort(self, ref: str) -> None:
        try:
            self.store.abort(ref)
        except NotFound:
            pass
