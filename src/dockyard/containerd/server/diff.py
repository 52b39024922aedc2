"""The diff service (containerd's ``walking`` differ, with the overlay shortcuts).

``Apply`` reads a layer blob of the call's namespace and extracts it onto the mounts a
snapshotter returned (that is how ``ctr images import``/``pull`` unpack): straight into a
writable bind mount's directory, straight into an overlay's upper directory (whiteouts the
overlay way, as root outside a user namespace), else onto the mounts mounted on a
temporary directory. It answers the uncompressed layer (its diffID).

``Diff`` writes the changes from ``left`` to ``right`` as a layer blob into the content
store (under the call's lease) and answers its descriptor. When ``right`` is an overlay
whose lower layers are ``left``, only its upper directory is read; otherwise both sides
are mounted read-only and compared.
"""

from __future__ import annotations

import io
import os
import secrets
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager

import grpc

from dockyard.containerd import mount
from dockyard.containerd.api.services.diff.v1 import diff_pb2 as pb
from dockyard.containerd.api.services.diff.v1 import diff_pb2_grpc
from dockyard.containerd.api.types import descriptor_pb2
from dockyard.containerd.archive.diff import write_diff
from dockyard.containerd.content import Info
from dockyard.containerd.server import call
from dockyard.containerd.server.backend import Backend
from dockyard.containerd.server.convert import mounts_from_pb
from dockyard.containerd.snapshots import Mount
from dockyard.containerd.unpack import apply_to_mounts
from dockyard.errors import AlreadyExists, NotImplementedYet
from dockyard.oci import mediatypes

LABEL_UNCOMPRESSED = "containerd.io/uncompressed"


def _compression(media_type: str) -> str:
    if not mediatypes.is_layer(media_type):
        raise NotImplementedYet(f"unsupported diff media type: {media_type}")
    return mediatypes.layer_compression(media_type) or "none"


def readonly(mounts: Sequence[Mount]) -> list[Mount]:
    """The mounts made read-only (containerd's ``readonlyMounts``): an overlay's upper
    directory becomes its top lower layer."""
    out = []
    for m in mounts:
        if m.type == "overlay":
            plan = mount.plan_overlay(m)
            options = [o for o in m.options
                       if not o.startswith(("upperdir=", "workdir=", "lowerdir=")) and o != "rw"]
            lowers = ([plan.upper] if plan.upper else []) + plan.lowers
            out.append(Mount("overlay", m.source, [*options, "lowerdir=" + ":".join(lowers)]))
        else:
            out.append(Mount(m.type, m.source, [o for o in m.options if o != "rw"] + ["ro"]))
    return out


@contextmanager
def _tree(mounts: Sequence[Mount]) -> Iterator[str | None]:
    """A directory holding the mounts' tree, read-only (None for no mounts)."""
    if not mounts:
        yield None
        return
    if len(mounts) == 1 and mounts[0].type == "bind" and os.path.isdir(mounts[0].source):
        yield mounts[0].source
        return
    with mount.mounted(readonly(mounts)) as root:
        yield root


def _layers(mounts: Sequence[Mount]) -> list[str] | None:
    """The layer directories of a mount list that is one bind or one lower-only overlay."""
    if len(mounts) != 1:
        return None
    m = mounts[0]
    if m.type == "bind":
        return [m.source]
    if m.type == "overlay":
        plan = mount.plan_overlay(m)
        return None if plan.upper else plan.lowers
    return None


def _overlay_upper(left: Sequence[Mount], right: Sequence[Mount]) -> str:
    """The upper directory of ``right`` when ``right`` is ``left`` plus one overlay layer."""
    if len(right) != 1 or right[0].type != "overlay":
        return ""
    plan = mount.plan_overlay(right[0])
    if not plan.upper:
        return ""
    below = _layers(left) if left else []
    return plan.upper if below == plan.lowers else ""


class DiffService(diff_pb2_grpc.DiffServicer):  # type: ignore[misc]
    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def Apply(self, request: pb.ApplyRequest, context: grpc.ServicerContext) -> pb.ApplyResponse:
        compression = _compression(request.diff.media_type)
        content = self.backend.db.content(call.namespace(context), call.lease(context))
        mounts = mounts_from_pb(request.mounts)
        with content.reader(request.diff.digest) as raw:
            result = apply_to_mounts(mounts, io.BufferedReader(raw, 1 << 20), compression)
        applied = descriptor_pb2.Descriptor(media_type=mediatypes.OCI_LAYER, digest=result.diff_id, size=result.size)
        return pb.ApplyResponse(applied=applied)

    def Diff(self, request: pb.DiffRequest, context: grpc.ServicerContext) -> pb.DiffResponse:
        media_type = request.media_type or mediatypes.OCI_LAYER_GZIP
        compression = _compression(media_type)
        left, right = mounts_from_pb(request.left), mounts_from_pb(request.right)
        content = self.backend.db.content(call.namespace(context), call.lease(context))
        ref = request.ref or f"diff-{secrets.token_hex(8)}"
        writer = content.writer(ref)
        try:
            writer.truncate(0)
            upper = _overlay_upper(left, right)
            with ExitStack() as stack:
                lower_root = stack.enter_context(_tree(left))
                upper_root = upper or stack.enter_context(_tree(right))
                if upper_root is None:
                    raise NotImplementedYet("diff: right mounts must not be empty")
                result = write_diff(lower_root, upper_root, writer, overlay_upper=bool(upper),
                                    compression=compression)
            labels = {**request.labels, LABEL_UNCOMPRESSED: result.diff_id}
            try:
                writer.commit(result.compressed_size, result.digest, labels)
            except AlreadyExists:
                content.update(Info(result.digest, result.compressed_size, labels=labels),
                               [f"labels.{key}" for key in labels])
        except BaseException:
            writer.close()
            try:
                content.abort(ref)
            except Exception:  # the original error matters more
                pass
            raise
        diff = descriptor_pb2.Descriptor(media_type=media_type, digest=result.digest, size=result.compressed_size)
        return pb.DiffResponse(diff=diff)
