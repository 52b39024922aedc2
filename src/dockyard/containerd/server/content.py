"""The content service over the namespaced content store
(:class:`~dockyard.containerd.metadata.NamespacedContentStore`).

``Write`` follows containerd's content server message by message, since its clients
(``ctr images pull`` and ``import``, the Go client's ``content.Copy``) depend on it:

- the first message names the ref (and may give ``total`` and ``expected``); the writer is
  opened (or resumed) then, so "already exists" and "ref locked" (Unavailable, which the
  client retries) come back as the stream's status before any answer;
- every message gets one answer with the current offset; STAT answers also carry the
  times, the expected total and the digest so far;
- a message whose ``expected`` digest the namespace has already aborts the ingest:
  AlreadyExists;
- WRITE and COMMIT at ``offset`` > 0 must be at the current offset (else OUT_OF_RANGE);
  at offset 0 over data already written the ingest starts over;
- COMMIT verifies ``total`` and ``expected`` (the latest values given), stores the labels
  and ends the write.

Everything a call writes joins the call's lease (``containerd-lease``).
"""

from __future__ import annotations

from collections.abc import Iterator

import grpc
from google.protobuf import empty_pb2

from dockyard.containerd.api.events import content_pb2 as ev
from dockyard.containerd.api.services.content.v1 import content_pb2 as pb
from dockyard.containerd.api.services.content.v1 import content_pb2_grpc
from dockyard.containerd.content import Info, Status
from dockyard.containerd.metadata import NamespacedContentStore, NamespacedWriter
from dockyard.containerd.server import call
from dockyard.containerd.server.backend import Backend
from dockyard.containerd.server.convert import paths, timestamp
from dockyard.errors import InvalidArgument, NotFound

READ_CHUNK = 1 << 20
LIST_BATCH = 100


def info_to_pb(info: Info) -> pb.Info:
    return pb.Info(digest=info.digest, size=info.size, created_at=timestamp(info.created_at),
                   updated_at=timestamp(info.updated_at), labels=info.labels)


def status_to_pb(status: Status) -> pb.Status:
    return pb.Status(started_at=timestamp(status.started_at), updated_at=timestamp(status.updated_at),
                     ref=status.ref, offset=status.offset, total=status.total, expected=status.expected)


class ContentService(content_pb2_grpc.ContentServicer):  # type: ignore[misc]
    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def _store(self, context: grpc.ServicerContext) -> NamespacedContentStore:
        return self.backend.db.content(call.namespace(context), call.lease(context))

    def Info(self, request: pb.InfoRequest, context: grpc.ServicerContext) -> pb.InfoResponse:
        return pb.InfoResponse(info=info_to_pb(self._store(context).info(request.digest)))

    def Update(self, request: pb.UpdateRequest, context: grpc.ServicerContext) -> pb.UpdateResponse:
        given = Info(request.info.digest, request.info.size, labels=dict(request.info.labels))
        return pb.UpdateResponse(info=info_to_pb(self._store(context).update(given, paths(request))))

    def List(self, request: pb.ListContentRequest, context: grpc.ServicerContext) -> Iterator[pb.ListContentResponse]:
        batch: list[pb.Info] = []
        for info in self._store(context).walk(*request.filters):
            batch.append(info_to_pb(info))
            if len(batch) >= LIST_BATCH:
                yield pb.ListContentResponse(info=batch)
                batch = []
        if batch:
            yield pb.ListContentResponse(info=batch)

    def Delete(self, request: pb.DeleteContentRequest, context: grpc.ServicerContext) -> empty_pb2.Empty:
        store = self._store(context)
        store.delete(request.digest)
        self.backend.exchange.publish(store.namespace, "/content/delete", ev.ContentDelete(digest=request.digest))
        self.backend.gc.schedule()
        return empty_pb2.Empty()

    def Read(self, request: pb.ReadContentRequest, context: grpc.ServicerContext) -> Iterator[pb.ReadContentResponse]:
        with self._store(context).reader(request.digest) as reader:
            offset = max(request.offset, 0)
            if offset > reader.size:
                context.abort(grpc.StatusCode.OUT_OF_RANGE, f"read past object length {reader.size} bytes")
            size = request.size
            if size <= 0 or offset + size > reader.size:
                size = reader.size - offset
            end = offset + size
            while offset < end:
                data = reader.read_at(min(READ_CHUNK, end - offset), offset)
                if not data:
                    break
                yield pb.ReadContentResponse(offset=offset, data=data)
                offset += len(data)

    def Status(self, request: pb.StatusRequest, context: grpc.ServicerContext) -> pb.StatusResponse:
        return pb.StatusResponse(status=status_to_pb(self._store(context).status(request.ref)))

    def ListStatuses(self, request: pb.ListStatusesRequest,
                     context: grpc.ServicerContext) -> pb.ListStatusesResponse:
        statuses = self._store(context).list_statuses(*request.filters)
        return pb.ListStatusesResponse(statuses=[status_to_pb(s) for s in statuses])

    def Abort(self, request: pb.AbortRequest, context: grpc.ServicerContext) -> empty_pb2.Empty:
        self._store(context).abort(request.ref)
        return empty_pb2.Empty()

    def Write(self, request_iterator: Iterator[pb.WriteContentRequest],
              context: grpc.ServicerContext) -> Iterator[pb.WriteContentResponse]:
        first = next(request_iterator, None)
        if first is None:
            return
        if not first.ref:
            raise InvalidArgument("first message must have a reference")
        store = self._store(context)
        writer = store.writer(first.ref, first.expected or None, first.total or None)
        try:
            yield from _WriteSession(store, writer, first.total, first.expected).run(first, request_iterator, context)
        finally:
            writer.close()


