"""The daemon: the stores under ``--root``, every service on one gRPC server with a thread
pool, on a unix socket only root may use (mode 0600).

Layout under the root, after containerd's plugin directories::

    io.containerd.content.v1.content/          blobs and ingests
    io.containerd.snapshotter.v1.overlayfs/    the overlay snapshotter (the default)
    io.containerd.snapshotter.v1.native/       the copying snapshotter
    io.containerd.metadata.v1.bolt/meta.db     the metadata (SQLite, not bolt)
    io.containerd.grpc.v1.introspection/uuid   the daemon's UUID
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc

from dockyard.containerd.api.services.containers.v1 import containers_pb2_grpc
from dockyard.containerd.api.services.content.v1 import content_pb2_grpc
from dockyard.containerd.api.services.diff.v1 import diff_pb2_grpc
from dockyard.containerd.api.services.events.v1 import events_pb2_grpc
from dockyard.containerd.api.services.images.v1 import images_pb2_grpc
from dockyard.containerd.api.services.introspection.v1 import introspection_pb2_grpc
from dockyard.containerd.api.services.leases.v1 import leases_pb2_grpc
from dockyard.containerd.api.services.namespaces.v1 import namespace_pb2_grpc
from dockyard.containerd.api.services.snapshots.v1 import snapshots_pb2_grpc
from dockyard.containerd.api.services.tasks.v1 import tasks_pb2_grpc
from dockyard.containerd.api.services.version.v1 import version_pb2_grpc
from dockyard.containerd.content import ContentStore
from dockyard.containerd.metadata import DB
from dockyard.containerd.server.archive import register as register_archive
from dockyard.containerd.server.backend import Backend
from dockyard.containerd.server.call import ErrorInterceptor
from dockyard.containerd.server.config import Config
from dockyard.containerd.server.containers import ContainersService
from dockyard.containerd.server.content import ContentService
from dockyard.containerd.server.diff import DiffService
from dockyard.containerd.server.events import EventsService
from dockyard.containerd.server.exchange import Exchange
from dockyard.containerd.server.gcsched import GCScheduler
from dockyard.containerd.server.images import ImagesService
from dockyard.containerd.server.introspection import IntrospectionService, server_uuid
from dockyard.containerd.server.leases import LeasesService
from dockyard.containerd.server.namespaces import NamespacesService
from dockyard.containerd.server.snapshots import SnapshotsService
from dockyard.containerd.server.sockets import AddressLock, claim
from dockyard.containerd.server.supervisor import Supervisor
from dockyard.containerd.server.tasks import TasksService
from dockyard.containerd.server.transfer import register as register_transfer
from dockyard.containerd.server.version import VersionService
from dockyard.containerd.snapshots import Snapshotter
from dockyard.containerd.snapshots.native import NativeSnapshotter
from dockyard.containerd.snapshots.overlay import OverlaySnapshotter
from dockyard.errors import Unavailable

log = logging.getLogger("dockyard.containerd")

MAX_MESSAGE = 16 << 20  # containerd's clients send and accept up to 16 MiB
WORKERS = 32  # concurrent calls (a Write or Subscribe stream holds one for its life)


def open_backend(root: Path, state: Path) -> Backend:
    """The stores under ``root`` (created as needed)."""
    for directory in (root, state):
        directory.mkdir(mode=0o711, parents=True, exist_ok=True)
    content = ContentStore(root / "io.containerd.content.v1.content")
    snapshotters: dict[str, Snapshotter] = {
        "overlayfs": OverlaySnapshotter(str(root / "io.containerd.snapshotter.v1.overlayfs")),
        "native": NativeSnapshotter(str(root / "io.containerd.snapshotter.v1.native")),
    }
    db = DB(root / "io.containerd.metadata.v1.bolt" / "meta.db", content, snapshotters)
    return Backend(db, Exchange(), GCScheduler(db), root, state, uuid=server_uuid(root))


class Daemon:
    """``start()`` claims ``config.address``, opens the stores and serves; ``stop()`` ends
    every call and closes the stores."""

    def __init__(self, config: Config, workers: int = WORKERS) -> None:
        self.config = config
        self.workers = workers
        self.backend: Backend | None = None
        self.server: grpc.Server | None = None
        self.supervisor: Supervisor | None = None
        self._lock: AddressLock | None = None

    def _serve(self, backend: Backend, supervisor: Supervisor) -> grpc.Server:
        server = grpc.server(
            ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="grpc"),
            interceptors=[ErrorInterceptor()],
            options=[("grpc.max_receive_message_length", MAX_MESSAGE),
                     ("grpc.max_send_message_length", MAX_MESSAGE)])
        b = backend
        version_pb2_grpc.add_VersionServicer_to_server(VersionService(), server)
        namespace_pb2_grpc.add_NamespacesServicer_to_server(NamespacesService(b), server)
        introspection_pb2_grpc.add_IntrospectionServicer_to_server(IntrospectionService(b), server)
        content_pb2_grpc.add_ContentServicer_to_server(ContentService(b), server)
        images_pb2_grpc.add_ImagesServicer_to_server(ImagesService(b), server)
        snapshots_pb2_grpc.add_SnapshotsServicer_to_server(SnapshotsService(b), server)
        leases_pb2_grpc.add_LeasesServicer_to_server(LeasesService(b), server)
        diff_pb2_grpc.add_DiffServicer_to_server(DiffService(b), server)
        events_pb2_grpc.add_EventsServicer_to_server(EventsService(b.exchange), server)
        containers_pb2_grpc.add_ContainersServicer_to_server(ContainersService(b, supervisor.has_task), server)
        tasks_pb2_grpc.add_TasksServicer_to_server(TasksService(b, supervisor), server)
        register_transfer(server, b)
        register_archive(server, b)
        address = self.config.address
        old_umask = os.umask(0o177)  # the socket is born 0600
        try:
            try:
                server.add_insecure_port(f"unix:{address}")
            except RuntimeError as exc:
                raise Unavailable(f"{address}: cannot listen: {exc}") from None
            server.start()
        finally:
            os.umask(old_umask)
        os.chmod(address, 0o600)
        return server

    def start(self) -> None:
        self._lock = claim(self.config.address)
        try:
            self.backend = open_backend(Path(self.config.root), Path(self.config.state))
            self.supervisor = Supervisor(self.backend.state, self.backend.exchange.publish, self.config.runtime)
            self.supervisor.recover()
            self.server = self._serve(self.backend, self.supervisor)
        except BaseException:
            self.stop(0)
            raise
        self.backend.gc.start()
        self.backend.gc.schedule()  # what a crash left behind
        log.info("dockyard-containerd serving on %s (root %s)", self.config.address, self.config.root)

    def stop(self, grace: float = 5.0) -> None:
        """Stop serving: streams end, calls in progress get ``grace`` seconds."""
        backend, server, supervisor = self.backend, self.server, self.supervisor
        self.backend = self.server = self.supervisor = None
        if backend is not None:
            backend.exchange.close()
        if supervisor is not None:
            supervisor.close()  # the shims and their containers keep running; Waits end
        if server is not None:
            server.stop(grace).wait()
        if backend is not None:
            backend.gc.stop()
            backend.db.close()
            for snapshotter in backend.db.snapshotters.values():
                snapshotter.close()
        if self._lock is not None:
            try:
                os.unlink(self.config.address)
            except FileNotFoundError:
                pass
            self._lock.release()
            self._lock = None
        log.info("dockyard-containerd stopped")
