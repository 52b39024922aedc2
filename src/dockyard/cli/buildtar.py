"""Tar streams of ``dockyard build``, shaped as the docker CLI sends them.

- ``is_archive``: docker's test for a context on stdin or at a URL: a compressed stream
  (gzip, bzip2, xz, zstd) or a tar header whose checksum holds; anything else is a
  Dockerfile.
- ``members``: a tar stream cut before its end-of-archive blocks. Python's ``tarfile``
  pads an archive to 10 KiB records, Go's writer does not: ``go_tar`` re-ends the stream
  with the two zero blocks only, so the size docker prints ("Sending build context to
  Docker daemon  5.632kB") is the same; ``with_dockerfile`` adds the Dockerfile docker
  sends as ``.dockerfile.<random>`` (and names it in ``.dockerignore``).
- ``single_file_tar``: the context of a Dockerfile that came alone (stdin, a URL).
- ``decompressed``: the plain tar of a gzip/bzip2/xz stream, for adding a member to it.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from typing import Any

BLOCK = 512
_ZERO = bytes(BLOCK)
_END = bytes(2 * BLOCK)
IGNORE_FILE = ".dockerignore"
_COMPRESSED = (b"\x1f\x8b\x08", b"BZh", b"\xfd7zXZ\x00", b"\x28\xb5\x2f\xfd")


def _checksum_ok(header: bytes) -> bool:
    stored = header[148:156].replace(b"\0", b" ").strip()
    try:
        wanted = int(stored, 8)
    except ValueError:
        return False
    unsigned = sum(header[:148]) + 8 * 32 + sum(header[156:BLOCK])
    signed = sum(b - 256 if b > 127 else b for b in header[:148] + b" " * 8 + header[156:BLOCK])
    return wanted in (unsigned, signed)


def is_archive(head: bytes) -> bool:
    """Whether the first bytes of a stream (at least 512 when there are) start an archive."""
    if head.startswith(_COMPRESSED):
        return True
    return len(head) >= BLOCK and head[:BLOCK] != _ZERO and _checksum_ok(head[:BLOCK])


def _size(header: bytes) -> int:
    field = header[124:136]
    if field[0] & 0x80:  # base-256 (GNU) for big sizes
        value = field[0] & 0x7F
        for byte in field[1:]:
            value = (value << 8) | byte
        return value
    text = field.replace(b"\0", b" ").strip()
    return int(text, 8) if text else 0


def members(chunks: Iterable[bytes], edits: dict[str, Callable[[bytes], bytes]] | None = None,
            seen: set[str] | None = None) -> Iterator[bytes]:
    """The bytes of a tar stream up to its end-of-archive marker (headers and padded data).

    ``edits`` maps the name of a (small) regular file to a function of its content: the
    member is rewritten with what it returns, in its place; the names met go in ``seen``.
    """
    buf = bytearray()
    passing = 0  # bytes of the current member's data (with padding) still to pass through
    editing: tuple[Any, int] | None = None  # (TarInfo, padded size) of a member being rewritten
    for chunk in chunks:
        buf += chunk
        out = bytearray()
        while True:
            if editing is not None:
                info, padded = editing
                if len(buf) < padded:
                    break
                data = edits[info.name](bytes(buf[:info.size])) if edits else b""
                del buf[:padded]
                out += file_member(info.name, data, info.mtime, info.mode)
                editing = None
            if passing:
                take = min(passing, len(buf))
                out += buf[:take]
                del buf[:take]
                passing -= take
                if passing:
                    break
            if len(buf) < BLOCK:
                break
            header = bytes(buf[:BLOCK])
            if header == _ZERO:
                if out:
                    yield bytes(out)
                return
            del buf[:BLOCK]
            size = -(-_size(header) // BLOCK) * BLOCK
            if edits or seen is not None:
                import tarfile

                info = tarfile.TarInfo.frombuf(header, "utf-8", "surrogateescape")
                if seen is not None:
                    seen.add(info.name)
                if edits and info.name in edits and info.isreg():
                    editing = (info, size)
                    continue
            out += header
            passing = size
        if out:
            yield bytes(out)


def file_member(name: str, data: bytes, mtime: float | None = None, mode: int = 0o644) -> bytes:
    """A regular file's header and padded data (root-owned)."""
    import tarfile
    import time

    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), mode
    info.mtime = int(time.time() if mtime is None else mtime)
    info.uname = info.gname = ""
    padding = -len(data) % BLOCK
    return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape") + data + bytes(padding)


def go_tar(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """``chunks`` (a tar) ended as Go's writer ends it: two zero blocks, no record padding."""
    yield from members(chunks)
    yield _END


def with_dockerfile(chunks: Iterable[bytes], name: str, data: bytes) -> Iterator[bytes]:
    """The tar ``chunks`` with a Dockerfile added as ``name`` (mode 0600, at the end) and
    listed in ``.dockerignore`` (the one of the tar, with a line more, else a new one), so
    that the daemon leaves it out of the image, as the docker CLI does."""
    line = name.encode() + b"\n"
    seen: set[str] = set()
    yield from members(chunks, {IGNORE_FILE: lambda old: old + b"\n" + line}, seen)
    yield file_member(name, data, mode=0o600)
    if IGNORE_FILE not in seen:
        yield file_member(IGNORE_FILE, IGNORE_FILE.encode() + b"\n" + line, mode=0o600)
    yield _END


def single_file_tar(name: str, data: bytes) -> bytes:
    return file_member(name, data) + _END


def decompressed(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """A gzip, bzip2 or xz stream's plain content (other streams pass unchanged)."""
    it = iter(chunks)
    first = next(it, b"")
    decoder: Any = None
    if first.startswith(b"\x1f\x8b"):
        import zlib

        decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    elif first.startswith(b"BZh"):
        import bz2

        decoder = bz2.BZ2Decompressor()
    elif first.startswith(b"\xfd7zXZ\x00"):
        import lzma

        decoder = lzma.LZMADecompressor()
    yield first if decoder is None else decoder.decompress(first)
    for chunk in it:
        yield chunk if decoder is None else decoder.decompress(chunk)
