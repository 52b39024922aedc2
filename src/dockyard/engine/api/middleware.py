"""What every request goes through: logging, errors as JSON, the version check, and the
headers every response carries.

- :func:`errors_middleware` answers a raised :class:`~dockyard.errors.DockyardError` with
  ``{"message": ...}`` and the class's HTTP status; an unknown route or method with 404
  ``{"message":"page not found"}`` (as dockerd does for both); anything unexpected with
  500 and its traceback in the log.
- :func:`version_middleware` checks the path's ``/v1.NN`` (see :mod:`.versions`) and
  records the version for the handler (:func:`.httputil.api_version`).
- :func:`add_headers` (an ``on_response_prepare`` signal, so streamed and error responses
  get them too): ``Api-Version``, ``Docker-Experimental``, ``Ostype``, ``Server``.
"""

from __future__ import annotations

import logging
import re
import time

from aiohttp import web

import dockyard
from dockyard.engine.api import versions
from dockyard.engine.api.httputil import API_VERSION_KEY, dumps
from dockyard.engine.api.routing import Handler
from dockyard.errors import DockyardError

log = logging.getLogger("dockyard.engine.api")

SERVER = f"Dockyard/{dockyard.__version__} (linux)"
PAGE_NOT_FOUND = "page not found"


def error_response(status: int, message: str) -> web.Response:
    # exactly "application/json" (no charset): the docker CLI reads the message only then
    return web.Response(body=(dumps({"message": message}) + "\n").encode(), status=status,
                        headers={"Content-Type": "application/json"})


# a container reference with a slash in it reaches no route here, but a handler in dockerd
# (its routes take ``{name:.*}``): answer as that handler does
_CONTAINER_PATH = re.compile(r"^(?:/v[0-9.]+)?/containers/(.+)/(?:json|top|logs|changes|export|stats|resize|start|"
                             r"stop|restart|kill|update|rename|pause|unpause|attach|attach/ws|wait|archive)$")


def unrouted_message(path: str) -> str:
    """The 404 message for a path no route takes."""
    found = _CONTAINER_PATH.match(path)
    return f"No such container: {found.group(1)}" if found else PAGE_NOT_FOUND


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except DockyardError as exc:
        if exc.http_status >= 500:
            log.error("%s %s: %s", request.method, request.path, exc)
        else:
            log.debug("%s %s: %d %s", request.method, request.path, exc.http_status, exc)
        return error_response(exc.http_status, exc.message)
    except web.HTTPNotFound:
        return error_response(404, unrouted_message(request.path))
    except web.HTTPMethodNotAllowed:
        return error_response(404, PAGE_NOT_FOUND)
    except web.HTTPException as exc:
        if exc.status >= 400:
            return error_response(exc.status, exc.reason)
        raise
    except (ConnectionResetError, BrokenPipeError):
        log.debug("%s %s: client went away", request.method, request.path)
        raise
    except Exception as exc:
        log.exception("%s %s: unexpected error", request.method, request.path)
        return error_response(500, f"{type(exc).__name__}: {exc}")


@web.middleware
async def version_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.match_info.http_exception is not None:  # no route: 404 whatever the version
        raise request.match_info.http_exception
    request[API_VERSION_KEY] = versions.negotiate(request.match_info.get("version"))
    return await handler(request)


@web.middleware
async def logging_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not log.isEnabledFor(logging.DEBUG):
        return await handler(request)
    started = time.monotonic()
    log.debug("Calling %s %s", request.method, request.path_qs)
    status: int | str = "error"
    try:
        response = await handler(request)
        status = response.status
        return response
    finally:
        log.debug("%s %s: %s in %.1f ms", request.method, request.path, status, (time.monotonic() - started) * 1000)


async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
    headers = response.headers
    headers["Api-Version"] = versions.API_VERSION
    headers["Docker-Experimental"] = "false"
    headers["Ostype"] = "linux"
    headers["Server"] = SERVER


MIDDLEWARES = (logging_middleware, errors_middleware, version_middleware)
