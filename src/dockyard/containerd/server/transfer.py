"""dockyard's transfer service (``dockyard.services.transfer.v1.Transfer``, see
``protos/dockyard/transfer/v1/transfer.proto``): the daemon pulls and pushes images itself
and streams the progress, so an engine does not carry layers through gRPC (the content
service's Write still serves clients such as ``ctr`` that fetch for themselves).

- ``Pull`` runs :meth:`dockyard.containerd.image_service.ImageService.pull` (under a lease,
  unpacking while downloading) and publishes ``/images/create`` or ``/images/update``;
- ``Push`` runs :func:`dockyard.containerd.registry.push.push` over the namespace's content.

Each call runs its transfer in a worker thread; the registry code's progress callbacks put
messages on a queue that the call's response iterator drains. When the call ends early (the
client cancels, or the daemon stops) the worker is told through ``cancelled``: a pull stops
before writing any manifest, records nothing, deletes its lease and collects what it stored.
Credentials come with the request only; the daemon reads no docker config of its own.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterator

import grpc

from dockyard.containerd.api.dockyard.transfer.v1 import transfer_pb2 as pb
from dockyard.containerd.api.dockyard.transfer.v1 import transfer_pb2_grpc
from dockyard.containerd.api.events import image_pb2 as ev
from dockyard.containerd.api.types import descriptor_pb2
from dockyard.containerd.image_service import ImageService, PulledImage
from dockyard.containerd.registry import progress as phases
from dockyard.containerd.registry.client import RegistryClient
from dockyard.containerd.registry.credentials import Credentials
from dockyard.containerd.registry.fetch import Cancelled
from dockyard.containerd.registry.progress import Progress as BlobEvent
from dockyard.containerd.registry.push import PushResult, push
from dockyard.containerd.server import call
from dockyard.containerd.server.backend import Backend
from dockyard.containerd.server.convert import descriptor_to_pb
from dockyard.errors import InvalidArgument
from dockyard.oci import mediatypes
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.image import ImageIndex, parse_manifest_document, select_manifest
from dockyard.oci.platform import Platform, parse_platform
from dockyard.oci.reference import Reference, parse_reference

log = logging.getLogger("dockyard.containerd.transfer")

# the registry code's phases (docker's words) as the actions of the proto
ACTIONS = {
    phases.WAITING: "waiting",
    phases.DOWNLOADING: "downloading",
    phases.VERIFYING: "verifying",
    phases.DOWNLOAD_COMPLETE: "downloaded",
    phases.ALREADY_EXISTS: "exists",
    phases.EXTRACTING: "unpacking",
    phases.PULL_COMPLETE: "done",
    phases.PREPARING: "preparing",
    phases.PUSHING: "pushing",
    phases.PUSHED: "pushed",
    phases.LAYER_EXISTS: "exists",
}

Emit = Callable[[pb.Progress], None]
Work = Callable[[Emit, Callable[[], bool]], None]  # work(emit, cancelled)


def register(server: grpc.Server, backend: Backend) -> None:
    """Serve the transfer service on ``server``."""
    transfer_pb2_grpc.add_TransferServicer_to_server(TransferService(backend), server)  # type: ignore[no-untyped-call]


def blob_message(event: BlobEvent) -> pb.Progress:
    """A registry progress event as a ``Blob`` message."""
    mounted_from = ""
    if event.phase.startswith(phases.MOUNTED_FROM):
        action, mounted_from = "mounted", event.phase[len(phases.MOUNTED_FROM):].strip()
    else:
        action = ACTIONS.get(event.phase, event.phase.lower())
    desc = descriptor_pb2.Descriptor(media_type=event.media_type, digest=event.digest, size=event.total)
    return pb.Progress(blob=pb.Blob(id=event.id, desc=desc, action=action, offset=event.current, total=event.total,
                                    status=event.phase, mounted_from=mounted_from))


def _descriptor(desc: Descriptor) -> descriptor_pb2.Descriptor:
    return descriptor_pb2.Descriptor(media_type=desc.media_type, digest=desc.digest, size=desc.size,
                                     annotations=dict(desc.annotations))


def _stage(action: str, reference: Reference) -> pb.Progress:
    return pb.Progress(stage=pb.Stage(action=action, reference=str(reference), repository=reference.path,
                                      tag=reference.tag))


def _reference(text: str, what: str) -> Reference:
    if not text:
        raise InvalidArgument(f"{what}: required")
    return parse_reference(text)


def _platform(text: str) -> Platform | None:
    return parse_platform(text) if text else None


def _credentials(auth: pb.RegistryAuth) -> Credentials | None:
    credentials = Credentials(auth.username, auth.password, auth.identity_token, auth.registry_token)
    return credentials if credentials != Credentials() else None


def pulled_message(result: PulledImage, snapshotter: str) -> pb.Progress:
    pulled = result.pulled
    previous = result.previous.target.digest if result.previous is not None else ""
    image = result.image
    return pb.Progress(pulled=pb.Pulled(
        name=image.name, target=descriptor_to_pb(image.target), manifest=_descriptor(pulled.manifest),
        config=_descriptor(pulled.config),
        platform=str(pulled.platform) if pulled.platform is not None else "", previous_digest=previous,
        created=result.previous is None, snapshotter=snapshotter if result.chain_ids else "",
        chain_ids=result.chain_ids, labels=image.labels))


def pushed_message(result: PushResult, target: Descriptor) -> pb.Progress:
    return pb.Progress(pushed=pb.Pushed(reference=str(result.reference), target=_descriptor(target),
                                        pushed=result.pushed, mounted=result.mounted, existing=result.existing,
                                        skipped=result.skipped))


def stream(context: grpc.ServicerContext, first: pb.Progress, work: Work, name: str) -> Iterator[pb.Progress]:
    """Yield ``first``, then what ``work(emit, cancelled)`` emits from a worker thread, then
    raise its error. ``cancelled()`` turns True once the call has ended (the client went
    away or the server stops)."""
    ended = threading.Event()
    if not context.add_callback(ended.set):
        ended.set()  # the call is over already
    events: queue.Queue[pb.Progress | None] = queue.Queue()  # None: the worker is done
    failure: list[BaseException] = []

    def run() -> None:
        try:
            work(events.put, ended.is_set)
        except BaseException as exc:  # handed to the call's thread
            failure.append(exc)
        finally:
            events.put(None)

    yield first
    worker = threading.Thread(target=run, name=name, daemon=True)
    worker.start()
    try:
        while (item := events.get()) is not None:
            yield item
    except GeneratorExit:
        ended.set()  # the server dropped the stream: the worker stops and cleans up on its own
        raise
    worker.join()
    if failure:
        exc = failure[0]
        if isinstance(exc, Cancelled) and not context.is_active():
            log.debug("%s: stopped, the call ended: %s", name, exc)
            return
        raise exc


class TransferService(transfer_pb2_grpc.TransferServicer):
    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.images = ImageService(backend.db, backend.default_snapshotter, collect=backend.gc.collect_now)

    def _client(self, reference: Reference, plain_http: bool, auth: pb.RegistryAuth) -> RegistryClient:
        return RegistryClient(reference.registry_host, insecure=plain_http, credentials=_credentials(auth))

    def Pull(self, request: pb.PullRequest, context: grpc.ServicerContext) -> Iterator[pb.Progress]:
        namespace = call.namespace(context)
        reference = _reference(request.reference, "reference")
        platform = _platform(request.platform)
        snapshotter = request.snapshotter or self.backend.default_snapshotter
        if request.unpack:
            self.backend.db.snapshotter(snapshotter, namespace)  # NotFound for an unknown one
        labels = dict(request.labels) or None

        def work(emit: Emit, cancelled: Callable[[], bool]) -> None:
            with self._client(reference, request.plain_http, request.auth) as client:
                result = self.images.pull(
                    namespace, reference, platform=platform, snapshotter=snapshotter, unpack=request.unpack,
                    progress=lambda event: emit(blob_message(event)), client=client, labels=labels,
                    cancelled=cancelled)
            image = result.image
            if result.previous is None:
                self.backend.exchange.publish(namespace, "/images/create",
                                              ev.ImageCreate(name=image.name, labels=image.labels))
            else:
                self.backend.exchange.publish(namespace, "/images/update",
                                              ev.ImageUpdate(name=image.name, labels=image.labels))
            emit(pulled_message(result, snapshotter))

        yield from stream(context, _stage("resolving", reference), work, f"pull {reference}")

    def Push(self, request: pb.PushRequest, context: grpc.ServicerContext) -> Iterator[pb.Progress]:
        namespace = call.namespace(context)
        if not request.name:
            raise InvalidArgument("name: required")
        reference = _reference(request.reference or request.name, "reference")
        platform = _platform(request.platform)
        image = self.backend.db.images(namespace).get(request.name)  # NotFound
        content = self.backend.db.content(namespace)
        target = Descriptor(image.target.media_type, image.target.digest, image.target.size)
        if platform is not None and mediatypes.is_index(target.media_type):
            document = parse_manifest_document(content.read_all(target.digest), target.media_type)
            if isinstance(document, ImageIndex):
                target = select_manifest(document, platform)  # NotFound names the platforms there

        def work(emit: Emit, cancelled: Callable[[], bool]) -> None:
            with self._client(reference, request.plain_http, request.auth) as client:
                result = push(reference, content, target, progress=lambda event: emit(blob_message(event)),
                              client=client, cancelled=cancelled)
            emit(pushed_message(result, target))

        yield from stream(context, _stage("pushing", reference), work, f"push {reference}")
