"""Content per namespace over the shared content store: visibility, labels, sharing, ingests
and leases."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.containerd.content import ContentStore
from dockyard.containerd.content.types import Info
from dockyard.containerd.metadata import DB, Resource
from dockyard.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound, Unavailable
from dockyard.oci.digest import digest_bytes


@pytest.fixture
def db(tmp_path: Path) -> DB:
    return DB(tmp_path / "meta.db", ContentStore(tmp_path / "content"))


def put(db: DB, namespace: str, data: bytes, labels: dict[str, str] | None = None, ref: str = "") -> str:
    with db.content(namespace).writer(ref or f"ref-{digest_bytes(data)}") as writer:
        writer.write(data)
        return writer.commit(len(data), digest_bytes(data), labels)


def test_a_blob_is_visible_only_in_the_namespace_that_committed_it(db: DB) -> None:
    dgst = put(db, "a", b"layer", {"containerd.io/uncompressed": digest_bytes(b"tar")})
    info = db.content("a").info(dgst)
    assert (info.digest, info.size, info.labels) == (dgst, 5, {"containerd.io/uncompressed": digest_bytes(b"tar")})
    assert db.content("a").read_all(dgst) == b"layer"
    with pytest.raises(NotFound, match=f"content {dgst}: not found"):
        db.content("b").info(dgst)
    with pytest.raises(NotFound):
        db.content("b").reader(dgst)
    assert db.content("b").list() == []
    assert [i.digest for i in db.content("a").list()] == [dgst]


def test_shared_policy_adds_an_existing_blob_without_its_bytes(db: DB) -> None:
    dgst = put(db, "a", b"shared layer")
    writer = db.content("b").writer("pull-b", expected_digest=dgst)
    status = writer.status()
    assert (status.offset, status.total, status.expected) == (12, 12, dgst)
    assert db.content("b").status("pull-b").offset == 12
    assert writer.commit(12, dgst, {"x": "y"}) == dgst
    assert db.content("b").info(dgst).labels == {"x": "y"}
    assert db.content("a").info(dgst).labels == {}
    assert db.content("b").list_statuses() == []
    with pytest.raises(AlreadyExists, match=f"content {dgst}: already exists"):
        db.content("b").writer("again", expected_digest=dgst)


def test_a_shared_writer_given_new_bytes_becomes_a_real_ingest(db: DB) -> None:
    dgst = put(db, "a", b"abc")
    writer = db.content("b").writer("w", expected_digest=dgst)
    writer.truncate(0)
    assert writer.status().offset == 0
    writer.write(b"abc")
    assert writer.commit(3) == dgst
    assert db.content("b").info(dgst).size == 3


def test_commit_of_a_blob_the_namespace_has_is_already_exists_and_ends_the_ingest(db: DB) -> None:
    dgst = put(db, "a", b"twice", ref="first")
    writer = db.content("a").writer("second")
    writer.write(b"twice")
    with pytest.raises(AlreadyExists, match=f"content {dgst}"):
        writer.commit()
    assert db.content("a").list_statuses() == []
    assert db.content_store is not None and db.content_store.list_statuses() == []


def test_mismatch_leaves_no_row_and_no_blob(db: DB) -> None:
    store = db.content("a")
    writer = store.writer("bad")
    writer.write(b"1234")
    with pytest.raises(FailedPrecondition, match="unexpected commit size 4, expected 5"):
        writer.commit(5)
    assert store.list() == []
    assert db.content_store is not None and db.content_store.list() == []
    assert store.status("bad").offset == 4
    store.abort("bad")
    with pytest.raises(NotFound, match="ingest ref 'bad'"):
        store.status("bad")
    assert db.content_store.list_statuses() == []


def test_ingests_resume_per_namespace_and_are_locked(db: DB) -> None:
    a, b = db.content("a"), db.content("b")
    wa = a.writer("same-ref", total=6)
    wa.write(b"abc")
    wb = b.writer("same-ref")  # another namespace: another ingest
    wb.write(b"zz")
    with pytest.raises(Unavailable, match="locked"):
        a.writer("same-ref")
    with pytest.raises(Unavailable):
        a.abort("same-ref")
    wa.close()
    assert [s.ref for s in a.list_statuses()] == ["same-ref"]
    assert [s.offset for s in a.list_statuses("ref==same-ref")] == [3]
    resumed = a.writer("same-ref", total=6)
    assert resumed.status().offset == 3
    resumed.write(b"def")
    assert resumed.commit() == digest_bytes(b"abcdef")
    assert b.status("same-ref").offset == 2
    wb.close()
    b.abort("same-ref")
    assert b.list_statuses() == []


def test_update_walk_delete(db: DB) -> None:
    store = db.content("a")
    one = put(db, "a", b"one", {"keep": "1", "drop": "2"})
    two = put(db, "a", b"two", {"containerd.io/gc.ref.content.l.0": one})
    updated = store.update(Info(one, 0, labels={"drop": "", "new": "3"}), ["labels.drop", "labels.new"])
    assert updated.labels == {"keep": "1", "new": "3"}
    assert store.update(Info(one, 0, labels={"only": "this"})).labels == {"only": "this"}
    with pytest.raises(InvalidArgument, match="cannot update 'size'"):
        store.update(Info(one, 0), ["size"])
    with pytest.raises(NotFound):
        store.update(Info(digest_bytes(b"none"), 0))
    assert [i.digest for i in store.walk("labels.only==this")] == [one]
    assert [i.digest for i in store.walk('labels."containerd.io/gc.ref.content.l.0"')] == [two]
    assert [i.digest for i in store.walk(f"digest=={two}")] == [two]
    put(db, "b", b"one")
    store.delete(one)
    with pytest.raises(NotFound):
        store.delete(one)
    assert db.content_store is not None and db.content_store.exists(one)  # the bytes wait for GC
    assert db.content("b").read_all(one) == b"one"


def test_a_writer_under_a_lease_adds_its_ingest_then_its_blob(db: DB) -> None:
    leases = db.leases("a")
    leases.create("pull")
    store = db.content("a", lease="pull")
    writer = store.writer("layer")
    assert leases.list_resources("pull") == [Resource("layer", "ingests")]
    writer.write(b"leased")
    dgst = writer.commit()
    assert leases.list_resources("pull") == [Resource(dgst, "content")]
    with pytest.raises(AlreadyExists):
        store.writer("x", expected_digest=dgst)
    with pytest.raises(NotFound, match="lease 'missing'"):
        db.content("a", lease="missing").writer("y")
    assert db.content("a").list_statuses() == []


def test_already_existing_content_is_still_added_to_the_lease(db: DB) -> None:
    dgst = put(db, "a", b"have it")
    db.leases("a").create("l")
    with pytest.raises(AlreadyExists):
        db.content("a", lease="l").writer("r", expected_digest=dgst)
    assert db.leases("a").list_resources("l") == [Resource(dgst, "content")]


def test_no_content_store(tmp_path: Path) -> None:
    with DB(tmp_path / "meta.db") as db, pytest.raises(FailedPrecondition, match="no content store"):
        db.content("a")
