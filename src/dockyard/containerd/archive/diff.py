"""Diff a directory against its parent into a layer tar: containerd's ``archive.WriteDiff``.

:func:`write_diff` writes the changes of ``upper_root`` as an OCI layer (PAX tar, optionally
gzip or zstd) to ``out_stream`` and returns its diffID, its digest and both sizes:

- ``overlay_upper=True``: ``upper_root`` is an overlay upper dir (the overlay snapshotter's
  fast path); whiteout devices and opaque xattrs become ``.wh.`` entries; ``lower_root``
  (a view of the parent, optional) only keeps unchanged copied-up directories out;
- otherwise the two trees are compared (native snapshots); ``lower_root=None`` writes the
  whole tree (a base layer, or ``export``).

The bytes depend only on the trees: names in byte order, whiteouts first in each
directory, whole-second mtimes, numeric owners, fixed PAX record order, gzip without name
or time. :mod:`.changes` decides what changed, :mod:`.tarwrite` writes it.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass

from dockyard.containerd.archive.changes import ChangeWalker
from dockyard.containerd.archive.tarwrite import LayerWriter, Writable
from dockyard.errors import InvalidArgument, NotFound


@dataclass(frozen=True)
class DiffResult:
    """A written layer: diffID and size of the tar, digest and size of the blob as written."""

    diff_id: str
    size: int
    digest: str
    compressed_size: int
    compression: str


def write_diff(
    lower_root: str | os.PathLike[str] | None,
    upper_root: str | os.PathLike[str],
    out_stream: Writable,
    *,
    overlay_upper: bool = False,
    compression: str = "none",
    level: int | None = None,
) -> DiffResult:
    """Write the layer that turns ``lower_root`` into ``upper_root`` to ``out_stream``.

    ``compression`` is ``none``, ``gzip`` or ``zstd`` (``level`` defaults to 6 and 3).
    """
    upper = _directory(upper_root, "upper")
    lower = None if lower_root is None else _directory(lower_root, "lower")
    writer = LayerWriter(out_stream, compression, level)
    ChangeWalker(writer, upper, lower, overlay_upper).run()
    writer.close()
    return DiffResult(writer.diff_id, writer.size, writer.digest, writer.compressed_size, writer.compression)


def _directory(root: str | os.PathLike[str], what: str) -> str:
    path = os.path.realpath(os.fspath(root))
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise NotFound(f"diff {what} {os.fspath(root)}: no such directory") from None
    if not stat.S_ISDIR(st.st_mode):
        raise InvalidArgument(f"diff {what} {os.fspath(root)}: not a directory")
    return path
