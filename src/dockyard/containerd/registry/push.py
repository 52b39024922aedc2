"""Pushing an image from a content store to a registry.

:func:`push` walks ``target`` (a manifest, or an index and the manifests it lists, all of
which must be in the store) and uploads, in the order a registry accepts them:

1. the blobs of every manifest, layers then config, ``max_concurrent`` at a time: skipped
   when the repository has them, mounted from another repository of the same registry when
   one is known (``mount_from``, and the ``containerd.io/distribution.source.<registry>``
   label a pull leaves on blobs), else uploaded (:mod:`.upload`); non-distributable
   (foreign) layers are not pushed, as docker does;
2. the manifests an index lists, by digest;
3. the target, by the reference's tag (or by its digest when it has no tag).

Progress per blob: ``Preparing``, ``Waiting``, ``Pushing`` (bytes), then ``Pushed``,
``Layer already exists`` or ``Mounted from <repository>``.

``cancelled`` (a function) is asked before each blob and before the manifests: once it
answers True the push stops with :class:`.fetch.Cancelled` (blobs already uploaded stay in
the registry, untagged; the tag is never written by a cancelled push).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from dockyard.containerd.registry import progress as phases
from dockyard.containerd.registry import upload
from dockyard.containerd.registry.client import RegistryClient
from dockyard.containerd.registry.fetch import Cancelled
from dockyard.containerd.registry.progress import ProgressCallback, Reporter
from dockyard.containerd.registry.storeio import LABEL_SOURCE, ContentTarget, has_blob, labels_of
from dockyard.errors import InvalidArgument, NotFound, NotImplementedYet
from dockyard.oci import mediatypes
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.image import ImageIndex, Manifest, parse_manifest_document
from dockyard.oci.reference import Reference, parse_reference

DEFAULT_CONCURRENCY = 3
MAX_INDEX_DEPTH = 4


@dataclass
class PushResult:
    """What a push did: the target's digest and size, and the blobs by outcome."""

    reference: Reference
    digest: str
    size: int
    pushed: list[str] = field(default_factory=list)
    mounted: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # non-distributable layers


def push(ref: Reference | str, content_store: ContentTarget, target_descriptor: Descriptor, *,
         progress: ProgressCallback | None = None, client: RegistryClient | None = None,
         mount_from: Sequence[str] = (), max_concurrent: int = DEFAULT_CONCURRENCY,
         cancelled: Callable[[], bool] | None = None) -> PushResult:
    """Push ``target_descriptor`` (from ``content_store``) as ``ref``; see the module doc."""
    reference = parse_reference(ref) if isinstance(ref, str) else ref
    if reference.digest and reference.digest != target_descriptor.digest:
        raise InvalidArgument(f"cannot push {target_descriptor.digest} as {reference}: the digests differ")
    if max_concurrent < 1:
        raise InvalidArgument(f"max_concurrent must be at least 1, not {max_concurrent}")
    own = client is None
    registry = client if client is not None else RegistryClient.for_reference(reference)
    try:
        return _Push(registry, reference, content_store, Reporter(progress), mount_from, max_concurrent,
                     cancelled).run(target_descriptor)
    finally:
        if own:
            registry.close()


