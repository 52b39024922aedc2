"""The Engine API client against a fake daemon on a unix socket."""

from __future__ import annotations

import socket
import threading

import pytest
from tests.unit.cli.fake_engine import FakeEngine, Reply, Request, error_reply, json_reply

from dockyard.cli.client import API_VERSION, Client, encode_query, quote
from dockyard.errors import (
    AlreadyExists,
    FailedPrecondition,
    Internal,
    InvalidArgument,
    NotFound,
    NotImplementedYet,
    PermissionDenied,
    Unavailable,
)


def test_version_is_negotiated_down_to_the_daemons(engine: FakeEngine) -> None:
    engine.api_version = "1.45"
    client = Client(engine.host)
    assert client.get("/version")["Version"] == "0.1.0"
    assert client.version == "1.45"
    assert [(r.method, r.path, r.version) for r in engine.requests] == [("GET", "/_ping", None),
                                                                        ("GET", "/version", "1.45")]


def test_a_newer_daemon_is_spoken_to_in_our_version(engine: FakeEngine) -> None:
    engine.api_version = "1.99"
    client = Client(engine.host)
    client.get("/version")
    assert engine.requests[-1].version == API_VERSION == client.version


def test_a_daemon_without_api_version_is_assumed_old(engine: FakeEngine) -> None:
    engine.routes[("GET", "/_ping")] = lambda _req: Reply(200, b"OK")
    client = Client(engine.host)
    assert client.version == "1.24"


