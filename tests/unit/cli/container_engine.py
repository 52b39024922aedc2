"""Containers for the fake engine: routes by pattern, a small in-memory daemon, the docker oracle.

``install(engine)`` adds the container endpoints to a ``FakeEngine`` (``/containers/{id}/...``
matched by pattern) over a ``Containers`` store that tests fill with ``add(...)``:
inspect-shaped records, their list summaries, scripted output for attach and logs, exit
codes for wait. ``docker(engine, argv)`` runs the real docker CLI against the same engine
(skipped when it is not installed), ``ours(engine, argv)`` runs dockyard in-process, so a
test can compare the requests and the output of both.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from tests.unit.cli.fake_engine import FakeEngine, Reply, Request, Result, error_reply, json_reply

from dockyard.cli.main import main
from dockyard.cli.streams import frame

DOCKER = shutil.which("docker") or ("/usr/local/bin/docker" if os.path.exists("/usr/local/bin/docker") else None)
needs_docker = pytest.mark.skipif(DOCKER is None, reason="the docker CLI is not installed")
CREATED = "2025-05-30T12:00:00.000000000Z"
ZERO_TIME = "0001-01-01T00:00:00Z"


def cid(n: int) -> str:
    return f"{n:02d}" + "c0ffee" * 10 + "ab"


class PatternRoutes(dict):  # type: ignore[type-arg]
    """``routes[(method, path)]`` that also matches ``/containers/{id}/start`` patterns."""

    def __init__(self, base: dict[Any, Any]) -> None:
        super().__init__(base)
        self.patterns: list[tuple[str, list[str], Callable[[Request, dict[str, str]], Reply]]] = []

    def add(self, method: str, pattern: str, handler: Callable[[Request, dict[str, str]], Reply]) -> None:
        self.patterns.append((method, pattern.strip("/").split("/"), handler))

    def override(self, method: str, pattern: str, handler: Callable[[Request, dict[str, str]], Reply]) -> None:
        """Like ``add``, but ahead of the routes added before."""
        self.patterns.insert(0, (method, pattern.strip("/").split("/"), handler))

    def get(self, key: Any, default: Any = None) -> Any:
        found = super().get(key)
        if found is not None:
            return found
        method, path = key
        parts = path.strip("/").split("/")
        for pat_method, pat_parts, handler in self.patterns:
            if pat_method != method or len(pat_parts) != len(parts):
                continue
            params: dict[str, str] = {}
            for pat, part in zip(pat_parts, parts, strict=True):
                if pat.startswith("{"):
                    params[pat[1:-1]] = part
                elif pat != part:
                    break
            else:
                return lambda request, h=handler, p=params: h(request, p)
        return default


def no_such_container(name: str) -> Reply:
    return error_reply(404, f"No such container: {name}")


class Containers:
    """The containers the fake daemon knows, by ID (names resolve too)."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self.created: list[dict[str, Any]] = []  # create bodies
        self.output: dict[str, list[tuple[int, bytes]]] = {}  # frames for attach and logs
        self.exit_codes: dict[str, int] = {}
        self.stdin: dict[str, bytes] = {}  # what attach received
        self.create_reply: Callable[[Request], Reply] | None = None
        self.next_output: list[tuple[int, bytes]] = []  # what containers created from now on print
        self.next_exit_code = 0
        self.start_reply: Reply | None = None
        self.resizes: list[tuple[str, int, int]] = []
        self.sessions: dict[str, threading.Event] = {}
        self.started: dict[str, threading.Event] = {}  # set by a start, failed or not
        self.failed_start: set[str] = set()

    def add(self, name: str, image: str = "busybox", state: str = "running", n: int | None = None,
            tty: bool = False, command: list[str] | None = None, **extra: Any) -> dict[str, Any]:
        ident = cid(n if n is not None else len(self.items) + 1)
        running = state in ("running", "paused")
        record = {
            "Id": ident, "Created": CREATED, "Path": (command or ["sh"])[0], "Args": (command or ["sh"])[1:],
            "State": {"Status": state, "Running": running, "Paused": state == "paused", "Restarting": False,
                      "OOMKilled": False, "Dead": False, "Pid": 42 if running else 0,
                      "ExitCode": extra.pop("exit_code", 0), "Error": "",
                      "StartedAt": extra.pop("started", CREATED if state != "created" else ZERO_TIME),
                      "FinishedAt": extra.pop("finished", ZERO_TIME)},
            "Image": "sha256:" + "1" * 64, "Name": "/" + name, "RestartCount": 0,
            "HostConfig": {"AutoRemove": extra.pop("auto_remove", False), "NetworkMode": "default"},
            "Config": {"Tty": tty, "OpenStdin": extra.pop("open_stdin", False), "Image": image,
                       "Cmd": command or ["sh"], "Labels": extra.pop("labels", {})},
            "NetworkSettings": {"Ports": extra.pop("ports", {})},
            "Mounts": [],
        }
        record.update(extra)
        self.items[ident] = record
        return record

    def output_bytes_tty(self, record: dict[str, Any]) -> bytes:
        return b"".join(payload for _, payload in self.output.get(record["Id"], []))

    def find(self, name: str) -> dict[str, Any] | None:
        for record in self.items.values():
            if name in (record["Id"], record["Name"][1:]) or (len(name) >= 3 and record["Id"].startswith(name)):
                return record
        return None


