"""The spool: an untrusted tar read into memory and content store ingests, blobs checked
against their names while they stream, rolled back without a trace."""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from pathlib import Path

import pytest

from dockyard.containerd.content import ContentStore
from dockyard.containerd.formats.spool import SMALL_FILE, Spool
from dockyard.containerd.formats.staging import Staging
from dockyard.errors import InvalidArgument


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def tar_of(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


@pytest.fixture
def store(tmp_path: Path) -> ContentStore:
    return ContentStore(tmp_path / "store")


def test_small_and_json_files_stay_in_memory_large_ones_in_ingests(store: ContentStore) -> None:
    big = bytes(range(256)) * 1024  # 256 KiB, not JSON
    doc = b'{"a":"' + b"x" * (SMALL_FILE * 2) + b'"}'
    spool = Spool(Staging(store))
    spool.read(io.BytesIO(tar_of({"big": big, "doc.json": doc, "small": b"tiny"})))
    assert spool.get("small").data == b"tiny"
    assert spool.get("doc.json").data == doc
    entry = spool.get("big")
    assert entry.data is None and entry.staged is not None
    assert entry.digest == sha(big) == entry.diff_id
    assert len(store.list_statuses()) == 1
    assert spool.commit(entry)
    assert store.read_all(sha(big)) == big
    spool.discard_unused()
    assert store.list_statuses() == []


def test_memory_budget_spills_to_ingests(store: ContentStore) -> None:
    spool = Spool(Staging(store), "t.tar", memory_budget=10)
    spool.read(io.BytesIO(tar_of({"manifest.json": b'{"too":"big for the budget"}'})))
    entry = spool.get("manifest.json")
    assert entry.data is None
    with pytest.raises(InvalidArgument, match=r"t\.tar: manifest\.json: too large for a JSON document"):
        spool.read_bytes(entry)
    spool.staging.rollback()
    assert store.list_statuses() == []


def test_blob_is_checked_against_its_name_while_streaming(store: ContentStore) -> None:
    data = b"layer" * 100000
    name = f"blobs/sha256/{sha(b'other')[7:]}"
    staging = Staging(store)
    spool = Spool(staging, "t.tar")
    with pytest.raises(InvalidArgument, match=f"t.tar: {name}: digest mismatch: the file hashes to {sha(data)}"):
        spool.read(io.BytesIO(tar_of({name: data})))
    staging.rollback()
    assert store.list_statuses() == [] and store.list() == []


def test_blob_the_store_has_is_only_hashed(store: ContentStore) -> None:
    data = b"z" * 300000
    with store.writer("pre", sha(data), len(data)) as writer:
        writer.write(data)
        writer.commit()
    spool = Spool(Staging(store))
    spool.read(io.BytesIO(tar_of({f"blobs/sha256/{sha(data)[7:]}": data})))
    entry = spool.blob(sha(data))
    assert entry is not None and entry.staged is not None and entry.staged.present
    assert store.list_statuses() == []
    assert not spool.commit(entry)


def test_gzip_member_gets_its_uncompressed_digest(store: ContentStore) -> None:
    layer = b"t" * 200000
    spool = Spool(Staging(store))
    spool.read(io.BytesIO(gzip.compress(tar_of({"l.tar.gz": gzip.compress(layer), "s.gz": gzip.compress(b"s")}))))
    for name, content in (("l.tar.gz", layer), ("s.gz", b"s")):
        entry = spool.get(name)
        assert entry.compression == "gzip"
        assert entry.diff_id == sha(content)
    spool.staging.rollback()


def test_corrupt_gzip_member_fails_only_when_used_as_a_layer(store: ContentStore) -> None:
    blob = bytearray(gzip.compress(b"q" * 100000))
    blob[len(blob) // 2] ^= 0xFF
    spool = Spool(Staging(store), "t.tar")
    spool.read(io.BytesIO(tar_of({"l.gz": bytes(blob)})))
    entry = spool.get("l.gz")
    assert entry.digest == sha(bytes(blob))
    with pytest.raises(InvalidArgument, match=r"t\.tar: l\.gz: invalid gzip data"):
        _ = entry.diff_id
    spool.staging.rollback()
    assert store.list_statuses() == []


def test_not_a_tar(store: ContentStore) -> None:
    with pytest.raises(InvalidArgument, match="not a valid tar archive"):
        Spool(Staging(store), "x").read(io.BytesIO(b"hello world" * 100))


def test_memory_stays_bounded_on_a_compressed_archive(store: ContentStore) -> None:
    import tracemalloc
    import zlib

    size = 48 << 20  # zeros: the gzip stream is ~50 KB, the tar inside 48 MiB
    header = tarfile.TarInfo("blobs/sha256/" + hashlib.sha256(bytes(size)).hexdigest())
    header.size = size
    gz = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [gz.compress(header.tobuf())]
    block = bytes(1 << 20)
    for _ in range(size >> 20):
        parts.append(gz.compress(block))
    parts.append(gz.compress(bytes(1024)) + gz.flush())
    archive = b"".join(parts)
    spool = Spool(Staging(store))
    tracemalloc.start()
    try:
        spool.read(io.BytesIO(archive))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 12 << 20, f"peak {peak >> 20} MiB"
    entry = next(iter(spool.entries.values()))
    assert entry.digest == entry.diff_id == sha(bytes(size))
    spool.staging.rollback()
