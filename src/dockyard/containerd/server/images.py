"""The images service over :class:`~dockyard.containerd.metadata.ImageStore`, publishing
containerd's image events. ``Delete`` with ``sync`` collects garbage before answering
(what no other image, lease or container references is gone when the call returns);
without it, soon after."""

from __future__ import annotations

import grpc
from google.protobuf import empty_pb2

from dockyard.containerd.api.events import image_pb2 as ev
from dockyard.containerd.api.services.images.v1 import images_pb2 as pb
from dockyard.containerd.api.services.images.v1 import images_pb2_grpc
from dockyard.containerd.metadata import Image, ImageStore
from dockyard.containerd.server import call
from dockyard.containerd.server.backend import Backend
from dockyard.containerd.server.convert import descriptor_from_pb, descriptor_to_pb, paths, timestamp
from dockyard.errors import InvalidArgument


def image_to_pb(image: Image) -> pb.Image:
    return pb.Image(name=image.name, labels=image.labels, target=descriptor_to_pb(image.target),
                    created_at=timestamp(image.created_at), updated_at=timestamp(image.updated_at))


def image_from_pb(image: pb.Image) -> Image:
    return Image(image.name, descriptor_from_pb(image.target), dict(image.labels))


class ImagesService(images_pb2_grpc.ImagesServicer):  # type: ignore[misc]
    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def _store(self, context: grpc.ServicerContext) -> ImageStore:
        return self.backend.db.images(call.namespace(context), call.lease(context))

    def Get(self, request: pb.GetImageRequest, context: grpc.ServicerContext) -> pb.GetImageResponse:
        return pb.GetImageResponse(image=image_to_pb(self._store(context).get(request.name)))

    def List(self, request: pb.ListImagesRequest, context: grpc.ServicerContext) -> pb.ListImagesResponse:
        images = self._store(context).list(*request.filters)
        return pb.ListImagesResponse(images=[image_to_pb(image) for image in images])

    def Create(self, request: pb.CreateImageRequest, context: grpc.ServicerContext) -> pb.CreateImageResponse:
        if not request.image.name:
            raise InvalidArgument("image.name: required")
        store = self._store(context)
        created = store.create(image_from_pb(request.image))
        self.backend.exchange.publish(store.namespace, "/images/create",
                                      ev.ImageCreate(name=created.name, labels=created.labels))
        return pb.CreateImageResponse(image=image_to_pb(created))

    def Update(self, request: pb.UpdateImageRequest, context: grpc.ServicerContext) -> pb.UpdateImageResponse:
        if not request.image.name:
            raise InvalidArgument("image.name: required")
        store = self._store(context)
        updated = store.update(image_from_pb(request.image), paths(request))
        self.backend.exchange.publish(store.namespace, "/images/update",
                                      ev.ImageUpdate(name=updated.name, labels=updated.labels))
        return pb.UpdateImageResponse(image=image_to_pb(updated))

    def Delete(self, request: pb.DeleteImageRequest, context: grpc.ServicerContext) -> empty_pb2.Empty:
        store = self._store(context)
        store.delete(request.name)
        self.backend.exchange.publish(store.namespace, "/images/delete", ev.ImageDelete(name=request.name))
        if request.sync:
            self.backend.gc.collect_now()
        else:
            self.backend.gc.schedule()
        return empty_pb2.Empty()