def install(engine: FakeEngine) -> Containers:
    """Container routes over a fresh ``Containers`` store; returns the store."""
    store = Containers()
    routes = PatternRoutes(engine.routes)
    engine.routes = routes

    def create(request: Request) -> Reply:
        body = request.json()
        store.created.append(body)
        if store.create_reply is not None:
            return store.create_reply(request)
        name = (request.query.get("name") or [""])[0] or f"auto{len(store.items)}"
        record = store.add(name, image=body.get("Image", ""), state="created", tty=bool(body.get("Tty")),
                           auto_remove=bool(body.get("HostConfig", {}).get("AutoRemove")),
                           open_stdin=bool(body.get("OpenStdin")))
        store.output[record["Id"]] = list(store.next_output)
        store.exit_codes[record["Id"]] = store.next_exit_code
        if body.get("AttachStdin") or body.get("AttachStdout") or body.get("AttachStderr"):
            store.sessions[record["Id"]] = threading.Event()  # wait answers once the attach ended
        store.started[record["Id"]] = threading.Event()  # attach sends output once started
        return json_reply({"Id": record["Id"], "Warnings": []}, 201)

    def with_container(handler: Callable[[Request, dict[str, Any]], Reply]) -> Callable[..., Reply]:
        def wrapped(request: Request, params: dict[str, str]) -> Reply:
            record = store.find(params["id"])
            if record is None:
                return no_such_container(params["id"])
            return handler(request, record)
        return wrapped

    def inspect(request: Request, record: dict[str, Any]) -> Reply:
        return json_reply(record)

    def no_content(request: Request, record: dict[str, Any]) -> Reply:
        return Reply(204)

    def start(request: Request, record: dict[str, Any]) -> Reply:
        started = store.started.get(record["Id"])
        if store.start_reply is not None:
            store.failed_start.add(record["Id"])
            if started is not None:
                started.set()
            return store.start_reply
        record["State"].update(Status="running", Running=True)
        if started is not None:
            started.set()
        return Reply(204)

    def wait(request: Request, record: dict[str, Any]) -> Reply:
        def body() -> Iterator[bytes]:
            session = store.sessions.get(record["Id"])
            if session is not None:
                session.wait(10)
            time.sleep(0.05)
            yield json.dumps({"StatusCode": store.exit_codes.get(record["Id"], 0)}).encode() + b"\n"
        return Reply(200, headers={"Content-Type": "application/json"}, chunks=body())

    def output_bytes(record: dict[str, Any], query: dict[str, list[str]] | None = None) -> bytes:
        started = store.started.get(record["Id"])
        if started is not None:
            started.wait(5)
        if record["Id"] in store.failed_start:
            return b""
        frames = store.output.get(record["Id"], [])
        if query is not None:  # the daemon sends only the streams that were asked for
            frames = [(n, p) for n, p in frames if query.get("stdout" if n == 1 else "stderr") == ["1"]]
        if record["Config"]["Tty"]:
            return b"".join(payload for _, payload in frames)
        return b"".join(frame(stream, payload) for stream, payload in frames)

    def attach(request: Request, record: dict[str, Any]) -> Reply:
        def talk(sock: socket.socket) -> None:
            try:
                converse(sock)
            finally:
                if record["Id"] in store.sessions:
                    store.sessions[record["Id"]].set()

        def converse(sock: socket.socket) -> None:
            received = b""
            if request.query.get("stdin") == ["1"] and record["Config"]["Tty"]:
                # an interactive shell on a tty: echo what is typed until "exit\r" or ctrl-d
                sock.settimeout(10)
                try:
                    sock.sendall(store.output_bytes_tty(record))
                    while chunk := sock.recv(65536):
                        received += chunk
                        sock.sendall(chunk.replace(b"\r", b"\r\n"))
                        if b"exit\r" in received or b"\x04" in chunk:
                            break
                except OSError:
                    pass
                store.stdin[record["Id"]] = received
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            if request.query.get("stdin") == ["1"]:
                sock.settimeout(5)
                try:
                    while chunk := sock.recv(65536):
                        received += chunk
                except OSError:
                    pass
            store.stdin[record["Id"]] = received
            try:
                sock.sendall(output_bytes(record, request.query))
            except OSError:
                pass
            sock.shutdown(socket.SHUT_RDWR)
        return Reply(hijack=talk)

    def logs(request: Request, record: dict[str, Any]) -> Reply:
        content_type = "application/vnd.docker.raw-stream" if record["Config"]["Tty"] else \
            "application/vnd.docker.multiplexed-stream"
        return Reply(200, output_bytes(record), {"Content-Type": content_type})

    routes[("POST", "/containers/create")] = create
    routes.add("GET", "/containers/{id}/json", with_container(inspect))
    def resize(request: Request, record: dict[str, Any]) -> Reply:
        store.resizes.append((record["Id"], int(request.query["h"][0]), int(request.query["w"][0])))
        return Reply(200)

    routes.add("POST", "/containers/{id}/resize", with_container(resize))
    for verb in ("stop", "kill", "restart", "pause", "unpause", "rename"):
        routes.add("POST", f"/containers/{{id}}/{verb}", with_container(no_content))
    routes.add("POST", "/containers/{id}/update", with_container(lambda r, c: json_reply({"Warnings": ["w"]})))
    routes.add("POST", "/containers/{id}/start", with_container(start))
    routes.add("DELETE", "/containers/{id}", with_container(no_content))
    routes.add("POST", "/containers/{id}/wait", with_container(wait))
    routes.add("POST", "/containers/{id}/attach", with_container(attach))
    routes.add("GET", "/containers/{id}/logs", with_container(logs))
    return store


