"""The engine's client of ``dockyard-containerd``: one gRPC channel, the generated stubs,
and the namespace every call works in.

All of the engine's objects live in the containerd namespace ``dockyard`` (dockerd uses
``moby``; ours is named after us so that ``ctr -n dockyard ...`` shows what the engine
made, and a containerd shared with dockerd keeps the two apart).

    sv = Supervisor("/run/dockyard/containerd/containerd.sock")
    images = await sv.unary(sv.images.List, images_pb2.ListImagesRequest())
    async for envelope in sv.stream(sv.events.Subscribe, events_pb2.SubscribeRequest()): ...

:meth:`unary` and :meth:`stream` add the namespace header and turn a failed call into the
:mod:`dockyard.errors` class of its gRPC code (NOT_FOUND -> NotFound -> HTTP 404...), so a
handler just lets it propagate. The few helpers below are the calls several modules need.
Blocking code (``transfer_client`` pulls run in a thread) takes :meth:`blocking_channel`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import grpc
from google.protobuf import empty_pb2

from dockyard.containerd.api.dockyard.archive.v1 import archive_pb2_grpc
from dockyard.containerd.api.dockyard.transfer.v1 import transfer_pb2_grpc
from dockyard.containerd.api.services.containers.v1 import containers_pb2, containers_pb2_grpc
from dockyard.containerd.api.services.content.v1 import content_pb2, content_pb2_grpc
from dockyard.containerd.api.services.events.v1 import events_pb2, events_pb2_grpc
from dockyard.containerd.api.services.images.v1 import images_pb2, images_pb2_grpc
from dockyard.containerd.api.services.leases.v1 import leases_pb2_grpc
from dockyard.containerd.api.services.namespaces.v1 import namespace_pb2_grpc
from dockyard.containerd.api.services.snapshots.v1 import snapshots_pb2, snapshots_pb2_grpc
from dockyard.containerd.api.services.tasks.v1 import tasks_pb2, tasks_pb2_grpc
from dockyard.containerd.api.services.version.v1 import version_pb2_grpc
from dockyard.containerd.server.call import NAMESPACE_HEADER
from dockyard.containerd.server.errors import from_code
from dockyard.errors import DockyardError, Unavailable

NAMESPACE = "dockyard"
SNAPSHOTTER = "overlayfs"
MAX_MESSAGE = 16 << 20
DOCUMENT_CACHE_ENTRIES = 2048
DOCUMENT_CACHE_MAX_BYTES = 256 << 10
_OPTIONS = [("grpc.max_receive_message_length", MAX_MESSAGE), ("grpc.max_send_message_length", MAX_MESSAGE)]


def rpc_error(exc: grpc.RpcError) -> DockyardError:
    """The dockyard error of a failed call (UNAVAILABLE says which daemon is down)."""
    code, details = exc.code(), exc.details() or str(exc)
    if code == grpc.StatusCode.UNAVAILABLE:
        return Unavailable(f"dockyard-containerd: {details}")
    return from_code(code, details)


class Supervisor:
    """A channel to ``address`` and a stub per service, calls in ``namespace``."""

    def __init__(self, address: str, namespace: str = NAMESPACE) -> None:
        self.address = address
        self.namespace = namespace
        self.metadata = ((NAMESPACE_HEADER, namespace),)
        self.channel = grpc.aio.insecure_channel(f"unix://{address}", options=_OPTIONS)
        self._blocking: grpc.Channel | None = None
        self._documents: dict[str, bytes] = {}  # see read_document
        ch = self.channel
        self.containers = containers_pb2_grpc.ContainersStub(ch)
        self.content = content_pb2_grpc.ContentStub(ch)
        self.events = events_pb2_grpc.EventsStub(ch)
        self.images = images_pb2_grpc.ImagesStub(ch)
        self.leases = leases_pb2_grpc.LeasesStub(ch)
        self.namespaces = namespace_pb2_grpc.NamespacesStub(ch)
        self.snapshots = snapshots_pb2_grpc.SnapshotsStub(ch)
        self.tasks = tasks_pb2_grpc.TasksStub(ch)
        self.version_service = version_pb2_grpc.VersionStub(ch)
        # dockyard's own services: pull/push, save/load/import inside the daemon
        self.transfer = transfer_pb2_grpc.TransferStub(ch)  # type: ignore[no-untyped-call]
        self.archive = archive_pb2_grpc.ArchiveStub(ch)  # type: ignore[no-untyped-call]

    # -- the two ways to call --------------------------------------------------------------
    async def unary(self, method: Callable[..., Awaitable[Any]], request: Any, timeout: float | None = None) -> Any:
        """A unary call in our namespace; errors as dockyard errors."""
        try:
            return await method(request, metadata=self.metadata, timeout=timeout)
        except grpc.RpcError as exc:
            raise rpc_error(exc) from None

    async def stream(self, method: Callable[..., Any], request: Any,
                     timeout: float | None = None) -> AsyncIterator[Any]:
        """The messages of a server stream; leaving the loop early cancels the call."""
        call = method(request, metadata=self.metadata, timeout=timeout)
        try:
            async for message in call:
                yield message
        except grpc.RpcError as exc:
            raise rpc_error(exc) from None
        finally:
            call.cancel()

    # -- lifecycle ---------------------------------------------------------------------------
    async def wait_ready(self, timeout: float) -> None:
        """Until the daemon answers a Version call (Unavailable after ``timeout`` seconds)."""
        try:
            await self.version_service.Version(empty_pb2.Empty(), timeout=timeout, wait_for_ready=True)
        except grpc.RpcError as exc:
            raise Unavailable(f"dockyard-containerd at {self.address} did not answer: {exc.details()}") from None

    def blocking_channel(self) -> grpc.Channel:
        """A synchronous channel to the same daemon (for code that runs in a thread)."""
        if self._blocking is None:
            self._blocking = grpc.insecure_channel(f"unix://{self.address}", options=_OPTIONS)
        return self._blocking

    async def close(self) -> None:
        await self.channel.close(grace=None)
        if self._blocking is not None:
            self._blocking.close()
            self._blocking = None

    # -- helpers -----------------------------------------------------------------------------
    async def version(self) -> tuple[str, str]:
        """The daemon's (version, revision)."""
        reply = await self.unary(self.version_service.Version, empty_pb2.Empty())
        return str(reply.version), str(reply.revision)

    async def list_images(self, filters: Sequence[str] = ()) -> list[Any]:
        reply = await self.unary(self.images.List, images_pb2.ListImagesRequest(filters=list(filters)))
        return list(reply.images)

    async def get_image(self, name: str) -> Any:
        reply = await self.unary(self.images.Get, images_pb2.GetImageRequest(name=name))
        return reply.image

    async def read_blob(self, digest: str) -> bytes:
        """A whole blob of the content store (manifests, configs: small documents)."""
        parts = [m.data async for m in self.stream(self.content.Read, content_pb2.ReadContentRequest(digest=digest))]
        return b"".join(parts)

    async def read_document(self, digest: str) -> bytes:
        """:meth:`read_blob` for the documents an image record leads to (manifests, configs),
        kept in a small cache: content is addressed by its digest, so what was read is what
        a read would give again (the caller knows the image still names it)."""
        data = self._documents.get(digest)
        if data is None:
            data = await self.read_blob(digest)
            if len(data) <= DOCUMENT_CACHE_MAX_BYTES:
                self._documents[digest] = data
                while len(self._documents) > DOCUMENT_CACHE_ENTRIES:
                    del self._documents[next(iter(self._documents))]
        return data

    async def content_info(self, digest: str) -> Any:
        reply = await self.unary(self.content.Info, content_pb2.InfoRequest(digest=digest))
        return reply.info

    async def snapshot_usage(self, key: str, snapshotter: str = SNAPSHOTTER) -> tuple[int, int]:
        """(bytes, inodes) a snapshot uses on disk."""
        reply = await self.unary(self.snapshots.Usage, snapshots_pb2.UsageRequest(snapshotter=snapshotter, key=key))
        return int(reply.size), int(reply.inodes)

    async def list_containers(self, filters: Sequence[str] = ()) -> list[Any]:
        reply = await self.unary(self.containers.List, containers_pb2.ListContainersRequest(filters=list(filters)))
        return list(reply.containers)

    async def get_container(self, container_id: str) -> Any:
        reply = await self.unary(self.containers.Get, containers_pb2.GetContainerRequest(id=container_id))
        return reply.container

    async def list_tasks(self) -> list[Any]:
        reply = await self.unary(self.tasks.List, tasks_pb2.ListTasksRequest())
        return list(reply.tasks)

    async def get_task(self, container_id: str) -> Any:
        reply = await self.unary(self.tasks.Get, tasks_pb2.GetRequest(container_id=container_id))
        return reply.process

    async def subscribe(self, filters: Sequence[str] = (),
                        ready: asyncio.Event | None = None) -> AsyncIterator[Any]:
        """containerd's events (``Envelope``s) of our namespace from now on; ``ready`` is set
        once the daemon has the subscription (nothing published afterwards is missed)."""
        selectors = [f"namespace=={self.namespace}" + (f",{f}" if f else "") for f in (filters or [""])]
        call = self.events.Subscribe(events_pb2.SubscribeRequest(filters=selectors), metadata=self.metadata)
        try:
            await call.initial_metadata()
            if ready is not None:
                ready.set()
            async for envelope in call:
                yield envelope
        except grpc.RpcError as exc:
            raise rpc_error(exc) from None
        finally:
            call.cancel()
