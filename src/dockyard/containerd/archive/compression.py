"""Layer compression: sniffing, bounded streaming decompression, and compression.

Layers come as a plain tar, tar+gzip or tar+zstd (OCI image spec, "Image Layer Filesystem
Changeset"). :func:`sniff` tells them apart by their magic bytes, as containerd's
``compression.DetectCompression`` does. A :class:`Decompressor` turns compressed pieces
into uncompressed pieces of bounded size, so a decompression bomb never sits in memory
whole, and :meth:`Decompressor.finish` refuses a stream that stops inside a gzip member or
a zstd frame. gzip streams may have several members and trailing zero padding (as GNU
gzip accepts); zstd streams may have several frames and skippable frames.

For zstd the bound comes from walking the frame structure (RFC 8878): every block
decompresses to at most 128 KiB, so input is handed to the decoder a few blocks at a time.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

import zstandard

from dockyard.errors import InvalidArgument, NotImplementedYet

NONE = "none"
GZIP = "gzip"
ZSTD = "zstd"
AUTO = "auto"

_NAMES = {"": NONE, "none": NONE, "tar": NONE, "identity": NONE, "gzip": GZIP, "gz": GZIP, "zstd": ZSTD, "auto": AUTO}

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_OTHER_MAGIC = {b"BZh": "bzip2", b"\xfd7zXZ\x00": "xz"}

OUT_LIMIT = 1 << 20  # the largest uncompressed piece handed out


def normalize(compression: str) -> str:
    """``none``, ``gzip``, ``zstd`` or ``auto`` for any accepted spelling ("" is a plain tar)."""
    name = _NAMES.get(compression)
    if name is None:
        raise InvalidArgument(f"unsupported layer compression {compression!r}: expected gzip, zstd or none")
    return name


def sniff(head: bytes) -> str:
    """The compression of a stream that starts with ``head`` (at least 6 bytes unless shorter)."""
    if head.startswith(GZIP_MAGIC):
        return GZIP
    if head.startswith(ZSTD_MAGIC):
        return ZSTD
    for magic, name in _OTHER_MAGIC.items():
        if head.startswith(magic):
            raise NotImplementedYet(f"layer compression {name} is not supported (gzip, zstd or a plain tar)")
    return NONE


class Decompressor:
    """Plain pass-through; the base of the gzip and zstd decoders."""

    name = NONE

    def feed(self, data: bytes) -> Iterator[bytes]:
        """Uncompressed pieces (each at most OUT_LIMIT bytes) for the next compressed piece."""
        if data:
            yield data

    def finish(self) -> None:
        """Raise InvalidArgument if the stream stopped in the middle of a member or frame."""


class GzipDecompressor(Decompressor):
    """gzip members one after another, with zero padding allowed between and after them."""

    name = GZIP

    def __init__(self) -> None:
        self._d: zlib._Decompress | None = None  # the member being decoded
        self._members = 0

    def feed(self, data: bytes) -> Iterator[bytes]:
        while True:
            if self._d is None:
                data = data.lstrip(b"\0")
                if not data:
                    return
                self._d = zlib.decompressobj(31)
                self._members += 1
            d = self._d
            try:
                out = d.decompress(data, OUT_LIMIT)
            except zlib.error as exc:
                raise InvalidArgument(f"invalid gzip data: {exc}") from None
            if out:
                yield out
            if d.eof:
                data = d.unused_data
                self._d = None
                if not data:
                    return
                continue
            data = d.unconsumed_tail
            if not data and len(out) < OUT_LIMIT:
                return  # all input taken and no output pending

    def finish(self) -> None:
        if self._d is not None:
            raise InvalidArgument("invalid gzip data: the stream ends inside a gzip member (truncated)")
        if not self._members:
            raise InvalidArgument("invalid gzip data: empty stream")


_BLOCKS_PER_PIECE = 8  # 8 x 128 KiB = OUT_LIMIT
_SKIPPABLE_MASK = 0xFFFFFFF0
_SKIPPABLE = 0x184D2A50

# frame walker states: what the next bytes are
_MAGIC, _HEADER, _BLOCK, _BODY, _CHECKSUM, _SKIP_SIZE, _SKIP_BODY = range(7)


class ZstdDecompressor(Decompressor):
    """zstd frames decoded a few blocks at a time, with the frame structure checked on the way.

    The walker reads headers (magic, frame header, 3-byte block headers, skippable frame
    sizes) into ``_hdr`` and passes over block bodies and checksums by count. Bytes of a
    frame go to that frame's decoder in ranges of at most eight blocks; magic numbers are
    held back until they say whether a zstd frame or a skippable frame follows.
    """

    name = ZSTD

    def __init__(self) -> None:
        self._dctx = zstandard.ZstdDecompressor()
        self._obj: zstandard.ZstdDecompressionObj | None = None
        self._state = _MAGIC
        self._need = 4  # header bytes wanted in _hdr
        self._hdr = bytearray()
        self._skip = 0  # body bytes still to pass
        self._checksum = False
        self._last = False

    def _expect(self, state: int, need: int) -> None:
        self._state = state
        self._need = need
        self._hdr = bytearray()

    def feed(self, data: bytes) -> Iterator[bytes]:
        view = memoryview(data)
        end = len(view)
        pos = start = blocks = 0  # view[start:pos] is frame data not yet decoded
        while pos < end:
            state = self._state
            if self._skip:
                take = min(self._skip, end - pos)
                pos += take
                self._skip -= take
                if state == _SKIP_BODY:
                    start = pos
                    if not self._skip:
                        self._expect(_MAGIC, 4)
                    continue
                if self._skip:
                    continue
                if state == _BODY:
                    blocks += 1
                    if not self._last:
                        self._expect(_BLOCK, 3)
                    elif self._checksum:
                        self._expect(_CHECKSUM, 0)
                        self._skip = 4
                        continue
                if self._state in (_BODY, _CHECKSUM):  # the frame is complete
                    yield from self._decode(view[start:pos], frame_end=True)
                    start, blocks = pos, 0
                    self._expect(_MAGIC, 4)
                elif blocks >= _BLOCKS_PER_PIECE:
                    yield from self._decode(view[start:pos])
                    start, blocks = pos, 0
                continue
            take = min(self._need - len(self._hdr), end - pos)
            self._hdr += view[pos : pos + take]
            pos += take
            if state in (_MAGIC, _SKIP_SIZE):
                start = pos  # held in _hdr, never decoded from the view
            if len(self._hdr) == self._need:
                yield from self._header()
                if self._state == _BODY and not self._skip:  # an empty block body
                    self._skip = 0
                    blocks += 1
                    if not self._last:
                        self._expect(_BLOCK, 3)
                    elif self._checksum:
                        self._expect(_CHECKSUM, 0)
                        self._skip = 4
                    else:
                        yield from self._decode(view[start:pos], frame_end=True)
                        start, blocks = pos, 0
                        self._expect(_MAGIC, 4)
        if start < end and self._state not in (_MAGIC, _SKIP_SIZE, _SKIP_BODY):
            yield from self._decode(view[start:end])

    def _header(self) -> Iterator[bytes]:
        hdr = self._hdr
        state = self._state
        if state == _MAGIC:
            if hdr == ZSTD_MAGIC:
                self._obj = self._dctx.decompressobj()
                yield from self._decode(memoryview(bytes(hdr)))
                self._expect(_HEADER, 1)
                return
            if int.from_bytes(hdr, "little") & _SKIPPABLE_MASK == _SKIPPABLE:
                self._expect(_SKIP_SIZE, 4)
                return
            raise InvalidArgument("invalid zstd data: unknown frame magic")
        if state == _SKIP_SIZE:
            self._skip = int.from_bytes(hdr, "little")
            if self._skip:
                self._expect(_SKIP_BODY, 0)
            else:
                self._expect(_MAGIC, 4)
            return
        if state == _HEADER:
            if len(hdr) == 1:
                fhd = hdr[0]
                if fhd & 0x08:
                    raise InvalidArgument("invalid zstd data: reserved bit set in a frame header")
                single = bool(fhd & 0x20)
                fcs = (0, 2, 4, 8)[fhd >> 6] or (1 if single else 0)
                did = (0, 1, 2, 4)[fhd & 0x03]
                self._checksum = bool(fhd & 0x04)
                rest = (0 if single else 1) + did + fcs
                if rest:
                    self._need = 1 + rest
                    return
            self._expect(_BLOCK, 3)
            return
        if state == _BLOCK:
            value = int.from_bytes(hdr, "little")
            self._last = bool(value & 1)
            kind = (value >> 1) & 3
            if kind == 3:
                raise InvalidArgument("invalid zstd data: reserved block type")
            self._skip = 1 if kind == 1 else value >> 3
            self._expect(_BODY, 0)
            return
        raise AssertionError(f"zstd walker: unexpected state {state}")  # pragma: no cover

    def _decode(self, piece: memoryview, frame_end: bool = False) -> Iterator[bytes]:
        obj = self._obj
        if obj is None:  # pragma: no cover - the walker opens a decoder at every frame magic
            raise InvalidArgument("invalid zstd data: data outside a frame")
        if piece:
            try:
                out = obj.decompress(piece)
            except zstandard.ZstdError as exc:
                raise InvalidArgument(f"invalid zstd data: {exc}") from None
            if out:
                yield out
        if frame_end:
            if not obj.eof:
                raise InvalidArgument("invalid zstd data: frame structure and decoder disagree")
            self._obj = None

    def finish(self) -> None:
        if self._state != _MAGIC or self._hdr or self._skip:
            raise InvalidArgument("invalid zstd data: the stream ends inside a frame")


def decompressor(name: str) -> Decompressor:
    """A fresh decoder for ``name`` (``none``, ``gzip`` or ``zstd``)."""
    if name == GZIP:
        return GzipDecompressor()
    if name == ZSTD:
        return ZstdDecompressor()
    return Decompressor()


class Compressor:
    """Streaming compression for layer blobs; ``none`` passes data through."""

    def __init__(self, name: str, level: int | None = None) -> None:
        self.name = normalize(name)
        if self.name == AUTO:
            raise InvalidArgument("layer compression for writing must be gzip, zstd or none")
        self._gzip: zlib._Compress | None = None
        self._zstd: zstandard.ZstdCompressionObj | None = None
        if self.name == GZIP:
            self._gzip = zlib.compressobj(6 if level is None else level, zlib.DEFLATED, 31)
        elif self.name == ZSTD:
            self._zstd = zstandard.ZstdCompressor(level=3 if level is None else level).compressobj()

    def compress(self, data: bytes | memoryview) -> bytes:
        if self._gzip is not None:
            return self._gzip.compress(data)
        if self._zstd is not None:
            return self._zstd.compress(data)
        return bytes(data)

    def flush(self) -> bytes:
        if self._gzip is not None:
            return self._gzip.flush()
        if self._zstd is not None:
            return self._zstd.flush()
        return b""
