"""Exec routes: ``POST /containers/{id}/exec`` (create), ``POST /exec/{id}/start``,
``POST /exec/{id}/resize``, ``GET /exec/{id}/json`` — over
:class:`dockyard.engine.container_exec.ExecService` (``service.execs``).

A start that is not detached hijacks the connection as attach does: output framed without a
TTY, raw with one; the client's stdin (with ``AttachStdin``) goes to the exec's stdin fifo,
and its end closes the exec's stdin (CloseIO). The session ends when the process has exited
and its output is sent (the exit code is recorded by then), or at the detach keys.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from aiohttp import web

from dockyard.engine.api.containers import service_of
from dockyard.engine.api.containers_attach import DEFAULT_DETACH_KEYS, DetachMatcher, detach_sequence
from dockyard.engine.api.containers_logs import MULTIPLEXED, RAW, frame
from dockyard.engine.api.hijack import Hijacked, hijack
from dockyard.engine.api.httputil import json_body, json_response, query_int
from dockyard.engine.api.routing import RouteDef
from dockyard.engine.container_exec import Exec, ExecService, exec_error
from dockyard.engine.context import EngineContext
from dockyard.errors import DockyardError, InvalidArgument


async def _copy_out(session: Hijacked, e: Exec, queue: asyncio.Queue[tuple[str, bytes] | None]) -> None:
    streams = {name for name, on in (("stdout", e.attach_stdout), ("stderr", e.attach_stderr)) if on}
    while True:
        item = await queue.get()
        if item is None:
            return
        name, data = item
        if name in streams:
            await session.send(data if e.tty else frame(name, data))


async def _copy_in(session: Hijacked, e: Exec, execs: ExecService, keys: bytes) -> str:
    """Copy the client's stdin; "detached", or "closed" once it ended (the exec's stdin closed)."""
    matcher = DetachMatcher(keys)
    while True:
        data = await session.recv()
        if not data:
            await execs.close_stdin(e)
            return "closed"
        passed, detached = matcher.feed(data)
        if passed and e.running:
            try:
                await e.io.write_stdin(passed)
            except OSError:
                pass
        if detached:
            return "detached"


def _console_size(body: dict[str, Any]) -> list[int] | None:
    size = body.get("ConsoleSize")
    if size is None:
        return None
    if not isinstance(size, list) or len(size) != 2 or not all(isinstance(v, int) and v >= 0 for v in size):
        raise InvalidArgument("ConsoleSize: must be [height, width]")
    return size


def routes(ctx: EngineContext) -> list[RouteDef]:
    async def create(request: web.Request) -> web.StreamResponse:
        service = service_of(ctx)
        live = service.get(request.match_info["id"])
        body = await json_body(request)
        if isinstance(body, dict) and body.get("DetachKeys"):
            detach_sequence(str(body["DetachKeys"]))
        return json_response({"Id": service.execs.create(live, body)}, status=201)

    async def start(request: web.Request) -> web.StreamResponse:
        execs = service_of(ctx).execs
        e = execs.get(request.match_info["id"])
        body = await json_body(request, allow_empty=True) or {}
        if not isinstance(body, dict):
            raise InvalidArgument("invalid JSON: the body must be an object")
        size = _console_size(body)
        if size:
            e.console_size = size
        execs.check_startable(e)
        if body.get("Detach"):
            await execs.start(e)
            return web.Response(status=200)
        keys = detach_sequence(e.detach_keys or DEFAULT_DETACH_KEYS)
        queue = e.io.attach()
        session = await hijack(request, RAW if e.tty else MULTIPLEXED)
        tasks: list[asyncio.Future[Any]] = []
        try:
            try:
                await execs.start(e)
            except DockyardError as exc:
                text, _ = exec_error(exc)
                data = (text + "\r\n").encode()
                await session.send(data if e.tty else frame("stdout", data))
                return session.response
            output = asyncio.ensure_future(_copy_out(session, e, queue))
            tasks.append(output)
            waiting: set[asyncio.Future[Any]] = {output}
            if e.attach_stdin:
                stdin = asyncio.ensure_future(_copy_in(session, e, execs, keys))
                tasks.append(stdin)
                waiting.add(stdin)
            while waiting:
                done, waiting = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                if output in done:
                    break
                finished = next(iter(done))
                if finished.exception() is not None or finished.result() != "closed":
                    break
        except (ConnectionResetError, BrokenPipeError, OSError):
            pass
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            e.io.detach(queue)
            session.close()
        return session.response

    async def resize(request: web.Request) -> web.StreamResponse:
        execs = service_of(ctx).execs
        e = execs.get(request.match_info["id"])
        await execs.resize(e, query_int(request, "h"), query_int(request, "w"))
        return web.Response(status=200)

    async def inspect(request: web.Request) -> web.StreamResponse:
        e = service_of(ctx).execs.get(request.match_info["id"])
        return json_response(e.inspect())

    return [
        RouteDef("POST", "/containers/{id}/exec", create),
        RouteDef("POST", "/exec/{id}/start", start),
        RouteDef("POST", "/exec/{id}/resize", resize),
        RouteDef("GET", "/exec/{id}/json", inspect),
    ]