class _Push:
    def __init__(self, client: RegistryClient, reference: Reference, store: ContentTarget, report: Reporter,
                 mount_from: Sequence[str], max_concurrent: int, cancelled: Callable[[], bool] | None = None) -> None:
        self.client = client
        self.reference = reference
        self.repo = reference.path
        self.store = store
        self.report = report
        self.mount_from = list(mount_from)
        self.max_concurrent = max_concurrent
        self._lock = threading.Lock()
        self.cancelled = cancelled

    def check(self) -> None:
        """Cancelled if the caller cancelled the push."""
        if self.cancelled is not None and self.cancelled():
            raise Cancelled(f"push of {self.reference}: cancelled")

    def run(self, target: Descriptor) -> PushResult:
        result = PushResult(self.reference, target.digest, target.size)
        documents: list[tuple[Descriptor, bytes]] = []  # children before parents
        blobs: dict[str, Descriptor] = {}
        self._walk(target, documents, blobs, result, depth=0)
        self._push_blobs(list(blobs.values()), result)
        self.check()
        for desc, data in documents[:-1]:
            self.client.push_manifest(self.repo, desc.digest, desc.media_type, data)
        desc, data = documents[-1]
        tag = self.reference.tag or desc.digest
        self.client.push_manifest(self.repo, tag, desc.media_type, data)
        return result

    def _walk(self, desc: Descriptor, documents: list[tuple[Descriptor, bytes]], blobs: dict[str, Descriptor],
              result: PushResult, depth: int) -> None:
        if not has_blob(self.store, desc.digest):
            what = f" ({desc.platform})" if desc.platform is not None else ""
            raise NotFound(f"cannot push {self.reference}: manifest {desc.digest}{what} is not in the content store")
        data = self.store.read_all(desc.digest)
        doc = parse_manifest_document(data, desc.media_type)
        if isinstance(doc, ImageIndex):
            if depth >= MAX_INDEX_DEPTH:
                raise NotImplementedYet(f"cannot push {self.reference}: indexes nested too deep")
            for child in doc.manifests:
                if any(child.digest == seen.digest for seen, _ in documents):
                    continue
                self._walk(child, documents, blobs, result, depth + 1)
        else:
            self._collect(doc, blobs, result)
        documents.append((desc, data))

    def _collect(self, manifest: Manifest, blobs: dict[str, Descriptor], result: PushResult) -> None:
        for layer in [*manifest.layers, manifest.config]:
            if mediatypes.is_non_distributable(layer.media_type):
                result.skipped.append(layer.digest)
                continue
            if layer.digest not in blobs:
                if not has_blob(self.store, layer.digest):
                    raise NotFound(f"cannot push {self.reference}: blob {layer.digest} is not in the content store")
                blobs[layer.digest] = layer

    def _push_blobs(self, blobs: list[Descriptor], result: PushResult) -> None:
        for blob in blobs:
            self.report(blob, phases.PREPARING)
        for blob in blobs:
            self.report(blob, phases.WAITING)
        with ThreadPoolExecutor(max_workers=self.max_concurrent, thread_name_prefix="push-blob") as pool:
            futures = [pool.submit(self._push_blob, blob, result) for blob in blobs]
            wait(futures, return_when=FIRST_EXCEPTION)
            for future in futures:
                if future.done() and future.exception() is not None:
                    for other in futures:
                        other.cancel()
                    raise future.exception()  # type: ignore[misc]
            for future in futures:
                future.result()

    def _push_blob(self, blob: Descriptor, result: PushResult) -> None:
        self.check()
        sources = [*self.mount_from, *self._known_sources(blob)]
        with self.store.reader(blob.digest) as reader:
            outcome, source = self.client.push_blob(
                self.repo, blob, reader, mount_from=sources,
                on_progress=lambda sent: self.report(blob, phases.PUSHING, sent))
        with self._lock:
            if outcome == upload.EXISTS:
                result.existing.append(blob.digest)
            elif outcome == upload.MOUNTED:
                result.mounted.append(blob.digest)
            else:
                result.pushed.append(blob.digest)
        if outcome == upload.EXISTS:
            self.report(blob, phases.LAYER_EXISTS)
        elif outcome == upload.MOUNTED:
            self.report(blob, f"{phases.MOUNTED_FROM} {source}")
        else:
            self.report(blob, phases.PUSHED)

    def _known_sources(self, blob: Descriptor) -> list[str]:
        """Repositories of this registry the blob came from (the pull's source label)."""
        value = labels_of(self.store, blob.digest).get(f"{LABEL_SOURCE}.{self.reference.domain}", "")
        return [name for name in value.split(",") if name and name != self.repo]
