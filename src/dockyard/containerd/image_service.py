"""Images end to end: pull into a namespace, unpack into a snapshotter, remove, collect.

The glue containerd's client does around its stores, kept in one place so the engine and the
gRPC services use the same steps:

- a pull runs under a short lease, so nothing it wrote can be collected before the image
  record exists (and a layer chain another image is deleting meanwhile is leased, not lost);
- after the unpack the image's config blob carries ``containerd.io/gc.ref.snapshot.<name>``
  naming the top snapshot, so the image keeps its snapshots alive through the garbage
  collector's references, exactly as containerd's unpacker labels them;
- a pull that fails leaves the store as it was (its lease goes, and a collection with it);
- removing an image deletes only its record; :func:`dockyard.containerd.gc.collect` then
  removes what no other image, lease or container references.
"""

from __future__ import annotations

import builtins
import time
from dataclasses import dataclass, field

from dockyard.containerd import gc
from dockyard.containerd.metadata import DB, Descriptor, Image
from dockyard.containerd.registry.client import RegistryClient
from dockyard.containerd.registry.progress import ProgressCallback
from dockyard.containerd.registry.pull import PullResult, pull
from dockyard.containerd.registry.unpacking import SnapshotApplier
from dockyard.errors import NotFound
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


class ImageService:
    """Pull, unpack, list and remove images of ``db`` (whose snapshotters are registered in it)."""

    def __init__(self, db: DB, default_snapshotter: str = "overlayfs") -> None:
        self.db = db
        self.default_snapshotter = default_snapshotter

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
    ) -> PulledImage:
        """Pull ``ref`` into ``namespace``, unpack it (unless ``unpack`` is False) and record it
        under its normalised name. An existing record of that name is pointed at the new target."""
        reference = parse_reference(ref) if isinstance(ref, str) else ref
        name = snapshotter or self.default_snapshotter
        leases = self.db.leases(namespace)
        lease = leases.create(expire=PULL_LEASE_SECONDS)
        done = False
        try:
            content = self.db.content(namespace, lease=lease.id)
            applier = SnapshotApplier(self.db.snapshotter(name, namespace, lease=lease.id)) if unpack else None
            pulled = pull(reference, content, platform=platform, progress=progress, client=client, applier=applier)
            chain_ids = list(applier.chain_ids) if applier is not None else []
            if chain_ids:
                info = content.info(pulled.config.digest)
                info.labels[LABEL_GC_SNAPSHOT + name] = chain_ids[-1]
                content.update(info, [f"labels.{LABEL_GC_SNAPSHOT}{name}"])
            image = self._record(namespace, str(reference), pulled)
            done = True
        finally:
            leases.delete(lease.id)
            if not done:  # leave the store as it was: what this pull wrote is garbage now
                gc.collect(self.db)
        return PulledImage(image, pulled, chain_ids)

    def _record(self, namespace: str, name: str, pulled: PullResult) -> Image:
        target = Descriptor(pulled.target.media_type, pulled.target.digest, pulled.target.size,
                            dict(pulled.target.annotations or {}))
        images = self.db.images(namespace)
        now = time.time()
        try:
            current = images.get(name)
        except NotFound:
            return images.create(Image(name, target, {}, now, now))
        current.target = target
        return images.update(current, ["target"])

    def list(self, namespace: str, *filters: str) -> builtins.list[Image]:
        return self.db.images(namespace).list(*filters)

    def remove(self, namespace: str, name: str, *, collect: bool = True) -> gc.GCResult | None:
        """Delete the image record; with ``collect``, run the garbage collector at once (what no
        other image, lease or container references goes)."""
        self.db.images(namespace).delete(name)
        return gc.collect(self.db) if collect else None