def test_a_pinned_version_skips_the_ping(engine: FakeEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_API_VERSION", "1.41")
    monkeypatch.setenv("DOCKER_HOST", engine.host)
    Client().get("/version")
    assert [(r.path, r.version) for r in engine.requests] == [("/version", "1.41")]


def test_json_requests_and_queries(engine: FakeEngine) -> None:
    seen: list[Request] = []

    def create(request: Request) -> Reply:
        seen.append(request)
        return json_reply({"Id": "abc", "Warnings": []}, 201)

    engine.routes[("POST", "/containers/create")] = create
    engine.routes[("POST", "/containers/abc/start")] = lambda _req: Reply(204)
    client = Client(engine.host)
    reply = client.post("/containers/create", {"name": "web 1", "platform": None},
                        {"Image": "alpine", "Cmd": ["sh", "-c", "echo ü"]})
    assert reply == {"Id": "abc", "Warnings": []}
    assert seen[0].query == {"name": ["web 1"]}
    assert seen[0].json() == {"Image": "alpine", "Cmd": ["sh", "-c", "echo ü"]}
    assert seen[0].headers["content-type"] == "application/json"
    assert client.post("/containers/abc/start") is None
    assert encode_query({"all": True, "size": False, "filters": {"status": ["running"]}}) == (
        "all=1&size=0&filters=%7B%22status%22%3A%5B%22running%22%5D%7D")
    assert quote("library/alpine:3.20", safe="/:") == "library/alpine:3.20"


@pytest.mark.parametrize(("status", "message", "error"), [
    (404, "No such container: web", NotFound),
    (409, 'Conflict. The container name "/web" is already in use by container "abc".', AlreadyExists),
    (409, "cannot remove container: container is running", FailedPrecondition),
    (400, "invalid reference format", InvalidArgument),
    (401, "authentication required", PermissionDenied),
    (500, "something broke", Internal),
    (501, "checkpoints are not supported", NotImplementedYet),
    (503, "containerd is not running", Unavailable),
])
def test_daemon_errors_map_to_dockyard_errors(engine: FakeEngine, status: int, message: str,
                                              error: type[Exception]) -> None:
    engine.routes[("GET", "/containers/web/json")] = lambda _req: error_reply(status, message)
    with pytest.raises(error) as info:
        Client(engine.host).get("/containers/web/json")
    assert str(info.value) == f"Error response from daemon: {message}"


def test_a_plain_text_error_keeps_its_text(engine: FakeEngine) -> None:
    engine.routes[("GET", "/x")] = lambda _req: Reply(502, b"bad gateway\n", {"Content-Type": "text/plain"})
    with pytest.raises(Internal, match=r"^Error response from daemon: bad gateway$"):
        Client(engine.host).get("/x")


def test_chunked_json_stream(engine: FakeEngine) -> None:
    messages = [b'{"status":"Pulling from library/alpine","id":"3.20"}\r\n',
                b'{"status":"Downloading","progressDetail":{"current":10,"total":100},"id":"abc"}\r\n{"sta',
                b'tus":"Download complete","id":"abc"}\r\n', b'{"status":"Digest: sha256:123"}\r\n']
    engine.routes[("POST", "/images/create")] = lambda _req: Reply(200, chunks=messages,
                                                                  headers={"Content-Type": "application/json"})
    got = list(Client(engine.host).stream_json("POST", "/images/create", {"fromImage": "alpine", "tag": "3.20"}))
    assert [m["status"] for m in got] == ["Pulling from library/alpine", "Downloading", "Download complete",
                                          "Digest: sha256:123"]
    assert got[1]["progressDetail"] == {"current": 10, "total": 100}


def test_raw_stream_and_chunked_upload(engine: FakeEngine) -> None:
    engine.routes[("GET", "/containers/web/export")] = lambda _req: Reply(200, chunks=[b"tar" * 1000, b"end"])
    received: list[bytes] = []

    def load(request: Request) -> Reply:
        received.append(request.body)
        return json_reply({"stream": "Loaded image: alpine:latest\n"})

    engine.routes[("POST", "/images/load")] = load
    client = Client(engine.host)
    assert client.stream("GET", "/containers/web/export").read() == b"tar" * 1000 + b"end"
    assert client.post("/images/load") == {"stream": "Loaded image: alpine:latest\n"}
    resp = client.request("POST", "/images/load", data=iter([b"layer-1", b"", b"layer-2"]))
    assert resp.read().startswith(b'{"stream"')
    assert received[-1] == b"layer-1layer-2"


def test_hijacked_connection_is_a_raw_two_way_stream(engine: FakeEngine) -> None:
    def echo_upper(conn: socket.socket) -> None:
        data = b""
        while chunk := conn.recv(4096):
            data += chunk
        conn.sendall(data.upper())

    engine.routes[("POST", "/containers/web/attach")] = lambda _req: Reply(hijack=echo_upper)
    conn = Client(engine.host).hijack("POST", "/containers/web/attach", {"stream": True, "stdin": True})
    conn.sendall(b"hello ")
    conn.sendall(b"world")
    conn.close_write()
    data = b""
    while chunk := conn.recv():
        data += chunk
    conn.close()
    assert data == b"HELLO WORLD"
    request = engine.requests[-1]
    assert request.headers["upgrade"] == "tcp" and request.headers["connection"] == "Upgrade"


def test_missing_socket_says_the_daemon_is_not_running(short_dir: str) -> None:
    client = Client(f"unix://{short_dir}/absent.sock")
    with pytest.raises(Unavailable) as info:
        client.get("/version")
    assert str(info.value) == (f"Cannot connect to the dockyard daemon at unix://{short_dir}/absent.sock. "
                               "Is the dockyard daemon running?")


def test_refused_connection_says_the_same(short_dir: str) -> None:
    path = f"{short_dir}/stale.sock"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(path)  # bound, never listening: connect() is refused
    try:
        with pytest.raises(Unavailable, match="Is the dockyard daemon running"):
            Client(f"unix://{path}").ping()
    finally:
        sock.close()


def test_bad_hosts_are_invalid_arguments() -> None:
    with pytest.raises(InvalidArgument, match="unable to parse docker host `ssh://me@box`"):
        Client("ssh://me@box").ping()


def test_tcp_hosts_speak_plain_http() -> None:
    listener = socket.socket(socket.AF_INET)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nAPI-Version: 1.47\r\nContent-Length: 2\r\n\r\nOK")

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        assert Client(f"tcp://127.0.0.1:{port}").ping()["api-version"] == "1.47"
    finally:
        thread.join()
        listener.close()
