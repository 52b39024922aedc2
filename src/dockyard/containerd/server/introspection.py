"""The introspection service: the daemon's plugins under containerd's type names, and the
server's identity (a UUID kept under the root, its pid and PID namespace).

Plugins filter on ``type`` and ``id`` (containerd's adaptor). The snapshotters and the
differ report the host's platform, as containerd's do.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import grpc
from google.protobuf import empty_pb2

from dockyard.containerd.api.google.rpc import status_pb2
from dockyard.containerd.api.services.introspection.v1 import introspection_pb2 as pb
from dockyard.containerd.api.services.introspection.v1 import introspection_pb2_grpc
from dockyard.containerd.api.types import platform_pb2
from dockyard.containerd.filters import parse_filters
from dockyard.containerd.server.backend import Backend
from dockyard.oci.platform import host_platform

CONTENT = "io.containerd.content.v1"
SNAPSHOTTER = "io.containerd.snapshotter.v1"
METADATA = "io.containerd.metadata.v1"
DIFFER = "io.containerd.differ.v1"
GC = "io.containerd.gc.v1"
EVENT = "io.containerd.event.v1"
LEASE = "io.containerd.lease.v1"
SERVICE = "io.containerd.service.v1"
GRPC = "io.containerd.grpc.v1"

GRPC_SERVICES = ("containers", "content", "diff", "events", "images", "introspection", "leases", "namespaces",
                 "snapshots", "tasks", "version")
RUNTIME = "io.containerd.runtime.v2"
# grpc plugins registered but not working yet: (id, reason)
NOT_READY: dict[str, str] = {}


@dataclass
class PluginInfo:
    type: str
    id: str
    requires: list[str] = field(default_factory=list)
    platform: bool = False  # reports the host platform
    exports: dict[str, str] = field(default_factory=dict)
    init_err: str = ""


def plugins(backend: Backend) -> list[PluginInfo]:
    """Every plugin of the daemon, in containerd's load order."""
    out = [PluginInfo(CONTENT, "content", exports={"root": str(backend.content_root)})]
    for name, snapshotter in sorted(backend.db.snapshotters.items()):
        root = getattr(snapshotter, "root", "")
        out.append(PluginInfo(SNAPSHOTTER, name, platform=True, exports={"root": str(root)} if root else {}))
    out.append(PluginInfo(METADATA, "bolt", [CONTENT, SNAPSHOTTER],
                          exports={"engine": "sqlite", "path": str(backend.db.path)}))
    out.append(PluginInfo(DIFFER, "walking", [METADATA], platform=True))
    out.append(PluginInfo(GC, "scheduler", [METADATA]))
    out.append(PluginInfo(EVENT, "exchange"))
    out.append(PluginInfo(LEASE, "manager", [METADATA]))
    out.append(PluginInfo(RUNTIME, "task", [METADATA], platform=True,
                          exports={"root": str(backend.root / "io.containerd.runtime.v2.task"),
                                   "state": str(backend.state / "io.containerd.runtime.v2.task")}))
    for name in ("containers", "content", "diff", "images", "introspection", "leases", "namespaces", "snapshots",
                 "tasks"):
        out.append(PluginInfo(SERVICE, f"{name}-service", [METADATA]))
    for name in GRPC_SERVICES:
        out.append(PluginInfo(GRPC, name, [SERVICE], init_err=NOT_READY.get(name, "")))
    return out


def _platform() -> platform_pb2.Platform:
    host = host_platform()
    return platform_pb2.Platform(os=host.os, architecture=host.architecture, variant=host.variant or "")


def to_pb(info: PluginInfo) -> pb.Plugin:
    plugin = pb.Plugin(type=info.type, id=info.id, requires=info.requires, exports=info.exports)
    if info.platform:
        plugin.platforms.append(_platform())
    if info.init_err:
        plugin.init_err.CopyFrom(status_pb2.Status(code=grpc.StatusCode.UNIMPLEMENTED.value[0],
                                                   message=info.init_err))
    return plugin


def _adapt(plugin: pb.Plugin, path: list[str] | tuple[str, ...]) -> tuple[str, bool]:
    if not path:
        return "", False
    if path[0] == "type":
        return plugin.type, bool(plugin.type)
    if path[0] == "id":
        return plugin.id, bool(plugin.id)
    return "", False


def server_uuid(root: Path) -> str:
    """The daemon's UUID, made once and kept under ``root``."""
    path = root / "io.containerd.grpc.v1.introspection" / "uuid"
    try:
        value = path.read_text().strip()
        if value:
            return value
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    value = str(uuid.uuid4())
    tmp = path.with_suffix(".tmp")
    tmp.write_text(value)
    os.replace(tmp, path)
    return value


def _pidns() -> int:
    try:
        return os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return 0


class IntrospectionService(introspection_pb2_grpc.IntrospectionServicer):  # type: ignore[misc]
    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def Plugins(self, request: pb.PluginsRequest, context: grpc.ServicerContext) -> pb.PluginsResponse:
        flt = parse_filters(list(request.filters))
        found = [to_pb(info) for info in plugins(self.backend)]
        return pb.PluginsResponse(plugins=[p for p in found if flt.match(partial(_adapt, p))])

    def Server(self, request: empty_pb2.Empty, context: grpc.ServicerContext) -> pb.ServerResponse:
        return pb.ServerResponse(uuid=self.backend.uuid, pid=os.getpid(), pidns=_pidns())
