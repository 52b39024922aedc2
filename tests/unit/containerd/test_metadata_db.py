"""The metadata database itself: WAL, foreign keys, transactions, schema versions, threads,
and namespaces."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from dockyard.containerd.metadata import DB, Descriptor, Image
from dockyard.containerd.metadata.schema import MIGRATIONS
from dockyard.errors import AlreadyExists, FailedPrecondition, Internal, InvalidArgument, NotFound, Unavailable
from dockyard.oci.digest import digest_bytes

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
LATEST = max(MIGRATIONS)  # the schema version this code writes
NEXT = LATEST + 1  # a migration a later dockyard would add


def image(name: str, data: bytes = b"manifest") -> Image:
    return Image(name, Descriptor(MANIFEST, digest_bytes(data), len(data)))


def test_wal_foreign_keys_and_schema_version(tmp_path: Path) -> None:
    with DB(tmp_path / "meta.db") as db:
        conn = db.connection()
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert db.schema_version == LATEST
        assert conn.execute("SELECT version FROM schema_version").fetchone()[0] == LATEST
        db.images("default").create(image("a"))
        assert (tmp_path / "meta.db-wal").exists()
        with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"), db.write() as c:
            c.execute("INSERT INTO images (namespace, name, media_type, digest, size, created_at, updated_at)"
                      " VALUES ('nowhere', 'x', 'm', 'd', 1, 0, 0)")


def test_a_failing_transaction_rolls_back_everything(tmp_path: Path) -> None:
    with DB(tmp_path / "meta.db") as db:
        images = db.images("default")
        with pytest.raises(RuntimeError), db.write():
            images.create(image("one"))
            images.create(image("two"))
            raise RuntimeError("boom")
        assert images.list() == []
        with pytest.raises(AlreadyExists), db.write():
            images.create(image("three"))
            images.create(image("three"))
        assert images.list() == []
        assert db.namespaces().list() == []  # the namespace made on the way is gone too


def test_a_failing_store_call_inside_a_transaction_undoes_only_itself(tmp_path: Path) -> None:
    with DB(tmp_path / "meta.db") as db:
        images = db.images("default")
        with db.write():
            images.create(image("kept"))
            with pytest.raises(AlreadyExists):
                images.create(image("kept"))
            with pytest.raises(InvalidArgument):
                images.create(Image("bad", Descriptor(MANIFEST, "sha256:nope", 1)))
        assert [i.name for i in images.list()] == ["kept"]


def test_write_inside_read_is_refused(tmp_path: Path) -> None:
    with DB(tmp_path / "meta.db") as db, db.read(), pytest.raises(Internal, match="write inside a read"):
        db.images("default").create(image("x"))


def test_reopen_keeps_data_and_migrations_run_once(tmp_path: Path) -> None:
    path = tmp_path / "meta.db"
    with DB(path) as db:
        db.images("default").create(image("persisted"))
    calls: list[int] = []

    def upgrade(conn: sqlite3.Connection) -> None:
        calls.append(NEXT)
        conn.execute("ALTER TABLE images ADD COLUMN note TEXT")

    with DB(path, migrations={NEXT: upgrade}) as db:
        assert db.schema_version == NEXT
        assert [i.name for i in db.images("default").list()] == ["persisted"]
        columns = [row[1] for row in db.connection().execute("PRAGMA table_info(images)")]
        assert "note" in columns
    with DB(path, migrations={NEXT: upgrade}) as db:
        assert db.schema_version == NEXT
    assert calls == [NEXT]
    with pytest.raises(FailedPrecondition, match=f"schema version {NEXT} is newer than this dockyard"):
        DB(path)


def test_a_failing_migration_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "meta.db"
    DB(path).close()

    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE half_done (x)")
        raise RuntimeError("migration failed")

    with pytest.raises(RuntimeError):
        DB(path, migrations={NEXT: broken})
    with DB(path) as db:
        assert db.schema_version == LATEST
        assert db.connection().execute("SELECT name FROM sqlite_master WHERE name = 'half_done'").fetchone() is None


def test_many_threads_write_at_once(tmp_path: Path) -> None:
    with DB(tmp_path / "meta.db") as db:
        errors: list[BaseException] = []

        def work(t: int) -> None:
            try:
                for i in range(15):
                    db.images(f"ns{t % 3}").create(image(f"img-{t}-{i}"))
                    db.leases(f"ns{t % 3}").create(f"lease-{t}-{i}")
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        total = sum(len(db.images(f"ns{n}").list()) for n in range(3))
        assert total == 8 * 15
        assert sorted(db.namespaces().list()) == ["ns0", "ns1", "ns2"]


def test_a_writer_waiting_too_long_gets_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "meta.db"
    with DB(path) as holder, DB(path, timeout=0.2) as waiter, holder.write():
        with pytest.raises(Unavailable, match="locked by another writer"):
            waiter.images("default").create(image("x"))
        assert waiter.images("default").list() == []  # reads go on beside the writer


def test_namespaces(tmp_path: Path) -> None:
    with DB(tmp_path / "meta.db") as db:
        namespaces = db.namespaces()
        created = namespaces.create("team-a", {"owner": "me"})
        assert created.labels == {"owner": "me"}
        with pytest.raises(AlreadyExists, match="namespace 'team-a'"):
            namespaces.create("team-a")
        for bad in ("", "-lead", "a..b", "x" * 77, "white space"):
            with pytest.raises(InvalidArgument, match="namespace"):
                namespaces.create(bad)
        namespaces.set_label("team-a", "tier", "gold")
        namespaces.set_label("team-a", "owner", "")
        assert namespaces.labels("team-a") == {"tier": "gold"}
        db.images("team-b").create(image("x"))  # a write creates its namespace
        assert namespaces.list() == ["team-a", "team-b"]
        with pytest.raises(FailedPrecondition, match="namespace 'team-b' must be empty, but it still has images"):
            namespaces.delete("team-b")
        db.images("team-b").delete("x")
        db.leases("team-b").create("leftover")  # leases go with their namespace
        namespaces.delete("team-b")
        namespaces.delete("team-a")
        assert namespaces.list() == []
        with pytest.raises(NotFound, match="namespace 'team-a'"):
            namespaces.delete("team-a")
        with pytest.raises(NotFound):
            namespaces.get("team-a")
        with pytest.raises(InvalidArgument, match="label"):
            namespaces.create("big", {"k": "v" * 5000})


def test_namespaces_isolate_images_and_leases(tmp_path: Path) -> None:
    with DB(tmp_path / "meta.db") as db:
        db.images("a").create(image("shared-name", b"A"))
        db.images("b").create(image("shared-name", b"B"))
        assert db.images("a").get("shared-name").target.digest == digest_bytes(b"A")
        assert db.images("b").get("shared-name").target.digest == digest_bytes(b"B")
        db.images("a").delete("shared-name")
        assert db.images("b").get("shared-name").target.digest == digest_bytes(b"B")
        db.leases("a").create("l1")
        assert db.leases("b").list() == []
        with pytest.raises(NotFound):
            db.leases("b").delete("l1")
        with pytest.raises(NotFound):
            db.images("c").get("shared-name")
