"""dockyard's error vocabulary as gRPC status codes, both ways.

The server answers a :class:`~dockyard.errors.DockyardError` with the code of its class
and its one-line message (containerd's ``errdefs.ToGRPC``); :func:`from_code` gives the
class for a code, for clients of the API (containerd's ``errdefs.FromGRPC``).
"""

from __future__ import annotations

import grpc

from dockyard import errors

_CLASSES: dict[grpc.StatusCode, type[errors.DockyardError]] = {
    grpc.StatusCode.NOT_FOUND: errors.NotFound,
    grpc.StatusCode.ALREADY_EXISTS: errors.AlreadyExists,
    grpc.StatusCode.INVALID_ARGUMENT: errors.InvalidArgument,
    grpc.StatusCode.FAILED_PRECONDITION: errors.FailedPrecondition,
    grpc.StatusCode.UNAVAILABLE: errors.Unavailable,
    grpc.StatusCode.UNIMPLEMENTED: errors.NotImplementedYet,
    grpc.StatusCode.INTERNAL: errors.Internal,
    grpc.StatusCode.PERMISSION_DENIED: errors.PermissionDenied,
}


def status_code(exc: BaseException) -> grpc.StatusCode:
    """The gRPC code an error is answered with (UNKNOWN for anything unexpected)."""
    if isinstance(exc, errors.DockyardError):
        try:
            return grpc.StatusCode[exc.grpc_code]
        except KeyError:
            return grpc.StatusCode.UNKNOWN
    if isinstance(exc, NotImplementedError):
        return grpc.StatusCode.UNIMPLEMENTED
    return grpc.StatusCode.UNKNOWN


def from_code(code: grpc.StatusCode, message: str) -> errors.DockyardError:
    """The dockyard error for a gRPC status (a plain DockyardError for other codes)."""
    cls = _CLASSES.get(code, errors.DockyardError)
    return cls(message)
