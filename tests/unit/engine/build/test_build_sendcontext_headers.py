"""The context tar's headers are written without ``tarfile`` (the CLI's start-up): they
must be the bytes ``tarfile`` writes in its PAX format, for every kind of member."""

from __future__ import annotations

import tarfile

import pytest

from dockyard.engine.build.sendcontext import BLKTYPE, CHRTYPE, DIRTYPE, FIFOTYPE, REGTYPE, SYMTYPE, Member


def reference(member: Member) -> bytes:
    info = tarfile.TarInfo(member.name)
    info.type, info.mode, info.mtime, info.size = member.type, member.mode, member.mtime, member.size
    info.linkname, info.devmajor, info.devminor = member.linkname, member.devmajor, member.devminor
    info.uname = info.gname = ""
    return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


@pytest.mark.parametrize("member", [
    Member("Dockerfile", REGTYPE, 0o644, 1_700_000_000, 123),
    Member("dir/", DIRTYPE, 0o755, 1_700_000_000),
    Member("dir", DIRTYPE, 0o2775, 0),
    Member("link", SYMTYPE, 0o777, 5, linkname="../target"),
    Member("fifo", FIFOTYPE, 0o600, 5),
    Member("null", CHRTYPE, 0o666, 5, devmajor=1, devminor=3),
    Member("sda", BLKTYPE, 0o660, 5, devmajor=8, devminor=0),
    Member("x" * 100, REGTYPE, 0o600, 5, 1),
    Member("x" * 101, REGTYPE, 0o600, 5, 1),  # PAX: through tarfile
    Member("café.txt", REGTYPE, 0o644, 5, 2),  # PAX
    Member("l", SYMTYPE, 0o777, 5, linkname="t" * 150),  # PAX
    Member("big", REGTYPE, 0o644, 5, 8 ** 11),  # PAX size
])
def test_headers_are_tarfiles(member: Member) -> None:
    assert member.header() == reference(member)
