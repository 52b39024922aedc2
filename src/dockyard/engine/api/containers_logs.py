"""``GET /containers/{id}/logs``: the container's json-file log, Docker's way.

Query: ``stdout``, ``stderr`` (at least one), ``since`` / ``until`` (Unix time, fractions
allowed), ``timestamps`` (each line prefixed with its RFC 3339 time, nine fraction
digits), ``tail`` (``all`` or a count of the last lines), ``follow`` (then the lines
written from now on, until the container stops or the client leaves).

Without a TTY every message is a frame of the multiplexed stream (an 8-byte header: the
stream, 1 stdout or 2 stderr, three zero bytes, the big-endian length); with one, the raw
bytes.
"""

from __future__ import annotations

import asyncio
from collections import deque
from datetime import UTC, datetime

from aiohttp import web

from dockyard.engine.api.containers import service_of
from dockyard.engine.api.httputil import query_bool, unless_disconnected
from dockyard.engine.api.routing import RouteDef
from dockyard.engine.context import EngineContext
from dockyard.engine.event_filters import time_range
from dockyard.engine.logs_jsonfile import LogSnapshot, Message
from dockyard.errors import InvalidArgument, NotImplementedYet

MULTIPLEXED = "application/vnd.docker.multiplexed-stream"
RAW = "application/vnd.docker.raw-stream"
STREAM_IDS = {"stdin": 0, "stdout": 1, "stderr": 2}


def frame(stream: str, data: bytes) -> bytes:
    return bytes((STREAM_IDS.get(stream, 1), 0, 0, 0)) + len(data).to_bytes(4, "big") + data


def fixed_time(ns: int) -> str:
    """RFC3339NanoFixed (``2024-01-02T03:04:05.123456789Z``)."""
    seconds, frac = divmod(ns, 1_000_000_000)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{frac:09d}Z"


def _tail(request: web.Request) -> int:
    text = request.query.get("tail", "all").strip()
    if text in ("", "all"):
        return -1
    try:
        value = int(text)
    except ValueError:
        raise InvalidArgument(f"invalid value for tail: {text!r}") from None
    return value if value >= 0 else -1


def routes(ctx: EngineContext) -> list[RouteDef]:
    async def logs(request: web.Request) -> web.StreamResponse:
        service = service_of(ctx)
        live = service.get(request.match_info["id"])
        c = live.container
        want = {name for name in ("stdout", "stderr") if query_bool(request, name)}
        if not want:
            raise InvalidArgument("Bad parameters: you must choose at least one stream")
        if not c.log_path or live.io.logger is None:
            raise NotImplementedYet("configured logging driver does not support reading")
        since, until = time_range(request.query.get("since") or None, request.query.get("until") or None)
        if since is not None and since <= 0:
            since = None
        timestamps = query_bool(request, "timestamps")
        tail = _tail(request)
        follow = query_bool(request, "follow") and c.state.running and live.io.copying

        def wanted(m: Message) -> bool:
            return (m.stream in want and (since is None or m.time_ns >= since)
                    and (until is None or m.time_ns <= until))

        def encode(m: Message) -> bytes:
            data = (fixed_time(m.time_ns).encode() + b" " + m.data) if timestamps else m.data
            return data if c.tty else frame(m.stream, data)

        def load(snapshot: LogSnapshot) -> list[Message] | deque[Message]:
            picked = (m for m in snapshot.messages() if wanted(m))
            return deque(picked, maxlen=tail) if tail > 0 else list(picked)

        # the follower is registered in the same step as the files are opened (no line is
        # missed or sent twice); they are read in a thread
        queue = live.io.logger.follow() if follow else None
        snapshot = LogSnapshot.open(c.log_path) if tail != 0 else LogSnapshot([])
        try:
            past = await asyncio.to_thread(load, snapshot)
            response = web.StreamResponse(headers={"Content-Type": RAW if c.tty else MULTIPLEXED})
            await response.prepare(request)
            chunk = b"".join(encode(m) for m in past)
            if chunk:
                await response.write(chunk)
            while queue is not None:
                if until is not None:
                    remaining = (until - _now()) / 1e9
                    if remaining <= 0:
                        break
                    try:
                        message = await asyncio.wait_for(unless_disconnected(request, queue.get()), remaining)
                    except TimeoutError:
                        break
                else:
                    message = await unless_disconnected(request, queue.get())
                if message is None:
                    break
                if wanted(message):
                    await response.write(encode(message))
            await response.write_eof()
            return response
        except (ConnectionResetError, BrokenPipeError):
            return web.StreamResponse()
        finally:
            snapshot.close()
            if queue is not None and live.io.logger is not None:
                live.io.logger.unfollow(queue)

    return [RouteDef("GET", "/containers/{id}/logs", logs)]


def _now() -> int:
    import time

    return time.time_ns()
