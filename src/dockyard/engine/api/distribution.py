"""``GET /distribution/{name}/json``: an image's descriptor and platforms, asked of its
registry (:mod:`dockyard.engine.distribution_inspect`); docker-py's
``images.get_registry_data`` and ``docker service`` use it.

Credentials come from ``X-Registry-Auth``; like dockerd, a header that does not decode is
ignored (the request goes anonymous). A bad name is 400, an unknown repository or tag 404,
refused credentials 401 (what the API documents for this route), an unreachable registry 503.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from dockyard.containerd.registry.credentials import Credentials
from dockyard.engine.api.httputil import json_response
from dockyard.engine.api.images_transfer import AUTH_HEADER
from dockyard.engine.api.middleware import error_response
from dockyard.engine.api.routing import RouteDef
from dockyard.engine.context import EngineContext
from dockyard.engine.distribution_inspect import distribution_reference, inspect_remote
from dockyard.engine.image_transfer import decode_auth
from dockyard.errors import InvalidArgument, PermissionDenied


def header_credentials(header: str) -> Credentials | None:
    """The credentials of ``X-Registry-Auth``; None when absent or unreadable."""
    try:
        return decode_auth(header)
    except InvalidArgument:
        return None


async def inspect(request: web.Request) -> web.StreamResponse:
    ref = distribution_reference(request.match_info["name"])
    credentials = header_credentials(request.headers.get(AUTH_HEADER, ""))
    try:
        body = await asyncio.to_thread(inspect_remote, ref, credentials)
    except PermissionDenied as exc:
        return error_response(401, exc.message)
    return json_response(body)


def routes(ctx: EngineContext) -> list[RouteDef]:
    return [RouteDef("GET", "/distribution/{name:.*}/json", inspect)]
