"""What the API's modules are built from: one :class:`EngineContext` per running engine.

``routes(ctx)`` of every API module receives it (see :mod:`dockyard.engine.api.routing`).
It holds the engine's shared parts; services that several modules use (the container
service, the image service...) become fields here, built once in
:class:`dockyard.engine.engine.Engine` — never module-level globals.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dockyard.engine.config import EngineConfig
from dockyard.engine.ctrd_events import ContainerdEvents
from dockyard.engine.events import EventHub
from dockyard.engine.init_binary import InitBinary
from dockyard.engine.runtimes import Runtimes
from dockyard.engine.supervisor import Supervisor

if TYPE_CHECKING:
    from dockyard.engine.containers import ContainerService
    from dockyard.engine.images_service import ImageService
    from dockyard.engine.network_service import NetworkService
    from dockyard.engine.volumes import VolumeService


@dataclass(frozen=True)
class ImageUse:
    """A container using an image (what image removal and prune must respect)."""

    container_id: str
    running: bool = False


ImageUsers = Callable[[], Awaitable[Mapping[str, Sequence[ImageUse]]]]


async def no_image_users() -> Mapping[str, Sequence[ImageUse]]:
    """No container uses any image (until the container service says otherwise)."""
    return {}


@dataclass
class EngineContext:
    config: EngineConfig
    supervisor: Supervisor  # gRPC to dockyard-containerd, namespace "dockyard"
    events: EventHub  # publish Docker events here
    containerd_events: ContainerdEvents  # containerd's events -> the hub; services take over topics
    runtimes: Runtimes
    engine_id: str  # a UUID kept in <data-root>/engine-id (ID of /info)
    started: float = field(default_factory=time.time)
    init: InitBinary = field(default_factory=lambda: InitBinary(""))  # of ``--init``
    # image ID ("sha256:...") -> the containers using it; the container service sets it
    image_users: ImageUsers = no_image_users
    images: ImageService | None = None  # built by the engine (dockyard.engine.images_service)
    containers: ContainerService | None = None  # built by the engine (dockyard.engine.containers)
    volumes: VolumeService | None = None  # built by the engine (dockyard.engine.volumes)
    networks: NetworkService | None = None  # built by the engine (dockyard.engine.network_service)
