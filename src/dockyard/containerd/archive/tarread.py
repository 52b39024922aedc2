"""Tar headers of a layer stream: ustar/GNU headers, PAX extended headers, GNU long names.

:func:`entries` turns :class:`~dockyard.containerd.archive.stream.Blocks` into
:class:`Entry` values, one per file, with the PAX records (``path``, ``linkpath``, ``uid``,
``gid``, ``size``, ``mtime``, ``atime``, ``SCHILY.xattr.*``) and GNU long names (``L``,
``K``) folded in and base-256 numbers decoded (the fixed header block is parsed by
``tarfile.TarInfo.frombuf``). Data a caller leaves unread is skipped before the next
header. Global PAX headers are read and ignored, as containerd does; sparse files and
unknown entry types are refused. Extended headers are limited to 1 MiB (Go's limit), so a
hostile header cannot make us buffer gigabytes.

Names keep their bytes: they are decoded as UTF-8 with ``surrogateescape``, which the
``os`` functions turn back into the same bytes.
"""

from __future__ import annotations

import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field

from dockyard.containerd.archive.stream import Blocks, StreamFault
from dockyard.errors import InvalidArgument, NotImplementedYet

BLOCK = 512
MAX_EXTENDED = 1 << 20
ENC = "utf-8"
ERRORS = "surrogateescape"

REG = b"0"
AREG = b"\0"
LINK = b"1"
SYMLINK = b"2"
CHAR = b"3"
BLOCKDEV = b"4"
DIR = b"5"
FIFO = b"6"
CONT = b"7"
FILE_TYPES = frozenset((REG, AREG, CONT))
HEADER_ONLY = frozenset((LINK, SYMLINK, CHAR, BLOCKDEV, DIR, FIFO))  # no data, whatever size says
KNOWN = FILE_TYPES | HEADER_ONLY

_PAX = (tarfile.XHDTYPE, tarfile.SOLARIS_XHDTYPE)
_XATTR = "SCHILY.xattr."
_GNU_MAGIC = b"ustar  \0"
_ZERO = bytes(BLOCK)


@dataclass(slots=True)
class Entry:
    """One file of the layer, as the archive describes it."""

    name: str
    type: bytes
    mode: int  # permission bits incl. setuid/setgid/sticky (07777)
    uid: int
    gid: int
    size: int
    mtime_ns: int
    linkname: str = ""
    devmajor: int = 0
    devminor: int = 0
    atime_ns: int | None = None
    xattrs: dict[str, bytes] = field(default_factory=dict)
    offset: int = 0  # of its header in the uncompressed stream


def show(name: str, limit: int = 200) -> str:
    """``name`` for an error message: printable, and cut in the middle when very long."""
    text = name.encode(ENC, ERRORS).decode(ENC, "backslashreplace")
    if len(text) > limit:
        text = f"{text[: limit // 2]}...({len(text)} chars)...{text[-limit // 4 :]}"
    return text.replace('"', '\\"')


def _cstring(data: bytes) -> str:
    return data.split(b"\0", 1)[0].decode(ENC, ERRORS)


_POSIX_MAGIC = b"ustar\x0000"
_FIELDS = ((100, 108), (108, 116), (116, 124), (124, 136), (136, 148), (329, 337), (337, 345))


def _fast_header(buf: bytes) -> tarfile.TarInfo | None:
    """The common case (ustar/GNU magic, octal numbers, unsigned checksum) in a quarter of
    ``TarInfo.frombuf``'s time; None sends anything else to ``frombuf``."""
    magic = buf[257:265]
    if magic != _POSIX_MAGIC and magic != _GNU_MAGIC:
        return None
    try:
        if int(buf[148:156].split(b"\0", 1)[0].strip() or b"0", 8) != sum(buf) - sum(buf[148:156]) + 256:
            return None
        mode, uid, gid, size, mtime, major, minor = (
            int(buf[a:b].split(b"\0", 1)[0].strip() or b"0", 8) for a, b in _FIELDS
        )
    except ValueError:  # base-256 numbers, spaces inside, ...
        return None
    info = tarfile.TarInfo(_cstring(buf[0:100]))
    info.type = buf[156:157]
    if magic == _POSIX_MAGIC and buf[345] and info.type not in tarfile.GNU_TYPES:
        info.name = _cstring(buf[345:500]) + "/" + info.name
    if info.type == AREG and info.name.endswith("/"):
        info.type = DIR
    if info.type == DIR:
        info.name = info.name.rstrip("/")
    info.mode, info.uid, info.gid, info.size, info.mtime = mode, uid, gid, size, mtime
    info.devmajor, info.devminor = major, minor
    info.linkname = _cstring(buf[157:257])
    return info


def _pax_time(value: bytes, key: str) -> int:
    text = value.decode("ascii", "replace")
    sign = -1 if text.startswith("-") else 1
    whole, _, frac = text.lstrip("-").partition(".")
    if not whole.isdigit() or (frac and not frac.isdigit()):
        raise InvalidArgument(f"invalid PAX {key} {text!r}")
    return sign * (int(whole) * 1_000_000_000 + int((frac + "000000000")[:9]))


def _pax_int(value: bytes, key: str) -> int:
    text = value.decode("ascii", "replace")
    if not text.isdigit():
        raise InvalidArgument(f"invalid PAX {key} {text!r}")
    return int(text)


