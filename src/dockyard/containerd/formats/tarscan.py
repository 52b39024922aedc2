"""A lean reader of tar streams for image archives: headers in, file data straight out.

``tarfile``'s stream mode copies every byte through two buffers; an archive load moves
hundreds of megabytes, so :class:`TarScanner` reads headers itself (the fixed block is
parsed by :meth:`tarfile.TarInfo.frombuf`, which checks the checksum, ustar prefixes and
base-256 numbers), folds in PAX records (``path``, ``linkpath``, ``size``) and GNU long
names, ignores global headers, and lets the caller read each file's data into its own
buffer. Extended headers are limited to 1 MiB. Errors are InvalidArgument naming ``what``.
"""

from __future__ import annotations

import tarfile
from dataclasses import dataclass
from typing import IO

from dockyard.errors import InvalidArgument

BLOCK = 512
MAX_EXTENDED = 1 << 20
_ZERO = bytes(BLOCK)
_DATA_TYPES = frozenset((tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE))
_HEADER_ONLY = frozenset((tarfile.LNKTYPE, tarfile.SYMTYPE, tarfile.CHRTYPE, tarfile.BLKTYPE,
                          tarfile.DIRTYPE, tarfile.FIFOTYPE))


@dataclass
class Header:
    name: str
    type: bytes
    size: int  # bytes of data that follow (0 for links, directories, devices)
    linkname: str = ""

    def is_file(self) -> bool:
        return self.type in _DATA_TYPES

    def is_dir(self) -> bool:
        return self.type == tarfile.DIRTYPE


class TarScanner:
    """Headers of ``source`` one by one; read a file's data with :meth:`read_into` (what is
    left unread is skipped by the next :meth:`next`)."""

    def __init__(self, source: IO[bytes], what: str) -> None:
        self._source = source
        self._what = what
        self._left = 0  # data bytes of the current entry not read yet
        self._pad = 0  # padding after them

    def next(self) -> Header | None:
        """The next entry, None at the end of the archive."""
        self._skip(self._left + self._pad)
        self._left = self._pad = 0
        pax: dict[str, str] = {}
        long_name = long_link = ""
        while True:
            block = self._exact(BLOCK, allow_eof=True)
            if not block or block == _ZERO:
                return None
            try:
                info = tarfile.TarInfo.frombuf(block, "utf-8", "surrogateescape")
            except tarfile.HeaderError as exc:
                raise InvalidArgument(f"{self._what}: not a valid tar archive: {exc}") from None
            kind = info.type
            if kind in (tarfile.XHDTYPE, tarfile.SOLARIS_XHDTYPE):
                pax.update(_parse_pax(self._extended(info.size), self._what))
                continue
            if kind == tarfile.XGLTYPE:
                self._extended(info.size)
                continue
            if kind == tarfile.GNUTYPE_LONGNAME:
                long_name = _cstring(self._extended(info.size))
                continue
            if kind == tarfile.GNUTYPE_LONGLINK:
                long_link = _cstring(self._extended(info.size))
                continue
            name = pax.get("path") or long_name or info.name
            if kind == tarfile.GNUTYPE_SPARSE:
                raise InvalidArgument(f"{self._what}: entry {name}: sparse files are not supported")
            size = int(pax["size"]) if "size" in pax else info.size
            if kind in _HEADER_ONLY:
                size = 0
            header = Header(name, kind, size, pax.get("linkpath") or long_link or info.linkname)
            self._left = size
            self._pad = -size % BLOCK
            return header

    def read_into(self, buffer: memoryview) -> int:
        """Up to ``len(buffer)`` bytes of the current file's data; 0 once it is all read."""
        want = min(len(buffer), self._left)
        if not want:
            return 0
        got = self._source.readinto(buffer[:want])  # type: ignore[attr-defined]
        if not got:
            raise InvalidArgument(f"{self._what}: not a valid tar archive: unexpected end of data")
        self._left -= got
        return int(got)

    def _extended(self, size: int) -> bytes:
        if size > MAX_EXTENDED:
            raise InvalidArgument(f"{self._what}: extended tar header of {size} bytes (limit {MAX_EXTENDED})")
        data = self._exact(size)
        self._skip(-size % BLOCK)
        return data

    def _exact(self, size: int, allow_eof: bool = False) -> bytes:
        data = self._source.read(size)
        if len(data) != size and not (allow_eof and not data):
            raise InvalidArgument(f"{self._what}: not a valid tar archive: unexpected end of data")
        return data

    def _skip(self, size: int) -> None:
        while size > 0:
            chunk = self._source.read(min(size, 1 << 20))
            if not chunk:
                raise InvalidArgument(f"{self._what}: not a valid tar archive: unexpected end of data")
            size -= len(chunk)


def _cstring(data: bytes) -> str:
    return data.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def _parse_pax(data: bytes, what: str) -> dict[str, str]:
    """``<length> <key>=<value>\\n`` records."""
    out: dict[str, str] = {}
    pos = 0
    while pos < len(data):
        space = data.find(b" ", pos)
        try:
            length = int(data[pos:space])
        except ValueError:
            raise InvalidArgument(f"{what}: invalid PAX header") from None
        record = data[space + 1 : pos + length]
        if length <= 0 or not record.endswith(b"\n") or b"=" not in record:
            raise InvalidArgument(f"{what}: invalid PAX header")
        key, _, value = record[:-1].partition(b"=")
        out[key.decode("utf-8", "surrogateescape")] = value.decode("utf-8", "surrogateescape")
        pos += length
    if "size" in out and not out["size"].isdigit():
        raise InvalidArgument(f"{what}: invalid PAX size {out['size']!r}")
    return out
