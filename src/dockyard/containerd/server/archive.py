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
    """A write-only file whose bytes go to ``chunks`` in pieces of :data:`CHUNK` bytes;
    a write after ``cancelled()`` turned True raises Unavailable (the reader left)."""

    def __init__(self, chunks: queue.Queue[bytes | None], cancelled: Callable[[], bool]) -> None:
        self._chunks = chunks
        self._cancelled = cancelled
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

    def _put(self, data: bytes) -> None:
        while True:
            if self._cancelled():
                raise Unavailable("save: the reader went away")
            try:
                self._chunks.put(data, timeout=0.2)
                return
            except queue.Full:
                continue


def unpack_image(db: DB, namespace: str, lease: str, snapshotter: str, target: Descriptor) -> list[str]:
    """Unpack the image of ``target`` (an index: this host's manifest) into ``snapshotter``
    under ``lease``, as a pull does: snapshots named by chainID, the config labelled with
    the top one (``containerd.io/gc.ref.snapshot.<snapshotter>``). The chainIDs, bottom first."""
    content = db.content(namespace, lease)
    source = resolve_image(cast(Store, content), target)
    snapshots = db.snapshotter(snapshotter, namespace, lease=lease)
    chain: list[str] = []
    parent = ""
    for layer, diff_id in zip(source.manifest.layers, source.config.diff_ids, strict=True):
        name = child_chain_id(parent, diff_id)
        key = f"extract-{time.time_ns()}-{secrets.token_hex(4)} {name}"
        with content.reader(layer.digest) as reader:
            result = apply_to_snapshot(snapshots, key, parent, reader, compression="auto",
                                       expected_diff_id=diff_id, name=name)
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

    def _unpack(self, namespace: str, lease: str, snapshotter: str, target: Descriptor) -> None:
        if not snapshotter:
            return
        self.backend.db.snapshotter(snapshotter, namespace)  # NotFound for an unknown one
        try:
            unpack_image(self.backend.db, namespace, lease, snapshotter, target)
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
        ended = threading.Event()
        if not context.add_callback(ended.set):
            ended.set()
        chunks: queue.Queue[bytes | None] = queue.Queue(QUEUE_CHUNKS)
        failure: list[BaseException] = []
        tmpdir = self._tmpdir()

        def run() -> None:
            out = _QueueWriter(chunks, ended.is_set)
            try:
                docker_archive.save(images, content, out, platform=platform, tmpdir=tmpdir)  # type: ignore[arg-type]
                out.flush()
            except BaseException as exc:
                failure.append(exc)
            finally:
                while not ended.is_set():
                    try:
                        chunks.put(None, timeout=0.2)
                        break
                    except queue.Full:
                        continue

        worker = threading.Thread(target=run, name="save", daemon=True)
        worker.start()
        try:
            while True:
                try:
                    data = chunks.get(timeout=0.2)
                except queue.Empty:
                    if ended.is_set():
                        return  # the call is over: the worker stops at its next write
                    continue
                if data is None:
                    break
                yield pb.Chunk(data=data)
        except GeneratorExit:
            ended.set()
            raise
        worker.join()
        if failure:
            raise failure[0]

    def Load(self, request_iterator: Iterator[pb.LoadRequest], context: grpc.ServicerContext) -> pb.LoadResponse:
        namespace = call.namespace(context)
        lease = call.lease(context)
        first = next(request_iterator, None)
        if first is None:
            raise InvalidArgument("load: no archive was sent")
        reader = io.BufferedReader(MessageReader(first, request_iterator), CHUNK)
        content = self.backend.db.content(namespace, lease)
        loaded = docker_archive.load(reader, content, base_name=first.base_name)  # type: ignore[arg-type]
        done: set[str] = set()
        for item in loaded:
            if item.target.digest not in done:
                done.add(item.target.digest)
                self._unpack(namespace, lease, first.snapshotter, item.target)
        return pb.LoadResponse(images=[
            pb.LoadedImage(name=item.name, target=_descriptor_pb(item.target), config_digest=item.config_digest,
                           diff_ids=item.diff_ids) for item in loaded])

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
