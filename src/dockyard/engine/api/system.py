"""System routes: ``/_ping`` (GET, HEAD), ``/version``, ``/info``, ``/system/df``.

Thin adapters over :class:`dockyard.engine.system_service.SystemService`.
"""

from __future__ import annotations

from aiohttp import web

from dockyard.engine.api.httputil import json_response
from dockyard.engine.api.routing import RouteDef
from dockyard.engine.context import EngineContext
from dockyard.engine.system_service import SystemService

PING_HEADERS = {"Builder-Version": "1", "Cache-Control": "no-cache, no-store, must-revalidate",
                "Pragma": "no-cache", "Swarm": "inactive"}


async def ping(request: web.Request) -> web.StreamResponse:
    text = "" if request.method == "HEAD" else "OK"
    return web.Response(text=text, headers=PING_HEADERS, content_type="text/plain", charset="utf-8")


def routes(ctx: EngineContext) -> list[RouteDef]:
    service = SystemService(ctx)

    async def version(request: web.Request) -> web.StreamResponse:
        return json_response(await service.version())

    async def info(request: web.Request) -> web.StreamResponse:
        return json_response(await service.info())

    async def disk_usage(request: web.Request) -> web.StreamResponse:
        return json_response(await service.disk_usage(request.query.getall("type", [])))

    return [RouteDef("GET", "/_ping", ping), RouteDef("HEAD", "/_ping", ping),
            RouteDef("GET", "/version", version), RouteDef("GET", "/info", info),
            RouteDef("GET", "/system/df", disk_usage)]
