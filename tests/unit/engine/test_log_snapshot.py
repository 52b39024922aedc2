"""What ``logs -f`` reads before following: the json-file log as it was when it started."""

from __future__ import annotations

from pathlib import Path

from dockyard.engine.logs_jsonfile import JsonFileWriter, LogSnapshot, Message, Rotation, encode, read_messages


def message(n: int) -> Message:
    return Message("stdout", f"line {n}\n".encode(), 1_700_000_000_000_000_000 + n)


def test_snapshot_reads_what_was_there_even_after_rotations(tmp_path: Path) -> None:
    path = str(tmp_path / "c-json.log")
    size = len(encode(message(0)))
    writer = JsonFileWriter(path, Rotation(max_size=size + 1, max_file=3))
    for n in range(5):
        writer.write(message(n))
    there = [m.data for m in read_messages(path)]
    assert len(there) == 3 and there[-1] == b"line 4\n"  # one line per file, max-file 3
    snapshot = LogSnapshot.open(path)
    for n in range(5, 12):  # written while the snapshot is read: rotates every file away
        writer.write(message(n))
    assert [m.data for m in snapshot.messages()] == there
    assert snapshot.files == []  # closed
    writer.close()


def test_snapshot_of_a_missing_log_is_empty(tmp_path: Path) -> None:
    assert list(LogSnapshot.open(str(tmp_path / "none.log")).messages()) == []
