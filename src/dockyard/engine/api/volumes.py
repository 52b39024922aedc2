"""Volume routes: create, list, inspect, remove, prune — thin adapters over
:class:`dockyard.engine.volumes.VolumeService` (``ctx.volumes``).

``POST /volumes/prune`` removes only anonymous volumes from API 1.42 on, unless the ``all``
filter is true (what ``docker volume prune -a`` sends); older clients prune every unused
volume, as dockerd does for them.
"""

from __future__ import annotations

from aiohttp import web

from dockyard.engine.api.httputil import json_body, json_response, query_bool, version_at_least
from dockyard.engine.api.routing import RouteDef
from dockyard.engine.context import EngineContext
from dockyard.engine.filters import Filters
from dockyard.engine.volumes import VolumeService
from dockyard.errors import DockyardError, InvalidArgument, NotImplementedYet

CREATE_FIELDS = ("Name", "Driver", "DriverOpts", "Labels", "ClusterVolumeSpec")


def service_of(ctx: EngineContext) -> VolumeService:
    service = ctx.volumes
    if service is None:
        raise DockyardError("the volume service is not running")
    return service


def routes(ctx: EngineContext) -> list[RouteDef]:
    def svc() -> VolumeService:
        return service_of(ctx)

    async def create(request: web.Request) -> web.StreamResponse:
        body = await json_body(request, allow_empty=True) or {}
        if not isinstance(body, dict):
            raise InvalidArgument("invalid JSON: the body must be an object")
        if body.get("ClusterVolumeSpec"):
            raise NotImplementedYet("ClusterVolumeSpec: cluster volumes need a swarm (not supported)")
        for key in ("Name", "Driver"):
            if not isinstance(body.get(key) or "", str):
                raise InvalidArgument(f"{key}: must be a string")
        service = svc()
        volume = service.create(body.get("Name") or "", body.get("Driver") or "", body.get("Labels"),
                                body.get("DriverOpts"))
        return json_response(service.inspect(volume), status=201)

    async def list_volumes(request: web.Request) -> web.StreamResponse:
        service = svc()
        filters = Filters.parse(request.query.get("filters"))
        return json_response({"Volumes": [service.inspect(v) for v in service.select(filters)], "Warnings": None})

    async def inspect(request: web.Request) -> web.StreamResponse:
        service = svc()
        return json_response(service.inspect(service.get(request.match_info["name"])))

    async def remove(request: web.Request) -> web.StreamResponse:
        svc().remove(request.match_info["name"], query_bool(request, "force"))
        return web.Response(status=204)

    async def prune(request: web.Request) -> web.StreamResponse:
        filters = Filters.parse(request.query.get("filters"))
        return json_response(svc().prune(filters, all_=not version_at_least(request, "1.42")))

    return [
        RouteDef("POST", "/volumes/create", create),
        RouteDef("GET", "/volumes", list_volumes),
        RouteDef("POST", "/volumes/prune", prune),
        RouteDef("GET", "/volumes/{name}", inspect),
        RouteDef("DELETE", "/volumes/{name}", remove),
    ]
