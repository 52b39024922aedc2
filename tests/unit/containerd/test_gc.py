"""Garbage collection: images share layers, leases protect work in flight, labels reference
blobs and snapshots exactly as in containerd."""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.support.fake_snapshotter import FakeSnapshotter

from dockyard.containerd.content import ContentStore
from dockyard.containerd.gc import collect
from dockyard.containerd.metadata import DB, Descriptor, Image
from dockyard.errors import AlreadyExists, NotFound, Unavailable
from dockyard.oci.digest import digest_bytes

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
HOUR = 3600.0


@dataclass
class Pulled:
    manifest: str
    config: str
    layers: list[str]
    chains: list[str]


@pytest.fixture
def backend() -> FakeSnapshotter:
    return FakeSnapshotter()


@pytest.fixture
def store(tmp_path: Path) -> ContentStore:
    return ContentStore(tmp_path / "content")


@pytest.fixture
def db(tmp_path: Path, store: ContentStore, backend: FakeSnapshotter) -> DB:
    return DB(tmp_path / "meta.db", store, {"fake": backend})


def write_blob(db: DB, ns: str, data: bytes, labels: dict[str, str] | None = None, lease: str = "") -> str:
    dgst = digest_bytes(data)
    while True:  # as containerd's content.OpenWriter: wait while another writer holds the ref
        try:
            writer = db.content(ns, lease=lease).writer(f"ingest-{dgst}", expected_digest=dgst, total=len(data))
            break
        except AlreadyExists:
            return dgst
        except Unavailable:
            time.sleep(0.005)
    with writer:
        if writer.status().offset == 0:
            writer.write(data)
        writer.commit(len(data), dgst, labels)
    return dgst


def pull(db: DB, ns: str, name: str, layers: list[bytes], lease: str = "") -> Pulled:
    """What a pull and unpack leave behind: blobs with containerd's gc labels, a committed
    snapshot per layer chain, and the image."""
    own_lease = not lease
    if own_lease:
        lease = db.leases(ns).create().id  # as containerd's client does around a pull
    snapshots = db.snapshotter("fake", ns, lease=lease)
    digests, chains = [], []
    parent = ""
    for layer in layers:
        digests.append(write_blob(db, ns, layer, lease=lease))
        chain = digests[-1] if not parent else digest_bytes(f"{parent} {digests[-1]}".encode())
        key = f"extract-{os.urandom(4).hex()}-{chain}"  # as containerd's unpacker
        try:
            snapshots.prepare(key, parent, {"containerd.io/snapshot.ref": chain})
        except AlreadyExists:
            pass  # another pull committed this chain: it is in our lease now
        else:
            try:
                snapshots.commit(chain, key)
            except AlreadyExists:
                snapshots.remove(key)  # lost the race; the winner's chain is leased
        chains.append(chain)
        parent = chain
    config = write_blob(db, ns, json.dumps({"rootfs": digests, "name": name}).encode(),
                        {"containerd.io/gc.ref.snapshot.fake": chains[-1]}, lease=lease)
    labels = {"containerd.io/gc.ref.content.config": config}
    labels.update({f"containerd.io/gc.ref.content.l.{i}": d for i, d in enumerate(digests)})
    manifest_bytes = json.dumps({"config": config, "layers": digests}).encode()
    manifest = write_blob(db, ns, manifest_bytes, labels, lease=lease)
    db.images(ns).create(Image(name, Descriptor(MANIFEST, manifest, len(manifest_bytes))))
    if own_lease:
        db.leases(ns).delete(lease)
    return Pulled(manifest, config, digests, chains)


def blobs(store: ContentStore) -> set[str]:
    return {info.digest for info in store.walk()}


def rows(db: DB, ns: str) -> set[str]:
    return {info.digest for info in db.content(ns).walk()}


def snapshot_names(db: DB, ns: str) -> set[str]:
    return {info.name for info in db.snapshotter("fake", ns).walk()}


def test_two_images_share_layers_and_deleting_one_keeps_the_shared_ones(
        db: DB, store: ContentStore, backend: FakeSnapshotter) -> None:
    a = pull(db, "default", "a:latest", [b"base layer", b"layer of a"])
    b = pull(db, "default", "b:latest", [b"base layer", b"layer of b"])
    assert a.layers[0] == b.layers[0] and a.chains[0] == b.chains[0]
    everything = {a.manifest, a.config, *a.layers, b.manifest, b.config, *b.layers}
    assert blobs(store) == everything

    first = collect(db)
    assert first.content == [] and first.snapshots == [] and first.blobs == []
    assert len(first.leases) == 0 and first.backend_snapshots == []

    db.images("default").delete("a:latest")
    result = collect(db)
    gone = {a.manifest, a.config, a.layers[1]}
    assert {digest for _, digest in result.content} == gone
    assert set(result.blobs) == gone
    assert blobs(store) == everything - gone
    assert result.snapshots == [("default", "fake", a.chains[1])]
    assert len(result.backend_snapshots) == 1
    assert snapshot_names(db, "default") == {a.chains[0], b.chains[1]}
    assert len(backend.snapshots) == 2
    assert db.content("default").read_all(b.layers[0]) == b"base layer"

    db.images("default").delete("b:latest")
    result = collect(db)
    assert blobs(store) == set() and rows(db, "default") == set()
    assert snapshot_names(db, "default") == set() and backend.snapshots == {}
    removed = [key for _, key in result.backend_snapshots]
    assert removed.index(next(k for k in removed if k.endswith(b.chains[1]))) < removed.index(
        next(k for k in removed if k.endswith(b.chains[0])))  # children before parents


