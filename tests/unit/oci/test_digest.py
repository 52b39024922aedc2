"""Digest parsing, streaming and verification."""

import hashlib

import pytest

from dockyard.errors import InvalidArgument
from dockyard.oci.digest import Digester, digest_bytes, parse_digest, verify


def test_parse_sha256_and_sha512() -> None:
    h256 = hashlib.sha256(b"x").hexdigest()
    h512 = hashlib.sha512(b"x").hexdigest()
    assert parse_digest(f"sha256:{h256}") == ("sha256", h256)
    assert parse_digest(f"sha512:{h512}") == ("sha512", h512)


@pytest.mark.parametrize(
    "bad",
    ["", "sha256", "sha256:", "md5:" + "0" * 32, "sha256:" + "0" * 63, "sha256:" + "A" * 64, "sha512:" + "0" * 64],
)
def test_parse_rejects(bad: str) -> None:
    with pytest.raises(InvalidArgument, match="invalid digest"):
        parse_digest(bad)


def test_streaming_equals_one_shot() -> None:
    d = Digester("sha512")
    for piece in (b"ab", b"", b"cd"):
        d.update(piece)
    assert d.digest() == digest_bytes(b"abcd", "sha512")
    assert d.size == 4
    snapshot = d.copy()
    d.update(b"e")
    assert snapshot.digest() == digest_bytes(b"abcd", "sha512")


def test_verify_names_the_object() -> None:
    verify(digest_bytes(b"a"), digest_bytes(b"a"))
    with pytest.raises(InvalidArgument, match="digest mismatch for blob"):
        verify(digest_bytes(b"a"), digest_bytes(b"b"), "blob")
