"""The local content store: ingest, resume, verified and atomic commit, locking, reading."""

from __future__ import annotations

import hashlib
import os
import signal
import stat
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from dockyard.containerd.content import ContentStore
from dockyard.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound, Unavailable
from dockyard.oci.digest import digest_bytes

SRC = str(Path(__file__).resolve().parents[3] / "src")


def run_child(code: str, *args: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=SRC)
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def put(store: ContentStore, data: bytes, ref: str = "ref") -> str:
    with store.writer(ref) as writer:
        writer.write(data)
        return writer.commit(len(data), digest_bytes(data))


def visible_blobs(root: Path) -> list[Path]:
    return [p for p in (root / "blobs").rglob("*") if p.is_file()]


def test_write_commit_info_read_walk_delete(tmp_path: Path) -> None:
    store = ContentStore(tmp_path)
    data = b"hello, layers"
    dgst = put(store, data)
    assert dgst == digest_bytes(data)
    path = tmp_path / "blobs" / "sha256" / dgst.split(":")[1]
    assert path.read_bytes() == data
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    info = store.info(dgst)
    assert (info.digest, info.size) == (dgst, len(data))
    assert info.created_at > 0
    assert [i.digest for i in store.walk()] == [dgst]
    assert [i.digest for i in store.list()] == [dgst]
    with store.reader(dgst) as reader:
        assert reader.size == len(data)
        assert reader.read_at(5, 7) == b"layer"
        assert reader.read_at(100, 7) == b"layers"
        assert reader.tell() == 0  # read_at does not move
        reader.seek(-6, os.SEEK_END)
        assert reader.read() == b"layers"
        reader.seek(0)
        assert reader.read(5) == b"hello"
    assert store.read_all(dgst) == data
    assert store.list_statuses() == []
    assert list((tmp_path / "ingest").iterdir()) == []
    store.delete(dgst)
    with pytest.raises(NotFound, match=dgst):
        store.info(dgst)
    with pytest.raises(NotFound):
        store.reader(dgst)
    with pytest.raises(NotFound):
        store.delete(dgst)


def test_status_tracks_offset_total_expected(tmp_path: Path) -> None:
    store = ContentStore(tmp_path)
    data = b"x" * 1000
    with store.writer("layer-1", expected_digest=digest_bytes(data), total=1000) as writer:
        writer.write(data[:300])
        status = writer.status()
        assert (status.ref, status.offset, status.total, status.expected) == (
            "layer-1", 300, 1000, digest_bytes(data))
        assert status.started_at <= status.updated_at
    from_disk = store.status("layer-1")
    assert (from_disk.offset, from_disk.total, from_disk.expected) == (300, 1000, digest_bytes(data))
    assert [s.ref for s in store.list_statuses()] == ["layer-1"]
    assert list(store.walk_status_refs()) == ["layer-1"]
    with pytest.raises(NotFound):
        store.status("other")


def test_resume_after_close_continues_at_offset(tmp_path: Path) -> None:
    store = ContentStore(tmp_path)
    data = os.urandom(200_000)
    writer = store.writer("resumable", total=len(data))
    writer.write(data[:70_000])
    writer.close()  # abandoned midway
    again = store.writer("resumable", total=len(data))
    assert again.status().offset == 70_000
    again.write(data[70_000:])
    assert again.commit() == digest_bytes(data)
    assert store.read_all(digest_bytes(data)) == data


def test_resume_after_the_writer_process_crashed(tmp_path: Path) -> None:
    data = os.urandom(300_000)
    half = data[:123_457]
    (tmp_path / "half").write_bytes(half)
    child = run_child("""
        import os, sys
        from dockyard.containerd.content import ContentStore
        w = ContentStore(sys.argv[1]).writer("crashy", total=300000)
        w.write(open(sys.argv[2], "rb").read())
        os._exit(3)  # no close, no commit: a crash
    """, str(tmp_path / "store"), str(tmp_path / "half"))
    assert child.wait(timeout=30) == 3, child.stderr.read() if child.stderr else ""
    store = ContentStore(tmp_path / "store")
    assert store.status("crashy").offset == len(half)
    assert store.list() == []
    with store.writer("crashy", total=len(data)) as writer:  # the crashed writer's lock died with it
        assert writer.status().offset == len(half)
        writer.write(data[len(half):])
        assert writer.commit(len(data), digest_bytes(data)) == digest_bytes(data)


