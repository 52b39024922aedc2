"""Containers in the metadata database: the store (create, get, list with filters, update by
field paths, delete), and containers as garbage-collection roots for their snapshot and image."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.support.fake_snapshotter import FakeSnapshotter

from dockyard.containerd.content import ContentStore
from dockyard.containerd.gc import collect
from dockyard.containerd.metadata import DB, Descriptor, Image
from dockyard.containerd.metadata.containers import AnyValue, Container, ContainerStore, Runtime
from dockyard.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from dockyard.oci.digest import digest_bytes

SPEC = AnyValue("types.containerd.io/opencontainers/runtime-spec/1/Spec", b'{"ociVersion":"1.0.2"}')
MANIFEST = "application/vnd.oci.image.manifest.v1+json"


@pytest.fixture
def backend() -> FakeSnapshotter:
    return FakeSnapshotter()


@pytest.fixture
def db(tmp_path: Path, backend: FakeSnapshotter) -> DB:
    return DB(tmp_path / "meta.db", ContentStore(tmp_path / "content"), {"fake": backend})


def container(id: str = "c1", **fields: object) -> Container:
    values: dict[str, object] = {"runtime": Runtime("io.containerd.runc.v2", AnyValue("opts", b"\x01")),
                                 "spec": SPEC, "image": "docker.io/library/busybox:latest"}
    values.update(fields)
    return Container(id, **values)  # type: ignore[arg-type]


def test_create_get_list_delete(db: DB) -> None:
    store = ContainerStore(db, "default")
    created = store.create(container(labels={"role": "web", "empty": ""},
                                     extensions={"ext": AnyValue("t", b"\x00\xff")}))
    assert created.created_at > 0 and created.labels == {"role": "web"}
    got = store.get("c1")
    assert got.spec == SPEC and got.runtime.options == AnyValue("opts", b"\x01")
    assert got.extensions == {"ext": AnyValue("t", b"\x00\xff")}
    store.create(container("c2", labels={"role": "db"}, runtime=Runtime("io.containerd.runsc.v1")))
    assert [c.id for c in store.list()] == ["c1", "c2"]
    assert [c.id for c in store.list("labels.role==db")] == ["c2"]
    assert [c.id for c in store.list("runtime.name==io.containerd.runc.v2")] == ["c1"]
    assert [c.id for c in store.list('image~="busybox"', "id==c2")] == ["c1", "c2"]
    assert ContainerStore(db, "other").list() == []
    with pytest.raises(AlreadyExists, match="container 'c1': already exists"):
        store.create(container())
    store.delete("c1")
    with pytest.raises(NotFound, match="container 'c1': not found"):
        store.get("c1")
    with pytest.raises(NotFound):
        store.delete("c1")


@pytest.mark.parametrize(("fields", "message"), [
    ({"runtime": Runtime("")}, "Runtime.Name must be set"),
    ({"spec": None}, "Spec must be set"),
    ({"snapshot_key": "k"}, "Snapshotter must be set"),
    ({"extensions": {"": AnyValue("t")}}, "extension keys"),
])
def test_validation(db: DB, fields: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        ContainerStore(db, "default").create(container(**fields))
    with pytest.raises(InvalidArgument, match=r"container\.ID"):
        ContainerStore(db, "default").create(container("bad id"))


def test_update_by_field_paths(db: DB) -> None:
    store = ContainerStore(db, "default")
    store.create(container(labels={"a": "1", "b": "2"}, snapshotter="fake", snapshot_key="k1",
                           extensions={"x": AnyValue("t", b"1"), "y": AnyValue("t", b"2")}))
    given = container(labels={"a": "9"}, image="other", snapshot_key="k2", extensions={"y": AnyValue("t", b"3")})
    updated = store.update(given, ["labels.a", "labels.b", "extensions.y", "snapshotkey"])
    assert updated.labels == {"a": "9"} and updated.image == "docker.io/library/busybox:latest"
    assert updated.snapshot_key == "k2" and updated.extensions == {"x": AnyValue("t", b"1"), "y": AnyValue("t", b"3")}
    with pytest.raises(InvalidArgument, match="cannot update 'runtime'"):
        store.update(given, ["runtime"])
    # a full update may not change the snapshotter or the runtime
    with pytest.raises(InvalidArgument, match="Snapshotter field is immutable"):
        store.update(container(snapshotter="other", snapshot_key="k2"))
    full = store.update(container(snapshotter="fake", snapshot_key="k3", labels={"c": "3"}))
    assert full.labels == {"c": "3"} and full.snapshot_key == "k3" and full.extensions == {}
    assert store.get("c1").updated_at >= full.created_at


def test_a_namespace_with_containers_is_not_empty(db: DB) -> None:
    ContainerStore(db, "busy").create(container())
    with pytest.raises(FailedPrecondition, match="namespace 'busy' must be empty, but it still has containers"):
        db.namespaces().delete("busy")
    assert db.namespaces().list() == ["busy"]


def test_a_container_holds_its_snapshot_and_image_through_gc(db: DB, backend: FakeSnapshotter) -> None:
    manifest = b'{"schemaVersion":2}'
    content = db.content("default")
    with content.writer("m", digest_bytes(manifest), len(manifest)) as writer:
        writer.write(manifest)
        writer.commit(len(manifest), digest_bytes(manifest))
    db.images("default").create(Image("img", Descriptor(MANIFEST, digest_bytes(manifest), len(manifest)),
                                      {"containerd.io/gc.expire": "2000-01-01T00:00:00Z"}))  # expired
    sn = db.snapshotter("fake", "default")
    sn.prepare("base-tmp")
    sn.commit("base", "base-tmp")
    sn.prepare("rootfs", "base")
    ContainerStore(db, "default").create(container(image="img", snapshotter="fake", snapshot_key="rootfs"))
    result = collect(db, active_snapshots_are_roots=False)
    assert result.snapshots == [] and result.images == []
    assert {info.name for info in sn.walk()} == {"base", "rootfs"}
    assert db.images("default").get("img").name == "img"  # referenced by the container despite its expiry
    ContainerStore(db, "default").delete("c1")
    result = collect(db, active_snapshots_are_roots=False)
    assert {key for _, _, key in result.snapshots} == {"rootfs", "base"} and result.images == [("default", "img")]
    assert backend.snapshots == {}
