"""Image routes that move bytes: ``POST /images/create`` (pull with ``fromImage``, import
with ``fromSrc``), ``POST /images/{name}/push``, ``GET /images/{name}/get`` and
``GET /images/get?names=`` (save), ``POST /images/load``.

Progress is Docker's stream of JSON messages (:func:`stream_messages`): nothing is sent
until the operation produced its first message, so an error before that (an unknown
image or tag, bad credentials) is an ordinary HTTP error; a later one is an
``{"errorDetail": ..., "error": ...}`` message at the end of the stream, as dockerd does.
Saves stream the archive the same way: a missing image is a 404 before any byte. A client
that goes away ends the operation (its gRPC call is cancelled).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from aiohttp import web

from dockyard.engine import image_progress as msg
from dockyard.engine.api.httputil import dumps, query_bool
from dockyard.engine.api.images import service_of
from dockyard.engine.api.routing import RouteDef
from dockyard.engine.context import EngineContext
from dockyard.engine.image_archive import Archives
from dockyard.engine.image_changes import apply_changes
from dockyard.engine.image_refs import repo_tag_reference
from dockyard.engine.image_transfer import Transfers, decode_auth, pull_reference
from dockyard.errors import DockyardError, InvalidArgument, Unavailable

log = logging.getLogger("dockyard.engine.api")

CHUNK = 1 << 20
AUTH_HEADER = "X-Registry-Auth"


async def _first(items: AsyncIterator[Any]) -> tuple[bool, Any]:
    try:
        return True, await items.__anext__()
    except StopAsyncIteration:
        return False, None


async def stream_messages(request: web.Request, messages: AsyncIterator[dict[str, Any]]) -> web.StreamResponse:
    """Docker's JSON message stream from ``messages`` (see the module's docstring)."""
    agen: Any = messages
    try:
        has_first, first = await _first(messages)
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        try:
            if has_first:
                await response.write((dumps(first) + "\n").encode())
            async for item in messages:
                await response.write((dumps(item) + "\n").encode())
        except DockyardError as exc:
            await response.write((dumps(msg.error(exc.message)) + "\n").encode())
        except ConnectionError:  # reset, broken pipe, aiohttp's "Connection lost"
            log.debug("%s %s: the client went away", request.method, request.path)
            return response
        except Exception as exc:
            log.exception("%s %s: unexpected error", request.method, request.path)
            await response.write((dumps(msg.error(f"{type(exc).__name__}: {exc}")) + "\n").encode())
        await response.write_eof()
        return response
    finally:
        if hasattr(agen, "aclose"):
            await agen.aclose()


async def stream_bytes(request: web.Request, chunks: AsyncIterator[bytes], content_type: str) -> web.StreamResponse:
    agen: Any = chunks
    try:
        has_first, first = await _first(chunks)
        response = web.StreamResponse(headers={"Content-Type": content_type})
        await response.prepare(request)
        try:
            if has_first:
                await response.write(first)
            async for chunk in chunks:
                await response.write(chunk)
        except ConnectionError:  # reset, broken pipe, aiohttp's "Connection lost"
            log.debug("%s %s: the client went away", request.method, request.path)
            return response
        except DockyardError as exc:  # nothing to tell the client mid-archive: cut the connection
            log.error("%s %s: %s", request.method, request.path, exc)
            if request.transport is not None:
                request.transport.close()
            return response
        await response.write_eof()
        return response
    finally:
        if hasattr(agen, "aclose"):
            await agen.aclose()


async def request_body(request: web.Request) -> AsyncIterator[bytes]:
    async for chunk in request.content.iter_chunked(CHUNK):
        yield chunk


async def url_body(url: str) -> AsyncIterator[bytes]:
    """The bytes at ``url`` (``fromSrc`` of an import)."""
    if not url.startswith(("http://", "https://")):
        raise InvalidArgument(f"fromSrc: {url!r} is not an http(s) URL or \"-\"")
    try:
        async with aiohttp.ClientSession() as session, session.get(url) as answer:
            if answer.status != 200:
                raise InvalidArgument(f"fromSrc: {url}: {answer.status} {answer.reason}")
            async for chunk in answer.content.iter_chunked(CHUNK):
                yield chunk
    except aiohttp.ClientError as exc:
        raise Unavailable(f"fromSrc: {url}: {exc}") from None


def routes(ctx: EngineContext) -> list[RouteDef]:
    images = service_of(ctx)
    transfers = Transfers(images)
    archives = Archives(images)

    async def create(request: web.Request) -> web.StreamResponse:
        query = request.query
        from_image, from_src = query.get("fromImage", ""), query.get("fromSrc", "")
        platform = query.get("platform", "")
        if from_image:
            # no tag on a bare repository: every tag (``docker pull -a``), as dockerd does
            ref = pull_reference(from_image, query.get("tag", ""), all_tags=True)
            credentials = decode_auth(request.headers.get(AUTH_HEADER, ""))
            if ref.is_name_only():
                return await stream_messages(request, transfers.pull_all_tags(ref, platform=platform,
                                                                              credentials=credentials))
            return await stream_messages(request, transfers.pull(ref, platform=platform, credentials=credentials))
        if not from_src:
            raise InvalidArgument("fromImage or fromSrc is required")
        repo = query.get("repo", "")
        name = str(repo_tag_reference(repo, query.get("tag", ""))) if repo else ""
        config = apply_changes(query.getall("changes", []))
        body = request_body(request) if from_src == "-" else url_body(from_src)
        messages = archives.import_image(body, source=from_src, name=name,
                                         config_json=json.dumps(config) if config else "",
                                         message=query.get("message", ""), platform=platform)
        return await stream_messages(request, messages)

    async def push(request: web.Request) -> web.StreamResponse:
        credentials = decode_auth(request.headers.get(AUTH_HEADER, ""))
        messages = transfers.push(request.match_info["name"], request.query.get("tag", ""), credentials=credentials)
        return await stream_messages(request, messages)

    async def save_one(request: web.Request) -> web.StreamResponse:
        return await stream_bytes(request, archives.save([request.match_info["name"]]), "application/x-tar")

    async def save_many(request: web.Request) -> web.StreamResponse:
        names = request.query.getall("names", [])
        return await stream_bytes(request, archives.save(names), "application/x-tar")

    async def load(request: web.Request) -> web.StreamResponse:
        messages = archives.load(request_body(request), quiet=query_bool(request, "quiet"))
        return await stream_messages(request, messages)

    return [
        RouteDef("POST", "/images/create", create),
        RouteDef("POST", "/images/load", load),
        RouteDef("GET", "/images/get", save_many),
        RouteDef("POST", "/images/{name:.*}/push", push),
        RouteDef("GET", "/images/{name:.*}/get", save_one),
    ]
