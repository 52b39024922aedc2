"""Read an untrusted archive (a tar stream) into memory and content store ingests.

A load cannot know what an entry is until it has read the documents that name it, and
``docker save`` writes ``manifest.json`` last. So every regular file is streamed once:
hashed (sha256, and the sha256 of its uncompressed bytes when it is gzip or zstd, which is
a layer's diffID), and kept either in memory (JSON documents and small files, within a
budget) or in an ingest of the content store (everything else; committing it later is a
link, not a copy). Nothing reaches the host's file system by its archive name.

An entry named ``blobs/<alg>/<hex>`` is checked against its name as it streams: a
mismatch is an error naming the file. If the store has that blob already, the bytes are
only hashed. Links between entries are recorded and resolved inside the archive
(:func:`dockyard.containerd.formats.paths.resolve`). The archive itself may be gzip or
zstd compressed (as ``docker load`` accepts).
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable, Iterator
from typing import IO

from dockyard.containerd.archive import compression
from dockyard.containerd.formats import paths
from dockyard.containerd.formats.staging import CHUNK, Staged, Staging
from dockyard.containerd.formats.tarscan import Header, TarScanner
from dockyard.errors import DockyardError, InvalidArgument
from dockyard.oci import jsonio
from dockyard.oci.digest import Digester, parse_digest

SMALL_FILE = 64 << 10  # kept in memory whatever its content
MAX_DOCUMENT = 16 << 20  # a JSON document kept in memory
MEMORY_BUDGET = 128 << 20  # all entries kept in memory together
MAX_INGESTS = 4096  # entries held in open ingests (each holds two file descriptors)
MAX_ENTRIES = 100_000  # entries of any kind


class Entry:
    """One regular file of the archive."""

    __slots__ = ("_diff_error", "_diff_id", "compression", "data", "digest", "name", "size", "staged")

    def __init__(self, name: str, size: int) -> None:
        self.name = name
        self.size = size
        self.digest = ""  # sha256 (or the algorithm of its blobs/ name) of the bytes
        self.compression = compression.NONE
        self.data: bytes | None = None  # the bytes, when kept in memory
        self.staged: Staged | None = None  # the ingest holding the bytes otherwise
        self._diff_id = ""
        self._diff_error = ""

    @property
    def diff_id(self) -> str:
        """sha256 of the uncompressed bytes; InvalidArgument if they do not decompress (only
        an error for an entry that is used as a layer)."""
        if self._diff_error:
            raise InvalidArgument(self._diff_error)
        return self._diff_id

    def set_diff_id(self, uncompressed: _UncompressedDigest) -> None:
        try:
            self._diff_id = uncompressed.digest() or self.digest
        except InvalidArgument as exc:
            self._diff_error = exc.message


class Spool:
    """The regular files and links of one archive; ``what`` names it in errors."""

    def __init__(self, staging: Staging, what: str = "archive", memory_budget: int = MEMORY_BUDGET) -> None:
        self.staging = staging
        self.what = what
        self.entries: dict[str, Entry] = {}
        self.links: dict[str, tuple[str, str]] = {}
        self.committed: set[str] = set()
        self._budget = memory_budget
        self._ingests = 0
        self._view = memoryview(bytearray(CHUNK))

    # -- reading -----------------------------------------------------------------------

    def read(self, stream: IO[bytes]) -> None:
        """Read the whole tar stream (plain, gzip or zstd)."""
        scanner = TarScanner(_open_maybe_compressed(stream, self.what), self.what)
        while (header := scanner.next()) is not None:
            self._member(scanner, header)

    def _member(self, scanner: TarScanner, header: Header) -> None:
        name = paths.normalize(header.name, self.what)
        if not name or header.is_dir():
            return
        if len(self.entries) + len(self.links) >= MAX_ENTRIES:
            raise InvalidArgument(f"{self.what}: more than {MAX_ENTRIES} entries")
        if name in self.entries or name in self.links:
            raise InvalidArgument(f"{self.what}: entry {name}: appears twice")
        if header.type == tarfile.SYMTYPE:
            self.links[name] = ("sym", header.linkname)
        elif header.type == tarfile.LNKTYPE:
            self.links[name] = ("hard", paths.normalize(header.linkname, self.what))
        elif header.is_file():
            self.add_file(name, header.size, scanner.read_into)
        # devices, fifos: nothing an image archive refers to

    def add_file(self, name: str, size: int, readinto: Callable[[memoryview], int]) -> Entry:
        """Stream one file of ``size`` bytes in through ``readinto`` (0 at its end); a blob
        is checked against its name."""
        entry = Entry(name, size)
        self.entries[name] = entry
        expected = paths.blob_digest(name)
        algorithm = parse_digest(expected)[0] if expected else "sha256"
        view = self._view
        got = _fill(readinto, view[: min(size, CHUNK)])
        head = bytes(view[: min(got, 64)])
        entry.compression = compression.sniff(head[:8]) if got >= 4 else compression.NONE
        keep = size <= SMALL_FILE or (size <= MAX_DOCUMENT and head.lstrip()[:1] in (b"{", b"["))
        if keep and size <= self._budget:
            self._budget -= size
            parts = [bytes(view[:got])]
            while got < size and (n := _fill(readinto, view[: min(size - got, CHUNK)])):
                parts.append(bytes(view[:n]))
                got += n
            self._check_length(entry, got)
            data = entry.data = b"".join(parts)
            digester = Digester(algorithm)
            digester.update(data)
            uncompressed = _UncompressedDigest(entry.compression, name, self.what, algorithm != "sha256")
            uncompressed.update(data)
            self._finish(entry, digester.digest(), uncompressed, expected)
            return entry
        self._ingests += 1
        if self._ingests > MAX_INGESTS:
            raise InvalidArgument(f"{self.what}: more than {MAX_INGESTS} large files")
        staged = entry.staged = self.staging.open(expected, size)
        writer = None if staged.present else staged.writer
        hasher = Digester(algorithm) if writer is None else None  # else the writer hashes what it writes
        uncompressed = _UncompressedDigest(entry.compression, name, self.what, algorithm != "sha256")
        written, piece = 0, view[:got]
        while piece:
            if hasher is not None:
                hasher.update(piece)
            uncompressed.update(piece)
            self.staging.write(staged, piece)
            written += len(piece)
            piece = view[: _fill(readinto, view[: min(size - written, CHUNK)])] if written < size else view[:0]
        self._check_length(entry, written)
        if hasher is not None:
            digest = hasher.digest()
        else:
            assert writer is not None
            digest = writer.digest()
        self._finish(entry, digest, uncompressed, expected)
        return entry

    def _finish(self, entry: Entry, digest: str, uncompressed: _UncompressedDigest, expected: str) -> None:
        entry.digest = digest
        entry.set_diff_id(uncompressed)
        self._check_name(entry, expected)

    def _check_length(self, entry: Entry, got: int) -> None:
        if got != entry.size:
            raise InvalidArgument(f"{self.what}: {entry.name}: truncated ({got} of {entry.size} bytes)")

    def _check_name(self, entry: Entry, expected: str) -> None:
        if expected and entry.digest != expected:
            raise InvalidArgument(f"{self.what}: {entry.name}: digest mismatch: the file hashes to {entry.digest}")

    # -- lookup ----------------------------------------------------------------------------

    def find(self, name: str) -> Entry | None:
        """The entry ``name`` designates (links followed), None if there is none."""
        return self.entries.get(paths.resolve(name, self.links, self.what))

    def get(self, name: str, role: str = "file") -> Entry:
        entry = self.find(name)
        if entry is None:
            raise InvalidArgument(f"{self.what}: {role} {name}: not found in the archive")
        return entry

    def blob(self, digest: str) -> Entry | None:
        return self.find(paths.blob_name(digest))

    def read_bytes(self, entry: Entry) -> bytes:
        """The content of an entry kept in memory (documents are)."""
        if entry.data is None:
            raise InvalidArgument(f"{self.what}: {entry.name}: too large for a JSON document ({entry.size} bytes)")
        return entry.data

    def read_json(self, name: str, role: str) -> object:
        entry = self.get(name, role)
        return jsonio.loads(self.read_bytes(entry), f"{self.what}: {entry.name}")

    # -- storing ---------------------------------------------------------------------------

    def commit(self, entry: Entry, labels: dict[str, str] | None = None) -> bool:
        """Put ``entry`` in the content store under its digest; True if the store lacked it."""
        if entry.digest in self.committed:
            return False
        staged = entry.staged
        if staged is None:
            staged = self.staging.open(entry.digest, entry.size)
            if not staged.present:
                assert entry.data is not None
                self.staging.write(staged, entry.data)
        entry.staged = None
        self.committed.add(entry.digest)
        return self.staging.commit(staged, entry.digest, entry.size, labels)

    def commit_bytes(self, data: bytes, digest: str, labels: dict[str, str] | None = None) -> bool:
        """Put a document made during the load (not in the archive) in the content store."""
        if digest in self.committed:
            return False
        staged = self.staging.open(digest, len(data))
        self.staging.write(staged, data)
        self.committed.add(digest)
        return self.staging.commit(staged, digest, len(data), labels)

    def discard_unused(self) -> None:
        """Abort the ingests of entries that were not committed."""
        self.staging.discard_all()


class _UncompressedDigest:
    """sha256 of the decompressed bytes, fed with compressed pieces ("" for a plain file,
    unless ``always``: its digest is in another algorithm)."""

    def __init__(self, kind: str, name: str, what: str, always: bool = False) -> None:
        self._name = f"{what}: {name}"
        wanted = always or kind != compression.NONE
        self._digester = Digester() if wanted else None
        self._decoder = compression.decompressor(kind) if wanted else None
        self._error = ""

    def update(self, data: bytes | memoryview) -> None:
        if self._decoder is None or self._digester is None or self._error:
            return
        try:
            for piece in self._decoder.feed(bytes(data)):
                self._digester.update(piece)
        except DockyardError as exc:
            self._error = f"{self._name}: {exc}"

    def digest(self) -> str:
        if self._decoder is None or self._digester is None:
            return ""
        if not self._error:
            try:
                self._decoder.finish()
            except DockyardError as exc:
                self._error = f"{self._name}: {exc}"
        if self._error:
            raise InvalidArgument(self._error)
        return self._digester.digest()


def _fill(readinto: Callable[[memoryview], int], view: memoryview) -> int:
    """Read into all of ``view`` unless the source ends first; the bytes read."""
    got = 0
    while got < len(view):
        n = readinto(view[got:])
        if not n:
            break
        got += n
    return got


class _DecompressingReader(io.RawIOBase):
    """A readable stream of the decompressed bytes of a gzip or zstd stream."""

    def __init__(self, source: IO[bytes], kind: str, head: bytes, what: str) -> None:
        super().__init__()
        self._source = source
        self._decoder = compression.decompressor(kind)
        self._pending = head
        self._pieces: Iterator[bytes] = iter(())
        self._buffer = memoryview(b"")
        self._eof = False
        self._what = what

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        try:
            while not self._buffer:
                piece = next(self._pieces, None)  # pieces come lazily: a bomb never sits in memory
                if piece is not None:
                    self._buffer = memoryview(piece)
                    break
                if self._eof:
                    return 0
                data = self._pending or self._source.read(CHUNK)
                self._pending = b""
                if not data:
                    self._eof = True
                    self._decoder.finish()
                    continue
                self._pieces = self._decoder.feed(data)
        except DockyardError as exc:
            raise InvalidArgument(f"{self._what}: {exc}") from None
        size = min(len(view), len(self._buffer))
        view[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        return size


class _Prefixed(io.RawIOBase):
    """``head`` followed by the rest of ``source`` (after a peek at the first bytes)."""

    def __init__(self, source: IO[bytes], head: bytes) -> None:
        super().__init__()
        self._source = source
        self._head = head

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        if self._head:
            size = min(len(view), len(self._head))
            view[:size] = self._head[:size]
            self._head = self._head[size:]
            return size
        readinto = getattr(self._source, "readinto", None)
        if readinto is not None:
            return int(readinto(view) or 0)
        data = self._source.read(len(view))
        if not data:
            return 0
        view[: len(data)] = data
        return len(data)


def _open_maybe_compressed(stream: IO[bytes], what: str) -> IO[bytes]:
    head = stream.read(8)
    try:
        kind = compression.sniff(head)
    except DockyardError as exc:
        raise InvalidArgument(f"{what}: {exc}") from None
    if kind == compression.NONE:
        return io.BufferedReader(_Prefixed(stream, head), CHUNK)
    return io.BufferedReader(_DecompressingReader(stream, kind, head, what), CHUNK)
