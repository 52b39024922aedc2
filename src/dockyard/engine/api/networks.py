"""Network routes: ``GET /networks`` (filters), ``GET /networks/{id}`` (``verbose``/``scope``
accepted), ``POST /networks/create``, ``DELETE /networks/{id}``, ``POST /networks/prune``,
``POST /networks/{id}/connect`` and ``/disconnect`` — thin adapters over
:class:`dockyard.engine.network_service.NetworkService` (``ctx.networks``) and, for
connect/disconnect, :mod:`dockyard.engine.network_containers`.
"""

from __future__ import annotations

from aiohttp import web

from dockyard.engine import network_containers
from dockyard.engine.api import containers
from dockyard.engine.api.httputil import json_body, json_response
from dockyard.engine.api.routing import RouteDef
from dockyard.engine.context import EngineContext
from dockyard.engine.filters import Filters
from dockyard.engine.network_containers import run_blocking
from dockyard.engine.network_service import NetworkService
from dockyard.errors import DockyardError, InvalidArgument


def service_of(ctx: EngineContext) -> NetworkService:
    service = getattr(ctx, "networks", None)
    if not isinstance(service, NetworkService):
        raise DockyardError("the network service is not running")
    return service


def routes(ctx: EngineContext) -> list[RouteDef]:
    def svc() -> NetworkService:
        return service_of(ctx)

    async def list_networks(request: web.Request) -> web.StreamResponse:
        chosen = await run_blocking(svc().select, Filters.parse(request.query.get("filters")))
        return json_response([n.to_api(with_containers=False) for n in chosen])

    async def inspect(request: web.Request) -> web.StreamResponse:
        scope = request.query.get("scope", "")
        net = await run_blocking(svc().find, request.match_info["id"])
        if scope and scope != "local":
            raise network_not_found(request.match_info["id"])
        return json_response(net.to_api())

    async def create(request: web.Request) -> web.StreamResponse:
        body = await json_body(request)
        return json_response(await run_blocking(svc().create, body), status=201)

    async def remove(request: web.Request) -> web.StreamResponse:
        await run_blocking(svc().remove, request.match_info["id"])
        return web.Response(status=204)

    async def prune(request: web.Request) -> web.StreamResponse:
        filters = Filters.parse(request.query.get("filters"))
        return json_response(await run_blocking(svc().prune, filters))

    async def connect(request: web.Request) -> web.StreamResponse:
        body = await json_body(request)
        ref = _container_ref(body)
        live = containers.service_of(ctx).get(ref)
        config = body.get("EndpointConfig") or {}
        if not isinstance(config, dict):
            raise InvalidArgument("EndpointConfig: must be an object")
        await network_containers.connect(svc(), ctx.config.exec_root, live, request.match_info["id"], config)
        return web.Response(status=200)

    async def disconnect(request: web.Request) -> web.StreamResponse:
        body = await json_body(request)
        ref = _container_ref(body)
        net = svc().find(request.match_info["id"])
        try:
            live = containers.service_of(ctx).get(ref)
        except DockyardError:
            if body.get("Force"):  # a container that is gone: drop what the network still knows of it
                for cid, endpoint in list(net.endpoints.items()):
                    if ref in (cid, endpoint.name) or cid.startswith(ref):
                        await network_containers.run_blocking(svc().detach, net, cid)
                return web.Response(status=200)
            raise
        await network_containers.disconnect(svc(), live, net)
        return web.Response(status=200)

    return [RouteDef("GET", "/networks", list_networks), RouteDef("GET", "/networks/{id}", inspect),
            RouteDef("POST", "/networks/create", create), RouteDef("DELETE", "/networks/{id}", remove),
            RouteDef("POST", "/networks/prune", prune), RouteDef("POST", "/networks/{id}/connect", connect),
            RouteDef("POST", "/networks/{id}/disconnect", disconnect)]


def _container_ref(body: object) -> str:
    ref = body.get("Container") if isinstance(body, dict) else None
    if not isinstance(ref, str) or not ref:
        raise InvalidArgument("Container: a container is required")
    return ref


def network_not_found(ref: str) -> DockyardError:
    from dockyard.errors import NotFound

    return NotFound(f"network {ref} not found")
