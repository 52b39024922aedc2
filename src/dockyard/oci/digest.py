"""Content digests (OCI image spec, "Digests"): ``algorithm:encoded``.

sha256 and sha512 are registered; the encoded part is lowercase hex of the exact length.
:class:`Digester` hashes a stream piece by piece; :func:`verify` compares a finished one.
"""

from __future__ import annotations

import hashlib

from dockyard.errors import InvalidArgument

ALGORITHMS: dict[str, int] = {"sha256": 64, "sha512": 128}  # hex length of each
_HEX = frozenset("0123456789abcdef")


def parse_digest(value: str) -> tuple[str, str]:
    """Split and check ``value``; return (algorithm, encoded). InvalidArgument names the fault."""
    if not isinstance(value, str) or ":" not in value:
        raise InvalidArgument(f"invalid digest {value!r}: expected algorithm:encoded")
    algorithm, encoded = value.split(":", 1)
    length = ALGORITHMS.get(algorithm)
    if length is None:
        raise InvalidArgument(f"invalid digest {value!r}: unsupported algorithm {algorithm!r}")
    if len(encoded) != length or not _HEX.issuperset(encoded):
        raise InvalidArgument(f"invalid digest {value!r}: {algorithm} needs {length} lowercase hex characters")
    return algorithm, encoded


def validate_digest(value: str) -> str:
    """``value`` itself once :func:`parse_digest` accepts it."""
    parse_digest(value)
    return value


class Digester:
    """A running hash: ``update`` with each piece, then ``digest()`` gives ``algorithm:hex``."""

    __slots__ = ("_hash", "algorithm", "size")

    def __init__(self, algorithm: str = "sha256") -> None:
        if algorithm not in ALGORITHMS:
            raise InvalidArgument(f"unsupported digest algorithm {algorithm!r}")
        self.algorithm = algorithm
        self._hash = hashlib.new(algorithm)
        self.size = 0

    def update(self, data: bytes | bytearray | memoryview) -> None:
        self._hash.update(data)
        self.size += len(data)

    def digest(self) -> str:
        return f"{self.algorithm}:{self._hash.hexdigest()}"

    def copy(self) -> Digester:
        clone = Digester.__new__(Digester)
        clone.algorithm = self.algorithm
        clone._hash = self._hash.copy()
        clone.size = self.size
        return clone


def digest_bytes(data: bytes | bytearray | memoryview, algorithm: str = "sha256") -> str:
    """The digest of ``data`` in one call."""
    digester = Digester(algorithm)
    digester.update(data)
    return digester.digest()


def verify(expected: str, actual: str, what: str = "content") -> None:
    """InvalidArgument unless the two digests are equal (``what`` names the object)."""
    if expected != actual:
        raise InvalidArgument(f"digest mismatch for {what}: expected {expected}, got {actual}")