def parse_pax(data: bytes) -> dict[str, bytes]:
    """PAX records (``"%d %s=%s\\n"``); values stay bytes (xattr values are binary)."""
    records: dict[str, bytes] = {}
    pos = 0
    end = len(data)
    while pos < end:
        if data[pos] == 0:  # NUL padding after the last record
            break
        space = data.find(b" ", pos, pos + 20)
        if space < 0 or not data[pos:space].isdigit():
            raise InvalidArgument("invalid PAX header: bad record length")
        length = int(data[pos:space])
        record = data[space + 1 : pos + length]
        if length <= space - pos + 1 or pos + length > end or not record.endswith(b"\n") or b"=" not in record:
            raise InvalidArgument("invalid PAX header: malformed record")
        key, _, value = record[:-1].partition(b"=")
        records[key.decode(ENC, ERRORS)] = value
        pos += length
    return records


def _extended(blocks: Blocks, size: int, what: str) -> bytes:
    if size > MAX_EXTENDED or size < 0:
        raise InvalidArgument(f"{what} of {size} bytes at offset {blocks.offset - BLOCK} is larger than 1 MiB")
    data = blocks.read(size)
    if len(data) < size:
        raise StreamFault(f"unexpected end of data in a {what} (truncated layer)")
    blocks.skip(-size % BLOCK)
    return data


def entries(blocks: Blocks) -> Iterator[Entry]:
    """Every file entry until the end-of-archive block (or a clean end of the stream)."""
    pax: dict[str, bytes] = {}
    long_name: str | None = None
    long_link: str | None = None
    while True:
        offset = blocks.offset
        buf = blocks.read(BLOCK)
        if not buf:
            return  # the stream ends between entries: accepted, as Go's archive/tar does
        if len(buf) < BLOCK:
            raise StreamFault(f"unexpected end of data in a tar header at offset {offset} (truncated layer)")
        if buf == _ZERO:
            return  # end-of-archive marker; the caller drains the rest
        info = _fast_header(buf)
        if info is None:
            try:
                info = tarfile.TarInfo.frombuf(buf, ENC, ERRORS)
            except tarfile.HeaderError as exc:
                raise InvalidArgument(f"invalid tar header at offset {offset}: {exc}") from None
        kind = info.type
        if kind in _PAX:
            pax.update(parse_pax(_extended(blocks, info.size, "PAX header")))
            continue
        if kind == tarfile.XGLTYPE:
            parse_pax(_extended(blocks, info.size, "global PAX header"))  # checked, then ignored
            continue
        if kind == tarfile.GNUTYPE_LONGNAME:
            long_name = _cstring(_extended(blocks, info.size, "GNU long name"))
            continue
        if kind == tarfile.GNUTYPE_LONGLINK:
            long_link = _cstring(_extended(blocks, info.size, "GNU long link name"))
            continue
        name = info.name
        if buf[257:265] == _GNU_MAGIC and buf[345:346] != b"\0":
            name = _cstring(buf[0:100])  # old GNU headers keep atime/ctime where ustar has prefix
        entry = Entry(
            name=name,
            type=kind,
            mode=info.mode & 0o7777,
            uid=info.uid,
            gid=info.gid,
            size=info.size,
            mtime_ns=int(info.mtime) * 1_000_000_000,
            linkname=info.linkname,
            devmajor=info.devmajor,
            devminor=info.devminor,
            offset=offset,
        )
        if long_name is not None:
            entry.name = long_name
        if long_link is not None:
            entry.linkname = long_link
        sparse = _apply_pax(entry, pax) if pax else False
        pax, long_name, long_link = {}, None, None
        if entry.size < 0 or entry.uid < 0 or entry.gid < 0:
            raise InvalidArgument(f'layer entry "{show(entry.name)}": negative size, uid or gid')
        if kind == tarfile.GNUTYPE_SPARSE or sparse:
            raise NotImplementedYet(f'layer entry "{show(entry.name)}": sparse files are not supported')
        if kind not in KNOWN:
            raise InvalidArgument(f'layer entry "{show(entry.name)}": unsupported tar entry type {kind!r}')
        data_size = 0 if kind in HEADER_ONLY else entry.size
        data_end = blocks.offset + data_size
        yield entry
        left = data_end - blocks.offset
        if left < 0:  # pragma: no cover - a caller read past its entry
            raise AssertionError("read past the end of a tar entry")
        blocks.skip(left + (-data_size % BLOCK))


def _apply_pax(entry: Entry, pax: dict[str, bytes]) -> bool:
    """Fold PAX records into ``entry``; True if they describe a sparse file."""
    sparse = False
    for key, value in pax.items():
        if key.startswith(_XATTR):
            entry.xattrs[key[len(_XATTR) :]] = value
        elif not value:
            continue  # an empty value unsets the keyword
        elif key == "path":
            entry.name = value.decode(ENC, ERRORS)
        elif key == "linkpath":
            entry.linkname = value.decode(ENC, ERRORS)
        elif key in ("uid", "gid", "size"):
            setattr(entry, key, _pax_int(value, key))
        elif key == "mtime":
            entry.mtime_ns = _pax_time(value, key)
        elif key == "atime":
            entry.atime_ns = _pax_time(value, key)
        elif key.startswith("GNU.sparse."):
            sparse = True
    return sparse
