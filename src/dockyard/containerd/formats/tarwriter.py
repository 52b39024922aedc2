"""A streaming tar writer for archives we produce (saves and exports).

Headers come from :class:`tarfile.TarInfo` in PAX format (plain ustar when a name fits,
PAX records for long names and xattrs); contents are copied in large pieces, with
``sendfile(2)`` when both ends are real files. The archive ends with two zero blocks, as
Go's ``archive/tar`` writes it (no padding to a 10 KiB record).
"""

from __future__ import annotations

import os
import stat
import tarfile
from typing import IO

from dockyard.errors import Internal

BLOCK = 512
CHUNK = 1 << 20


class TarWriter:
    """Entries appended to ``out``; :meth:`close` writes the end-of-archive marker."""

    def __init__(self, out: IO[bytes], mtime: int = 0) -> None:
        self._out = out
        self.mtime = mtime
        self.written = 0

    def _emit(self, data: bytes | memoryview) -> None:
        self._out.write(data)
        self.written += len(data)

    def header(self, info: tarfile.TarInfo) -> None:
        self._emit(info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape"))

    def directory(self, name: str, mode: int = 0o755) -> None:
        info = self._info(name.rstrip("/") + "/", tarfile.DIRTYPE, mode)
        self.header(info)

    def file_bytes(self, name: str, data: bytes, mode: int = 0o644) -> None:
        info = self._info(name, tarfile.REGTYPE, mode)
        info.size = len(data)
        self.header(info)
        self._emit(data)
        self._pad(len(data))

    def file_stream(self, name: str, size: int, source: IO[bytes], mode: int = 0o644) -> None:
        """A regular file of ``size`` bytes read from ``source`` (an error if it has fewer)."""
        info = self._info(name, tarfile.REGTYPE, mode)
        info.size = size
        self.header(info)
        self.copy(source, size, name)

    def copy(self, source: IO[bytes], size: int, name: str) -> None:
        """The body of an entry whose header is written: ``size`` bytes, then padding."""
        copied = self._sendfile(source, size)
        while copied < size:
            chunk = source.read(min(CHUNK, size - copied))
            if not chunk:
                raise Internal(f"{name}: ends after {copied} of {size} bytes")
            self._emit(chunk)
            copied += len(chunk)
        self._pad(size)

    def close(self) -> None:
        self._emit(bytes(2 * BLOCK))
        self._out.flush()

    def _pad(self, size: int) -> None:
        rest = size % BLOCK
        if rest:
            self._emit(bytes(BLOCK - rest))

    def _info(self, name: str, kind: bytes, mode: int) -> tarfile.TarInfo:
        info = tarfile.TarInfo(name)
        info.type = kind
        info.mode = mode
        info.mtime = self.mtime
        info.uname = info.gname = ""
        return info

    def _sendfile(self, source: IO[bytes], size: int) -> int:
        """Copy through the kernel from a regular file to a file or a pipe; the bytes
        copied (0 when either end is something else)."""
        try:
            src = source.fileno()
            dst = self._out.fileno()
            start = source.tell()
            if not stat.S_ISREG(os.fstat(src).st_mode):
                return 0
            if not (stat.S_ISREG(mode := os.fstat(dst).st_mode) or stat.S_ISFIFO(mode)):
                return 0
        except (AttributeError, OSError, ValueError):
            return 0
        self._out.flush()
        copied = 0
        while copied < size:
            try:
                sent = os.sendfile(dst, src, start + copied, size - copied)
            except OSError:
                if copied:
                    raise
                return 0
            if sent == 0:
                break
            copied += sent
        self.written += copied
        source.seek(start + copied)
        return copied