def test_different_total_or_expected_starts_the_ingest_over(tmp_path: Path) -> None:
    store = ContentStore(tmp_path)
    with store.writer("ref", total=10) as writer:
        writer.write(b"12345")
    with store.writer("ref", total=20) as writer:
        assert writer.status().offset == 0
        writer.write(b"abc")
    with store.writer("ref", expected_digest=digest_bytes(b"abc")) as writer:
        assert writer.status().offset == 3  # no expected before: resumed, and it is recorded
    with store.writer("ref", expected_digest=digest_bytes(b"zzz")) as writer:
        assert writer.status().offset == 0


@pytest.mark.parametrize("mismatch", ["size", "digest", "total"])
def test_commit_mismatch_leaves_nothing_visible(tmp_path: Path, mismatch: str) -> None:
    store = ContentStore(tmp_path)
    data = b"0123456789"
    total = 11 if mismatch == "total" else None
    writer = store.writer("bad", total=total)
    writer.write(data)
    with pytest.raises(FailedPrecondition) as caught:
        if mismatch == "size":
            writer.commit(9)
        elif mismatch == "digest":
            writer.commit(10, digest_bytes(b"something else"))
        else:
            writer.commit()
    message = str(caught.value)
    if mismatch == "size":
        assert "unexpected commit size 10, expected 9" in message
    elif mismatch == "digest":
        assert f"unexpected commit digest {digest_bytes(data)}, expected {digest_bytes(b'something else')}" in message
    else:
        assert "unexpected commit size 10, expected 11" in message
    assert "ref bad" in message
    assert store.list() == [] and visible_blobs(tmp_path) == []
    with pytest.raises(NotFound):
        store.info(digest_bytes(data))
    assert writer.closed
    assert store.status("bad").offset == 10  # the ingest stays until aborted (or resumed)
    store.abort("bad")
    assert store.list_statuses() == []
    assert list((tmp_path / "ingest").iterdir()) == []


def test_second_writer_on_a_ref_is_refused_until_the_first_closes(tmp_path: Path) -> None:
    store = ContentStore(tmp_path)
    first = store.writer("busy")
    first.write(b"abc")
    with pytest.raises(Unavailable, match=r"ref busy locked for [0-9.]+s \(since "):
        store.writer("busy")
    with pytest.raises(Unavailable, match="ref busy locked"):
        store.abort("busy")
    first.close()
    second = store.writer("busy")
    assert second.status().offset == 3
    second.close()


def test_concurrent_writers_on_one_ref_from_threads(tmp_path: Path) -> None:
    store = ContentStore(tmp_path)
    outcomes: list[str] = []
    barrier = threading.Barrier(8)
    lock = threading.Lock()

    def attempt() -> None:
        barrier.wait()
        try:
            writer = store.writer("contended")
        except Unavailable:
            with lock:
                outcomes.append("locked")
            return
        with lock:
            outcomes.append("got")
        time.sleep(0.2)
        writer.write(b"payload")
        writer.commit()

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("got") == 1 and outcomes.count("locked") == 7
    assert store.read_all(digest_bytes(b"payload")) == b"payload"


def test_a_writer_in_another_process_holds_the_ref(tmp_path: Path) -> None:
    child = run_child("""
        import sys, time
        from dockyard.containerd.content import ContentStore
        w = ContentStore(sys.argv[1]).writer("shared-ref")
        w.write(b"from the child")
        print("ready", flush=True)
        time.sleep(60)
    """, str(tmp_path))
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == b"ready"
        store = ContentStore(tmp_path)
        with pytest.raises(Unavailable, match="ref shared-ref locked"):
            store.writer("shared-ref")
    finally:
        child.kill()
        child.wait()
    with ContentStore(tmp_path).writer("shared-ref") as writer:  # free once the holder died
        assert writer.status().offset == len(b"from the child")


def test_concurrent_commit_of_the_same_digest(tmp_path: Path) -> None:
    store = ContentStore(tmp_path)
    data = b"same bytes"
    a, b = store.writer("a"), store.writer("b")
    a.write(data)
    b.write(data)
    assert a.commit() == digest_bytes(data)
    with pytest.raises(AlreadyExists, match=f"content {digest_bytes(data)}: already exists"):
        b.commit()
    assert store.list_statuses() == []  # the losing ingest is cleaned
    assert store.read_all(digest_bytes(data)) == data
    with pytest.raises(AlreadyExists):
        store.writer("c", expected_digest=digest_bytes(data))


