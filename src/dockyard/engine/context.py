"""What the API's modules are built from: one :class:`EngineContext` per running engine.

``routes(ctx)`` of every API module receives it (see :mod:`dockyard.engine.api.routing`).
It holds the engine's shared parts; services that several modules use (the container
service, the image service...) become fields here, built once in
:class:`dockyard.engine.engine.Engine` — never module-level globals.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from dockyard.engine.config import EngineConfig
from dockyard.engine.ctrd_events import ContainerdEvents
from dockyard.engine.events import EventHub
from dockyard.engine.runtimes import Runtimes
from dockyard.engine.supervisor import Supervisor


@dataclass
class EngineContext:
    config: EngineConfig
    supervisor: Supervisor  # gRPC to dockyard-containerd, namespace "dockyard"
    events: EventHub  # publish Docker events here
    containerd_events: ContainerdEvents  # containerd's events -> the hub; services take over topics
    runtimes: Runtimes
    engine_id: str  # a UUID kept in <data-root>/engine-id (ID of /info)
    started: float = field(default_factory=time.time)
