"""``GET /containers/{id}/stats`` and ``GET /containers/{id}/top``.

stats: ``stream`` (default true: one document a second until the client leaves or the
container stops) or a single one; a single one without ``one-shot`` waits for a second
sample so that ``precpu_stats`` is filled (``docker stats --no-stream`` computes CPU% from
the two), as dockerd does. A stopped container gets one document of zeroes.
top: ``ps_args`` (default ``-ef``).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiohttp import web

from dockyard.engine.api.containers import service_of
from dockyard.engine.api.httputil import dumps, is_disconnected, json_response, query_bool
from dockyard.engine.api.routing import RouteDef
from dockyard.engine.container_stats import read_networks, sample, stats_doc, top
from dockyard.engine.containers import Live
from dockyard.engine.context import EngineContext
from dockyard.errors import DockyardError

INTERVAL = 1.0


async def _one(ctx: EngineContext, live: Live, previous: dict[str, Any] | None) -> dict[str, Any]:
    service = service_of(ctx)
    metrics = None
    if live.container.state.running and live.task_pid:
        try:
            metrics = await sample(service.sv, live.id)
        except DockyardError:
            metrics = None
    doc = stats_doc(live.container, metrics, time.time_ns(), previous)
    networks = ctx.networks
    if metrics is not None and "networks" not in doc and networks is not None and networks.endpoints_of(live.id):
        found = await asyncio.to_thread(read_networks, live.task_pid)  # the interfaces of its namespace
        if found:
            doc["networks"] = found
    return doc


def routes(ctx: EngineContext) -> list[RouteDef]:
    async def stats(request: web.Request) -> web.StreamResponse:
        service = service_of(ctx)
        live = service.get(request.match_info["id"])
        stream = query_bool(request, "stream", True)
        if not stream:
            doc = await _one(ctx, live, None)
            if not query_bool(request, "one-shot") and live.container.state.running:
                await asyncio.sleep(INTERVAL)
                doc = await _one(ctx, live, doc)
            return json_response(doc)
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        previous: dict[str, Any] | None = None
        try:
            while not is_disconnected(request):
                doc = await _one(ctx, live, previous)
                await response.write((dumps(doc) + "\n").encode())
                previous = doc
                if not live.container.state.running or live.removed:
                    break
                await asyncio.sleep(INTERVAL)
        except (ConnectionResetError, BrokenPipeError):
            pass
        return response

    async def top_handler(request: web.Request) -> web.StreamResponse:
        service = service_of(ctx)
        live = service.get(request.match_info["id"])
        return json_response(await top(service.sv, live.container, request.query.get("ps_args", "")))

    return [RouteDef("GET", "/containers/{id}/stats", stats), RouteDef("GET", "/containers/{id}/top", top_handler)]
