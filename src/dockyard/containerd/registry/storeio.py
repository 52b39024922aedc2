"""Writing pulled blobs into a content store, and reading blobs to push from it.

Works with the shared :class:`~dockyard.containerd.content.ContentStore` and with a
namespace's :class:`~dockyard.containerd.metadata.content.NamespacedContentStore` (give
that one a lease so that garbage collection keeps a pull in progress): both have
``writer``/``info``/``reader``/``abort``.

Ingest refs are containerd's (``layer-<digest>``, ``config-<digest>``,
``manifest-<digest>``, ``index-<digest>``), so a pull interrupted anywhere resumes its
ingests, and two pulls of the same blob meet on the same ref: the second waits for the
first (its lock) and then finds the blob committed. Blobs become visible only through a
commit that checks size and digest; a blob the registry sent wrong has its ingest aborted,
so the store is left as it was.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from dockyard.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound, Unavailable
from dockyard.oci import mediatypes
from dockyard.oci.descriptor import Descriptor

LOCK_POLL = 0.1  # seconds between looks at a ref another writer holds

LABEL_GC_REF = "containerd.io/gc.ref.content"
LABEL_SOURCE = "containerd.io/distribution.source"


class ContentTarget(Protocol):
    """What pull and push need of a content store."""

    def writer(self, ref: str, expected_digest: str | None = None, total: int | None = None) -> Any: ...

    def info(self, digest: str) -> Any: ...

    def reader(self, digest: str) -> Any: ...

    def read_all(self, digest: str) -> bytes: ...

    def abort(self, ref: str) -> None: ...


def ref_key(desc: Descriptor) -> str:
    """containerd's ingest ref for a blob of this media type."""
    media_type = desc.media_type
    if mediatypes.is_index(media_type):
        kind = "index"
    elif mediatypes.is_manifest(media_type):
        kind = "manifest"
    elif mediatypes.is_config(media_type):
        kind = "config"
    elif mediatypes.is_layer(media_type):
        kind = "layer"
    else:
        kind = "unknown"
    return f"{kind}-{desc.digest}"


def has_blob(store: ContentTarget, digest: str) -> bool:
    try:
        store.info(digest)
    except NotFound:
        return False
    return True


def labels_of(store: ContentTarget, digest: str) -> dict[str, str]:
    """The blob's labels (the shared store keeps none); {} when absent."""
    try:
        labels = getattr(store.info(digest), "labels", None)
    except NotFound:
        return {}
    return dict(labels or {})


def open_writer(store: ContentTarget, desc: Descriptor, cancelled: Callable[[], bool] | None = None) -> Any:
    """A writer for blob ``desc`` (resuming its ingest), or None once the store has the blob.

    While another writer holds the ref, wait for it (it is downloading the same blob).
    """
    ref = ref_key(desc)
    while True:
        try:
            return store.writer(ref, expected_digest=desc.digest, total=desc.size)
        except AlreadyExists:
            return None
        except Unavailable as exc:
            if "locked" not in str(exc):
                raise
        if cancelled is not None and cancelled():
            raise Unavailable(f"blob {desc.digest}: cancelled while waiting for another download")
        if has_blob(store, desc.digest):
            return None
        time.sleep(LOCK_POLL)


def commit(store: ContentTarget, writer: Any, desc: Descriptor, labels: Mapping[str, str] | None = None) -> None:
    """Commit ``writer`` as blob ``desc``. A size or digest mismatch aborts the ingest and is
    InvalidArgument; a blob committed meanwhile by someone else is fine."""
    try:
        writer.commit(desc.size, desc.digest, labels=dict(labels or {}))
    except AlreadyExists:
        return
    except FailedPrecondition as exc:
        discard(store, writer)
        raise InvalidArgument(f"blob {desc.digest}: {exc.message}") from None


def discard(store: ContentTarget, writer: Any) -> None:
    """Close ``writer`` and drop its ingest (its bytes are wrong)."""
    writer.close()
    try:
        store.abort(writer.ref)
    except (NotFound, Unavailable):
        pass


def write_blob(store: ContentTarget, desc: Descriptor, data: bytes, labels: Mapping[str, str] | None = None) -> None:
    """Store a small blob held in memory (a manifest, an index, a config), if it is not there."""
    writer = open_writer(store, desc)
    if writer is None:
        return
    try:
        writer.truncate(0)
        writer.write(data)
        commit(store, writer, desc, labels)
    finally:
        writer.close()


def gc_labels(children: Mapping[str, str]) -> dict[str, str]:
    """containerd's garbage collection labels: ``{"config": d, "l.0": d, "m.0": d}`` ->
    ``containerd.io/gc.ref.content.<key>``."""
    return {f"{LABEL_GC_REF}.{key}": digest for key, digest in children.items()}


def source_label(domain: str, repo: str) -> dict[str, str]:
    """``containerd.io/distribution.source.<registry>=<repository>`` (where a blob came from,
    for cross-repository mounts on push)."""
    return {f"{LABEL_SOURCE}.{domain}": repo}
