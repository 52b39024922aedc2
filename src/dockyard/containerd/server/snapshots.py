"""The snapshots service: each request names its snapshotter (``overlayfs``, ``native``);
the namespaced snapshotter of the call's namespace and lease does the work
(:class:`~dockyard.containerd.metadata.NamespacedSnapshotter`). Prepare, commit and
remove publish containerd's snapshot events. ``Cleanup`` finishes what crashed operations
left in the backend and collects garbage (backend snapshots no namespace names)."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
from google.protobuf import empty_pb2
from google.protobuf.message import Message

from dockyard.containerd.api.events import snapshot_pb2 as ev
from dockyard.containerd.api.services.snapshots.v1 import snapshots_pb2 as pb
from dockyard.containerd.api.services.snapshots.v1 import snapshots_pb2_grpc
from dockyard.containerd.metadata import NamespacedSnapshotter
from dockyard.containerd.server import call
from dockyard.containerd.server.backend import Backend
from dockyard.containerd.server.convert import mounts_to_pb, paths, timestamp
from dockyard.containerd.snapshots import KIND_ACTIVE, KIND_COMMITTED, KIND_VIEW, Info
from dockyard.errors import InvalidArgument

KINDS = {KIND_VIEW: pb.VIEW, KIND_ACTIVE: pb.ACTIVE, KIND_COMMITTED: pb.COMMITTED}
LIST_BATCH = 100


def info_to_pb(info: Info) -> pb.Info:
    return pb.Info(name=info.name, parent=info.parent, kind=KINDS.get(info.kind, pb.UNKNOWN),
                   created_at=timestamp(info.created), updated_at=timestamp(info.updated), labels=info.labels)


class SnapshotsService(snapshots_pb2_grpc.SnapshotsServicer):  # type: ignore[misc]
    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def _sn(self, name: str, context: grpc.ServicerContext) -> NamespacedSnapshotter:
        if not name:
            raise InvalidArgument("snapshotter argument missing")
        return self.backend.db.snapshotter(name, call.namespace(context), call.lease(context))

    def _publish(self, sn: NamespacedSnapshotter, topic: str, event: Message) -> None:
        self.backend.exchange.publish(sn.namespace, topic, event)

    def Prepare(self, request: pb.PrepareSnapshotRequest,
                context: grpc.ServicerContext) -> pb.PrepareSnapshotResponse:
        sn = self._sn(request.snapshotter, context)
        mounts = sn.prepare(request.key, request.parent, dict(request.labels))
        self._publish(sn, "/snapshot/prepare",
                      ev.SnapshotPrepare(key=request.key, parent=request.parent, snapshotter=sn.name))
        return pb.PrepareSnapshotResponse(mounts=mounts_to_pb(mounts))

    def View(self, request: pb.ViewSnapshotRequest, context: grpc.ServicerContext) -> pb.ViewSnapshotResponse:
        sn = self._sn(request.snapshotter, context)
        mounts = sn.view(request.key, request.parent, dict(request.labels))
        return pb.ViewSnapshotResponse(mounts=mounts_to_pb(mounts))

    def Mounts(self, request: pb.MountsRequest, context: grpc.ServicerContext) -> pb.MountsResponse:
        mounts = self._sn(request.snapshotter, context).mounts(request.key)
        return pb.MountsResponse(mounts=mounts_to_pb(mounts))

    def Commit(self, request: pb.CommitSnapshotRequest, context: grpc.ServicerContext) -> empty_pb2.Empty:
        sn = self._sn(request.snapshotter, context)
        sn.commit(request.name, request.key, dict(request.labels))
        self._publish(sn, "/snapshot/commit",
                      ev.SnapshotCommit(key=request.key, name=request.name, snapshotter=sn.name))
        return empty_pb2.Empty()

    def Remove(self, request: pb.RemoveSnapshotRequest, context: grpc.ServicerContext) -> empty_pb2.Empty:
        sn = self._sn(request.snapshotter, context)
        sn.remove(request.key)
        self._publish(sn, "/snapshot/remove", ev.SnapshotRemove(key=request.key, snapshotter=sn.name))
        self.backend.gc.schedule()
        return empty_pb2.Empty()

    def Stat(self, request: pb.StatSnapshotRequest, context: grpc.ServicerContext) -> pb.StatSnapshotResponse:
        return pb.StatSnapshotResponse(info=info_to_pb(self._sn(request.snapshotter, context).stat(request.key)))

    def Update(self, request: pb.UpdateSnapshotRequest,
               context: grpc.ServicerContext) -> pb.UpdateSnapshotResponse:
        given = Info(name=request.info.name, kind="", labels=dict(request.info.labels))
        updated = self._sn(request.snapshotter, context).update(given, paths(request))
        return pb.UpdateSnapshotResponse(info=info_to_pb(updated))

    def List(self, request: pb.ListSnapshotsRequest,
             context: grpc.ServicerContext) -> Iterator[pb.ListSnapshotsResponse]:
        batch: list[pb.Info] = []
        for info in self._sn(request.snapshotter, context).walk(*request.filters):
            batch.append(info_to_pb(info))
            if len(batch) >= LIST_BATCH:
                yield pb.ListSnapshotsResponse(info=batch)
                batch = []
        if batch:
            yield pb.ListSnapshotsResponse(info=batch)

    def Usage(self, request: pb.UsageRequest, context: grpc.ServicerContext) -> pb.UsageResponse:
        usage = self._sn(request.snapshotter, context).usage(request.key)
        return pb.UsageResponse(size=usage.size, inodes=usage.inodes)

    def Cleanup(self, request: pb.CleanupRequest, context: grpc.ServicerContext) -> empty_pb2.Empty:
        sn = self._sn(request.snapshotter, context)
        cleanup = getattr(sn.backend, "cleanup", None)
        if callable(cleanup):
            cleanup()
        self.backend.gc.collect_now()
        return empty_pb2.Empty()
