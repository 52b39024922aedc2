"""An applier for :func:`.pull.pull` that unpacks layers into snapshots while they download.

``pull(ref, store, applier=SnapshotApplier(snapshotter))`` applies layer ``n`` on top of
the snapshot of layers ``0..n-1`` with :func:`dockyard.containerd.unpack.apply_to_snapshot`,
reading the layer's bytes from the download as they arrive. Snapshots are named by chainID,
so a layer stack another image unpacked already is not applied again (nothing is read
beyond waiting for the blob's verification), and the diffID computed while applying is
checked against the config's. The feed ends only after the blob's digest was verified, and
``apply_to_snapshot`` commits the snapshot only after reading to the end, so a snapshot
never holds unverified bytes. ``chain_ids`` lists the committed snapshots, bottom first.
"""

from __future__ import annotations

import secrets
import time

from dockyard.containerd.archive.layers import child_chain_id
from dockyard.containerd.registry.layerfeed import LayerFeed
from dockyard.containerd.snapshots import Snapshotter
from dockyard.containerd.unpack import UnpackResult, apply_to_snapshot
from dockyard.errors import FailedPrecondition
from dockyard.oci.descriptor import Descriptor


class SnapshotApplier:
    """Applies each pulled layer into a snapshot of ``snapshotter`` (labels on each)."""

    def __init__(self, snapshotter: Snapshotter, labels: dict[str, str] | None = None) -> None:
        self.snapshotter = snapshotter
        self.labels = dict(labels or {})
        self.chain_ids: list[str] = []
        self.results: list[UnpackResult] = []

    def __call__(self, index: int, layer: Descriptor, diff_id: str, feed: LayerFeed) -> None:
        if index != len(self.chain_ids):
            raise FailedPrecondition(f"layer {index} applied out of order (expected {len(self.chain_ids)})")
        parent = self.chain_ids[-1] if self.chain_ids else ""
        name = child_chain_id(parent, diff_id)
        key = f"extract-{time.time_ns()}-{secrets.token_hex(4)} {name}"
        result = apply_to_snapshot(
            self.snapshotter, key, parent, feed,
            compression="auto",  # sniffed, as docker does (some layers are mislabelled)
            expected_diff_id=diff_id, name=name, labels=self.labels or None,
        )
        if not result.applied:
            feed.finish()  # nothing was read: still wait for the blob to be verified and stored
        self.chain_ids.append(result.name)
        self.results.append(result)
