"""Docker's ``json-file`` log driver: one JSON object per line, with rotation.

A line is ``{"log":"hi\\n","stream":"stdout","time":"2024-01-02T03:04:05.123456789Z"}``.
The file is ``<data-root>/containers/<id>/<id>-json.log``; with ``max-size`` it rotates to
``...-json.log.1`` ... ``.<max-file - 1>`` (oldest last), as dockerd's does. dockyard turns
rotation on by default (``max-size`` 10m, ``max-file`` 3: Docker's most-requested fix for
logs that fill the disk); ``HostConfig.LogConfig.Config`` or the daemon's ``log-opts``
set other values, ``max-size: -1`` turns it off.

:class:`JsonFileWriter` appends messages and hands each one to its followers (``docker logs
-f``); :func:`read_messages` reads the files back, oldest first; :class:`LogSnapshot` is
what a new follower reads before its queue (the files as they were when it started).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import BinaryIO

from dockyard.engine.container_model import format_time, parse_time
from dockyard.errors import InvalidArgument

DEFAULT_MAX_SIZE_TEXT = "10m"
DEFAULT_MAX_SIZE = 10 * 1000 * 1000
DEFAULT_MAX_FILE = 3
MAX_BEHIND = 16384  # messages a ``logs -f`` client may fall behind before its stream ends
SUPPORTED_DRIVERS = ("json-file", "none")
SUPPORTED_OPTIONS = ("max-size", "max-file", "labels", "env", "env-regex", "tag", "compress", "mode",
                     "max-buffer-size")
_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "m": 1000**2, "mb": 1000**2, "g": 1000**3, "gb": 1000**3,
          "t": 1000**4, "tb": 1000**4, "kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4}


@dataclass(frozen=True)
class Message:
    stream: str  # "stdout" or "stderr"
    data: bytes
    time_ns: int


@dataclass(frozen=True)
class Rotation:
    max_size: int  # bytes; -1: no limit
    max_file: int


def parse_size(text: str, what: str) -> int:
    """go-units' FromHumanSize (decimal units; ``k``, ``m``, ``g``...; ``-1`` = no limit)."""
    value = text.strip().lower()
    if value == "-1":
        return -1
    number = value.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = value[len(number):]
    try:
        amount = float(number)
    except ValueError:
        raise InvalidArgument(f"{what}: invalid size: '{text}'") from None
    if unit not in _UNITS or amount < 0:
        raise InvalidArgument(f"{what}: invalid size: '{text}'")
    return int(amount * _UNITS[unit])


def rotation(options: Mapping[str, str], what: str = "HostConfig.LogConfig.Config") -> Rotation:
    """The rotation ``options`` ask for (dockyard's default: 10m x 3)."""
    for key in options:
        if key not in SUPPORTED_OPTIONS:
            raise InvalidArgument(f"{what}: unknown log opt '{key}' for json-file log driver")
    size = parse_size(options["max-size"], f"{what}.max-size") if "max-size" in options else DEFAULT_MAX_SIZE
    files = DEFAULT_MAX_FILE if "max-size" not in options else 1
    if "max-file" in options:
        try:
            files = int(options["max-file"])
        except ValueError:
            raise InvalidArgument(f"{what}.max-file: invalid value '{options['max-file']}'") from None
        if files < 1:
            raise InvalidArgument(f"{what}.max-file: max-file cannot be less than 1")
        if files > 1 and size == -1:
            raise InvalidArgument(f"{what}.max-file: max-file can only be used with max-size")
    if size == 0:
        raise InvalidArgument(f"{what}.max-size: must be a positive size")
    return Rotation(size, files)


def encode(message: Message) -> bytes:
    doc = {"log": message.data.decode("utf-8", "replace"), "stream": message.stream,
           "time": format_time(message.time_ns)}
    return (json.dumps(doc, separators=(",", ":"), ensure_ascii=False) + "\n").encode()


