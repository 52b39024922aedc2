"""The shim's wire protocol: newline-delimited JSON over a unix stream socket.

Every message is one JSON object on one line (UTF-8, ``\\n``-terminated, at most
:data:`MAX_LINE` bytes: a longer line is skipped and answered with an INVALID_ARGUMENT error
whose ``id`` is null). Three kinds travel:

- request (client -> shim): ``{"id": 7, "op": "kill", "exec_id": "", "signal": 15}``.
  ``id`` is any JSON scalar the client chooses (echoed back; default null), ``op`` names the
  command, every other key is an argument (see :mod:`dockyard.shim` for the list).
- response (shim -> client): ``{"id": 7, "result": {...}}`` or
  ``{"id": 7, "error": {"code": "NOT_FOUND", "message": "process already finished"}}``.
  Responses on one connection may come out of order: a ``wait`` answers when the process
  exits while the requests sent after it are answered at once.
- event (shim -> subscribed client): ``{"event": {"seq": 3, "topic": "/tasks/exit", ...}}``.

Error codes are the ``grpc_code`` of the :mod:`dockyard.errors` classes (NOT_FOUND,
ALREADY_EXISTS, INVALID_ARGUMENT, FAILED_PRECONDITION, UNAVAILABLE, UNIMPLEMENTED, INTERNAL,
PERMISSION_DENIED, UNKNOWN): :func:`error_body` maps an exception to its code and
:func:`error_from` maps it back on the client side, so a "not found" in the shim is a
:class:`~dockyard.errors.NotFound` in the daemon.
"""

from __future__ import annotations

import builtins

from dockyard import errors
from dockyard.oci import jsonio

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

MAX_LINE = 1 << 20

_CLASSES: dict[str, type[errors.DockyardError]] = {
    cls.grpc_code: cls
    for cls in (
        errors.NotFound,
        errors.AlreadyExists,
        errors.InvalidArgument,
        errors.FailedPrecondition,
        errors.Unavailable,
        errors.NotImplementedYet,
        errors.Internal,
        errors.PermissionDenied,
    )
}


class LineBuffer:
    """Splits a byte stream into lines. A line longer than ``limit`` bytes is dropped (up to
    its newline) and stands as one ``None`` in the output, so the peer can be told and the
    connection goes on."""

    __slots__ = ("_data", "_dropping", "limit")

    def __init__(self, limit: int = MAX_LINE) -> None:
        self._data = b""
        self._dropping = False
        self.limit = limit

    def feed(self, chunk: bytes) -> list[bytes | None]:
        """Add ``chunk``; return the lines it completed (without the newline)."""
        out: list[bytes | None] = []
        data = self._data + chunk
        while True:
            end = data.find(b"\n")
            if end < 0:
                break
            line, data = data[:end], data[end + 1 :]
            if self._dropping:
                self._dropping = False
            elif len(line) > self.limit:
                out.append(None)
            else:
                out.append(line)
        if not self._dropping and len(data) > self.limit:
            out.append(None)
            self._dropping = True
        if self._dropping:
            data = b""
        self._data = data
        return out

    @property
    def pending(self) -> int:
        return len(self._data)


def too_long(limit: int = MAX_LINE) -> errors.InvalidArgument:
    return errors.InvalidArgument(f"message longer than {limit} bytes")


def encode(message: dict[str, Any]) -> bytes:
    """One message as a line of bytes."""
    return (jsonio.dumps(message) + "\n").encode()


def decode(line: bytes, what: str = "message") -> dict[str, Any]:
    """Parse one line into a JSON object."""
    value = jsonio.loads(line, what)
    if not isinstance(value, dict):
        raise errors.InvalidArgument(f"{what}: must be a JSON object")
    return value


