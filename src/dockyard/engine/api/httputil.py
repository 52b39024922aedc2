"""What handlers share: the request's API version, JSON bodies and query parameters with
Docker's rules, JSON responses, and noticing that a streaming client went away.

Errors are raised, never returned: a handler raises :mod:`dockyard.errors` classes and the
error middleware answers ``{"message": ...}`` with the class's HTTP status.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable
from typing import Any, TypeVar

from aiohttp import web

from dockyard.engine.api import versions
from dockyard.errors import InvalidArgument

API_VERSION_KEY = web.RequestKey("api_version", str)
T = TypeVar("T")


def api_version(request: web.Request) -> str:
    """The version the request is served with (its path's, else the current one)."""
    return request.get(API_VERSION_KEY) or versions.API_VERSION


def version_at_least(request: web.Request, version: str) -> bool:
    """Whether the request speaks ``version`` or newer (for fields that changed between versions)."""
    return versions.at_least(api_version(request), version)


def dumps(value: Any) -> str:
    """Compact JSON as Go's encoder writes it (no spaces; ``<``, ``>``, ``&`` left as they are)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def json_response(value: Any, status: int = 200) -> web.Response:
    """``value`` as JSON with a trailing newline, as dockerd's ``WriteJSON`` sends it."""
    return web.Response(body=(dumps(value) + "\n").encode(), status=status,
                        headers={"Content-Type": "application/json"})


async def json_body(request: web.Request, *, allow_empty: bool = False) -> Any:
    """The request's JSON body; InvalidArgument for malformed JSON (Docker's wording), for a
    body that is not JSON, or for no body unless ``allow_empty`` (then ``None``)."""
    raw = await request.read()
    if not raw.strip():
        if allow_empty:
            return None
        raise InvalidArgument("invalid JSON: request body is empty")
    ctype = request.headers.get("Content-Type", "")
    if ctype and not ctype.split(";")[0].strip().lower().endswith("json"):
        raise InvalidArgument(f"unsupported Content-Type header ({ctype}): must be 'application/json'")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidArgument(f"invalid JSON: {exc}") from None


def query_bool(request: web.Request, name: str, default: bool = False) -> bool:
    """Docker's ``BoolValue``: absent -> default; "", "0", "no", "false", "none" -> False; else True."""
    if name not in request.query:
        return default
    return request.query[name].strip().lower() not in ("", "0", "no", "false", "none")


def query_int(request: web.Request, name: str, default: int = 0) -> int:
    """An integer parameter; InvalidArgument naming it when it is not one."""
    text = request.query.get(name, "")
    if text == "":
        return default
    try:
        return int(text)
    except ValueError:
        raise InvalidArgument(f"invalid value for {name}: {text!r} is not an integer") from None


def is_disconnected(request: web.Request) -> bool:
    """Whether the client's connection is gone (or going)."""
    transport = request.transport
    return transport is None or transport.is_closing()


async def unless_disconnected(request: web.Request, awaitable: Awaitable[T], interval: float = 0.5) -> T | None:
    """Await ``awaitable`` unless the client goes away first (then cancel it and return None).

    aiohttp does not cancel a handler whose client left (handlers that change state run to
    their end); a streaming handler waits for its next item through this instead.
    """
    task = asyncio.ensure_future(awaitable)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=interval)
            if done:
                return task.result()
            if is_disconnected(request):
                return None
    finally:
        if not task.done():
            task.cancel()
