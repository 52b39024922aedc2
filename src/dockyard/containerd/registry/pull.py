"""Pulling an image into a content store, optionally applying its layers as they arrive.

:func:`pull` resolves the reference, fetches the manifest (through an index: the entry for
the platform, by default this host's, chosen by :func:`dockyard.oci.image.select_manifest`),
the config and the layers, and writes them through content store writers: partial
downloads resume, and nothing becomes visible before its digest is verified. Layers are
fetched by ``max_concurrent`` worker threads; blobs the store has are ``Already exists``.

Blobs are committed children first: layers, then the config, the manifest, the index. A
failed pull leaves at most complete, verified layers (what a lease lets garbage collection
reclaim), never the manifest of an incomplete image; a blob the registry sent wrong leaves
no ingest either. Manifests and the index carry containerd's ``gc.ref.content`` labels,
every blob ``containerd.io/distribution.source.<registry>=<repository>`` (used by push to
mount across repositories); the shared store ignores labels, a namespace's keeps them.

**Applying while streaming.** With ``applier``, the calling thread applies the layers bottom
first while the workers download: ``applier(index, layer, diff_id, feed)`` reads the
layer's compressed bytes from ``feed`` (:class:`.layerfeed.LayerFeed`) as they arrive, and
the feed ends only after the blob was verified. Layer ``n`` is applied once ``0..n-1`` are;
:class:`.unpacking.SnapshotApplier` applies into snapshots with
:func:`dockyard.containerd.unpack.apply_to_snapshot`. The first failure (a download or the
applier) stops the other downloads and is raised; downloads stopped that way keep their
ingests for the next attempt.

**Cancelling.** ``cancelled`` (a function, e.g. an event's ``is_set``) is asked before each
request and between the pieces of each download: once it answers True the pull stops with
:class:`.fetch.Cancelled` before writing any manifest, so a cancelled pull never leaves an
image's documents behind (downloads stopped that way keep their ingests to resume).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from dockyard.containerd.registry import progress as phases
from dockyard.containerd.registry.client import RegistryClient
from dockyard.containerd.registry.fetch import Cancelled
from dockyard.containerd.registry.layerfeed import LayerFeed
from dockyard.containerd.registry.progress import ProgressCallback, Reporter
from dockyard.containerd.registry.storeio import (
    ContentTarget,
    commit,
    discard,
    gc_labels,
    has_blob,
    open_writer,
    source_label,
    write_blob,
)
from dockyard.errors import DockyardError, InvalidArgument, NotFound, NotImplementedYet, Unavailable
from dockyard.oci import mediatypes
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.image import ImageIndex, Manifest, parse_manifest_document, select_manifest
from dockyard.oci.image_config import ImageConfig, parse_image_config
from dockyard.oci.platform import Platform, matches, parse_platform
from dockyard.oci.reference import Reference, parse_reference

DEFAULT_CONCURRENCY = 3
MAX_CONFIG_SIZE = 64 << 20
MAX_INDEX_DEPTH = 4

# applier(index, layer, diff_id, feed): apply layer ``index`` (bottom first) from ``feed``.
LayerApplier = Callable[[int, Descriptor, str, LayerFeed], None]


@dataclass
class PullResult:
    """What a pull stored: the descriptor the reference named (``target``), the index it went
    through (None for a plain manifest), the manifest, config and layers, and the config."""

    reference: Reference
    target: Descriptor
    index: Descriptor | None
    manifest: Descriptor
    config: Descriptor
    layers: list[Descriptor]
    image_config: ImageConfig
    platform: Platform | None = None
    manifests: list[Descriptor] = field(default_factory=list)  # every manifest/index stored, top first

    @property
    def digest(self) -> str:
        """The digest docker prints (``Digest: sha256:...``): the target's."""
        return self.target.digest


def pull(ref: Reference | str, content_store: ContentTarget, *, platform: Platform | str | None = None,
         progress: ProgressCallback | None = None, client: RegistryClient | None = None,
         applier: LayerApplier | None = None, max_concurrent: int = DEFAULT_CONCURRENCY,
         cancelled: Callable[[], bool] | None = None) -> PullResult:
    """Pull ``ref`` into ``content_store``; see the module documentation."""
    reference = parse_reference(ref) if isinstance(ref, str) else ref
    if max_concurrent < 1:
        raise InvalidArgument(f"max_concurrent must be at least 1, not {max_concurrent}")
    want = parse_platform(platform) if isinstance(platform, str) else platform
    own = client is None
    registry = client if client is not None else RegistryClient.for_reference(reference)
    try:
        return _Pull(registry, reference, content_store, want, Reporter(progress), applier, max_concurrent,
                     cancelled).run()
    finally:
        if own:
            registry.close()


