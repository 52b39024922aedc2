"""``GET /containers/json`` answering ``[]`` until the container service exists (so that
``docker ps`` works against the engine skeleton). The container module replaces this one
in :data:`dockyard.engine.api.registry.ROUTE_MODULES`.
"""

from __future__ import annotations

from aiohttp import web

from dockyard.engine.api.httputil import json_response
from dockyard.engine.api.routing import RouteDef
from dockyard.engine.context import EngineContext
from dockyard.engine.filters import Filters

ACCEPTED_FILTERS = ("ancestor", "before", "expose", "exited", "health", "id", "isolation", "is-task", "label",
                    "name", "network", "publish", "since", "status", "volume")


async def list_containers(request: web.Request) -> web.StreamResponse:
    Filters.parse(request.query.get("filters")).validate(ACCEPTED_FILTERS)
    return json_response([])


def routes(ctx: EngineContext) -> list[RouteDef]:
    return [RouteDef("GET", "/containers/json", list_containers)]