def test_unreferenced_content_and_snapshots_go_at_once(db: DB, store: ContentStore, backend: FakeSnapshotter) -> None:
    pulled = pull(db, "default", "img", [b"l1"])
    stray = write_blob(db, "default", b"nobody references me")
    sn = db.snapshotter("fake", "default")
    sn.prepare("tmp")
    sn.commit("c1", "tmp")
    sn.prepare("tmp", "c1")
    sn.commit("c2", "tmp")
    sn.prepare("tmp", "c2")
    sn.commit("c3", "tmp")  # an unused chain c1 <- c2 <- c3
    result = collect(db)
    assert [digest for _, digest in result.content] == [stray] and result.blobs == [stray]
    assert [key for _, _, key in result.snapshots] == ["c3", "c2", "c1"]  # children first
    assert [key.split("/")[-1] for _, key in result.backend_snapshots] == ["c3", "c2", "c1"]
    assert snapshot_names(db, "default") == {pulled.chains[0]}
    assert len(backend.snapshots) == 1


def test_a_container_snapshot_keeps_its_parents(db: DB, backend: FakeSnapshotter) -> None:
    pulled = pull(db, "default", "img", [b"l1", b"l2"])
    db.snapshotter("fake", "default").prepare("container-rootfs", pulled.chains[-1])
    db.images("default").delete("img")
    collect(db)
    assert snapshot_names(db, "default") == {*pulled.chains, "container-rootfs"}
    assert len(backend.snapshots) == 3
    result = collect(db, active_snapshots_are_roots=False)
    assert snapshot_names(db, "default") == set() and len(result.backend_snapshots) == 3


def test_the_same_blob_in_two_namespaces(db: DB, store: ContentStore) -> None:
    pull(db, "a", "img", [b"common"])
    pulled_b = pull(db, "b", "img", [b"common"])
    db.images("a").delete("img")
    result = collect(db)
    assert ("a", pulled_b.layers[0]) in result.content  # the row of namespace a goes...
    assert pulled_b.layers[0] not in result.blobs  # ...the bytes stay for namespace b
    assert db.content("b").read_all(pulled_b.layers[0]) == b"common"
    db.images("b").delete("img")
    collect(db)
    assert blobs(store) == set()


def test_a_lease_protects_an_ingest_and_its_blobs_until_deleted(db: DB, store: ContentStore) -> None:
    db.leases("default").create("pull")
    content = db.content("default", lease="pull")
    done = write_blob(db, "default", b"downloaded layer", lease="pull")
    writer = content.writer("in-flight", total=100)
    writer.write(b"x" * 40)
    writer.close()
    result = collect(db, now=None)
    assert result.content == [] and result.ingests == [] and result.backend_ingests == []
    assert blobs(store) == {done}
    assert content.status("in-flight").offset == 40
    resumed = content.writer("in-flight", total=100)  # the pull goes on after a GC
    resumed.write(b"y" * 10)
    resumed.close()

    db.leases("default").delete("pull")
    result = collect(db)
    assert result.content == [("default", done)] and result.blobs == [done]
    assert result.ingests == [("default", "in-flight")] and len(result.backend_ingests) == 1
    assert store.list_statuses() == [] and blobs(store) == set()
    with pytest.raises(NotFound):
        content.status("in-flight")


def test_a_lease_protects_until_it_expires(db: DB, store: ContentStore) -> None:
    lease = db.leases("default").create("short", expire=HOUR)
    done = write_blob(db, "default", b"kept an hour", lease=lease.id)
    sn = db.snapshotter("fake", "default", lease=lease.id)
    sn.prepare("x")
    sn.commit("layer", "x")
    assert collect(db).content == []
    result = collect(db, now=lease.created_at + 2 * HOUR)
    assert result.leases == [("default", "short")]
    assert result.content == [("default", done)] and result.snapshots == [("default", "fake", "layer")]
    assert db.leases("default").list() == []


def test_an_ingest_outside_leases_is_kept_for_a_day(db: DB, store: ContentStore) -> None:
    writer = db.content("default").writer("unleased")
    writer.write(b"partial")
    writer.close()
    assert collect(db).ingests == []
    result = collect(db, now=writer.status().started_at + 25 * HOUR)
    assert result.ingests == [("default", "unleased")]
    assert store.list_statuses() == []


