"""Unpack a layer into a snapshot, and export a mounted snapshot as a tar.

:func:`apply_to_snapshot` is one step of containerd's unpacker: prepare an active snapshot
on ``parent``, apply the layer into it, commit it under the layer stack's chainID (so
images sharing lower layers share their snapshots). Where the layer goes, as containerd's
``apply`` for Linux:

- one read-write ``bind`` mount (a first layer, or the native backend): straight into its
  source directory;
- one ``overlay`` mount with an ``upperdir``: straight into the upper dir, whiteouts
  written the overlay way, implicit parent directories copying their attributes from the
  lower dirs (needs root outside a user namespace, for the whiteout devices and
  ``trusted.overlay.opaque``);
- anything else: mounted on a temporary directory (:func:`dockyard.containerd.mount.mounted`)
  and applied there.

On any failure the half-applied snapshot is removed and the error re-raised. When the
chainID is known beforehand (``expected_diff_id``) and that snapshot exists, nothing is
read; when another unpacker commits the same chainID first, ours is dropped.

:func:`export_tree` writes a whole tree (a mounted snapshot) as a flat tar, for ``export``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass

from dockyard.containerd.archive import fsops
from dockyard.containerd.archive.apply import ApplyResult, apply_layer
from dockyard.containerd.archive.diff import DiffResult, write_diff
from dockyard.containerd.archive.layers import child_chain_id
from dockyard.containerd.archive.stream import Readable
from dockyard.containerd.archive.tarwrite import Writable
from dockyard.containerd.snapshots import LABEL_SNAPSHOT_REF, Mount, Snapshotter
from dockyard.errors import AlreadyExists, InvalidArgument, NotFound
from dockyard.oci.digest import parse_digest

log = logging.getLogger("dockyard.containerd.unpack")


@dataclass(frozen=True)
class UnpackResult:
    """The committed snapshot ``name`` holding the layer, and what was read."""

    name: str
    diff_id: str
    size: int  # uncompressed bytes read (0 when nothing was read)
    applied: bool  # False when the snapshot existed already


def apply_to_snapshot(
    snapshotter: Snapshotter,
    key: str,
    parent: str,
    stream: Readable,
    *,
    compression: str = "auto",
    expected_diff_id: str | None = None,
    name: str | None = None,
    labels: dict[str, str] | None = None,
) -> UnpackResult:
    """Apply the layer in ``stream`` on top of committed snapshot ``parent`` ("" for none).

    The snapshot is committed as ``name``, by default the chainID of ``parent`` (itself a
    chainID) and the layer's diffID. ``expected_diff_id`` is checked after the apply
    (InvalidArgument on a mismatch). ``labels`` go to prepare and commit.
    """
    if name is None and expected_diff_id is not None:
        name = child_chain_id(parent, expected_diff_id)
    if name is None and parent:
        try:
            parse_digest(parent)
        except InvalidArgument:
            raise InvalidArgument(f"parent snapshot {parent!r} is not a chain ID: pass a name") from None
    # As containerd's unpacker: prepare names the snapshot it will commit. A namespaced
    # snapshotter that has it already refuses with AlreadyExists and adds it to the caller's
    # lease in the same transaction, so a chain found here cannot be collected before the
    # caller's image references it (a separate stat then prepare would leave that window).
    prepare_labels = {**(labels or {}), LABEL_SNAPSHOT_REF: name} if name is not None else labels
    try:
        mounts = snapshotter.prepare(key, parent, prepare_labels)
    except AlreadyExists:
        if name is not None and expected_diff_id is not None and _exists(snapshotter, name):
            return UnpackResult(name, expected_diff_id, 0, applied=False)
        raise
    if name is not None and expected_diff_id is not None and _exists(snapshotter, name):
        _discard(snapshotter, key)  # a backend that does not know the label: nothing to read either
        return UnpackResult(name, expected_diff_id, 0, applied=False)
    try:
        result = apply_to_mounts(mounts, stream, compression)
        if expected_diff_id is not None and result.diff_id != expected_diff_id:
            raise InvalidArgument(
                f"layer diffID mismatch: expected {expected_diff_id}, got {result.diff_id}"
            )
        final = name if name is not None else child_chain_id(parent, result.diff_id)
        try:
            snapshotter.commit(final, key, labels)
        except AlreadyExists:
            _discard(snapshotter, key)
            return UnpackResult(final, result.diff_id, result.size, applied=False)
    except BaseException:
        _discard(snapshotter, key)
        raise
    return UnpackResult(final, result.diff_id, result.size, applied=True)


def _exists(snapshotter: Snapshotter, name: str) -> bool:
    try:
        snapshotter.stat(name)
    except NotFound:
        return False
    return True


def _discard(snapshotter: Snapshotter, key: str) -> None:
    try:
        snapshotter.remove(key)
    except NotFound:
        pass
    except Exception as exc:  # keep the original error; say what is left behind
        log.warning("could not remove snapshot %r after a failed unpack: %s", key, exc)


def _writes_overlay_whiteouts() -> bool:
    return os.geteuid() == 0 and not fsops.in_user_namespace()


def apply_to_mounts(mounts: Sequence[Mount], stream: Readable, compression: str = "auto") -> ApplyResult:
    """Extract the layer in ``stream`` onto ``mounts`` as containerd's applier does: one
    writable bind is written into its source, one overlay into its upper directory with
    overlay whiteouts (as root, outside a user namespace); anything else is mounted first."""
    from dockyard.containerd import mount  # the mount helper pulls in the runtime's syscalls

    if len(mounts) == 1:
        m = mounts[0]
        if m.type == "bind" and "ro" not in m.options:
            return apply_layer(stream, m.source, compression=compression)
        if m.type == "overlay" and _writes_overlay_whiteouts():
            plan = mount.plan_overlay(m)
            if plan.upper and os.path.isabs(plan.upper) and all(os.path.isabs(p) for p in plan.lowers):
                return apply_layer(
                    stream, plan.upper, compression=compression, overlay_whiteouts=True, parents=plan.lowers
                )
    with mount.mounted(mounts) as root:
        return apply_layer(stream, root, compression=compression)


def export_tree(root: str | os.PathLike[str], out_stream: Writable, *, compression: str = "none") -> DiffResult:
    """A flat tar of everything under ``root`` (a mounted snapshot), for ``export``."""
    return write_diff(None, root, out_stream, compression=compression)
