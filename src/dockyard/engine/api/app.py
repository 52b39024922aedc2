"""The aiohttp application of the Engine API: the routes of every registered module at
their unversioned and ``/v{version}`` paths, behind the middlewares of :mod:`.middleware`.

aiohttp lets a handler run to its end when its client goes away (no cancellation): a
state-changing call is never cut in half; a streaming handler notices the departure
through :func:`.httputil.unless_disconnected` or a failing write.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from aiohttp import web

from dockyard.engine.api import middleware, registry
from dockyard.engine.api.routing import RouteDef, RouteModule

if TYPE_CHECKING:
    from dockyard.engine.context import EngineContext

VERSION_PREFIX = "/v{version:[0-9][0-9.]*}"
CONTEXT_KEY: web.AppKey[EngineContext] = web.AppKey("engine_context")
MAX_BODY = 64 << 20  # a JSON body read whole (streamed uploads read request.content instead)


def add_routes(app: web.Application, defs: Sequence[RouteDef]) -> None:
    for d in defs:
        app.router.add_route(d.method, d.path, d.handler)
        app.router.add_route(d.method, VERSION_PREFIX + d.path, d.handler)


def make_app(ctx: EngineContext, modules: Sequence[RouteModule] = registry.ROUTE_MODULES) -> web.Application:
    """The application serving ``modules`` (default: every registered one) over ``ctx``."""
    app = web.Application(middlewares=middleware.MIDDLEWARES, client_max_size=MAX_BODY)
    app[CONTEXT_KEY] = ctx
    add_routes(app, registry.collect(ctx, modules))
    app.on_response_prepare.append(middleware.add_headers)
    return app
