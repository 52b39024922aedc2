"""An unpack that finds its layer chain already there leases it in the same step, so that
garbage collection cannot take the chain between "it exists" and the caller's image record
(containerd's unpacker does the same through the ``containerd.io/snapshot.ref`` label)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from dockyard.containerd import gc
from dockyard.containerd.archive.layers import child_chain_id
from dockyard.containerd.content import ContentStore
from dockyard.containerd.metadata import DB, Resource
from dockyard.containerd.snapshots.native import NativeSnapshotter
from dockyard.containerd.unpack import apply_to_snapshot
from dockyard.oci.digest import digest_bytes

pytestmark = pytest.mark.root


def _layer() -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo("hello")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"hi\n"))
    return raw.getvalue()


def test_existing_chain_joins_the_lease_and_survives_collection(tmp_path: Path) -> None:
    backend = NativeSnapshotter(str(tmp_path / "native"))
    db = DB(tmp_path / "meta.db", ContentStore(tmp_path / "content"), {"native": backend})
    try:
        layer = _layer()
        diff_id = digest_bytes(layer)
        chain = child_chain_id("", diff_id)
        first = db.leases("ns").create()
        made = apply_to_snapshot(db.snapshotter("native", "ns", lease=first.id), "k1", "", io.BytesIO(layer),
                                 expected_diff_id=diff_id)
        assert made.applied and made.name == chain
        second = db.leases("ns").create()
        again = apply_to_snapshot(db.snapshotter("native", "ns", lease=second.id), "k2", "",
                                  io.BytesIO(b"never read"), expected_diff_id=diff_id)
        assert (again.name, again.applied) == (chain, False)
        assert Resource(chain, "snapshots/native") in db.leases("ns").list_resources(second.id)
        db.leases("ns").delete(first.id)  # the image that owned the chain is going away
        gc.collect(db)
        assert db.snapshotter("native", "ns").stat(chain).name == chain  # kept by the second lease
        assert [i.name for i in db.snapshotter("native", "ns").walk()] == [chain]  # no k2 left over
        db.leases("ns").delete(second.id)
        gc.collect(db)
        assert list(backend.walk()) == []
    finally:
        db.close()
        backend.close()
