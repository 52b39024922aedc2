"""System routes: ``/_ping`` (GET, HEAD), ``/version``, ``/info``, ``/system/df``, ``/auth``.

Thin adapters over :class:`dockyard.engine.system_service.SystemService`.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from dockyard.engine.api.httputil import json_body, json_response
from dockyard.engine.api.middleware import error_response
from dockyard.engine.api.routing import RouteDef
from dockyard.engine.context import EngineContext
from dockyard.engine.registry_login import login
from dockyard.engine.system_service import SystemService
from dockyard.errors import InvalidArgument, PermissionDenied

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

    async def auth(request: web.Request) -> web.StreamResponse:
        body = await json_body(request)
        if not isinstance(body, dict):
            raise InvalidArgument("auth config: must be a JSON object")
        try:
            return json_response(await asyncio.to_thread(login, body))
        except PermissionDenied as exc:  # dockerd answers a failed login with 401
            return error_response(401, str(exc))

    return [RouteDef("GET", "/_ping", ping), RouteDef("HEAD", "/_ping", ping),
            RouteDef("GET", "/version", version), RouteDef("GET", "/info", info),
            RouteDef("GET", "/system/df", disk_usage), RouteDef("POST", "/auth", auth)]
