"""Registry stand-ins for faults the real registry cannot show (``http.server`` in a thread).

- :class:`StubRegistry`: an in-memory registry on 127.0.0.1 (or another address) (manifests by tag and digest,
  blobs with ``Range``) with knobs: answer every request with one status (``always``),
  a ``Retry-After``, a wrong ``Docker-Content-Digest``, a blob cut off after N bytes on its
  first download (the connection closes mid-body), tag lists in pages with ``Link``
  headers (the registry of Debian ignores ``n``), blob uploads with relative ``Location``s
  and chunks that fail half-way (``fail_patch``), and bearer token auth (a ``/token``
  endpoint that checks basic credentials). ``log`` records (method, path, headers).
- :class:`HangingServer`: a socket that listens and never accepts, so a request connects
  and then waits forever.
"""

from __future__ import annotations

import base64
import json
import secrets
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from dockyard.oci.digest import digest_bytes


@dataclass
class StubState:
    manifests: dict[tuple[str, str], tuple[str, bytes]] = field(default_factory=dict)  # (repo, ref) -> (type, data)
    blobs: dict[str, bytes] = field(default_factory=dict)
    always: int | None = None
    retry_after: str | None = None
    digest_header: dict[str, str] = field(default_factory=dict)  # reference -> digest to claim
    cut_once: dict[str, int] = field(default_factory=dict)  # blob digest -> bytes sent before the cut
    tags: dict[str, list[str]] = field(default_factory=dict)  # repo -> tags, served in pages with Link
    uploads: dict[str, bytearray] = field(default_factory=dict)  # upload id -> bytes received
    fail_patch: set[int] = field(default_factory=set)  # PATCH numbers (from 1) that keep half and answer 500
    patches: int = 0
    bearer_user: tuple[str, str] | None = None
    tokens: set[str] = field(default_factory=set)
    log: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        return

    def do_GET(self) -> None:
        self._handle(body=True)

    def do_HEAD(self) -> None:
        self._handle(body=False)

    def do_POST(self) -> None:
        self._upload()

    def do_PATCH(self) -> None:
        self._upload()

    def do_PUT(self) -> None:
        self._upload()

    def _send(self, status: int, headers: dict[str, str], data: bytes, body: bool) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if body:
            self.wfile.write(data)

    def _error(self, status: int, code: str, message: str, body: bool, extra: dict[str, str] | None = None) -> None:
        doc = json.dumps({"errors": [{"code": code, "message": message}]}).encode()
        self._send(status, {"Content-Type": "application/json", **(extra or {})}, doc, body)

    def _handle(self, body: bool) -> None:
        state = self.server.state
        url = urlsplit(self.path)
        state.log.append((self.command, url.path, dict(self.headers.items())))
        if state.always is not None:
            extra = {"Retry-After": state.retry_after} if state.retry_after else {}
            self._error(state.always, "UNAVAILABLE", "stub failure", body, extra)
            return
        if url.path == "/token":
            self._token(url.query, body)
            return
        if state.bearer_user is not None and not self._authorized():
            address, port = self.server.server_address[:2]
            realm = f"http://{address!s}:{port}/token"
            challenge = f'Bearer realm="{realm}",service="stub",scope="repository:x:pull"'
            self._error(401, "UNAUTHORIZED", "authentication required", body, {"WWW-Authenticate": challenge})
            return
        parts = url.path.split("/")
        if self.command == "GET" and self._status():
            return
        if url.path == "/v2/":
            self._send(200, {"Content-Type": "application/json"}, b"{}", body)
        elif url.path.endswith("/tags/list"):
            self._tags("/".join(parts[2:-2]), parse_qs(url.query), body)
        elif "manifests" in parts:
            at = parts.index("manifests")
            self._manifest("/".join(parts[2:at]), parts[at + 1], body)
        elif "blobs" in parts:
            self._blob(parts[-1], body)
        else:
            self._error(404, "NAME_UNKNOWN", "repository name not known to registry", body)

    def _upload(self) -> None:
        """Blob uploads (relative Locations); a PATCH listed in ``fail_patch`` keeps half its
        bytes and answers 500, so the client has to ask where the upload stands."""
        state = self.server.state
        url = urlsplit(self.path)
        data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        state.log.append((self.command, url.path, dict(self.headers.items())))
        parts = url.path.split("/")
        repo = "/".join(parts[2:parts.index("blobs")])
        if self.command == "POST":
            upload = secrets.token_hex(6)
            state.uploads[upload] = bytearray()
            self._send(202, {"Location": f"/v2/{repo}/blobs/uploads/{upload}?_state=x", "Range": "0-0"}, b"", True)
            return
        upload = parts[-1]
        received = state.uploads.get(upload)
        if received is None:
            self._error(404, "BLOB_UPLOAD_UNKNOWN", "blob upload unknown", True)
            return
        location = {"Location": f"/v2/{repo}/blobs/uploads/{upload}?_state=y"}
        if self.command == "PATCH":
            state.patches += 1
            start = int(self.headers.get("Content-Range", "0-0").split("-")[0])
            if start != len(received):
                self._error(416, "BLOB_UPLOAD_INVALID", "out of order", True)
                return
            if state.patches in state.fail_patch:
                received += data[: len(data) // 2]
                self._error(500, "UNKNOWN", "storage hiccup", True)
                return
            received += data
            self._send(202, {**location, "Range": f"0-{len(received) - 1}"}, b"", True)
            return
        received += data  # PUT closes the upload
        digest = parse_qs(url.query).get("digest", [""])[0]
        if digest_bytes(bytes(received)) != digest:
            self._error(400, "DIGEST_INVALID", "provided digest did not match uploaded content", True)
            return
        state.blobs[digest] = bytes(received)
        del state.uploads[upload]
        self._send(201, {"Location": f"/v2/{repo}/blobs/{digest}", "Docker-Content-Digest": digest}, b"", True)

    def _status(self) -> bool:
        """GET of an upload: where it stands (204 and Range)."""
        url = urlsplit(self.path)
        parts = url.path.split("/")
        if "uploads" not in parts or parts[-1] not in self.server.state.uploads:
            return False
        received = self.server.state.uploads[parts[-1]]
        end = f"0-{len(received) - 1}" if received else "0-0"
        self.send_response(204)
        self.send_header("Location", url.path + "?_state=z")
        self.send_header("Range", end)
        self.send_header("Content-Length", "0")
        self.end_headers()
        return True

    def _authorized(self) -> bool:
        value = self.headers.get("Authorization", "")
        return value.startswith("Bearer ") and value[7:] in self.server.state.tokens

    def _token(self, query: str, body: bool) -> None:
        state = self.server.state
        assert state.bearer_user is not None
        expected = "Basic " + base64.b64encode(":".join(state.bearer_user).encode()).decode()
        if self.headers.get("Authorization") != expected:
            self._error(401, "UNAUTHORIZED", "bad credentials", body)
            return
        token = secrets.token_hex(8)
        state.tokens.add(token)
        answer = {"access_token": token, "expires_in": 300, "scope": parse_qs(query).get("scope", [])}
        self._send(200, {"Content-Type": "application/json"}, json.dumps(answer).encode(), body)

    def _tags(self, repo: str, query: dict[str, list[str]], body: bool) -> None:
        tags = sorted(self.server.state.tags.get(repo, []))
        if repo not in self.server.state.tags:
            self._error(404, "NAME_UNKNOWN", "repository name not known to registry", body)
            return
        last = query.get("last", [""])[0]
        page = [tag for tag in tags if tag > last]
        headers = {"Content-Type": "application/json"}
        size = int(query.get("n", ["0"])[0] or 0)
        if size and len(page) > size:
            page = page[:size]
            headers["Link"] = f'</v2/{repo}/tags/list?n={size}&last={page[-1]}>; rel="next"'
        self._send(200, headers, json.dumps({"name": repo, "tags": page}).encode(), body)

    def _manifest(self, repo: str, reference: str, body: bool) -> None:
        state = self.server.state
        found = state.manifests.get((repo, reference))
        if found is None:
            self._error(404, "MANIFEST_UNKNOWN", "manifest unknown", body)
            return
        media_type, data = found
        digest = state.digest_header.get(reference, digest_bytes(data))
        self._send(200, {"Content-Type": media_type, "Docker-Content-Digest": digest}, data, body)

    def _blob(self, digest: str, body: bool) -> None:
        state = self.server.state
        data = state.blobs.get(digest)
        if data is None:
            self._error(404, "BLOB_UNKNOWN", "blob unknown to registry", body)
            return
        start = 0
        ranged = self.headers.get("Range", "")
        if ranged.startswith("bytes=") and ranged.endswith("-"):
            start = int(ranged[6:-1])
        if start >= len(data) and start:
            self._error(416, "RANGE", "range not satisfiable", body)
            return
        headers = {"Content-Type": "application/octet-stream", "Docker-Content-Digest": digest}
        status = 200
        if start:
            status = 206
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        payload = data[start:]
        cut = state.cut_once.pop(digest, None) if body else None
        if cut is None:
            self._send(status, headers, payload, body)
            return
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload[:cut])
        self.wfile.flush()
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: StubState


class StubRegistry:
    """The stub on 127.0.0.1 (a free port), served from a thread until :meth:`stop`."""

    def __init__(self, state: StubState | None = None, address: str = "127.0.0.1") -> None:
        self.state = state or StubState()
        self._server = _Server((address, 0), _Handler)
        self._server.state = self.state
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="stub-registry", daemon=True)

    @property
    def host(self) -> str:
        address, port = self._server.server_address[:2]
        return f"{address!s}:{port}"

    def add_manifest(self, repo: str, tag: str, media_type: str, data: bytes) -> str:
        digest = digest_bytes(data)
        self.state.manifests[(repo, tag)] = (media_type, data)
        self.state.manifests[(repo, digest)] = (media_type, data)
        return digest

    def __enter__(self) -> StubRegistry:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class HangingServer:
    """Listens on 127.0.0.1 and never accepts: connections succeed, answers never come."""

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self._sock.getsockname()[1]}"

    def __enter__(self) -> HangingServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self._sock.close()
