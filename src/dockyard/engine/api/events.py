"""``GET /events``: recent events from the hub's ring, then new ones as they come.

Docker's rules: ``since``/``until`` select recorded events; an ``until`` in the past
answers those and ends; one in the future ends the stream at that time; without
``until`` the stream stays open until the client leaves (or the daemon stops).
Each event is one JSON document and a newline, flushed at once.
"""

from __future__ import annotations

import asyncio
import time

from aiohttp import web

from dockyard.engine.api.httputil import dumps, is_disconnected, unless_disconnected
from dockyard.engine.api.routing import RouteDef
from dockyard.engine.context import EngineContext
from dockyard.engine.event_filters import EventFilter, time_range
from dockyard.engine.events import Event, EventHub, Subscription
from dockyard.engine.filters import Filters


async def _next(sub: Subscription, until: int | None) -> Event | None:
    """The next event, or None at ``until`` or when the subscription ended."""
    if until is None:
        return await sub.next()
    remaining = (until - time.time_ns()) / 1e9
    if remaining <= 0:
        return None
    try:
        return await asyncio.wait_for(sub.next(), remaining)
    except TimeoutError:
        return None


async def stream_events(hub: EventHub, request: web.Request) -> web.StreamResponse:
    since, until = time_range(request.query.get("since"), request.query.get("until"))
    match = EventFilter(Filters.parse(request.query.get("filters")))
    only_past = until is not None and until < time.time_ns()
    sub = None if only_past else hub.subscribe(match)  # before reading the ring: nothing falls between
    try:
        past = hub.past(since, until, match) if since is not None or until is not None else []
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        last = 0
        for event in past:
            await response.write((dumps(event.to_json()) + "\n").encode())
            last = event.time_nano
        while sub is not None and not is_disconnected(request):
            live = await unless_disconnected(request, _next(sub, until))
            if live is None:
                break
            if live.time_nano > last:
                await response.write((dumps(live.to_json()) + "\n").encode())
        return response
    except (ConnectionResetError, BrokenPipeError):
        return web.StreamResponse()  # the client left; nothing more to send
    finally:
        if sub is not None:
            sub.close()


def routes(ctx: EngineContext) -> list[RouteDef]:
    async def events(request: web.Request) -> web.StreamResponse:
        return await stream_events(ctx.events, request)

    return [RouteDef("GET", "/events", events)]