class _WriteSession:
    """One Write stream over an open writer."""

    def __init__(self, store: NamespacedContentStore, writer: NamespacedWriter, total: int, expected: str) -> None:
        self.store = store
        self.writer = writer
        self.total = total
        self.expected = expected

    def run(self, request: pb.WriteContentRequest, requests: Iterator[pb.WriteContentRequest],
            context: grpc.ServicerContext) -> Iterator[pb.WriteContentResponse]:
        current: pb.WriteContentRequest | None = request
        while current is not None:
            yield self.handle(current, context)
            if current.action == pb.COMMIT:
                return
            current = next(requests, None)

    def _exists(self, digest: str) -> bool:
        try:
            self.store.info(digest)
        except NotFound:
            return False
        return True

    def handle(self, req: pb.WriteContentRequest, context: grpc.ServicerContext) -> pb.WriteContentResponse:
        writer = self.writer
        status = writer.status()
        msg = pb.WriteContentResponse(action=req.action, offset=status.offset)
        if req.expected:
            self.expected = req.expected
            if self._exists(req.expected):
                writer.close()
                try:
                    self.store.abort(writer.ref)
                except NotFound:
                    pass
                context.abort(grpc.StatusCode.ALREADY_EXISTS, f"blob with expected digest {req.expected} exists")
        if req.total > 0:
            self.total = req.total
        if req.action == pb.STAT:
            msg.digest = writer.digest()
            msg.started_at.CopyFrom(timestamp(status.started_at))
            msg.updated_at.CopyFrom(timestamp(status.updated_at))
            msg.total = self.total or status.total  # the ingest remembers it across streams
            return msg
        if req.action not in (pb.WRITE, pb.COMMIT):
            raise InvalidArgument(f"ref {writer.ref}: unknown write action {req.action}")
        if req.offset > 0 and req.offset != status.offset:
            context.abort(grpc.StatusCode.OUT_OF_RANGE,
                          f"write @{req.offset} must occur at current offset {status.offset}")
        if req.offset == 0 and status.offset > 0:
            writer.truncate(0)
            msg.offset = 0
        if req.data:
            written = writer.write(req.data)
            if written != len(req.data):
                context.abort(grpc.StatusCode.DATA_LOSS, f"wrote {written} of {len(req.data)} bytes")
            msg.offset += written
        if req.action == pb.COMMIT:
            writer.commit(self.total, self.expected or None, dict(req.labels))
        msg.digest = writer.digest()
        return msg
