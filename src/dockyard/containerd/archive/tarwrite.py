"""Writing a layer tar: PAX-format headers, file data, and the digests of what was written.

:func:`encode_header` makes a ustar header, preceded by a PAX extended header when a field
does not fit (names over 100 bytes or not ASCII, ids over 2097151, sizes of 8 GiB and up,
negative or huge mtimes) or when the entry has extended attributes (``SCHILY.xattr.*``,
values kept as raw bytes). Owners are numeric only (no user or group names), records come
in a fixed order and nothing depends on the clock, so the same tree gives the same bytes.

:class:`LayerWriter` hashes the uncompressed stream (the diffID), compresses it if asked
(gzip or zstd; the gzip header carries no name and mtime 0), hashes what it writes (the
blob digest) and counts both sizes. It ends the archive with two zero blocks, as Go's
``archive/tar`` does.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from typing import Protocol

from dockyard.containerd.archive import compression
from dockyard.containerd.archive.tarread import BLOCK, ENC, ERRORS, REG
from dockyard.errors import Internal

_CHUNK = 1 << 20
_PAX_NAME = b"././@PaxHeader"


class Writable(Protocol):
    def write(self, data: bytes, /) -> object: ...


@dataclass(slots=True)
class Header:
    """One entry to write."""

    name: str
    type: bytes = REG
    mode: int = 0
    uid: int = 0
    gid: int = 0
    size: int = 0
    mtime: int = 0  # seconds
    linkname: str = ""
    devmajor: int = 0
    devminor: int = 0
    xattrs: dict[str, bytes] = field(default_factory=dict)


def _pax_record(key: bytes, value: bytes) -> bytes:
    body = b" " + key + b"=" + value + b"\n"
    n = len(body) + 1
    while len(str(n)) + len(body) != n:
        n = len(str(n)) + len(body)
    return str(n).encode() + body


def _octal(value: int, width: int) -> bytes:
    return b"%0*o\0" % (width - 1, value)


def _fits(value: int, width: int) -> bool:
    return 0 <= value < 1 << (3 * (width - 1))


def _ustar(name: bytes, kind: bytes, mode: int, uid: int, gid: int, size: int, mtime: int,
           link: bytes, devmajor: int, devminor: int) -> bytes:
    block = bytearray(BLOCK)
    block[0:100] = name[:100].ljust(100, b"\0")
    block[100:108] = _octal(mode, 8)
    block[108:116] = _octal(uid, 8)
    block[116:124] = _octal(gid, 8)
    block[124:136] = _octal(size, 12)
    block[136:148] = _octal(mtime, 12)
    block[148:156] = b" " * 8
    block[156:157] = kind
    block[157:257] = link[:100].ljust(100, b"\0")
    block[257:265] = b"ustar\x0000"
    block[329:337] = _octal(devmajor, 8)
    block[337:345] = _octal(devminor, 8)
    block[148:156] = b"%06o\0 " % sum(block)
    return bytes(block)


def encode_header(h: Header) -> bytes:
    """The header block(s) of ``h``: an optional PAX header, then the ustar header."""
    name = h.name.encode(ENC, ERRORS)
    link = h.linkname.encode(ENC, ERRORS)
    records: list[bytes] = []
    binary = False
    if len(name) > 100 or not name.isascii():
        records.append(_pax_record(b"path", name))
        binary = binary or _not_utf8(name)
    if len(link) > 100 or not link.isascii():
        records.append(_pax_record(b"linkpath", link))
        binary = binary or _not_utf8(link)
    numbers = {}
    for key, value, width in (("size", h.size, 12), ("uid", h.uid, 8), ("gid", h.gid, 8), ("mtime", h.mtime, 12)):
        if _fits(value, width):
            numbers[key] = value
        else:
            records.append(_pax_record(key.encode(), str(value).encode()))
            numbers[key] = 0
    for key in sorted(h.xattrs):
        records.append(_pax_record(b"SCHILY.xattr." + key.encode(ENC, ERRORS), h.xattrs[key]))
    if not (_fits(h.devmajor, 8) and _fits(h.devminor, 8)):
        raise Internal(f"{h.name}: device number {h.devmajor}:{h.devminor} does not fit a tar header")
    block = _ustar(name, h.type, h.mode & 0o7777, numbers["uid"], numbers["gid"], numbers["size"],
                   numbers["mtime"], link, h.devmajor, h.devminor)
    if not records:
        return block
    if binary:
        records.insert(0, _pax_record(b"hdrcharset", b"BINARY"))
    data = b"".join(records)
    pax = _ustar(_PAX_NAME, b"x", 0o644, 0, 0, len(data), 0, b"", 0, 0)
    return pax + data + bytes(-len(data) % BLOCK) + block


def _not_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


class LayerWriter:
    """A tar stream into ``out``: diffID, optional compression, blob digest and sizes."""

    def __init__(self, out: Writable, compression_name: str = compression.NONE, level: int | None = None) -> None:
        self._out = out
        self._compressor = compression.Compressor(compression_name, level)
        self.compression = self._compressor.name
        self._plain = self.compression == compression.NONE
        self._diff = hashlib.sha256()
        self._blob = hashlib.sha256()
        self._pending = bytearray()
        self.size = 0
        self.compressed_size = 0

    def _emit(self, data: bytes | bytearray | memoryview) -> None:
        if not self._pending and len(data) >= _CHUNK:
            self._pass(bytes(data))  # a whole piece of file data: no extra copy
            return
        self._pending += data
        if len(self._pending) >= _CHUNK:
            self._flush()

    def _flush(self) -> None:
        data = bytes(self._pending)
        self._pending.clear()
        if data:
            self._pass(data)

    def _pass(self, data: bytes) -> None:
        self._diff.update(data)
        self.size += len(data)
        self._write(data if self._plain else self._compressor.compress(data))

    def _write(self, data: bytes) -> None:
        if data:
            if not self._plain:
                self._blob.update(data)
            self.compressed_size += len(data)
            self._out.write(data)

    def add(self, header: Header, fd: int | None = None) -> None:
        """Write ``header``, then ``header.size`` bytes read from ``fd`` for a regular file."""
        self._emit(encode_header(header))
        if fd is None or header.type != REG or not header.size:
            return
        left = header.size
        while left:
            data = os.read(fd, min(left, _CHUNK))
            if not data:
                raise Internal(f"{header.name}: file shrank while it was being written to the layer")
            left -= len(data)
            self._emit(data)
        self._emit(bytes(-header.size % BLOCK))

    def close(self) -> None:
        """End the archive (two zero blocks) and flush the compressor."""
        self._emit(bytes(2 * BLOCK))
        self._flush()
        if not self._plain:
            self._write(self._compressor.flush())

    @property
    def diff_id(self) -> str:
        return "sha256:" + self._diff.hexdigest()

    @property
    def digest(self) -> str:
        """The digest of the bytes written (the diffID when uncompressed)."""
        return self.diff_id if self._plain else "sha256:" + self._blob.hexdigest()