def test_many_threads_commit_the_same_digest_once(tmp_path: Path) -> None:
    store = ContentStore(tmp_path)
    data = os.urandom(50_000)
    results: list[str] = []
    barrier = threading.Barrier(6)

    def commit(i: int) -> None:
        writer = store.writer(f"ref-{i}")
        writer.write(data)
        barrier.wait()
        try:
            writer.commit()
            results.append("committed")
        except AlreadyExists:
            results.append("exists")

    threads = [threading.Thread(target=commit, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["committed"] + ["exists"] * 5
    assert store.list_statuses() == []
    assert store.read_all(digest_bytes(data)) == data


def test_truncate_and_sha512(tmp_path: Path) -> None:
    store = ContentStore(tmp_path)
    data = b"sha512 content"
    expected = digest_bytes(data, "sha512")
    with store.writer("five-twelve", expected_digest=expected) as writer:
        writer.write(b"garbage")
        writer.truncate(0)
        assert writer.status().offset == 0
        with pytest.raises(InvalidArgument, match="only 0"):
            writer.truncate(3)
        writer.write(data)
        assert writer.digest() == expected
        assert writer.commit() == expected
    assert (tmp_path / "blobs" / "sha512" / expected.split(":")[1]).read_bytes() == data
    assert [i.digest for i in store.walk()] == [expected]


def test_commit_with_an_expected_digest_of_another_algorithm(tmp_path: Path) -> None:
    store = ContentStore(tmp_path)
    with store.writer("mixed") as writer:
        writer.write(b"abc")
        assert writer.commit(3, digest_bytes(b"abc", "sha512")) == digest_bytes(b"abc", "sha512")


def test_bad_arguments(tmp_path: Path) -> None:
    store = ContentStore(tmp_path)
    with pytest.raises(InvalidArgument, match="ref must not be empty"):
        store.writer("")
    with pytest.raises(InvalidArgument, match="invalid digest"):
        store.writer("r", expected_digest="sha256:nothex")
    with pytest.raises(InvalidArgument, match="invalid digest"):
        store.info("md5:abc")
    with pytest.raises(NotFound, match="ingest ref 'nope'"):
        store.abort("nope")
    writer = store.writer("closed")
    writer.close()
    with pytest.raises(FailedPrecondition, match="closed writer"):
        writer.write(b"x")
    with pytest.raises(FailedPrecondition, match="closed writer"):
        writer.commit()


def test_walk_ignores_stray_files(tmp_path: Path) -> None:
    store = ContentStore(tmp_path)
    dgst = put(store, b"real")
    (tmp_path / "blobs" / "sha256" / "not-a-digest").write_bytes(b"x")
    (tmp_path / "blobs" / "md5").mkdir()
    assert [i.digest for i in store.walk()] == [dgst]


_COMMIT_LOOP = """
    import os, sys
    from dockyard.containerd.content import ContentStore
    store = ContentStore(sys.argv[1])
    print("started", flush=True)
    i = 0
    while True:
        i += 1
        data = os.urandom(256 * 1024 + i)
        w = store.writer(f"loop-{i % 3}")
        w.truncate(0)
        for start in range(0, len(data), 65536):
            w.write(data[start:start + 65536])
        w.commit()
"""


@pytest.mark.parametrize("delay", [0.05, 0.2, 0.4])
def test_killed_in_a_commit_loop_no_partial_blob_is_visible(tmp_path: Path, delay: float) -> None:
    child = run_child(_COMMIT_LOOP, str(tmp_path))
    assert child.stdout is not None
    assert child.stdout.readline().strip() == b"started"
    deadline = time.monotonic() + 30
    while not visible_blobs(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(delay)  # then kill it somewhere in a later write or commit
    child.send_signal(signal.SIGKILL)
    child.wait()
    store = ContentStore(tmp_path)
    blobs = store.list()
    assert blobs, "the loop committed nothing before the kill"
    for info in blobs:  # every visible blob is whole and named by its own digest
        algorithm, encoded = info.digest.split(":")
        assert hashlib.new(algorithm, store.read_all(info.digest)).hexdigest() == encoded
        assert info.size > 256 * 1024
    for status in store.list_statuses():  # leftovers are ingests: resumable or abortable
        store.abort(status.ref)
    assert store.list_statuses() == []
    for path in visible_blobs(tmp_path):
        assert len(path.name) == 64
