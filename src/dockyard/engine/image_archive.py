"""``docker save``, ``docker load`` and ``docker import`` through dockyard-containerd's
archive service (``dockyard.services.archive.v1``).

The content store lives in dockyard-containerd, so the daemon does the work next to it
(a daemon-side call, not blob by blob through the content service's Write): the engine
streams the archive's bytes in 1 MiB messages both ways and never holds an archive, or a
layer, whole. Load and import run under a lease the engine creates (expiring after
:data:`LEASE_SECONDS` should the engine die); the engine names what they return (through
:meth:`~.images_service.ImageService.set_name`, or a dangling record for an untagged
image), then deletes the lease, so nothing is collected in between and a failure leaves
nothing behind. Both unpack into the overlayfs snapshotter, as a pull does.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

import grpc

from dockyard.containerd.api.dockyard.archive.v1 import archive_pb2 as apb
from dockyard.containerd.api.services.leases.v1 import leases_pb2
from dockyard.containerd.server.call import LEASE_HEADER
from dockyard.engine import image_progress as msg
from dockyard.engine.image_catalog import Catalog, DockerImage
from dockyard.engine.image_refs import is_full_id, record_reference, short_id
from dockyard.engine.images_service import ImageService, descriptor
from dockyard.engine.supervisor import SNAPSHOTTER, rpc_error
from dockyard.errors import DockyardError, Internal, InvalidArgument
from dockyard.oci import mediatypes
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.reference import parse_reference

LEASE_SECONDS = 3600.0
LABEL_EXPIRE = "containerd.io/gc.expire"

Messages = AsyncIterator[dict[str, Any]]
Body = AsyncIterator[bytes]


def _expiry(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + seconds))


def save_targets(catalog: Catalog, names: Sequence[str]) -> list[tuple[str, Any, DockerImage]]:
    """(tag to write or "", target, image) for each name of ``docker save``: a repository
    without tag means all its tags; an ID saves the image untagged."""
    out: list[tuple[str, Any, DockerImage]] = []
    for name in names:
        ref = None
        if not is_full_id(name):
            try:
                ref = parse_reference(name, default_tag=False)
            except DockyardError:
                ref = None
        if ref is not None and ref.is_name_only():
            tagged = [(str(tag), record.target, image) for image in catalog.images
                      for record, tag in image.tag_records if tag.name == ref.name]
            if tagged:
                out += sorted(tagged, key=lambda item: item[0])
                continue
        image, records = catalog.lookup(name)
        if records is None:
            out.append(("", image.target, image))
            continue
        for record in records:
            named = record_reference(record.name)
            out.append((record.name if named is not None and named.tag else "", record.target, image))
    return out


class Archives:
    def __init__(self, images: ImageService) -> None:
        self.images = images
        self.supervisor = images.supervisor
        self.hub = images.ctx.events

    @property
    def stub(self) -> Any:
        return self.supervisor.archive

    # -- leases --------------------------------------------------------------------------------

    async def _lease(self, what: str) -> str:
        lease_id = f"dockyard-{what}-{os.urandom(6).hex()}"
        request = leases_pb2.CreateRequest(id=lease_id, labels={LABEL_EXPIRE: _expiry(LEASE_SECONDS)})
        await self.supervisor.unary(self.supervisor.leases.Create, request)
        return lease_id

    async def _release(self, lease_id: str) -> None:
        try:
            await self.supervisor.unary(self.supervisor.leases.Delete, leases_pb2.DeleteRequest(id=lease_id))
        except DockyardError:
            pass  # it expires on its own

    async def _events(self, method: Any, requests: AsyncIterator[Any], lease_id: str) -> AsyncIterator[Any]:
        """The messages of a bidirectional call; leaving the loop early cancels it."""
        call = method(requests, metadata=(*self.supervisor.metadata, (LEASE_HEADER, lease_id)))
        try:
            async for message in call:
                yield message
        except grpc.RpcError as exc:
            raise rpc_error(exc) from None
        finally:
            call.cancel()

    async def _call(self, method: Any, requests: AsyncIterator[Any], lease_id: str) -> Any:
        try:
            return await method(requests, metadata=(*self.supervisor.metadata, (LEASE_HEADER, lease_id)))
        except grpc.RpcError as exc:
            raise rpc_error(exc) from None

    # -- save ------------------------------------------------------------------------------------

    async def save(self, names: Sequence[str]) -> AsyncIterator[bytes]:
        """The archive's bytes; the names are checked before the first chunk (NotFound)."""
        if not names:
            raise InvalidArgument("no image names given")
        targets = save_targets(await self.images.catalog(), names)
        request = apb.SaveRequest(images=[apb.SaveImage(name=name, target=await self._manifest_of(target, image))
                                          for name, target, image in targets])
        async for chunk in self.supervisor.stream(self.stub.Save, request):
            yield chunk.data
        for image_id in dict.fromkeys(image.id for _, _, image in targets):
            self.hub.publish("image", "save", image_id, {"name": image_id})

    async def _manifest_of(self, target: Any, image: DockerImage) -> Any:
        """The image's own manifest for an index target (the platform the engine shows,
        perhaps not this host's), else the target."""
        if not mediatypes.is_index(target.media_type) or image.manifest is None:
            return descriptor(target)
        data = await self.images.resolver.blob(image.manifest_digest)
        return descriptor(Descriptor(image.manifest.content_type, image.manifest_digest, len(data)))

    # -- load ------------------------------------------------------------------------------------

    async def load(self, body: Body, *, quiet: bool = False) -> Messages:
        """Load a ``docker save`` archive or an OCI layout: unless ``quiet``, a ``Loading
        layer`` bar per new layer as it is unpacked (dockerd's progress); then ``Loaded
        image: ...`` lines."""
        async def requests() -> AsyncIterator[apb.LoadRequest]:
            yield apb.LoadRequest(snapshotter=SNAPSHOTTER)
            async for data in body:
                yield apb.LoadRequest(data=data)

        lease_id = await self._lease("load")
        try:
            reply = None
            async for event in self._events(self.stub.Load, requests(), lease_id):
                if event.WhichOneof("event") == "done":
                    reply = event.done
                elif not quiet:
                    layer = event.layer
                    yield msg.progress("Loading layer", short_id(layer.diff_id), layer.current, layer.total)
            if reply is None:
                raise Internal("load: dockyard-containerd ended the call without its result")
            named: set[str] = set()
            for item in reply.images:
                if item.name:
                    ref = parse_reference(item.name)
                    moved = await self.images.set_name(item.name, item.target)
                    if moved and moved != item.config_digest:
                        yield msg.stream(f"The image {ref.familiar()} already exists, renaming the old one with ID "
                                         f"{moved} to empty string\n")
                    named.add(item.config_digest)
                    yield msg.stream(f"Loaded image: {ref.familiar()}\n")
            for item in reply.images:
                if not item.name and item.config_digest not in named:
                    await self.images.keep_unnamed(item.target)
                    named.add(item.config_digest)
                    yield msg.stream(f"Loaded image ID: {item.config_digest}\n")
            for image_id in dict.fromkeys(item.config_digest for item in reply.images):
                self.hub.publish("image", "load", image_id, {"name": image_id})
        finally:
            await self._release(lease_id)

    # -- import ----------------------------------------------------------------------------------

    async def import_image(self, body: Body, *, source: str, name: str, config_json: str, message: str,
                           platform: str) -> Messages:
        """A root filesystem tar as a one-layer image named ``name`` ("" for none); its ID."""
        async def requests() -> AsyncIterator[apb.ImportRequest]:
            yield apb.ImportRequest(config_json=config_json, platform=platform, message=message, source=source,
                                    snapshotter=SNAPSHOTTER)
            async for data in body:
                yield apb.ImportRequest(data=data)

        lease_id = await self._lease("import")
        try:
            reply = await self._call(self.stub.Import, requests(), lease_id)
            if name:
                await self.images.set_name(name, reply.target)
            else:
                await self.images.keep_unnamed(reply.target)
        finally:
            await self._release(lease_id)
        self.hub.publish("image", "import", reply.config_digest, {"name": reply.config_digest})
        yield msg.status(reply.config_digest)
