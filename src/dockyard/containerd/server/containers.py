"""The containers service over :class:`~dockyard.containerd.metadata.containers.ContainerStore`:
metadata only (tasks run them), publishing containerd's container events."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import grpc
from google.protobuf import empty_pb2

from dockyard.containerd.api.events import container_pb2 as ev
from dockyard.containerd.api.services.containers.v1 import containers_pb2 as pb
from dockyard.containerd.api.services.containers.v1 import containers_pb2_grpc
from dockyard.containerd.metadata.containers import Container, ContainerStore, Runtime
from dockyard.containerd.server import call
from dockyard.containerd.server.backend import Backend
from dockyard.containerd.server.convert import any_from_pb, any_to_pb, paths, timestamp
from dockyard.errors import FailedPrecondition, InvalidArgument


def container_to_pb(c: Container) -> pb.Container:
    out = pb.Container(id=c.id, labels=c.labels, image=c.image, snapshotter=c.snapshotter,
                       snapshot_key=c.snapshot_key, created_at=timestamp(c.created_at),
                       updated_at=timestamp(c.updated_at))
    out.runtime.name = c.runtime.name
    options = any_to_pb(c.runtime.options)
    if options is not None:
        out.runtime.options.CopyFrom(options)
    spec = any_to_pb(c.spec)
    if spec is not None:
        out.spec.CopyFrom(spec)
    for name, value in c.extensions.items():
        out.extensions[name].CopyFrom(any_to_pb(value))
    return out


def container_from_pb(c: pb.Container) -> Container:
    runtime = Runtime(c.runtime.name, any_from_pb(c.runtime.options, c.runtime.HasField("options")))
    return Container(
        id=c.id, runtime=runtime, spec=any_from_pb(c.spec, c.HasField("spec")), labels=dict(c.labels),
        image=c.image, snapshotter=c.snapshotter, snapshot_key=c.snapshot_key,
        extensions={name: value for name, value in
                    ((k, any_from_pb(v)) for k, v in c.extensions.items()) if value is not None})


class ContainersService(containers_pb2_grpc.ContainersServicer):  # type: ignore[misc]
    def __init__(self, backend: Backend, has_task: Callable[[str, str], bool] = lambda ns, id: False) -> None:
        self.backend = backend
        self.has_task = has_task

    def _store(self, context: grpc.ServicerContext) -> ContainerStore:
        return ContainerStore(self.backend.db, call.namespace(context))

    def Get(self, request: pb.GetContainerRequest, context: grpc.ServicerContext) -> pb.GetContainerResponse:
        return pb.GetContainerResponse(container=container_to_pb(self._store(context).get(request.id)))

    def List(self, request: pb.ListContainersRequest, context: grpc.ServicerContext) -> pb.ListContainersResponse:
        found = self._store(context).list(*request.filters)
        return pb.ListContainersResponse(containers=[container_to_pb(c) for c in found])

    def ListStream(self, request: pb.ListContainersRequest,
                   context: grpc.ServicerContext) -> Iterator[pb.ListContainerMessage]:
        for c in self._store(context).list(*request.filters):
            yield pb.ListContainerMessage(container=container_to_pb(c))

    def Create(self, request: pb.CreateContainerRequest,
               context: grpc.ServicerContext) -> pb.CreateContainerResponse:
        if not request.HasField("container"):
            raise InvalidArgument("container must be set")
        store = self._store(context)
        created = store.create(container_from_pb(request.container))
        event = ev.ContainerCreate(id=created.id, image=created.image)
        event.runtime.name = created.runtime.name
        options = any_to_pb(created.runtime.options)
        if options is not None:
            event.runtime.options.CopyFrom(options)
        self.backend.exchange.publish(store.namespace, "/containers/create", event)
        return pb.CreateContainerResponse(container=container_to_pb(created))

    def Update(self, request: pb.UpdateContainerRequest,
               context: grpc.ServicerContext) -> pb.UpdateContainerResponse:
        if not request.container.id:
            raise InvalidArgument("container.id: required")
        store = self._store(context)
        updated = store.update(container_from_pb(request.container), paths(request))
        self.backend.exchange.publish(store.namespace, "/containers/update", ev.ContainerUpdate(
            id=updated.id, image=updated.image, labels=updated.labels, snapshot_key=updated.snapshot_key))
        return pb.UpdateContainerResponse(container=container_to_pb(updated))

    def Delete(self, request: pb.DeleteContainerRequest, context: grpc.ServicerContext) -> empty_pb2.Empty:
        store = self._store(context)
        if self.has_task(store.namespace, request.id):
            raise FailedPrecondition(f"cannot delete container {request.id}: it has a task (delete the task first)")
        store.delete(request.id)
        self.backend.exchange.publish(store.namespace, "/containers/delete", ev.ContainerDelete(id=request.id))
        self.backend.gc.schedule()
        return empty_pb2.Empty()