def test_an_ingest_expecting_a_shared_blob_keeps_that_blob(db: DB, store: ContentStore) -> None:
    dgst = write_blob(db, "a", b"blob of a")
    db.leases("b").create("l")
    db.content("b", lease="l").writer("fetch", expected_digest=dgst).close()  # shared: nothing written
    result = collect(db)
    assert result.content == [("a", dgst)]  # namespace a holds nothing...
    assert blobs(store) == {dgst}  # ...but namespace b's ingest expects the blob


def test_gc_root_label_and_flat_lease(db: DB, store: ContentStore) -> None:
    layer = write_blob(db, "default", b"layer")
    rooted = write_blob(db, "default", b"manifest", {"containerd.io/gc.root": "2024",
                                                      "containerd.io/gc.ref.content.l.0": layer})
    other_layer = write_blob(db, "default", b"other layer")
    db.leases("default").create("flat", {"containerd.io/gc.flat": "1"})
    flat = write_blob(db, "default", b"flat manifest", {"containerd.io/gc.ref.content.l.0": other_layer},
                      lease="flat")
    result = collect(db)
    assert [digest for _, digest in result.content] == [other_layer]
    assert blobs(store) == {layer, rooted, flat}


def test_back_references_and_snapshot_references(db: DB) -> None:
    manifest = write_blob(db, "default", b"m")
    attached = write_blob(db, "default", b"signature", {"containerd.io/gc.bref.content": manifest})
    sn = db.snapshotter("fake", "default")
    sn.prepare("k")
    sn.commit("named", "k")
    config = write_blob(db, "default", b"cfg", {"containerd.io/gc.ref.snapshot.fake/0": "named",
                                                 "containerd.io/gc.ref.contentX": manifest})
    db.images("default").create(Image("img", Descriptor(MANIFEST, config, 3),
                                      {"containerd.io/gc.ref.content.m": manifest}))
    assert collect(db).content == []
    assert snapshot_names(db, "default") == {"named"}
    db.images("default").update(Image("img", Descriptor(MANIFEST, config, 3)))  # drops the label
    result = collect(db)
    assert {digest for _, digest in result.content} == {manifest, attached}  # gc.ref.contentX is no ref


def test_an_expired_image_is_collected(db: DB, store: ContentStore) -> None:
    data = b"temporary manifest"
    dgst = write_blob(db, "default", data)
    db.images("default").create(Image("tmp", Descriptor(MANIFEST, dgst, len(data)),
                                      {"containerd.io/gc.expire": "2000-01-01T00:00:00Z"}))
    result = collect(db)
    assert result.images == [("default", "tmp")] and result.blobs == [dgst]
    db.images("default").create(Image("bad-expiry", Descriptor(MANIFEST, dgst, len(data)),
                                      {"containerd.io/gc.expire": "whenever"}))
    assert collect(db).images == []  # an unreadable expiry is ignored


def test_orphans_on_disk_are_removed(db: DB, store: ContentStore, backend: FakeSnapshotter) -> None:
    with store.writer("raw") as writer:  # straight into the shared store, no namespace
        writer.write(b"orphan")
        orphan = writer.commit()
    with store.writer("raw-ingest") as writer:
        writer.write(b"half")
    backend.prepare("lost")
    backend.commit("lost-parent", "lost")
    backend.prepare("lost-child", "lost-parent")
    result = collect(db)
    assert result.blobs == [orphan] and result.backend_ingests == ["raw-ingest"]
    assert [key for _, key in result.backend_snapshots] == ["lost-child", "lost-parent"]
    assert store.list() == [] and store.list_statuses() == [] and backend.snapshots == {}


def test_an_ingest_being_written_is_not_aborted(db: DB, store: ContentStore) -> None:
    writer = store.writer("busy-without-row")
    writer.write(b"x")
    result = collect(db)
    assert result.backend_ingests == []
    writer.close()
    assert collect(db).backend_ingests == ["busy-without-row"]


def test_gc_beside_pulls_never_loses_an_image(db: DB, store: ContentStore) -> None:
    errors: list[BaseException] = []
    stop = threading.Event()

    def puller(t: int) -> None:
        try:
            for i in range(12):
                pull(db, "default", f"img-{t}-{i}", [b"shared base", f"layer {t} {i}".encode()])
                if i % 3 == 0:
                    db.images("default").delete(f"img-{t}-{i}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def collector() -> None:
        try:
            while not stop.is_set():
                collect(db)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    gc_thread = threading.Thread(target=collector)
    gc_thread.start()
    pullers = [threading.Thread(target=puller, args=(t,)) for t in range(3)]
    for thread in pullers:
        thread.start()
    for thread in pullers:
        thread.join()
    stop.set()
    gc_thread.join()
    assert errors == []
    collect(db)
    images = db.images("default").list()
    assert len(images) == 3 * 8
    content = db.content("default")
    for image in images:
        labels = content.info(image.target.digest).labels
        for ref in labels.values():
            assert content.read_all(ref)
        config_labels = content.info(labels["containerd.io/gc.ref.content.config"]).labels
        assert db.snapshotter("fake", "default").stat(config_labels["containerd.io/gc.ref.snapshot.fake"])
    assert {i.digest for i in content.walk()} == blobs(store)
