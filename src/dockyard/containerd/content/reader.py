"""A read-only, seekable view of one committed blob (containerd's ``content.ReaderAt``).

:class:`ReaderAt` is an ``io.RawIOBase``, so it works with ``shutil.copyfileobj``,
``tarfile`` and ``io.BufferedReader``; :meth:`ReaderAt.read_at` reads at an offset
without moving the position (``pread``), so several threads may share one reader.
"""

from __future__ import annotations

import io
import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from _typeshed import WriteableBuffer


class ReaderAt(io.RawIOBase):
    """An open blob: ``size`` bytes of ``digest``. Close it (or use ``with``)."""

    def __init__(self, path: str | os.PathLike[str], digest: str) -> None:
        super().__init__()
        self._fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        self._pos = 0
        self.digest = digest
        self.size = os.fstat(self._fd).st_size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def fileno(self) -> int:
        self._check_open()
        return self._fd

    def read_at(self, size: int, offset: int) -> bytes:
        """Up to ``size`` bytes from ``offset`` (fewer only at the end of the blob)."""
        self._check_open()
        if size < 0 or offset < 0:
            raise ValueError(f"read_at: negative size {size} or offset {offset}")
        chunks: list[bytes] = []
        while size > 0:
            chunk = os.pread(self._fd, size, offset)
            if not chunk:
                break
            chunks.append(chunk)
            size -= len(chunk)
            offset += len(chunk)
        return b"".join(chunks)

    def readinto(self, buffer: WriteableBuffer, /) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read_at(len(view), self._pos)
        view[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def seek(self, offset: int, whence: int = os.SEEK_SET, /) -> int:
        self._check_open()
        if whence == os.SEEK_SET:
            position = offset
        elif whence == os.SEEK_CUR:
            position = self._pos + offset
        elif whence == os.SEEK_END:
            position = self.size + offset
        else:
            raise ValueError(f"seek: invalid whence {whence}")
        if position < 0:
            raise ValueError(f"seek: negative position {position}")
        self._pos = position
        return position

    def tell(self) -> int:
        self._check_open()
        return self._pos

    def close(self) -> None:
        if not self.closed:
            os.close(self._fd)
        super().close()

    def _check_open(self) -> None:
        if self.closed:
            raise ValueError(f"reader of {self.digest} is closed")
