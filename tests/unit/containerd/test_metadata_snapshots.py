"""Snapshots per namespace over a backend snapshotter (an in-memory fake here)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.support.fake_snapshotter import FakeSnapshotter

from dockyard.containerd.metadata import DB, Resource
from dockyard.containerd.snapshots import KIND_ACTIVE, KIND_COMMITTED, KIND_VIEW, Info
from dockyard.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound


@pytest.fixture
def backend() -> FakeSnapshotter:
    return FakeSnapshotter()


@pytest.fixture
def db(tmp_path: Path, backend: FakeSnapshotter) -> DB:
    return DB(tmp_path / "meta.db", snapshotters={"fake": backend})


def test_prepare_commit_view_chain(db: DB, backend: FakeSnapshotter) -> None:
    sn = db.snapshotter("fake", "default")
    assert sn.name == "fake"
    mounts = sn.prepare("extract-1", "", {"containerd.io/snapshot.ref": "sha256:l1"})
    assert mounts[0].options == ["rw"]
    assert sn.stat("extract-1").kind == KIND_ACTIVE
    sn.commit("sha256:l1", "extract-1", {"containerd.io/gc.root": "x"})
    with pytest.raises(NotFound, match="snapshot 'extract-1' does not exist"):
        sn.stat("extract-1")
    sn.prepare("extract-2", "sha256:l1")
    sn.commit("sha256:l2", "extract-2")
    sn.view("ro", "sha256:l2")
    sn.prepare("container-rw", "sha256:l2")
    info = sn.stat("sha256:l2")
    assert (info.name, info.kind, info.parent) == ("sha256:l2", KIND_COMMITTED, "sha256:l1")
    assert sn.stat("sha256:l1").labels == {"containerd.io/gc.root": "x"}
    assert sn.stat("ro").kind == KIND_VIEW
    assert sn.mounts("ro")[0].options == ["ro"]
    assert sn.usage("ro").inodes == 1
    # the backend knows namespaced keys and backend parents
    by_name = {info.name: info for info in backend.walk()}
    assert sorted(by_name) == ["default/2/sha256:l1", "default/4/sha256:l2", "default/5/ro", "default/6/container-rw"]
    assert by_name["default/4/sha256:l2"].parent == "default/2/sha256:l1"
    assert by_name["default/6/container-rw"].parent == "default/4/sha256:l2"


def test_walk_with_filters(db: DB) -> None:
    sn = db.snapshotter("fake", "default")
    sn.prepare("a")
    sn.commit("base", "a", {"tier": "base"})
    sn.prepare("b", "base")
    sn.view("v", "base")

    def names(*filters: str) -> list[str]:
        return [info.name for info in sn.walk(*filters)]

    assert names() == ["b", "base", "v"]
    assert names("kind==committed") == ["base"]
    assert names("kind==Active") == ["b"]
    assert names("parent==base") == ["b", "v"]
    assert names("labels.tier==base") == ["base"]
    assert names("parent==base,kind==view") == ["v"]
    assert names("name~=^b") == ["b", "base"]


def test_namespaces_have_their_own_key_space(db: DB, backend: FakeSnapshotter) -> None:
    a, b = db.snapshotter("fake", "a"), db.snapshotter("fake", "b")
    a.prepare("k")
    b.prepare("k")
    assert sorted(info.name for info in backend.walk()) == ["a/1/k", "b/2/k"]
    a.commit("layer", "k")
    with pytest.raises(NotFound, match="parent snapshot 'layer' does not exist"):
        b.prepare("child", "layer")
    assert [i.name for i in b.walk()] == ["k"]
    assert a.stat("layer").kind == KIND_COMMITTED and b.stat("k").kind == KIND_ACTIVE


def test_errors(db: DB, backend: FakeSnapshotter) -> None:
    sn = db.snapshotter("fake", "default")
    sn.prepare("active")
    with pytest.raises(AlreadyExists, match="snapshot 'active': already exists"):
        sn.prepare("active")
    with pytest.raises(FailedPrecondition, match="parent snapshot 'active' is active, not committed"):
        sn.prepare("child", "active")
    with pytest.raises(NotFound):
        sn.commit("x", "missing")
    sn.view("view")
    with pytest.raises(FailedPrecondition, match="snapshot 'view' is view, not active"):
        sn.commit("x", "view")
    sn.commit("done", "active")
    sn.prepare("active2")
    with pytest.raises(AlreadyExists, match="snapshot 'done': already exists"):
        sn.commit("done", "active2")
    with pytest.raises(InvalidArgument, match="key must not be empty"):
        sn.prepare("")
    with pytest.raises(InvalidArgument, match="more than 4096"):
        sn.prepare("big", "", {"k": "v" * 5000})
    with pytest.raises(NotFound, match="snapshotter 'nope'"):
        db.snapshotter("nope", "default")


def test_a_failing_backend_leaves_no_row(db: DB, backend: FakeSnapshotter) -> None:
    sn = db.snapshotter("fake", "default")
    backend.fail_next = OSError("disk full")
    with pytest.raises(OSError, match="disk full"):
        sn.prepare("k")
    assert list(sn.walk()) == []
    sn.prepare("k")
    backend.fail_next = OSError("disk full")
    with pytest.raises(OSError):
        sn.commit("name", "k")
    assert [(i.name, i.kind) for i in sn.walk()] == [("k", KIND_ACTIVE)]


def test_remove_refuses_parents_and_leaves_the_backend_to_gc(db: DB, backend: FakeSnapshotter) -> None:
    sn = db.snapshotter("fake", "default")
    sn.prepare("a")
    sn.commit("parent", "a")
    sn.prepare("child", "parent")
    with pytest.raises(FailedPrecondition, match="cannot remove snapshot 'parent' with child 'child'"):
        sn.remove("parent")
    sn.remove("child")
    sn.remove("parent")
    assert list(sn.walk()) == []
    assert len(list(backend.walk())) == 2  # removed from the backend by garbage collection
    with pytest.raises(NotFound):
        sn.remove("parent")


def test_update_labels_and_inherited_ones(db: DB, backend: FakeSnapshotter) -> None:
    sn = db.snapshotter("fake", "default")
    sn.prepare("k", "", {"a": "1", "containerd.io/snapshot/remote": "yes"})
    assert backend.stat("default/1/k").labels == {"containerd.io/snapshot/remote": "yes"}
    info = sn.update(Info("k", KIND_ACTIVE, labels={"a": "2", "b": "3"}), ["labels.a"])
    assert info.labels == {"a": "2", "containerd.io/snapshot/remote": "yes"}
    info = sn.update(Info("k", KIND_ACTIVE, labels={"containerd.io/snapshot/x": "1"}))
    assert info.labels == {"containerd.io/snapshot/x": "1"}
    assert backend.stat("default/1/k").labels == {"containerd.io/snapshot/x": "1"}
    assert sn.stat("k").labels == {"containerd.io/snapshot/x": "1"}
    with pytest.raises(InvalidArgument, match="cannot update 'parent'"):
        sn.update(Info("k", KIND_ACTIVE), ["parent"])


def test_snapshots_made_under_a_lease_are_leased(db: DB) -> None:
    db.leases("default").create("unpack")
    sn = db.snapshotter("fake", "default", lease="unpack")
    sn.prepare("extract")
    assert db.leases("default").list_resources("unpack") == [Resource("extract", "snapshots/fake")]
    sn.commit("sha256:chain", "extract")
    assert db.leases("default").list_resources("unpack") == [Resource("sha256:chain", "snapshots/fake")]
    db.snapshotter("fake", "default").prepare("other")
    with pytest.raises(AlreadyExists):
        sn.prepare("other")  # exists already, yet now leased, as in containerd
    assert Resource("other", "snapshots/fake") in db.leases("default").list_resources("unpack")


def test_prepare_with_a_target_that_exists_leases_it(db: DB, backend: FakeSnapshotter) -> None:
    sn = db.snapshotter("fake", "default")
    sn.prepare("extract-a", "", {"containerd.io/snapshot.ref": "sha256:chain"})
    sn.commit("sha256:chain", "extract-a")
    db.leases("default").create("second-pull")
    leased = db.snapshotter("fake", "default", lease="second-pull")
    with pytest.raises(AlreadyExists, match="target snapshot 'sha256:chain': already exists"):
        leased.prepare("extract-b", "", {"containerd.io/snapshot.ref": "sha256:chain"})
    assert [i.name for i in sn.walk()] == ["sha256:chain"]
    assert db.leases("default").list_resources("second-pull") == [Resource("sha256:chain", "snapshots/fake")]
    leased.prepare("extract-c")
    with pytest.raises(AlreadyExists, match="snapshot 'sha256:chain': already exists"):
        leased.commit("sha256:chain", "extract-c")
    assert sn.stat("extract-c").kind == KIND_ACTIVE  # the loser keeps its active snapshot to remove
