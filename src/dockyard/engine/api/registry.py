"""The list of API modules the app serves: add a module here to plug it in.

Each entry is a module with ``routes(ctx) -> list[RouteDef]`` (see :mod:`.routing`).
A route defined twice stops the daemon at start-up with the route's name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from dockyard.engine.api import (
    build,
    commit,
    containers,
    containers_archive,
    containers_attach,
    containers_fs,
    containers_logs,
    containers_stats,
    distribution,
    events,
    exec,
    images,
    images_transfer,
    networks,
    system,
    volumes,
)
from dockyard.engine.api.routing import RouteDef, RouteModule, check_unique

if TYPE_CHECKING:
    from dockyard.engine.context import EngineContext

ROUTE_MODULES: tuple[RouteModule, ...] = (system, events, images, images_transfer, containers, containers_logs,
                                          containers_attach, containers_stats, containers_fs, containers_archive,
                                          exec, commit, build, volumes, networks, distribution)


def collect(ctx: EngineContext, modules: Sequence[RouteModule] = ROUTE_MODULES) -> list[RouteDef]:
    """Every module's routes, in order; InvalidArgument if two define the same one."""
    return check_unique(d for module in modules for d in module.routes(ctx))
