"""The list of API modules the app serves: add a module here to plug it in.

Each entry is a module with ``routes(ctx) -> list[RouteDef]`` (see :mod:`.routing`).
``containers_placeholder`` answers ``GET /containers/json`` with ``[]`` until the container
service exists: the module that brings the real one takes its place in this tuple (a
route defined twice stops the daemon at start-up with the route's name).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from dockyard.engine.api import containers_placeholder, events, system
from dockyard.engine.api.routing import RouteDef, RouteModule, check_unique

if TYPE_CHECKING:
    from dockyard.engine.context import EngineContext

ROUTE_MODULES: tuple[RouteModule, ...] = (system, events, containers_placeholder)


def collect(ctx: EngineContext, modules: Sequence[RouteModule] = ROUTE_MODULES) -> list[RouteDef]:
    """Every module's routes, in order; InvalidArgument if two define the same one."""
    return check_unique(d for module in modules for d in module.routes(ctx))
