"""dockyard's archive service (``dockyard.services.archive.v1.Archive``, see
``protos/dockyard/archive/v1/archive.proto``): ``docker save``, ``docker load`` and
``docker import`` next to the content store, so an engine streams an archive's bytes once
instead of carrying every blob through the content service.

- ``Save`` runs :func:`dockyard.containerd.formats.docker_archive.save` in a worker thread
  writing into a bounded queue that the response stream drains (1 MiB chunks; the archive
  is never whole in memory). Compressed layers are decompressed into ``<root>/tmp``.
- ``Load`` and ``Import`` read the request stream as a file
  (:class:`MessageReader`), write under the call's lease and record no image: the caller
  names the images it gets back, then deletes its lease. With a ``snapshotter`` the images
  are unpacked as a pull unpacks them (:func:`unpack_image`), so containers can use them.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import queue
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, cast

import grpc

from dockyard.containerd.api.dockyard.archive.v1 import archive_pb2 as pb
from dockyard.containerd.api.dockyard.archive.v1 import archive_pb2_grpc
from dockyard.containerd.archive.layers import child_chain_id
from dockyard.containerd.formats import docker_archive
from dockyard.containerd.formats.import_export import import_rootfs
from dockyard.containerd.formats.source import as_descriptor, resolve_image
from dockyard.containerd.formats.staging import Store
from dockyard.containerd.image_service import LABEL_GC_SNAPSHOT
from dockyard.containerd.metadata import DB
from dockyard.containerd.server import call
from dockyard.containerd.server.backend import Backend
from dockyard.containerd.server.convert import descriptor_from_pb
from dockyard.containerd.unpack import apply_to_snapshot
from dockyard.errors import DockyardError, InvalidArgument, Unavailable
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.platform import parse_platform

log = logging.getLogger("dockyard.containerd.archive")

CHUNK = 1 << 20
QUEUE_CHUNKS = 8  # a save runs at most this far ahead of its reader


def register(server: grpc.Server, backend: Backend) -> None:
    """Serve the archive service on ``server``."""
    archive_pb2_grpc.add_ArchiveServicer_to_server(ArchiveService(backend), server)  # type: ignore[no-untyped-call]


def _descriptor_pb(desc: Descriptor) -> Any:
    from dockyard.containerd.api.types import descriptor_pb2

    return descriptor_pb2.Descriptor(media_type=desc.media_type, digest=desc.digest, size=desc.size,
                                     annotations=dict(desc.annotations))


class MessageReader(io.RawIOBase):
    """The ``data`` of a request stream's messages as one byte stream (``first`` included)."""

    def __init__(self, first: Any, rest: Iterator[Any]) -> None:
        super().__init__()
        self._pending = memoryview(first.data) if first is not None else memoryview(b"")
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        while not self._pending:
            message = next(self._rest, None)
            if message is None:
                return 0
            self._pending = memoryview(message.data)
        size = min(len(view), len(self._pending))
        view[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


class _QueueWriter:
    """A write-only file whose bytes go to ``put`` in pieces of :data:`CHUNK` bytes."""

    def __init__(self, put: Callable[[bytes], None]) -> None:
        self._put = put
        self._buffer = bytearray()

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self._buffer += data
        while len(self._buffer) >= CHUNK:
            self._put(bytes(self._buffer[:CHUNK]))
            del self._buffer[:CHUNK]
        return len(data)

    def flush(self) -> None:
        if self._buffer:
            self._put(bytes(self._buffer))
            self._buffer.clear()


_END = object()


def pumped(work: Callable[[Callable[[Any], None]], None], context: grpc.ServicerContext, what: str) -> Iterator[Any]:
    """Run ``work(put)`` in a thread and yield what it puts, in order, at most
    :data:`QUEUE_CHUNKS` ahead of the reader; its exception is raised at the end. Once the
    call is over (the reader left), ``put`` raises Unavailable, so the work stops."""
    ended = threading.Event()
    if not context.add_callback(ended.set):
        ended.set()
    items: queue.Queue[Any] = queue.Queue(QUEUE_CHUNKS)
    failure: list[BaseException] = []

    def put(item: Any) -> None:
        while True:
            if ended.is_set():
                raise Unavailable(f"{what}: the reader went away")
            try:
                items.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def run() -> None:
        try:
            work(put)
        except BaseException as exc:
            failure.append(exc)
        finally:
            with contextlib.suppress(Unavailable):
                put(_END)

    worker = threading.Thread(target=run, name=what, daemon=True)
    worker.start()
    try:
        while True:
            try:
                item = items.get(timeout=0.2)
            except queue.Empty:
                if ended.is_set():
                    return  # the call is over: the worker stops at its next put
                continue
            if item is _END:
                break
            yield item
    except GeneratorExit:
        ended.set()
        raise
    worker.join()
    if failure:
        raise failure[0]


LayerProgress = Callable[[str, int, int], None]  # (diff ID, bytes read, blob size)
PROGRESS_STEP = 256 << 10  # report a layer's reading every this many bytes


class _CountingReader:
    """``reader`` that reports how far it got to ``report`` (every :data:`PROGRESS_STEP`)."""

    def __init__(self, reader: Any, report: Callable[[int], None]) -> None:
        self._reader = reader
        self._report = report
        self.count = 0
        self._reported = 0

    def read(self, size: int = -1, /) -> bytes:
        data = bytes(self._reader.read(size))
        self.count += len(data)
        if self.count - self._reported >= PROGRESS_STEP:
            self._reported = self.count
            self._report(self.count)
        return data


def unpack_image(db: DB, namespace: str, lease: str, snapshotter: str, target: Descriptor,
                 progress: LayerProgress | None = None) -> list[str]:
    """Unpack the image of ``target`` (an index: this host's manifest) into ``snapshotter``
    under ``lease``, as a pull does: snapshots named by chainID, the config labelled with
    the top one (``containerd.io/gc.ref.snapshot.<snapshotter>``). The chainIDs, bottom first.
    ``progress`` hears how far each layer that is really unpacked got (not those present)."""
    content = db.content(namespace, lease)
    source = resolve_image(cast(Store, content), target)
    snapshots = db.snapshotter(snapshotter, namespace, lease=lease)
    chain: list[str] = []
    parent = ""
    for layer, diff_id in zip(source.manifest.layers, source.config.diff_ids, strict=True):
        name = child_chain_id(parent, diff_id)
        key = f"extract-{time.time_ns()}-{secrets.token_hex(4)} {name}"
        reported = [-1]

        def report(count: int, diff_id: str = diff_id, total: int = layer.size, reported: list[int] = reported) -> None:
            if progress is not None and count != reported[0]:
                reported[0] = count
                progress(diff_id, count, total)

        with content.reader(layer.digest) as reader:
            result = apply_to_snapshot(snapshots, key, parent, _CountingReader(reader, report),
                                       compression="auto", expected_diff_id=diff_id, name=name)
        if result.applied:
            report(layer.size)
        parent = result.name
        chain.append(parent)
    if chain:
        config = source.manifest.config.digest
        info = content.info(config)
        info.labels[LABEL_GC_SNAPSHOT + snapshotter] = chain[-1]
        content.update(info, [f"labels.{LABEL_GC_SNAPSHOT}{snapshotter}"])
    return chain


class ArchiveService(archive_pb2_grpc.ArchiveServicer):
    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def _tmpdir(self) -> str:
        path = os.path.join(self.backend.root, "tmp")
        os.makedirs(path, mode=0o700, exist_ok=True)
        return path

    def _unpack(self, namespace: str, lease: str, snapshotter: str, target: Descriptor,
                progress: LayerProgress | None = None) -> None:
        if not snapshotter:
            return
        self.backend.db.snapshotter(snapshotter, namespace)  # NotFound for an unknown one
        try:
            unpack_image(self.backend.db, namespace, lease, snapshotter, target, progress)
        except Unavailable:
            raise  # the reader went away
        except DockyardError as exc:
            # an index without this host's platform, a layer the archive left out: the image
            # is loaded, it only cannot run here (as with docker)
            log.warning("%s: not unpacked: %s", target.digest, exc)

    def Save(self, request: pb.SaveRequest, context: grpc.ServicerContext) -> Iterator[pb.Chunk]:
        namespace = call.namespace(context)
        content = self.backend.db.content(namespace)
        images = [(image.name, descriptor_from_pb(image.target)) for image in request.images]
        if not images:
            raise InvalidArgument("images: at least one is required")
        platform = parse_platform(request.platform) if request.platform else None
        tmpdir = self._tmpdir()

        def work(put: Callable[[bytes], None]) -> None:
            out = _QueueWriter(put)
            docker_archive.save(images, content, out, platform=platform, tmpdir=tmpdir)  # type: ignore[arg-type]
            out.flush()

        for data in pumped(work, context, "save"):
            yield pb.Chunk(data=data)

    def Load(self, request_iterator: Iterator[pb.LoadRequest], context: grpc.ServicerContext) -> Iterator[pb.LoadEvent]:
        namespace = call.namespace(context)
        lease = call.lease(context)
        first = next(request_iterator, None)
        if first is None:
            raise InvalidArgument("load: no archive was sent")
        reader = io.BufferedReader(MessageReader(first, request_iterator), CHUNK)
        content = self.backend.db.content(namespace, lease)
        loaded = docker_archive.load(reader, content, base_name=first.base_name)  # type: ignore[arg-type]

        def work(put: Callable[[Any], None]) -> None:
            def progress(diff_id: str, current: int, total: int) -> None:
                put(pb.LoadEvent(layer=pb.LayerProgress(diff_id=diff_id, current=current, total=total)))

            done: set[str] = set()
            for item in loaded:
                if item.target.digest not in done:
                    done.add(item.target.digest)
                    self._unpack(namespace, lease, first.snapshotter, item.target, progress)

        yield from pumped(work, context, "load")
        yield pb.LoadEvent(done=pb.LoadResponse(images=[
            pb.LoadedImage(name=item.name, target=_descriptor_pb(item.target), config_digest=item.config_digest,
                           diff_ids=item.diff_ids) for item in loaded]))

    def Import(self, request_iterator: Iterator[pb.ImportRequest],
               context: grpc.ServicerContext) -> pb.ImportResponse:
        namespace = call.namespace(context)
        lease = call.lease(context)
        first = next(request_iterator, None)
        if first is None:
            raise InvalidArgument("import: no root filesystem was sent")
        overrides = None
        if first.config_json:
            try:
                overrides = json.loads(first.config_json)
            except ValueError as exc:
                raise InvalidArgument(f"import: config_json: {exc}") from None
        reader = io.BufferedReader(MessageReader(first, request_iterator), CHUNK)
        content = self.backend.db.content(namespace, lease)
        target = import_rootfs(reader, content, config_overrides=overrides,  # type: ignore[arg-type]
                               platform=first.platform or None, source=first.source or "-", message=first.message)
        source = resolve_image(cast(Store, content), as_descriptor(target))
        self._unpack(namespace, lease, first.snapshotter, target)
        return pb.ImportResponse(target=_descriptor_pb(target), config_digest=source.manifest.config.digest,
                                 diff_id=source.config.diff_ids[0])
