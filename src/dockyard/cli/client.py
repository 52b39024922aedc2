"""The Docker Engine API client the commands use: unix socket (or plain tcp), JSON, streams.

- Host: ``--host``, else ``DOCKER_HOST``, else ``unix:///run/dockyard/dockyard.sock``;
  ``tcp://host:port`` speaks plain HTTP (no TLS).
- Version: the first versioned request pings (``GET /_ping``) and uses
  ``min(API_VERSION, the daemon's API-Version)``, as docker's client negotiates;
  ``DOCKER_API_VERSION`` (or ``version=``) pins a version and skips the ping.
- Errors: a reply >= 400 raises the ``dockyard.errors`` class of its status with docker's
  text, ``Error response from daemon: <message>`` (404 NotFound, 400 InvalidArgument, 409
  AlreadyExists when the message says so, else FailedPrecondition, 401/403
  PermissionDenied, 501 NotImplementedYet, 503 Unavailable, other 5xx Internal). A missing
  socket or a refused connection is Unavailable, in docker's words: ``Cannot connect to the
  dockyard daemon at unix:///... Is the dockyard daemon running?``.
- Streams: ``stream`` returns the open ``Response`` (``chunks()``, ``lines()``),
  ``stream_json`` yields one decoded object per line (pull progress, events), ``hijack``
  upgrades the connection for attach/exec and returns the raw socket.
"""

from __future__ import annotations

import _socket
import posix

import dockyard
from dockyard.cli import httpio
from dockyard.errors import (
    AlreadyExists,
    DockyardError,
    FailedPrecondition,
    Internal,
    InvalidArgument,
    NotFound,
    NotImplementedYet,
    PermissionDenied,
    Unavailable,
)
from dockyard.oci import jsonio

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping
    from typing import Any

DEFAULT_HOST = "unix:///run/dockyard/dockyard.sock"
API_VERSION = "1.50"  # the newest API this client speaks (docker 28.2's)
MIN_API_VERSION = "1.24"  # what a daemon that does not say is assumed to speak
USER_AGENT = f"dockyard-cli/{dockyard.__version__} (linux)"
_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")


def getenv(name: str) -> str | None:
    """``os.environ.get`` without importing ``os`` (1.2 ms of every start)."""
    value = posix.environ.get(name.encode())
    return value.decode("utf-8", "surrogateescape") if value is not None else None


def resolve_host(host: str | None = None) -> str:
    return host or getenv("DOCKER_HOST") or DEFAULT_HOST


def version_tuple(version: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in version.split("."))
    except ValueError:
        raise InvalidArgument(f"invalid API version {version!r}") from None


def quote(text: str, safe: str = "") -> str:
    """Percent-encode ``text`` for a URL (``safe`` characters are kept, e.g. ``/:`` in paths)."""
    keep = _SAFE | frozenset(safe.encode())
    return "".join(chr(b) if b in keep else f"%{b:02X}" for b in text.encode())


def encode_query(query: Mapping[str, Any]) -> str:
    """``a=1&b=x``; bools are 1/0, dicts and lists JSON (docker's ``filters``), None is left out."""
    parts = []
    for key, value in query.items():
        if value is None:
            continue
        if isinstance(value, bool):
            value = "1" if value else "0"
        elif isinstance(value, dict | list):
            value = jsonio.dumps(value)
        parts.append(f"{quote(key)}={quote(str(value))}")
    return "&".join(parts)


def _error_for(status: int, message: str) -> DockyardError:
    text = f"Error response from daemon: {message}"
    if status == 404:
        return NotFound(text)
    if status == 400:
        return InvalidArgument(text)
    if status == 409:
        return AlreadyExists(text) if "already" in message.lower() else FailedPrecondition(text)
    if status in (401, 403):
        return PermissionDenied(text)
    if status == 501:
        return NotImplementedYet(text)
    if status == 503:
        return Unavailable(text)
    if 400 <= status < 500:
        return InvalidArgument(text)
    return Internal(text)


def raise_for_status(resp: httpio.Response) -> None:
    """Raise the error a reply >= 400 stands for, with the daemon's ``message``."""
    if resp.status < 400:
        return
    body = resp.read()
    message = body.decode("utf-8", "replace").strip()
    if resp.header("content-type").startswith("application/json") or message.startswith("{"):
        try:
            decoded = jsonio.loads(body)
            if isinstance(decoded, dict) and "message" in decoded:
                message = str(decoded["message"])
        except InvalidArgument:
            pass
    raise _error_for(resp.status, message or f"{resp.status} {resp.reason}".strip())


class Hijacked:
    """The raw connection of an upgraded request (attach, exec start)."""

    def __init__(self, sock: _socket.socket, buffered: bytes) -> None:
        self.sock = sock
        self.buffered = buffered

    def recv(self, size: int = 65536) -> bytes:
        if self.buffered:
            data, self.buffered = self.buffered[:size], self.buffered[size:]
            return data
        return self.sock.recv(size)

    def sendall(self, data: bytes) -> None:
        self.sock.sendall(data)

    def close_write(self) -> None:
        self.sock.shutdown(_socket.SHUT_WR)

    def fileno(self) -> int:
        return self.sock.fileno()

    def close(self) -> None:
        self.sock.close()


