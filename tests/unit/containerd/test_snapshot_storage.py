"""Snapshot metadata (SQLite) and walk filters, without root and without mounts."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.containerd.filters import parse_filters
from dockyard.containerd.snapshots import KIND_ACTIVE, KIND_COMMITTED, KIND_VIEW, Info, Usage, info_field
from dockyard.containerd.snapshots.storage import MetaStore
from dockyard.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MetaStore]:
    ms = MetaStore(str(tmp_path / "metadata.db"))
    yield ms
    ms.close()


def _chain(store: MetaStore, depth: int) -> list[int]:
    ids, parent = [], ""
    for i in range(depth):
        with store.write() as tx:
            rec = tx.create(KIND_ACTIVE, f"k{i}", parent)
            tx.commit(f"L{i}", f"k{i}", Usage(10 * i, i))
        ids.append(rec.id)
        parent = f"L{i}"
    return ids


def test_wal_and_schema(store: MetaStore) -> None:
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert store.db.execute("PRAGMA user_version").fetchone()[0] == 1


def test_create_commit_and_parent_chain(store: MetaStore) -> None:
    ids = _chain(store, 5)
    with store.read() as tx:
        top = tx.get("L4")
        assert top.kind == KIND_COMMITTED and top.parent == "L3" and top.usage() == Usage(40, 4)
        assert tx.parent_ids(top) == list(reversed(ids[:4]))  # nearest first
        assert tx.find("k4") is None
        assert top.id == ids[4]  # commit keeps the id (the directory stays where it is)


def test_create_refusals(store: MetaStore) -> None:
    with store.write() as tx:
        tx.create(KIND_ACTIVE, "a")
        tx.create(KIND_VIEW, "v")
    with pytest.raises(AlreadyExists), store.write() as tx:
        tx.create(KIND_ACTIVE, "a")
    with pytest.raises(NotFound), store.write() as tx:
        tx.create(KIND_ACTIVE, "b", "missing")
    with pytest.raises(FailedPrecondition), store.write() as tx:
        tx.create(KIND_ACTIVE, "b", "a")  # active parent
    with pytest.raises(FailedPrecondition), store.write() as tx:
        tx.create(KIND_VIEW, "b", "v")  # view parent
    with pytest.raises(InvalidArgument), store.write() as tx:
        tx.create(KIND_COMMITTED, "b")
    with pytest.raises(InvalidArgument), store.write() as tx:
        tx.create(KIND_ACTIVE, "")
    with pytest.raises(InvalidArgument), store.write() as tx:
        tx.create(KIND_ACTIVE, "b", labels={"k": "v" * 4096})
    with store.read() as tx:
        assert [r.key for r in tx.all()] == ["a", "v"]


def test_commit_rules(store: MetaStore) -> None:
    with store.write() as tx:
        tx.create(KIND_ACTIVE, "a", labels={"old": "1"})
        tx.create(KIND_VIEW, "v")
    with pytest.raises(FailedPrecondition), store.write() as tx:
        tx.commit("V", "v", Usage())
    with pytest.raises(AlreadyExists), store.write() as tx:
        tx.commit("v", "a", Usage())
    with pytest.raises(AlreadyExists), store.write() as tx:
        tx.commit("a", "a", Usage())
    with pytest.raises(NotFound), store.write() as tx:
        tx.commit("X", "nope", Usage())
    with pytest.raises(FailedPrecondition), store.write() as tx:
        tx.commit("A", "a", Usage(), expect_id=999)
    with store.write() as tx:
        rec = tx.commit("A", "a", Usage(4096, 2), {"new": "2"})
    with store.read() as tx:
        got = tx.get("A")
    assert got.labels == {"new": "2"} == rec.labels  # commit's labels replace the active's
    assert got.usage() == Usage(4096, 2)


def test_remove_with_children_and_ids_never_reused(store: MetaStore) -> None:
    ids = _chain(store, 2)
    with pytest.raises(FailedPrecondition), store.write() as tx:
        tx.remove("L0")
    with store.write() as tx:
        tx.remove("L1")
        tx.remove("L0")
    with pytest.raises(NotFound), store.write() as tx:
        tx.remove("L0")
    with store.write() as tx:
        fresh = tx.create(KIND_ACTIVE, "L0", labels={"x": "y"})
    assert fresh.id > max(ids)
    with store.read() as tx:
        assert tx.ids() == {fresh.id}
        assert store.db.execute("SELECT COUNT(*) FROM labels").fetchone()[0] == 1


def test_update_labels(store: MetaStore) -> None:
    with store.write() as tx:
        tx.create(KIND_ACTIVE, "a", labels={"a": "1", "b": "2"})
    with store.write() as tx:
        rec = tx.update(Info("a", KIND_ACTIVE, labels={"b": "20", "c": "3"}), ["labels.b", "labels.a"])
    assert rec.labels == {"b": "20"}  # labels.a absent from the info: deleted
    with store.write() as tx:
        assert tx.update(Info("a", KIND_ACTIVE, labels={"z": "1"})).labels == {"z": "1"}
    for bad in (["kind"], ["parent"], ["labels."], ["name"]):
        with pytest.raises(InvalidArgument), store.write() as tx:
            tx.update(Info("a", KIND_ACTIVE, labels={}), bad)
    with pytest.raises(NotFound), store.write() as tx:
        tx.update(Info("b", KIND_ACTIVE))
    with store.read() as tx:
        rec = tx.get("a")
    assert rec.labels == {"z": "1"} and rec.updated >= rec.created


def test_rollback_undoes_and_runs_callbacks(store: MetaStore) -> None:
    undone: list[str] = []
    with pytest.raises(RuntimeError), store.write() as tx:
        tx.create(KIND_ACTIVE, "a")
        tx.on_rollback(lambda: undone.append("first"))
        tx.on_rollback(lambda: undone.append("second"))
        raise RuntimeError("crash")
    assert undone == ["second", "first"]
    with store.read() as tx:
        assert tx.find("a") is None
    with store.write() as tx:
        tx.create(KIND_ACTIVE, "a")
        tx.on_rollback(lambda: undone.append("never"))
    assert undone == ["second", "first"]


def test_reopen_and_two_handles(tmp_path: Path) -> None:
    path = str(tmp_path / "metadata.db")
    one, two = MetaStore(path), MetaStore(path)
    try:
        with one.write() as tx:
            tx.create(KIND_ACTIVE, "a", labels={"l": "v"})
        with two.read() as tx:
            assert tx.get("a").labels == {"l": "v"}
        with pytest.raises(AlreadyExists), two.write() as tx:
            tx.create(KIND_ACTIVE, "a")
    finally:
        one.close()
        two.close()
    with pytest.raises(FailedPrecondition):
        one.db  # noqa: B018 - closed
    again = MetaStore(path)
    with again.read() as tx:
        assert tx.get("a").kind == KIND_ACTIVE
    again.close()


def test_threads_share_one_store(store: MetaStore) -> None:
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(25):
                with store.write() as tx:
                    tx.create(KIND_ACTIVE, f"t{n}-{i}")
                with store.read() as tx:
                    tx.get(f"t{n}-{i}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with store.read() as tx:
        assert len(tx.ids()) == 100


# ---- filters

INFOS = [
    Info("A", KIND_COMMITTED, "", {"stage": "base", "com.example.tag": "v1"}),
    Info("b", KIND_ACTIVE, "A", {"role": "rootfs"}),
    Info("v", KIND_VIEW, "A", {}),
]


def _names(*filters: str) -> list[str]:
    f = parse_filters(filters, casefold=("kind",))
    return [i.name for i in INFOS if f.match(lambda path, i=i: info_field(i, path))]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ((), ["A", "b", "v"]),
        (("kind==committed",), ["A"]),
        (("kind==Committed",), ["A"]),
        (("kind~=^(view|active)$",), ["b", "v"]),
        (("parent==A",), ["b", "v"]),
        (("parent==A,kind!=view",), ["b"]),
        (("kind==view", "name==A"), ["A", "v"]),
        (("labels.stage",), ["A"]),
        (('labels."com.example.tag"==v1',), ["A"]),
        (("labels.com.example.tag==v1",), ["A"]),
        (('labels.role=="rootfs"',), ["b"]),
        (("labels.role!=rootfs",), ["A", "v"]),
        (("name~=/^[a-z]$/",), ["b", "v"]),
        (("parent",), ["b", "v"]),
        (("unknown==x",), []),
        ((" name == b ",), ["b"]),
    ],
)
def test_filters(filters: tuple[str, ...], expected: list[str]) -> None:
    assert _names(*filters) == expected


@pytest.mark.parametrize("bad", ["kind==", "==x", 'labels."open', "name~=(", "a b", "a,", "name=x"])
def test_bad_filters(bad: str) -> None:
    with pytest.raises(InvalidArgument, match="filter"):
        parse_filters([bad])
