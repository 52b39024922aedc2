"""Leases: create, list, delete, expiry labels and resources."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from dockyard.containerd.metadata import DB, LABEL_EXPIRE, Resource
from dockyard.containerd.metadata.validation import format_time, parse_time
from dockyard.errors import AlreadyExists, InvalidArgument, NotFound, NotImplementedYet
from dockyard.oci.digest import digest_bytes


@pytest.fixture
def db(tmp_path: Path) -> DB:
    return DB(tmp_path / "meta.db")


def test_create_list_delete(db: DB) -> None:
    leases = db.leases("default")
    lease = leases.create("pull-1", {"purpose": "pull"})
    assert lease.id == "pull-1" and lease.labels == {"purpose": "pull"} and lease.created_at > 0
    with pytest.raises(AlreadyExists, match="lease 'pull-1': already exists"):
        leases.create("pull-1")
    generated = leases.create()
    assert generated.id and generated.id != "pull-1"
    assert {lease.id for lease in leases.list()} == {"pull-1", generated.id}
    assert [lease.id for lease in leases.list("labels.purpose==pull")] == ["pull-1"]
    assert [lease.id for lease in leases.list("id==pull-1")] == ["pull-1"]
    assert leases.get("pull-1").labels == {"purpose": "pull"}
    leases.delete("pull-1")
    with pytest.raises(NotFound, match="lease 'pull-1': not found"):
        leases.delete("pull-1")
    with pytest.raises(InvalidArgument, match="lease id"):
        leases.create("bad id")
    assert leases.create("166334371-3pL-").id == "166334371-3pL-"  # as containerd's clients make them
    assert leases.create("1-a_-b").id == "1-a_-b"


def test_expire_sets_the_gc_label(db: DB) -> None:
    before = time.time()
    lease = db.leases("default").create("temp", expire=3600)
    value = lease.labels[LABEL_EXPIRE]
    assert value.endswith("Z")
    when = parse_time(value)
    assert when is not None and before + 3599 <= when <= time.time() + 3601
    assert parse_time("2024-01-02T03:04:05.123456789+02:00") == pytest.approx(1704157445.123456)
    assert parse_time("not a time") is None
    assert parse_time("2024-01-02T03:04:05") is None  # RFC 3339 needs an offset
    assert format_time(0) == "1970-01-01T00:00:00Z"


def test_resources(db: DB) -> None:
    leases = db.leases("default")
    leases.create("l")
    blob = digest_bytes(b"blob")
    leases.add_resource("l", Resource(blob, "content"))
    leases.add_resource("l", Resource(blob, "content"))  # idempotent
    leases.add_resource("l", Resource("ingest-ref", "ingests"))
    leases.add_resource("l", Resource("sha256:chain", "snapshots/overlayfs"))
    leases.add_resource("l", Resource("docker.io/library/busybox:latest", "images"))
    assert leases.list_resources("l") == [
        Resource(blob, "content"),
        Resource("docker.io/library/busybox:latest", "images"),
        Resource("ingest-ref", "ingests"),
        Resource("sha256:chain", "snapshots/overlayfs"),
    ]
    leases.delete_resource("l", Resource("ingest-ref", "ingests"))
    assert Resource("ingest-ref", "ingests") not in leases.list_resources("l")
    with pytest.raises(InvalidArgument, match="invalid digest"):
        leases.add_resource("l", Resource("not-a-digest", "content"))
    with pytest.raises(InvalidArgument, match="snapshots/<snapshotter>"):
        leases.add_resource("l", Resource("k", "snapshots"))
    with pytest.raises(InvalidArgument, match="invalid resource type"):
        leases.add_resource("l", Resource("x", "content/extra"))
    with pytest.raises(NotImplementedYet, match="'containers' not supported"):
        leases.add_resource("l", Resource("x", "containers"))
    with pytest.raises(NotFound, match="lease 'missing'"):
        leases.add_resource("missing", Resource(blob, "content"))
    with pytest.raises(NotFound):
        leases.list_resources("missing")
    leases.delete("l")
    leases.create("l")
    assert leases.list_resources("l") == []  # resources went with the lease