class _Pull:
    def __init__(self, client: RegistryClient, reference: Reference, store: ContentTarget,
                 platform: Platform | None, report: Reporter, applier: LayerApplier | None,
                 max_concurrent: int, cancelled: Callable[[], bool] | None = None) -> None:
        self.client = client
        self.reference = reference
        self.repo = reference.path
        self.store = store
        self.platform = platform
        self.report = report
        self.applier = applier
        self.max_concurrent = max_concurrent
        self.cancel = threading.Event()  # set when a part of the pull failed: the others stop
        self.cancelled = cancelled  # the caller's: stop the whole pull
        self.source = source_label(reference.domain, reference.path)

    def stopping(self) -> bool:
        return self.cancel.is_set() or (self.cancelled is not None and self.cancelled())

    def check(self) -> None:
        """Cancelled if the caller cancelled the pull."""
        if self.cancelled is not None and self.cancelled():
            raise Cancelled(f"pull of {self.reference}: cancelled")

    def run(self) -> PullResult:
        self.check()
        target = self.client.resolve(self.reference)
        documents: list[tuple[Descriptor, bytes, Manifest | ImageIndex]] = []
        desc, chosen_platform, index_desc = target, None, None
        while True:
            self.check()
            data = self.client.fetch_manifest(self.repo, desc)
            doc = parse_manifest_document(data, desc.media_type)
            documents.append((desc, data, doc))
            if isinstance(doc, Manifest):
                break
            if len(documents) > MAX_INDEX_DEPTH:
                raise NotImplementedYet(f"manifest {self.reference}: indexes nested deeper than {MAX_INDEX_DEPTH}")
            index_desc = index_desc or desc
            desc = self._choose(doc)
            chosen_platform = desc.platform
        manifest_desc, manifest = desc, doc
        self._check_image(manifest, manifest_desc)
        self.check()
        config_data = self._fetch_config(manifest.config)
        config = parse_image_config(config_data)
        self._check_platform(config, index_desc is not None)
        if len(config.diff_ids) != len(manifest.layers):
            raise InvalidArgument(f"manifest {self.reference}: {len(manifest.layers)} layers but the config lists "
                                  f"{len(config.diff_ids)} diff IDs")
        self._layers(manifest.layers, config.diff_ids)
        self.check()  # the last moment: no manifest is written for a cancelled pull
        write_blob(self.store, manifest.config, config_data, self.source)
        children = [desc for desc, _, _ in documents[1:]]
        for position in range(len(documents) - 1, -1, -1):  # children first
            desc, data, doc = documents[position]
            write_blob(self.store, desc, data, {**self._gc(doc, children[position:position + 1]), **self.source})
        return PullResult(
            reference=self.reference, target=target, index=index_desc, manifest=manifest_desc,
            config=manifest.config, layers=list(manifest.layers), image_config=config,
            platform=chosen_platform or config.platform, manifests=[desc for desc, _, _ in documents],
        )

    # -- documents -------------------------------------------------------------------

    def _choose(self, index: ImageIndex) -> Descriptor:
        try:
            return select_manifest(index, self.platform)
        except NotFound as exc:
            raise NotFound(f"manifest {self.reference}: {exc.message}") from None

    def _check_image(self, manifest: Manifest, desc: Descriptor) -> None:
        if not mediatypes.is_config(manifest.config.media_type):
            raise InvalidArgument(f"manifest {self.reference}@{desc.digest} is not a container image "
                                  f"(config media type {manifest.config.media_type})")
        for n, layer in enumerate(manifest.layers):
            mediatypes.layer_compression(layer.media_type)  # refuses unknown and encrypted types
            if layer.size < 0:
                raise InvalidArgument(f"manifest {self.reference}: layers[{n}]: negative size")
        if manifest.config.size > MAX_CONFIG_SIZE:
            raise InvalidArgument(f"manifest {self.reference}: config of {manifest.config.size} bytes is too large")

    def _check_platform(self, config: ImageConfig, from_index: bool) -> None:
        """A platform asked for must be the image's (docker's check for single-platform images)."""
        if self.platform is None or from_index:
            return
        if not matches(self.platform, config.platform):
            raise NotFound(f"image with reference {self.reference} was found but does not match the specified "
                           f"platform: wanted {self.platform}, actual: {config.platform.normalize()}")

    def _fetch_config(self, desc: Descriptor) -> bytes:
        if has_blob(self.store, desc.digest):
            return self.store.read_all(desc.digest)
        buffer = MemoryWriter(desc.digest.partition(":")[0])
        self.client.fetch_blob(self.repo, desc, buffer)
        return bytes(buffer.data)

    @staticmethod
    def _gc(doc: Manifest | ImageIndex, children: Sequence[Descriptor]) -> dict[str, str]:
        if isinstance(doc, Manifest):
            refs = {"config": doc.config.digest}
            refs.update({f"l.{n}": layer.digest for n, layer in enumerate(doc.layers)})
            return gc_labels(refs)
        return gc_labels({f"m.{n}": child.digest for n, child in enumerate(children)})

    # -- layers ----------------------------------------------------------------------

    def _layers(self, layers: Sequence[Descriptor], diff_ids: Sequence[str]) -> None:
        feeds = [self._feed(layer) if self.applier is not None else None for layer in layers]
        for layer in layers:
            self.report(layer, phases.WAITING)
        pool = ThreadPoolExecutor(max_workers=self.max_concurrent, thread_name_prefix="pull-layer")
        futures = [pool.submit(self._download, layer, feed) for layer, feed in zip(layers, feeds, strict=True)]
        try:
            if self.applier is not None:
                self._apply_all(layers, diff_ids, feeds, futures)
            wait(futures, return_when=FIRST_EXCEPTION)
            _raise_first(futures)
        except BaseException:
            self.cancel.set()
            for feed in feeds:
                if feed is not None:
                    feed.failed(Cancelled("pull stopped"))
                    feed.close()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def _feed(self, layer: Descriptor) -> LayerFeed:
        return LayerFeed(layer, lambda: self.store.reader(layer.digest),
                         on_read=lambda done: self.report(layer, phases.EXTRACTING, done))

    def _apply_all(self, layers: Sequence[Descriptor], diff_ids: Sequence[str], feeds: Sequence[LayerFeed | None],
                   futures: Sequence[Future[None]]) -> None:
        assert self.applier is not None
        for n, (layer, feed) in enumerate(zip(layers, feeds, strict=True)):
            assert feed is not None
            self.check()
            self.report(layer, phases.EXTRACTING, 0)
            try:
                self.applier(n, layer, diff_ids[n], feed)
                feed.finish()
            except BaseException as exc:
                # A failed download surfaces in the applier as a stream error: raise the cause.
                if feed.error is not None and not isinstance(feed.error, Cancelled) and feed.error is not exc:
                    raise feed.error from None
                _raise_first([f for f in futures if f.done()])
                raise
            finally:
                feed.close()
            self.report(layer, phases.PULL_COMPLETE)

    def _download(self, layer: Descriptor, feed: LayerFeed | None) -> None:
        writer = None
        try:
            writer = open_writer(self.store, layer, self.stopping)
            if writer is None:
                self.report(layer, phases.ALREADY_EXISTS)
            else:
                offset = writer.status().offset
                if feed is not None:
                    feed.start(offset)
                self.report(layer, phases.DOWNLOADING, offset)

                def on_data(at: int, piece: bytes) -> None:
                    if feed is not None:
                        feed.data(at, piece)
                    self.report(layer, phases.DOWNLOADING, at + len(piece))

                self.client.fetch_blob(self.repo, layer, writer, on_data=on_data, cancelled=self.stopping)
                self.report(layer, phases.VERIFYING)
                commit(self.store, writer, layer, self.source)
                self.report(layer, phases.DOWNLOAD_COMPLETE)
            if feed is not None:
                feed.committed()
        except BaseException as exc:
            if writer is not None and isinstance(exc, DockyardError) and not isinstance(exc, Unavailable):
                discard(self.store, writer)  # the registry's bytes are wrong: do not resume them
            if feed is not None:
                feed.failed(exc)
            raise
        finally:
            if writer is not None:
                writer.close()


def _raise_first(futures: Sequence[Future[None]]) -> None:
    """Raise the error of the first failed future (in layer order), Cancelled ones last."""
    errors = [f.exception() for f in futures if f.done() and not f.cancelled() and f.exception() is not None]
    real = [e for e in errors if not isinstance(e, Cancelled)]
    if real or errors:
        raise (real or errors)[0]  # type: ignore[misc]


class MemoryWriter:
    """A writer into memory, for small blobs fetched before they are stored (the config)."""

    def __init__(self, algorithm: str) -> None:
        from dockyard.oci.digest import Digester

        self.data = bytearray()
        self._digester = Digester(algorithm)

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self.data += data
        self._digester.update(data)
        return len(data)

    def digest(self) -> str:
        return self._digester.digest()

    def truncate(self, size: int = 0) -> None:
        del self.data[size:]
        from dockyard.oci.digest import Digester

        self._digester = Digester(self._digester.algorithm)

    def status(self) -> MemoryWriter:
        return self

    @property
    def offset(self) -> int:
        return len(self.data)
