"""LayerFeed: a layer's bytes for the applier, from the download or from the store."""

from __future__ import annotations

import threading
import time

import pytest

from dockyard.containerd.registry.layerfeed import LayerFeed
from dockyard.errors import InvalidArgument
from dockyard.oci import mediatypes
from dockyard.oci.descriptor import Descriptor

DATA = bytes(range(256)) * 64  # 16 KiB


class Store:
    """A committed blob to read back; counts the bytes read from it."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.read_bytes = 0
        self.closed = False

    def read_at(self, size: int, offset: int) -> bytes:
        piece = self.data[offset:offset + size]
        self.read_bytes += len(piece)
        return piece

    def close(self) -> None:
        self.closed = True


def _feed(store: Store, cap: int = 1 << 20) -> LayerFeed:
    desc = Descriptor.for_bytes(mediatypes.OCI_LAYER, DATA)
    return LayerFeed(desc, lambda: store, cap=cap)


def _download(feed: LayerFeed, pieces: int = 16, *, commit: bool = True, delay: float = 0.0) -> threading.Thread:
    size = len(DATA) // pieces

    def run() -> None:
        feed.start(0)
        for n in range(pieces):
            feed.data(n * size, DATA[n * size:(n + 1) * size])
            time.sleep(delay)
        if commit:
            feed.committed()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _read_all(feed: LayerFeed, size: int = 1000) -> bytes:
    out = bytearray()
    while piece := feed.read(size):
        out += piece
    return bytes(out)


def test_streams_from_the_download_without_the_store() -> None:
    store = Store(DATA)
    feed = _feed(store)
    thread = _download(feed, delay=0.001)
    assert _read_all(feed) == DATA
    thread.join()
    assert store.read_bytes == 0


def test_end_only_after_commit() -> None:
    feed = _feed(Store(DATA))
    _download(feed, commit=False).join()
    got = b""
    while len(got) < len(DATA):
        got += feed.read(len(DATA))  # one kept piece per read
    assert got == DATA
    done: list[bytes] = []
    reader = threading.Thread(target=lambda: done.append(feed.read(10)))
    reader.start()
    reader.join(0.1)
    assert reader.is_alive()  # everything is there, but not verified yet
    feed.committed()
    reader.join(2)
    assert done == [b""]


def test_cut_when_the_applier_is_elsewhere_then_read_from_store() -> None:
    store = Store(DATA)
    feed = _feed(store, cap=4096)
    _download(feed).join()  # the download runs ahead, nobody reads: keeps 4 KiB only
    assert _read_all(feed) == DATA
    assert store.read_bytes == len(DATA) - 4096


def test_backpressure_while_the_applier_reads() -> None:
    store = Store(DATA)
    feed = _feed(store, cap=2048)
    assert feed.read(0) == b""
    first = threading.Thread(target=lambda: feed.data(0, DATA[:1024]))
    first.start()
    first.join()
    assert feed.read(10) == DATA[:10]  # attached now
    thread = _download_from(feed, 1024)
    assert _read_all(feed, 100)[: len(DATA) - 10] == DATA[10:]
    thread.join()
    assert store.read_bytes == 0  # the download waited instead of dropping pieces


def _download_from(feed: LayerFeed, start: int) -> threading.Thread:
    def run() -> None:
        for offset in range(start, len(DATA), 1024):
            feed.data(offset, DATA[offset:offset + 1024])
        feed.committed()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_resumed_download_reads_from_the_store() -> None:
    store = Store(DATA)
    feed = _feed(store)
    feed.start(5000)  # the ingest had 5000 bytes: the stream cannot start from the network
    feed.data(5000, DATA[5000:])
    feed.committed()
    assert _read_all(feed) == DATA
    assert store.read_bytes == len(DATA)


def test_restarted_download_keeps_what_was_kept() -> None:
    store = Store(DATA)
    feed = _feed(store)
    feed.data(0, DATA[:3000])
    feed.data(0, DATA[:3000])  # the registry ignored Range: the download started over
    feed.committed()
    assert _read_all(feed) == DATA
    assert store.read_bytes == len(DATA) - 3000


def test_download_error_reaches_the_reader() -> None:
    feed = _feed(Store(DATA))
    feed.data(0, DATA[:100])
    assert feed.read(100) == DATA[:100]
    feed.failed(InvalidArgument("blob x: digest mismatch"))
    with pytest.raises(InvalidArgument, match="digest mismatch"):
        feed.read(100)
    with pytest.raises(InvalidArgument):
        feed.finish()


def test_finish_waits_for_the_commit_and_releases_a_waiting_download() -> None:
    feed = _feed(Store(DATA), cap=1024)
    feed.data(0, DATA[:1024])
    feed.read(1)  # attached: a full buffer makes the download wait
    blocked = threading.Thread(target=lambda: feed.data(1024, DATA[1024:2048]))
    blocked.start()
    blocked.join(0.1)
    assert blocked.is_alive()
    finisher = threading.Thread(target=feed.finish)
    finisher.start()
    blocked.join(2)
    assert not blocked.is_alive()
    feed.committed()
    finisher.join(2)
    assert not finisher.is_alive()


def test_close_releases_the_download_and_the_reader() -> None:
    store = Store(DATA)
    feed = _feed(store, cap=1024)
    feed.data(0, DATA[:1024])
    feed.read(1)
    blocked = threading.Thread(target=lambda: feed.data(1024, DATA[1024:2048]))
    blocked.start()
    feed.close()
    blocked.join(2)
    assert not blocked.is_alive()
    with pytest.raises(ValueError, match="closed"):
        feed.read(1)
