"""A tiny Docker Engine API server on a unix socket, run in a thread, for CLI tests.

Routes map ``(METHOD, path)`` (the path without its ``/v1.xx`` prefix) to a handler that
gets the ``Request`` and returns a ``Reply``: a JSON body, an error, a stream of chunks, or a
hijacked connection. Every request is recorded, with the API version it used. The real
``docker`` CLI can be pointed at it too (``DOCKER_HOST=unix://<path>``), which makes it an
oracle for how docker renders the same answers.
"""

from __future__ import annotations

import json
import socket
import socketserver
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Result:
    """What a ``dockyard`` run left: exit status, stdout, stderr."""

    status: int
    out: str
    err: str


@dataclass
class Request:
    method: str
    path: str  # without the version prefix
    version: str | None  # "1.50", or None for an unversioned path
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    chunks: Iterable[bytes] | None = None  # sent with Transfer-Encoding: chunked
    hijack: Callable[[socket.socket], None] | None = None  # gets the raw connection after 101


def json_reply(value: Any, status: int = 200) -> Reply:
    return Reply(status, json.dumps(value).encode(), {"Content-Type": "application/json"})


def error_reply(status: int, message: str) -> Reply:
    return json_reply({"message": message}, status)


Handler = Callable[[Request], Reply]


class FakeEngine:
    """``with FakeEngine(path) as engine: engine.routes[("GET", "/version")] = ...``."""

    def __init__(self, path: str, api_version: str = "1.50", min_version: str = "1.24") -> None:
        self.path = path
        self.api_version = api_version
        self.min_version = min_version
        self.requests: list[Request] = []
        self.errors: list[str] = []  # tracebacks of handlers that failed
        self.routes: dict[tuple[str, str], Handler] = {("GET", "/_ping"): self._ping, ("HEAD", "/_ping"): self._ping}
        self._server: socketserver.ThreadingUnixStreamServer | None = None

    @property
    def host(self) -> str:
        return f"unix://{self.path}"

    def _ping(self, request: Request) -> Reply:
        return Reply(200, b"OK" if request.method == "GET" else b"", {
            "API-Version": self.api_version, "OSType": "linux", "Docker-Experimental": "false",
            "Content-Type": "text/plain; charset=utf-8"})

    def json(self, method: str, path: str, value: Any, status: int = 200) -> None:
        self.routes[(method, path)] = lambda _req: json_reply(value, status)

    def __enter__(self) -> FakeEngine:
        engine = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def address_string(self) -> str:
                return "unix"

            def _serve(self) -> None:
                url = urlsplit(self.path)
                path, version = url.path, None
                parts = path.split("/", 2)
                if len(parts) > 2 and parts[1].startswith("v") and parts[1][1:2].isdigit():
                    version, path = parts[1][1:], "/" + parts[2]
                length = int(self.headers.get("Content-Length") or 0)
                if self.headers.get("Transfer-Encoding") == "chunked":
                    body = b""
                    while True:
                        size = int(self.rfile.readline().strip(), 16)
                        chunk = self.rfile.read(size + 2)[:size]
                        if not size:
                            break
                        body += chunk
                else:
                    body = self.rfile.read(length) if length else b""
                request = Request(self.command, path, version, parse_qs(url.query),
                                  {k.lower(): v for k, v in self.headers.items()}, body)
                engine.requests.append(request)
                handler = engine.routes.get((self.command, path))
                reply = handler(request) if handler else error_reply(404, "page not found")
                self._reply(reply)

            def _reply(self, reply: Reply) -> None:
                if reply.hijack is not None:
                    self.send_response(101)
                    self.send_header("Connection", "Upgrade")
                    self.send_header("Upgrade", "tcp")
                    self.send_header("Content-Type", "application/vnd.docker.raw-stream")
                    self.end_headers()
                    self.wfile.flush()
                    reply.hijack(self.connection)
                    self.close_connection = True
                    return
                self.send_response(reply.status)
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                if reply.chunks is not None:
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for chunk in reply.chunks:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                        self.wfile.flush()
                    self.wfile.write(b"0\r\n\r\n")
                else:
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(reply.body)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _serve

        class _Server(socketserver.ThreadingUnixStreamServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                import traceback

                engine.errors.append(traceback.format_exc())

        self._server = _Server(self.path, _Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, args=(0.01,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()


VERSION = {
    "Platform": {"Name": "dockyard"},
    "Components": [
        {"Name": "Engine", "Version": "0.1.0", "Details": {
            "ApiVersion": "1.50", "Arch": "amd64", "BuildTime": "2025-05-30T12:07:26.000000000+00:00",
            "Experimental": "false", "GitCommit": "abc1234", "GoVersion": "python3.11.2",
            "KernelVersion": "6.1.0", "MinAPIVersion": "1.24", "Os": "linux"}},
        {"Name": "containerd", "Version": "1.6.0", "Details": {"GitCommit": "deadbeef"}},
        {"Name": "runc", "Version": "0.1.0", "Details": {"GitCommit": "v0.1.0-0-gabc", "Spec": "1.0.2-dev"}},
    ],
    "Version": "0.1.0", "ApiVersion": "1.50", "MinAPIVersion": "1.24", "GitCommit": "abc1234",
    "GoVersion": "python3.11.2", "Os": "linux", "Arch": "amd64", "KernelVersion": "6.1.0",
    "BuildTime": "2025-05-30T12:07:26.000000000+00:00",
}
