"""The version service: which containerd API this daemon speaks, and which dockyard it is.

``version`` reads ``1.6.20+dockyard.<dockyard's version>``: clients that gate features on
containerd's version see the API level implemented; the build part names the daemon.
"""

from __future__ import annotations

import grpc
from google.protobuf import empty_pb2

from dockyard.containerd.api.services.version.v1 import version_pb2, version_pb2_grpc

API_LEVEL = "1.6.20"


def dockyard_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("dockyard")
    except metadata.PackageNotFoundError:
        return "0.0.0"


VERSION = f"{API_LEVEL}+dockyard.{dockyard_version()}"
REVISION = f"dockyard-{dockyard_version()}"


class VersionService(version_pb2_grpc.VersionServicer):  # type: ignore[misc]
    def Version(self, request: empty_pb2.Empty, context: grpc.ServicerContext) -> version_pb2.VersionResponse:
        return version_pb2.VersionResponse(version=VERSION, revision=REVISION)