class Request:
    """One parsed request with typed access to its arguments."""

    __slots__ = ("args", "id", "op")

    def __init__(self, op: str, args: dict[str, Any], rid: Any = None) -> None:
        self.op = op
        self.args = args
        self.id = rid

    def _get(self, key: str, kinds: type | tuple[type, ...], default: Any, what: str) -> Any:
        value = self.args.get(key)
        if value is None:
            return default
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in _tuple(kinds)):
            raise errors.InvalidArgument(f"{self.op}: {key}: must be {what}")
        return value

    def str(self, key: str, default: str = "") -> str:
        value: str = self._get(key, str, default, "a string")
        return value

    def int(self, key: builtins.str, default: builtins.int = 0) -> builtins.int:
        value: builtins.int = self._get(key, int, default, "an integer")
        return value

    def bool(self, key: builtins.str, default: builtins.bool = False) -> builtins.bool:
        value: builtins.bool = self._get(key, bool, default, "true or false")
        return value

    def obj(self, key: builtins.str, required: builtins.bool = False) -> dict[builtins.str, Any]:
        value: dict[builtins.str, Any] | None = self._get(key, dict, None, "a JSON object")
        if value is None:
            if required:
                raise errors.InvalidArgument(f"{self.op}: {key}: is required")
            return {}
        return value

    def strings(self, key: builtins.str) -> list[builtins.str]:
        value: list[Any] = self._get(key, list, [], "a list of strings")
        if not all(isinstance(v, str) for v in value):
            raise errors.InvalidArgument(f"{self.op}: {key}: must be a list of strings")
        return list(value)

    def signal(self, key: builtins.str, default: builtins.int = 15) -> builtins.int:
        """A signal given as a number or a name (``9``, ``"KILL"``, ``"SIGKILL"``)."""
        value = self.args.get(key)
        if value is None:
            return default
        if isinstance(value, builtins.int) and not isinstance(value, builtins.bool):
            if 0 < value <= 64:
                return value
            raise errors.InvalidArgument(f"{self.op}: {key}: {value} is not a signal number")
        if isinstance(value, builtins.str) and value:
            from dockyard.runtime.signals import parse_signal

            return parse_signal(value)
        raise errors.InvalidArgument(f"{self.op}: {key}: must be a signal number or name")

    def required_str(self, key: builtins.str) -> builtins.str:
        value = self.str(key)
        if not value:
            raise errors.InvalidArgument(f"{self.op}: {key}: is required")
        return value


def _tuple(kinds: type | tuple[type, ...]) -> tuple[type, ...]:
    return kinds if isinstance(kinds, tuple) else (kinds,)


def parse_request(line: bytes) -> Request:
    """A request line -> :class:`Request`; InvalidArgument when it is not one."""
    message = decode(line, "request")
    rid = message.pop("id", None)
    if isinstance(rid, dict | list):
        raise errors.InvalidArgument("request: id: must be a string, a number or null")
    op = message.pop("op", None)
    if not isinstance(op, str) or not op:
        raise errors.InvalidArgument("request: op: must be a non-empty string")
    return Request(op, message, rid)


def request_id(line: bytes) -> Any:
    """The ``id`` of a request that failed to parse, when it can still be found (else None)."""
    try:
        message = jsonio.loads(line)
    except errors.DockyardError:
        return None
    if isinstance(message, dict):
        rid = message.get("id")
        if not isinstance(rid, dict | list):
            return rid
    return None


def result(rid: Any, value: dict[str, Any]) -> dict[str, Any]:
    return {"id": rid, "result": value}


def error_body(exc: BaseException) -> dict[str, str]:
    """``{"code", "message"}`` for an exception: its grpc code, or INTERNAL for a bug."""
    if isinstance(exc, errors.DockyardError):
        return {"code": exc.grpc_code, "message": exc.message}
    if isinstance(exc, OSError):
        return {"code": "INTERNAL", "message": f"{exc.strerror or exc}"}
    return {"code": "INTERNAL", "message": f"{type(exc).__name__}: {exc}"}


def error(rid: Any, exc: BaseException) -> dict[str, Any]:
    return {"id": rid, "error": error_body(exc)}


def error_from(body: Any) -> errors.DockyardError:
    """The exception a response's ``error`` stands for (client side)."""
    if not isinstance(body, dict):
        return errors.Internal(f"shim: malformed error: {body!r}")
    message = str(body.get("message") or "unknown error")
    cls = _CLASSES.get(str(body.get("code")), errors.DockyardError)
    return cls(message)