class JsonFileWriter:
    def __init__(self, path: str, policy: Rotation) -> None:
        self.path = path
        self.policy = policy
        self.followers: set[asyncio.Queue[Message | None]] = set()
        self._fd = -1
        self._size = 0

    def _open(self) -> None:
        if self._fd < 0:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640)
            self._size = os.fstat(self._fd).st_size

    def _rotate(self) -> None:
        os.close(self._fd)
        self._fd = -1
        if self.policy.max_file <= 1:
            os.truncate(self.path, 0)
        else:
            for n in range(self.policy.max_file - 1, 1, -1):
                older = f"{self.path}.{n - 1}"
                if os.path.exists(older):
                    os.replace(older, f"{self.path}.{n}")
            os.replace(self.path, f"{self.path}.1")
        self._open()

    def write(self, message: Message) -> None:
        line = encode(message)
        try:
            self._open()
            if self.policy.max_size > 0 and self._size > 0 and self._size + len(line) > self.policy.max_size:
                self._rotate()
            os.write(self._fd, line)
            self._size += len(line)
        except OSError:
            pass  # a full disk loses log lines, never the container
        for queue in list(self.followers):
            if queue.qsize() >= MAX_BEHIND:  # a follower that does not read is ended
                self.followers.discard(queue)
                queue.put_nowait(None)
            else:
                queue.put_nowait(message)

    def follow(self) -> asyncio.Queue[Message | None]:
        queue: asyncio.Queue[Message | None] = asyncio.Queue()
        self.followers.add(queue)
        return queue

    def unfollow(self, queue: asyncio.Queue[Message | None]) -> None:
        self.followers.discard(queue)

    def end_followers(self) -> None:
        """The container stopped: end every ``logs -f``."""
        for queue in list(self.followers):
            queue.put_nowait(None)
        self.followers.clear()

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def log_files(path: str, max_file: int = 100) -> list[str]:
    """The log's files, oldest first."""
    rotated = [f"{path}.{n}" for n in range(max_file, 0, -1) if os.path.exists(f"{path}.{n}")]
    return [*rotated, path] if os.path.exists(path) else rotated


def _parse(line: bytes) -> Message | None:
    try:
        doc = json.loads(line)
        return Message(str(doc.get("stream", "stdout")), str(doc.get("log", "")).encode(),
                       parse_time(str(doc.get("time", ""))))
    except (ValueError, TypeError, AttributeError):
        return None


def read_messages(path: str) -> Iterator[Message]:
    """Every message of the log, oldest first (unreadable lines skipped)."""
    yield from LogSnapshot.open(path).messages()


class LogSnapshot:
    """The log's files opened at one moment, each to be read up to its size then.

    ``logs -f`` opens it in the same step of the event loop as it starts to follow (the
    writer writes on the loop too), then reads it in a thread: every line is read once,
    either from the files or from the follower's queue, and a rotation meanwhile (files
    renamed or removed) changes nothing for the open descriptors."""

    def __init__(self, files: list[tuple[BinaryIO, int]]) -> None:
        self.files = files

    @classmethod
    def open(cls, path: str) -> LogSnapshot:
        files: list[tuple[BinaryIO, int]] = []
        for name in log_files(path):
            try:
                f = open(name, "rb")  # noqa: SIM115 (closed by messages())
            except FileNotFoundError:
                continue
            files.append((f, os.fstat(f.fileno()).st_size))
        return cls(files)

    def messages(self) -> Iterator[Message]:
        """The messages, oldest first; the files are closed at the end."""
        try:
            for f, limit in self.files:
                read = 0
                for line in f:
                    read += len(line)
                    if read > limit:
                        break  # written after the snapshot: the follower has it
                    message = _parse(line)
                    if message is not None:
                        yield message
        finally:
            self.close()

    def close(self) -> None:
        for f, _ in self.files:
            f.close()
        self.files = []


def remove_files(path: str) -> None:
    for name in log_files(path):
        try:
            os.unlink(name)
        except FileNotFoundError:
            pass
