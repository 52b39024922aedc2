"""Images end to end: pull into a namespace, unpack into a snapshotter, remove, collect.

The glue containerd's client does around its stores, kept in one place so the engine and the
gRPC services use the same steps:

- a pull runs under a short lease, so nothing it wrote can be collected before the image
  record exists (and a layer chain another image is deleting meanwhile is leased, not lost);
- after the unpack the image's config blob carries ``containerd.io/gc.ref.snapshot.<name>``
  naming the top snapshot, so the image keeps its snapshots alive through the garbage
  collector's references, exactly as containerd's unpacker labels them;
- a pull that fails or is cancelled (``cancelled``) leaves the store as it was (its lease
  goes, and a collection with it: ``collect``, by default :func:`dockyard.containerd.gc.collect`);
- removing an image deletes only its record; :func:`dockyard.containerd.gc.collect` then
  removes what no other image, lease or container references.
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from dockyard.containerd import gc
from dockyard.containerd.metadata import DB, Descriptor, Image
from dockyard.containerd.registry.client import RegistryClient
from dockyard.containerd.registry.fetch import Cancelled
from dockyard.containerd.registry.progress import ProgressCallback
from dockyard.containerd.registry.pull import PullResult, pull
from dockyard.containerd.registry.unpacking import SnapshotApplier
from dockyard.errors import AlreadyExists, NotFound
from dockyard.oci.platform import Platform
from dockyard.oci.reference import Reference, parse_reference

LABEL_GC_SNAPSHOT = "containerd.io/gc.ref.snapshot."
PULL_LEASE_SECONDS = 24 * 3600.0  # a crashed pull's lease expires; a live one is deleted at the end


@dataclass
class PulledImage:
    """The image record and what the pull stored and unpacked."""

    image: Image
    pulled: PullResult
    chain_ids: list[str] = field(default_factory=list)  # bottom layer first; the last is the rootfs parent
    previous: Image | None = None  # the record of that name before the pull (None: the pull created it)


class ImageService:
    """Pull, unpack, list and remove images of ``db`` (whose snapshotters are registered in it)."""

    def __init__(self, db: DB, default_snapshotter: str = "overlayfs",
                 collect: Callable[[], object] | None = None) -> None:
        self.db = db
        self.default_snapshotter = default_snapshotter
        self.collect = collect if collect is not None else lambda: gc.collect(db)

    def pull(
        self,
        namespace: str,
        ref: str | Reference,
        *,
        platform: Platform | str | None = None,
        snapshotter: str | None = None,
        unpack: bool = True,
        progress: ProgressCallback | None = None,
        client: RegistryClient | None = None,
        labels: dict[str, str] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> PulledImage:
        """Pull ``ref`` into ``namespace``, unpack it (unless ``unpack`` is False) and record it
        under its normalised name. An existing record of that name is pointed at the new target
        (and given ``labels`` when they are given). Once ``cancelled()`` answers True the pull
        stops with :class:`~dockyard.containerd.registry.fetch.Cancelled` and records nothing."""
        reference = parse_reference(ref) if isinstance(ref, str) else ref
        name = snapshotter or self.default_snapshotter
        leases = self.db.leases(namespace)
        lease = leases.create(expire=PULL_LEASE_SECONDS)
        done = False
        try:
            content = self.db.content(namespace, lease=lease.id)
            applier = SnapshotApplier(self.db.snapshotter(name, namespace, lease=lease.id)) if unpack else None
            pulled = pull(reference, content, platform=platform, progress=progress, client=client, applier=applier,
                          cancelled=cancelled)
            chain_ids = list(applier.chain_ids) if applier is not None else []
            if chain_ids:
                info = content.info(pulled.config.digest)
                info.labels[LABEL_GC_SNAPSHOT + name] = chain_ids[-1]
                content.update(info, [f"labels.{LABEL_GC_SNAPSHOT}{name}"])
            if cancelled is not None and cancelled():
                raise Cancelled(f"pull of {reference}: cancelled")
            image, previous = self._record(namespace, str(reference), pulled, labels)
            done = True
        finally:
            leases.delete(lease.id)
            if not done:  # leave the store as it was: what this pull wrote is garbage now
                self.collect()
        return PulledImage(image, pulled, chain_ids, previous)

    def _record(self, namespace: str, name: str, pulled: PullResult,
                labels: dict[str, str] | None = None) -> tuple[Image, Image | None]:
        """Create or update the record: (the record, the one it replaced or None)."""
        target = Descriptor(pulled.target.media_type, pulled.target.digest, pulled.target.size,
                            dict(pulled.target.annotations or {}))
        images = self.db.images(namespace)
        now = time.time()
        while True:  # another pull of the same name may create or delete it meanwhile
            try:
                current = images.get(name)
            except NotFound:
                try:
                    return images.create(Image(name, target, dict(labels or {}), now, now)), None
                except AlreadyExists:
                    continue
            previous = Image(current.name, current.target, dict(current.labels), current.created_at,
                             current.updated_at)
            current.target = target
            if labels is not None:
                current.labels = dict(labels)
            try:
                return images.update(current, ["target"] if labels is None else ["target", "labels"]), previous
            except NotFound:
                continue

    def list(self, namespace: str, *filters: str) -> builtins.list[Image]:
        return self.db.images(namespace).list(*filters)

    def remove(self, namespace: str, name: str, *, collect: bool = True) -> gc.GCResult | None:
        """Delete the image record; with ``collect``, run the garbage collector at once (what no
        other image, lease or container references goes)."""
        self.db.images(namespace).delete(name)
        return gc.collect(self.db) if collect else None