def ours(engine: FakeEngine, argv: list[str], stdin: str = "") -> Result:
    """Run dockyard in-process against ``engine``."""
    import sys

    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        status = main(["-H", engine.host, *argv], out, err)
    finally:
        sys.stdin = saved
    return Result(status, out.getvalue(), err.getvalue())


def docker(engine: FakeEngine, argv: list[str], stdin: bytes = b"", env: dict[str, str] | None = None) -> Result:
    """Run the real docker CLI against ``engine``; its messages say ``dockyard`` as ours do."""
    assert DOCKER is not None
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    environ.update({"DOCKER_HOST": engine.host, "DOCKER_CONFIG": "/nonexistent", "TZ": "UTC"}, **(env or {}))
    proc = subprocess.run([DOCKER, *argv], input=stdin, env=environ, capture_output=True, timeout=60)

    def text(data: bytes) -> str:
        lines = data.decode("utf-8", "replace").splitlines(keepends=True)
        kept = "".join(line for line in lines if not (line.startswith('time="') and " level=" in line))  # logrus
        return kept.replace("docker:", "dockyard:").replace("'docker ", "'dockyard ") \
            .replace("Usage:  docker ", "Usage:  dockyard ")
    return Result(proc.returncode, text(proc.stdout), text(proc.stderr))


def requests_since(engine: FakeEngine, start: int) -> list[Request]:
    return [r for r in engine.requests[start:] if r.path != "/_ping"]
