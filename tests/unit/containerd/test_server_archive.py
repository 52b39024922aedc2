"""The archive service's stream plumbing: request messages read as one file, the
chunk writer of a save, and the bounded thread pump of save and load (which gives up once
its reader has gone)."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from types import SimpleNamespace

import pytest

from dockyard.containerd.server.archive import CHUNK, MessageReader, _QueueWriter, pumped
from dockyard.errors import InvalidArgument, Unavailable


def messages(*parts: bytes) -> list[SimpleNamespace]:
    return [SimpleNamespace(data=part) for part in parts]


def test_message_reader_joins_the_messages() -> None:
    first, *rest = messages(b"ab", b"", b"cdef", b"g")
    reader = io.BufferedReader(MessageReader(first, iter(rest)), 4)
    assert reader.read(3) == b"abc"
    assert reader.read() == b"defg"
    assert reader.read(1) == b""


def test_message_reader_without_data() -> None:
    assert io.BufferedReader(MessageReader(None, iter([]))).read() == b""


def test_queue_writer_chunks_and_flushes() -> None:
    chunks: list[bytes] = []
    writer = _QueueWriter(chunks.append)
    writer.write(b"x" * (CHUNK + 10))
    writer.write(b"y")
    assert chunks == [b"x" * CHUNK]
    writer.flush()
    assert chunks == [b"x" * CHUNK, b"x" * 10 + b"y"]


class FakeContext:
    def __init__(self) -> None:
        self.callbacks: list[Callable[[], None]] = []

    def add_callback(self, callback: Callable[[], None]) -> bool:
        self.callbacks.append(callback)
        return True


def test_pumped_yields_in_order_then_raises_the_work_error() -> None:
    def work(put: Callable[[int], None]) -> None:
        put(1)
        put(2)
        raise InvalidArgument("bad archive")

    items = pumped(work, FakeContext(), "load")  # type: ignore[arg-type]
    assert next(items) == 1 and next(items) == 2
    with pytest.raises(InvalidArgument, match="bad archive"):
        next(items)


@pytest.mark.parametrize("leave", ["close", "call ended"])
def test_pumped_stops_the_work_when_the_reader_left(leave: str) -> None:
    stopped = threading.Event()
    said: list[str] = []

    def work(put: Callable[[bytes], None]) -> None:
        try:
            while True:
                put(b"z" * CHUNK)
        except Unavailable as exc:
            said.append(str(exc))
            stopped.set()
            raise

    context = FakeContext()
    items = pumped(work, context, "save")  # type: ignore[arg-type]
    next(items)
    if leave == "close":
        items.close()
    else:
        for callback in context.callbacks:
            callback()
        assert set(items) <= {b"z" * CHUNK}  # what was queued already, then the end
    assert stopped.wait(5) and said == ["save: the reader went away"]
