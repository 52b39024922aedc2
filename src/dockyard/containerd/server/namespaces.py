"""The namespaces service over :class:`~dockyard.containerd.metadata.NamespaceStore`.

As in containerd, ``Get`` of a namespace that does not exist answers it with no labels
(clients read the labels of their namespace before anything exists in it), and ``Delete``
refuses a namespace that still holds images, blobs, snapshots or containers. Namespace
events go out in the caller's namespace, as containerd publishes them.
"""

from __future__ import annotations

import grpc
from google.protobuf import empty_pb2

from dockyard.containerd.api.events import namespace_pb2 as ev
from dockyard.containerd.api.services.namespaces.v1 import namespace_pb2 as pb
from dockyard.containerd.api.services.namespaces.v1 import namespace_pb2_grpc
from dockyard.containerd.metadata.validation import validate_identifier
from dockyard.containerd.server import call
from dockyard.containerd.server.backend import Backend
from dockyard.containerd.server.convert import paths
from dockyard.errors import InvalidArgument, NotFound


class NamespacesService(namespace_pb2_grpc.NamespacesServicer):  # type: ignore[misc]
    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.store = backend.db.namespaces()

    def _labels(self, name: str) -> dict[str, str]:
        try:
            return self.store.labels(name)
        except NotFound:
            return {}

    def Get(self, request: pb.GetNamespaceRequest, context: grpc.ServicerContext) -> pb.GetNamespaceResponse:
        validate_identifier(request.name, "namespace")
        return pb.GetNamespaceResponse(namespace=pb.Namespace(name=request.name, labels=self._labels(request.name)))

    def List(self, request: pb.ListNamespacesRequest, context: grpc.ServicerContext) -> pb.ListNamespacesResponse:
        out = pb.ListNamespacesResponse()
        for name in self.store.list():
            out.namespaces.add(name=name, labels=self._labels(name))
        return out

    def Create(self, request: pb.CreateNamespaceRequest,
               context: grpc.ServicerContext) -> pb.CreateNamespaceResponse:
        created = self.store.create(request.namespace.name, dict(request.namespace.labels))
        self.backend.exchange.publish(call.namespace(context), "/namespaces/create",
                                      ev.NamespaceCreate(name=created.name, labels=created.labels))
        return pb.CreateNamespaceResponse(namespace=pb.Namespace(name=created.name, labels=created.labels))

    def Update(self, request: pb.UpdateNamespaceRequest,
               context: grpc.ServicerContext) -> pb.UpdateNamespaceResponse:
        name = request.namespace.name
        given = dict(request.namespace.labels)
        mask = paths(request)
        with self.backend.db.write():  # one transaction: all labels change or none
            current = self.store.get(name)  # NotFound before any change
            if mask:
                for path in mask:
                    if not path.startswith("labels."):
                        raise InvalidArgument(f"cannot update {path!r} field")
                for path in mask:
                    key = path[len("labels."):]
                    self.store.set_label(name, key, given.get(key, ""))
            else:
                for key in current.labels:
                    if key not in given:
                        self.store.set_label(name, key, "")
                for key, value in given.items():
                    self.store.set_label(name, key, value)
            labels = self.store.labels(name)
        self.backend.exchange.publish(call.namespace(context), "/namespaces/update",
                                      ev.NamespaceUpdate(name=name, labels=labels))
        return pb.UpdateNamespaceResponse(namespace=pb.Namespace(name=name, labels=labels))

    def Delete(self, request: pb.DeleteNamespaceRequest, context: grpc.ServicerContext) -> empty_pb2.Empty:
        name = request.name
        self.store.delete(name)
        self.backend.exchange.publish(call.namespace(context), "/namespaces/delete", ev.NamespaceDelete(name=name))
        self.backend.gc.schedule()
        return empty_pb2.Empty()