class Client:
    """One daemon; every request opens its own connection (cheap on a unix socket)."""

    def __init__(self, host: str | None = None, version: str | None = None, timeout: float | None = None) -> None:
        self.host = resolve_host(host)
        self.timeout = timeout
        self._version = version or getenv("DOCKER_API_VERSION") or None
        self.ping_headers: dict[str, str] = {}

    # --- connection ---
    def _address(self) -> tuple[int, Any]:
        scheme, sep, rest = self.host.partition("://")
        if sep and scheme == "unix" and rest:
            return _socket.AF_UNIX, rest
        if sep and scheme == "tcp" and rest:
            hostport = rest.rstrip("/")
            host, _, port = hostport.rpartition(":")
            if host and port.isdigit():
                host = host.strip("[]")
                return (_socket.AF_INET6 if ":" in host else _socket.AF_INET), (host, int(port))
        raise InvalidArgument(f"unable to parse docker host `{self.host}`")

    def connect(self) -> _socket.socket:
        family, address = self._address()
        sock = _socket.socket(family, _socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(address)
        except (FileNotFoundError, ConnectionRefusedError):
            sock.close()
            raise Unavailable(f"Cannot connect to the dockyard daemon at {self.host}. "
                              "Is the dockyard daemon running?") from None
        except PermissionError:
            sock.close()
            raise PermissionDenied(f"permission denied while trying to connect to the dockyard daemon socket at "
                                   f"{self.host}") from None
        except OSError as exc:
            sock.close()
            raise Unavailable(f"error during connect: {self.host}: {exc.strerror or exc}") from None
        return sock

    def _send(self, method: str, target: str, headers: Mapping[str, str] | None,
              body: bytes | Iterable[bytes] | None) -> httpio.Response:
        sock = self.connect()
        try:
            all_headers = [("Host", "api.moby.localhost"), ("User-Agent", USER_AGENT)]
            all_headers += list((headers or {}).items())
            httpio.send_request(sock, method, target, all_headers, body)
            return httpio.read_response(sock, method)
        except BaseException:
            sock.close()
            raise

    # --- version ---
    def ping(self) -> dict[str, str]:
        """``GET /_ping``: the daemon's headers (``api-version``, ``ostype``, ...)."""
        resp = self._send("GET", "/_ping", {"Connection": "close"}, None)
        resp.read()
        self.ping_headers = resp.headers
        return resp.headers

    @property
    def version(self) -> str:
        """The API version requests use, negotiated with the daemon on first use."""
        if self._version is None:
            server = self.ping().get("api-version") or MIN_API_VERSION
            ours = API_VERSION
            self._version = server if version_tuple(server) < version_tuple(ours) else ours
        return self._version

    def target(self, path: str, query: Mapping[str, Any] | None = None, versioned: bool = True) -> str:
        prefix = f"/v{self.version}" if versioned else ""
        encoded = encode_query(query) if query else ""
        return prefix + path + (f"?{encoded}" if encoded else "")

    # --- requests ---
    def request(self, method: str, path: str, query: Mapping[str, Any] | None = None, body: Any = None,
                data: bytes | Iterable[bytes] | None = None, headers: Mapping[str, str] | None = None,
                versioned: bool = True) -> httpio.Response:
        """Send a request and return the response with its body unread; raises on status >= 400.

        ``body`` is sent as JSON; ``data`` as is (bytes, or an iterable sent chunked) with the
        ``Content-Type`` of ``headers`` (default ``application/x-tar``).
        """
        all_headers = {"Connection": "close", **(headers or {})}
        payload: bytes | Iterable[bytes] | None = data
        if body is not None:
            payload = jsonio.dumps(body).encode()
            all_headers.setdefault("Content-Type", "application/json")
        elif data is not None:
            all_headers.setdefault("Content-Type", "application/x-tar")
        resp = self._send(method, self.target(path, query, versioned), all_headers, payload)
        raise_for_status(resp)
        return resp

    def call(self, method: str, path: str, query: Mapping[str, Any] | None = None, body: Any = None,
             **kwargs: Any) -> Any:
        """A request whose reply is JSON (or empty: None)."""
        raw = self.request(method, path, query, body, **kwargs).read()
        return jsonio.loads(raw, f"{method} {path}") if raw.strip() else None

    def get(self, path: str, query: Mapping[str, Any] | None = None) -> Any:
        return self.call("GET", path, query)

    def post(self, path: str, query: Mapping[str, Any] | None = None, body: Any = None) -> Any:
        return self.call("POST", path, query, body)

    def delete(self, path: str, query: Mapping[str, Any] | None = None) -> Any:
        return self.call("DELETE", path, query)

    def stream(self, method: str, path: str, query: Mapping[str, Any] | None = None, body: Any = None,
               **kwargs: Any) -> httpio.Response:
        """The open response of a streaming endpoint (logs, export, save, events)."""
        return self.request(method, path, query, body, **kwargs)

    def stream_json(self, method: str, path: str, query: Mapping[str, Any] | None = None, body: Any = None,
                    **kwargs: Any) -> Iterator[Any]:
        """One decoded JSON object per line of a streamed reply (pull/push/build progress, events)."""
        for line in self.stream(method, path, query, body, **kwargs).lines():
            yield jsonio.loads(line, f"{method} {path}")

    def hijack(self, method: str, path: str, query: Mapping[str, Any] | None = None, body: Any = None) -> Hijacked:
        """Upgrade the connection (``Upgrade: tcp``) and hand over the raw stream."""
        headers = {"Connection": "Upgrade", "Upgrade": "tcp"}
        payload = None
        if body is not None:
            payload = jsonio.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        resp = self._send(method, self.target(path, query), headers, payload)
        if resp.status >= 400:
            raise_for_status(resp)
        if resp.status not in (101, 200):
            resp.close()
            raise Internal(f"the daemon did not upgrade the connection: {resp.status} {resp.reason}")
        return Hijacked(resp.sock, bytes(resp.buf))
