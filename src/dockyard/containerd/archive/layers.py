"""Layer identities: diffIDs and chainIDs (OCI image spec, "Layer DiffID" and "Layer ChainID").

A diffID is the digest of a layer's uncompressed tar. A chainID names a stack of layers:
``ChainID(L0) = DiffID(L0)`` and ``ChainID(L0|...|Ln) = Digest(ChainID(L0|...|Ln-1) + " " +
DiffID(Ln))``, with the digest's algorithm being that of the diffIDs' (sha256 in practice).
Snapshots of unpacked images are named by chainID, so images that share their lower
layers share those snapshots.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from dockyard.containerd.archive.stream import LayerStream, Readable
from dockyard.errors import InvalidArgument
from dockyard.oci.digest import Digester, digest_bytes, parse_digest


def chain_id(diff_ids: Sequence[str]) -> str:
    """The chainID of the layers ``diff_ids`` (bottom first); InvalidArgument when empty."""
    ids = chain_ids(diff_ids)
    if not ids:
        raise InvalidArgument("chain ID of no layers")
    return ids[-1]


def chain_ids(diff_ids: Iterable[str]) -> list[str]:
    """The chainID of every prefix: ``[ChainID(L0), ChainID(L0|L1), ...]``."""
    out: list[str] = []
    for diff_id in diff_ids:
        algorithm, _ = parse_digest(diff_id)
        out.append(diff_id if not out else digest_bytes(f"{out[-1]} {diff_id}".encode(), algorithm))
    return out


def child_chain_id(parent: str, diff_id: str) -> str:
    """The chainID of one more layer ``diff_id`` on top of the stack named ``parent`` ("" for none)."""
    if not parent:
        parse_digest(diff_id)
        return diff_id
    parse_digest(parent)
    return chain_ids([parent, diff_id])[-1]


def diff_id_of(stream: Readable, compression: str = "auto") -> tuple[str, int]:
    """The diffID and uncompressed size of a layer stream, without applying it."""
    layer = LayerStream(stream, compression)
    try:
        while layer.next_piece() is not None:
            pass
    finally:
        layer.close()
    return layer.diff_id(), layer.size


def digest_of(stream: Readable, chunk: int = 1 << 20) -> tuple[str, int]:
    """sha256 digest and size of a stream as it is (a compressed blob's digest)."""
    digester = Digester()
    while True:
        data = stream.read(chunk)
        if not data:
            return digester.digest(), digester.size
        digester.update(data)

