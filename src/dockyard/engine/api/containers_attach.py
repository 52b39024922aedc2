"""``POST /containers/{id}/attach``: the container's stdio over the hijacked connection.

Query: ``stream`` (live output, and stdin), ``logs`` (the log so far first), ``stdin``,
``stdout``, ``stderr``, ``detachKeys`` (default ``ctrl-p,ctrl-q``). Output is framed as in
``/logs`` without a TTY, raw with one. Attaching to a container that is created but not
started is how ``docker run`` works: the output of the run that follows arrives here, and
stdin is copied once the task exists.

When the client's stdin ends: with ``StdinOnce`` (and no TTY) the container's stdin is
closed (our writer, then containerd's CloseIO) and output continues until the container
stops; otherwise the session ends, as in dockerd. The detach keys end the session and
leave the container running. ``GET /containers/{id}/attach/ws`` is the websocket variant.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from aiohttp import web

from dockyard.engine.api.containers import service_of
from dockyard.engine.api.containers_logs import MULTIPLEXED, RAW, frame
from dockyard.engine.api.hijack import Hijacked, hijack
from dockyard.engine.api.httputil import query_bool
from dockyard.engine.api.routing import RouteDef
from dockyard.engine.containers import Live
from dockyard.engine.context import EngineContext
from dockyard.engine.logs_jsonfile import read_messages
from dockyard.errors import FailedPrecondition, InvalidArgument

DEFAULT_DETACH_KEYS = "ctrl-p,ctrl-q"
HUP_POLL = 0.5
_SPECIAL = {"@": 0, "[": 27, "\\": 28, "]": 29, "^": 30, "_": 31}


def detach_sequence(text: str) -> bytes:
    """Docker's ``term.ToBytes``: ``ctrl-p,ctrl-q`` -> b"\\x10\\x11"; "" -> no keys."""
    out = bytearray()
    for key in (k.strip() for k in text.split(",") if k.strip()):
        lower = key.lower()
        if lower.startswith("ctrl-") and len(key) == 6:
            char = lower[5]
            if "a" <= char <= "z":
                out.append(ord(char) - ord("a") + 1)
                continue
            if char in _SPECIAL:
                out.append(_SPECIAL[char])
                continue
        if len(key) == 1:
            out.append(ord(key))
            continue
        raise InvalidArgument(f"Invalid detach keys ({text}) provided")
    return bytes(out)


class DetachMatcher:
    """Finds the detach sequence in stdin; holds back a partial match until it is decided."""

    def __init__(self, keys: bytes) -> None:
        self.keys = keys
        self.held = b""

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        """(bytes to pass on, whether the keys were typed)."""
        if not self.keys:
            return data, False
        out = bytearray()
        for byte in data:
            candidate = self.held + bytes((byte,))
            if self.keys.startswith(candidate):
                self.held = candidate
                if candidate == self.keys:
                    return bytes(out), True
                continue
            out += candidate
            self.held = b""
        return bytes(out), False


async def _copy_out(session: Hijacked, live: Live, queue: asyncio.Queue[tuple[str, bytes] | None],
                    streams: set[str], tty: bool) -> None:
    while True:
        item = await queue.get()
        if item is None:
            return
        name, data = item
        if name in streams:
            await session.send(data if tty else frame(name, data))


async def _copy_in(session: Hijacked, live: Live, keys: bytes, close_stdin: bool, ctx: EngineContext) -> str:
    """Copy the client's stdin; "detached", "closed" (stdin closed on EOF) or "eof"."""
    matcher = DetachMatcher(keys)
    while True:
        data = await session.recv()
        if not data:
            if close_stdin:  # an EOF before the start (docker run -i < /dev/null) closes it once it exists
                await live.io.stdin_ready.wait()
                await service_of(ctx).lifecycle.close_stdin(live)
                return "closed"
            return "eof"
        passed, detached = matcher.feed(data)
        if passed:
            await live.io.stdin_ready.wait()
            try:
                await live.io.write_stdin(passed)
            except OSError:
                return "eof"
        if detached:
            return "detached"


