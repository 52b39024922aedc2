"""The archive service's stream plumbing: request messages read as one file, and the
bounded chunk queue a save writes into (which gives up once its reader has gone)."""

from __future__ import annotations

import io
import queue
from types import SimpleNamespace

import pytest

from dockyard.containerd.server.archive import CHUNK, MessageReader, _QueueWriter
from dockyard.errors import Unavailable


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
    chunks: queue.Queue[bytes | None] = queue.Queue()
    writer = _QueueWriter(chunks, lambda: False)
    writer.write(b"x" * (CHUNK + 10))
    writer.write(b"y")
    assert chunks.get_nowait() == b"x" * CHUNK and chunks.empty()
    writer.flush()
    assert chunks.get_nowait() == b"x" * 10 + b"y"


def test_queue_writer_stops_when_the_reader_left() -> None:
    chunks: queue.Queue[bytes | None] = queue.Queue(1)
    gone = False
    writer = _QueueWriter(chunks, lambda: gone)
    writer.write(b"z" * CHUNK)  # fills the queue
    gone = True
    with pytest.raises(Unavailable, match="reader went away"):
        writer.write(b"z" * CHUNK)
