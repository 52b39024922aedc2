"""What every call carries, and how every call fails.

containerd's clients put the namespace in the ``containerd-namespace`` metadata header
(``ctr`` always sends it, ``default`` unless told otherwise) and the lease that protects
what the call creates in ``containerd-lease``. :func:`namespace` and :func:`lease` read
them; a call without a namespace works in ``default``.

:class:`ErrorInterceptor` wraps every handler of the server: a
:class:`~dockyard.errors.DockyardError` raised anywhere below becomes the gRPC status of
its class with its message; anything unexpected is logged with its traceback and answered
INTERNAL (a handler that aborted the call itself is left alone).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import grpc

from dockyard.containerd.metadata.validation import validate_identifier
from dockyard.containerd.server.errors import status_code
from dockyard.errors import DockyardError

NAMESPACE_HEADER = "containerd-namespace"
LEASE_HEADER = "containerd-lease"
DEFAULT_NAMESPACE = "default"

log = logging.getLogger("dockyard.containerd.server")


def header(context: grpc.ServicerContext, key: str) -> str:
    """The value of metadata header ``key`` ("" when absent)."""
    for item in context.invocation_metadata() or ():
        if item.key == key:
            value = item.value
            return value.decode() if isinstance(value, bytes) else str(value)
    return ""


def namespace(context: grpc.ServicerContext) -> str:
    """The call's namespace (InvalidArgument when it is not an identifier)."""
    name = header(context, NAMESPACE_HEADER) or DEFAULT_NAMESPACE
    return validate_identifier(name, "namespace")


def lease(context: grpc.ServicerContext) -> str:
    """The lease the call's new objects join ("" for none)."""
    return header(context, LEASE_HEADER)


def _aborted(context: grpc.ServicerContext) -> bool:
    code = context.code() if hasattr(context, "code") else None
    return code is not None and code != grpc.StatusCode.OK


def _fail(context: grpc.ServicerContext, method: str, exc: Exception) -> None:
    """Abort the call for ``exc`` (never returns)."""
    if isinstance(exc, DockyardError | NotImplementedError):
        code = status_code(exc)
        message = str(exc) or f"{method}: not implemented"
        log.debug("%s: %s: %s", method, code.name, message)
        context.abort(code, message)
    if hasattr(context, "is_active") and not context.is_active():
        log.debug("%s: client went away: %s: %s", method, type(exc).__name__, exc)
        raise exc
    log.error("%s: unexpected error", method, exc_info=exc)
    context.abort(grpc.StatusCode.INTERNAL, f"{type(exc).__name__}: {exc}")


def _unary(method: str, behavior: Callable[..., Any]) -> Callable[..., Any]:
    def handle(request: Any, context: grpc.ServicerContext) -> Any:
        started = time.monotonic()
        try:
            return behavior(request, context)
        except Exception as exc:
            if _aborted(context):
                raise
            _fail(context, method, exc)
            raise  # not reached: abort raises
        finally:
            if log.isEnabledFor(logging.DEBUG):
                log.debug("%s: %.1f ms", method, (time.monotonic() - started) * 1000)

    return handle


def _streaming(method: str, behavior: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
    def handle(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        try:
            yield from behavior(request, context)
        except Exception as exc:
            if _aborted(context):
                raise
            _fail(context, method, exc)
            raise

    return handle


class ErrorInterceptor(grpc.ServerInterceptor):  # type: ignore[misc]
    """Maps dockyard errors to gRPC status codes for every method of the server."""

    def intercept_service(self, continuation: Callable[[Any], Any], details: Any) -> Any:
        handler = continuation(details)
        if handler is None:
            return None
        method = details.method
        if handler.unary_unary is not None:
            return handler._replace(unary_unary=_unary(method, handler.unary_unary))
        if handler.stream_unary is not None:
            return handler._replace(stream_unary=_unary(method, handler.stream_unary))
        if handler.unary_stream is not None:
            return handler._replace(unary_stream=_streaming(method, handler.unary_stream))
        if handler.stream_stream is not None:
            return handler._replace(stream_stream=_streaming(method, handler.stream_stream))
        return handler
