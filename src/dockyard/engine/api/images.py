"""Image routes: list, inspect, history, tag, remove, prune and search.

Thin adapters over :class:`dockyard.engine.images_service.ImageService` (``ctx.images``).
Image names carry slashes (``127.0.0.1:5000/app``), hence ``{name:.*}`` in the paths.
The routes that move bytes (pull, import, push, save, load) are in :mod:`.images_transfer`.
"""

from __future__ import annotations

from aiohttp import web

from dockyard.engine.api.httputil import api_version, json_response, query_bool
from dockyard.engine.api.routing import RouteDef
from dockyard.engine.context import EngineContext
from dockyard.engine.filters import Filters
from dockyard.engine.images_service import ImageService
from dockyard.errors import NotImplementedYet

SEARCH_UNSUPPORTED = "search is not supported: no registry search endpoint"


def service_of(ctx: EngineContext) -> ImageService:
    """The engine's image service (made here for an app built without the engine, as in tests)."""
    if ctx.images is None:
        ctx.images = ImageService(ctx)
    return ctx.images


def list_filters(request: web.Request) -> Filters:
    filters = Filters.parse(request.query.get("filters"))
    legacy = request.query.get("filter")  # API < 1.41: a reference pattern
    if legacy:
        fields = dict(filters.fields)
        fields["reference"] = fields.get("reference", frozenset()) | {legacy}
        filters = Filters(fields)
    return filters


def routes(ctx: EngineContext) -> list[RouteDef]:
    service = service_of(ctx)

    async def list_images(request: web.Request) -> web.StreamResponse:
        return json_response(await service.summaries(list_filters(request),
                                                     shared_size=query_bool(request, "shared-size"),
                                                     api_version=api_version(request),
                                                     all_images=query_bool(request, "all")))

    async def inspect(request: web.Request) -> web.StreamResponse:
        return json_response(await service.inspect(request.match_info["name"], api_version(request)))

    async def history(request: web.Request) -> web.StreamResponse:
        return json_response(await service.history(request.match_info["name"]))

    async def tag(request: web.Request) -> web.StreamResponse:
        await service.tag(request.match_info["name"], request.query.get("repo", ""), request.query.get("tag", ""))
        return web.Response(status=201)

    async def remove(request: web.Request) -> web.StreamResponse:
        return json_response(await service.remove(request.match_info["name"], force=query_bool(request, "force"),
                                                  prune=not query_bool(request, "noprune")))

    async def prune(request: web.Request) -> web.StreamResponse:
        return json_response(await service.prune(Filters.parse(request.query.get("filters"))))

    async def search(request: web.Request) -> web.StreamResponse:
        raise NotImplementedYet(SEARCH_UNSUPPORTED)

    return [
        RouteDef("GET", "/images/json", list_images),
        RouteDef("GET", "/images/search", search),
        RouteDef("POST", "/images/prune", prune),
        RouteDef("GET", "/images/{name:.*}/json", inspect),
        RouteDef("GET", "/images/{name:.*}/history", history),
        RouteDef("POST", "/images/{name:.*}/tag", tag),
        RouteDef("DELETE", "/images/{name:.*}", remove),
    ]
