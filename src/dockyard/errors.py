"""One error vocabulary for every layer of dockyard.

Each class maps 1:1 onto a gRPC status code and an HTTP status, so that a "not found" raised
deep in the runtime reaches the user as the same kind of error. Messages are one line that
names the problem.
"""

from __future__ import annotations


class DockyardError(Exception):
    """Base of every error dockyard raises on purpose."""

    grpc_code = "UNKNOWN"
    http_status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class NotFound(DockyardError):
    """The named object does not exist."""

    grpc_code = "NOT_FOUND"
    http_status = 404


class AlreadyExists(DockyardError):
    """An object with that name or id exists already."""

    grpc_code = "ALREADY_EXISTS"
    http_status = 409


class InvalidArgument(DockyardError):
    """The caller's input is malformed or out of range."""

    grpc_code = "INVALID_ARGUMENT"
    http_status = 400


class FailedPrecondition(DockyardError):
    """The object is not in a state that allows the operation (e.g. container not running)."""

    grpc_code = "FAILED_PRECONDITION"
    http_status = 409


class Unavailable(DockyardError):
    """Something the operation needs is missing or not reachable on this host."""

    grpc_code = "UNAVAILABLE"
    http_status = 503


class NotImplementedYet(DockyardError):
    """The operation or option is recognised but not supported here."""

    grpc_code = "UNIMPLEMENTED"
    http_status = 501


class Internal(DockyardError):
    """A step failed for a reason that is not the caller's fault (a syscall, a child process)."""

    grpc_code = "INTERNAL"
    http_status = 500


class PermissionDenied(DockyardError):
    """The host refuses the operation to this process (missing capability, EPERM/EACCES)."""

    grpc_code = "PERMISSION_DENIED"
    http_status = 403