async def _until_closed(session: Hijacked) -> str:
    """The client sends nothing (the docker CLI half-closes at once): wait until it is gone."""
    while await session.recv():
        pass
    while not session.peer_gone():
        await asyncio.sleep(HUP_POLL)
    return "eof"


def routes(ctx: EngineContext) -> list[RouteDef]:
    async def attach(request: web.Request) -> web.StreamResponse:
        service = service_of(ctx)
        live = service.get(request.match_info["id"])
        c = live.container
        if c.state.paused:
            raise FailedPrecondition("container is paused, unpause the container before attach.")
        if c.state.restarting:
            raise FailedPrecondition("cannot attach to a restarting container")
        keys = detach_sequence(request.query.get("detachKeys") or DEFAULT_DETACH_KEYS)
        streams = {name for name in ("stdout", "stderr") if query_bool(request, name)}
        want_stdin = query_bool(request, "stdin") and bool(c.config.get("OpenStdin"))
        stream, logs = query_bool(request, "stream"), query_bool(request, "logs")
        queue = live.io.attach() if stream else None
        session = await hijack(request, RAW if c.tty else MULTIPLEXED)
        service.publish(c, "attach")
        tasks: list[asyncio.Future[Any]] = []
        try:
            if logs and c.log_path:
                for message in read_messages(c.log_path):
                    if message.stream in streams:
                        await session.send(message.data if c.tty else frame(message.stream, message.data))
            if queue is not None:
                output = asyncio.ensure_future(_copy_out(session, live, queue, streams, c.tty))
                tasks.append(output)
                waiting: set[asyncio.Future[Any]] = {output}
                if want_stdin:
                    close = bool(c.config.get("StdinOnce")) and not c.tty
                    stdin = asyncio.ensure_future(_copy_in(session, live, keys, close, ctx))
                else:  # nothing to read: the end of the client's stream means it left
                    stdin = asyncio.ensure_future(_until_closed(session))
                tasks.append(stdin)
                waiting.add(stdin)
                while waiting:
                    done, waiting = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                    if output in done:
                        break
                    finished = next(iter(done))
                    if finished.exception() is not None or finished.result() != "closed":
                        break  # detached, or stdin ended without closing the container's
        except (ConnectionResetError, BrokenPipeError, OSError):
            pass
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            if queue is not None:
                live.io.detach(queue)
            session.close()
        return session.response

    async def attach_ws(request: web.Request) -> web.StreamResponse:
        """The websocket variant: output as binary messages (never multiplexed), messages in
        as stdin; it ends when the container stops or the client closes."""
        service = service_of(ctx)
        live = service.get(request.match_info["id"])
        c = live.container
        streams = {name for name in ("stdout", "stderr") if query_bool(request, name)}
        queue = live.io.attach() if query_bool(request, "stream") else None
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        service.publish(c, "attach")

        async def copy_in() -> None:
            async for message in ws:
                data = message.data if isinstance(message.data, bytes) else str(message.data).encode()
                if query_bool(request, "stdin") and c.config.get("OpenStdin"):
                    await live.io.stdin_ready.wait()
                    await live.io.write_stdin(data)

        reader = asyncio.ensure_future(copy_in())
        try:
            if query_bool(request, "logs") and c.log_path:
                for m in read_messages(c.log_path):
                    if m.stream in streams:
                        await ws.send_bytes(m.data)
            while queue is not None and not reader.done():
                getter = asyncio.ensure_future(queue.get())
                done, _ = await asyncio.wait({getter, reader}, return_when=asyncio.FIRST_COMPLETED)
                if getter not in done:
                    getter.cancel()
                    break
                item = getter.result()
                if item is None:
                    break
                if item[0] in streams:
                    await ws.send_bytes(item[1])
        except (ConnectionResetError, BrokenPipeError):
            pass
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader
            if queue is not None:
                live.io.detach(queue)
            await ws.close()
        return ws

    return [RouteDef("POST", "/containers/{id}/attach", attach),
            RouteDef("GET", "/containers/{id}/attach/ws", attach_ws)]
