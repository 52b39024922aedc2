"""The leases service over :class:`~dockyard.containerd.metadata.LeaseManager`. Deleting a
lease makes what only it held garbage: collected at once with ``sync``, else soon after."""

from __future__ import annotations

import grpc
from google.protobuf import empty_pb2

from dockyard.containerd.api.services.leases.v1 import leases_pb2 as pb
from dockyard.containerd.api.services.leases.v1 import leases_pb2_grpc
from dockyard.containerd.metadata import Lease, LeaseManager, Resource
from dockyard.containerd.server import call
from dockyard.containerd.server.backend import Backend
from dockyard.containerd.server.convert import timestamp


def lease_to_pb(lease: Lease) -> pb.Lease:
    return pb.Lease(id=lease.id, created_at=timestamp(lease.created_at), labels=lease.labels)


class LeasesService(leases_pb2_grpc.LeasesServicer):  # type: ignore[misc]
    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def _manager(self, context: grpc.ServicerContext) -> LeaseManager:
        return self.backend.db.leases(call.namespace(context))

    def Create(self, request: pb.CreateRequest, context: grpc.ServicerContext) -> pb.CreateResponse:
        lease = self._manager(context).create(request.id, dict(request.labels))
        return pb.CreateResponse(lease=lease_to_pb(lease))

    def Delete(self, request: pb.DeleteRequest, context: grpc.ServicerContext) -> empty_pb2.Empty:
        self._manager(context).delete(request.id)
        if request.sync:
            self.backend.gc.collect_now()
        else:
            self.backend.gc.schedule()
        return empty_pb2.Empty()

    def List(self, request: pb.ListRequest, context: grpc.ServicerContext) -> pb.ListResponse:
        leases = self._manager(context).list(*request.filters)
        return pb.ListResponse(leases=[lease_to_pb(lease) for lease in leases])

    def AddResource(self, request: pb.AddResourceRequest, context: grpc.ServicerContext) -> empty_pb2.Empty:
        self._manager(context).add_resource(request.id, Resource(request.resource.id, request.resource.type))
        return empty_pb2.Empty()

    def DeleteResource(self, request: pb.DeleteResourceRequest, context: grpc.ServicerContext) -> empty_pb2.Empty:
        self._manager(context).delete_resource(request.id, Resource(request.resource.id, request.resource.type))
        self.backend.gc.schedule()
        return empty_pb2.Empty()

    def ListResources(self, request: pb.ListResourcesRequest,
                      context: grpc.ServicerContext) -> pb.ListResourcesResponse:
        resources = self._manager(context).list_resources(request.id)
        return pb.ListResourcesResponse(resources=[pb.Resource(id=r.id, type=r.type) for r in resources])
