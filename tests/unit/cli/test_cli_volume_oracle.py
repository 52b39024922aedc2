"""Differential tests: ``volume create/ls/inspect/rm/prune`` of ``dockyard`` and ``docker`` 28 on
one fake daemon (requests, stdout, stderr and exit status alike). Skipped without docker."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest
from tests.unit.cli.fake_engine import VERSION, FakeEngine, Reply, Request, error_reply, json_reply
from tests.unit.cli.image_engine import param, routed
from tests.unit.cli.oracle import docker_run, needs_docker
from tests.unit.cli.test_cli_image_oracle import dockyard_run, same

pytestmark = needs_docker


def volume(name: str, labels: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    return {"CreatedAt": "2025-01-02T03:04:05Z", "Driver": "local", "Labels": labels,
            "Mountpoint": f"/var/lib/dockyard/volumes/{name}/_data", "Name": name, "Options": None,
            "Scope": "local", **extra}


# one label each: docker joins a map in Go's random order
VOLUMES = [volume("data10", {"a": "b"}), volume("data2", {"c": ""}), volume("0123abcd" * 8, {
    "com.docker.volume.anonymous": ""}), volume("cache", UsageData={"RefCount": 2, "Size": 2048})]
IN_USE = "busy"


def _create(request: Request) -> Reply:
    body = request.json()
    name = body.get("Name") or "f" * 64
    if "/" in name:
        return error_reply(400, f"create {name}: \"{name}\" includes invalid characters for a local volume name")
    return json_reply(volume(name, body.get("Labels") or None, Options=body.get("DriverOpts") or None), 201)


def _inspect(request: Request) -> Reply:
    name = param(request)
    for v in VOLUMES:
        if v["Name"] == name:
            return json_reply(v)
    return error_reply(404, f"get {name}: no such volume")


def _delete(request: Request) -> Reply:
    name = param(request)
    if name == IN_USE:
        return error_reply(409, f"remove {name}: volume is in use - [{'e' * 64}]")
    if name not in [v["Name"] for v in VOLUMES] and request.query.get("force") != ["1"]:
        return error_reply(404, f"get {name}: no such volume")
    return Reply(204, b"", {})


def _prune(request: Request) -> Reply:
    filters = json.loads((request.query.get("filters") or ["{}"])[0])
    deleted = ["data10", "data2"] if "all" in filters else ["0123abcd" * 8]
    return json_reply({"VolumesDeleted": deleted, "SpaceReclaimed": 4096})


@pytest.fixture(scope="module")
def daemon() -> Iterator[FakeEngine]:
    with tempfile.TemporaryDirectory(prefix="dyvol") as path, FakeEngine(f"{path}/engine.sock") as engine:
        engine.json("GET", "/version", VERSION)
        routed(engine)
        ping = engine.routes[("GET", "/_ping")]

        def swarm_inactive(request: Request) -> Reply:  # as dockyardd answers: swarm commands hidden
            reply = ping(request)
            return Reply(reply.status, reply.body, {**reply.headers, "Swarm": "inactive"})
        engine.routes[("GET", "/_ping")] = engine.routes[("HEAD", "/_ping")] = swarm_inactive
        engine.routes[("POST", "/volumes/create")] = _create
        engine.json("GET", "/volumes", {"Volumes": VOLUMES, "Warnings": None})
        engine.routes[("GET", "/volumes/{name}")] = _inspect
        engine.routes[("DELETE", "/volumes/{name}")] = _delete
        engine.routes[("POST", "/volumes/prune")] = _prune
        yield engine
    shutil.rmtree(path, ignore_errors=True)


CASES = [
    ["volume", "create"],
    ["volume", "create", "v1"],
    ["volume", "create", "--name", "v1"],
    ["volume", "create", "--name", "v1", "v2"],
    ["volume", "create", "--name", "v1", "v1"],
    ["volume", "create", "v1", "v2"],
    ["volume", "create", "-d", "local", "--label", "a=b", "--label", "c", "-o", "type=tmpfs", "-o", "o=size=1m", "v3"],
    ["volume", "create", "bad/name"],
    ["volume", "ls"],
    ["volume", "list", "-q"],
    ["volume", "ls", "--filter", "dangling=true", "--filter", "label=a"],
    ["volume", "ls", "--format", "{{.Name}}\t{{.Label \"a\"}}"],
    ["volume", "ls", "--format", "{{.Labels}}"],
    ["volume", "ls", "--format", "table {{.Name}}\t{{.Driver}}\t{{.Scope}}\t{{.Mountpoint}}\t{{.Links}}\t{{.Size}}"],
    ["volume", "ls", "--format", "json"],
    ["volume", "ls", "--format", "{{json .}}"],
    ["volume", "ls", "x"],
    ["volume", "inspect", "data10"],
    ["volume", "inspect", "data10", "cache"],
    ["volume", "inspect", "--format", "{{.Name}} {{.Driver}} {{json .Labels}}", "data10"],
    ["volume", "inspect", "-f", "json", "data2"],
    ["volume", "inspect", "nosuch"],
    ["volume", "inspect", "data2", "nosuch"],
    ["volume", "inspect"],
    ["volume", "rm", "data10", "data2"],
    ["volume", "remove", "nosuch", "data2", IN_USE],
    ["volume", "rm", "-f", "nosuch"],
    ["volume", "rm"],
    ["volume", "prune", "-f"],
    ["volume", "prune", "-a", "-f"],
    ["volume", "prune", "-f", "--filter", "label=a", "--filter", "label!=b"],
    ["volume", "prune", "-a", "-f", "--filter", "all=1"],
    ["volume", "prune", "x"],
]


@pytest.mark.parametrize("argv", CASES, ids=" ".join)
def test_volume_commands(daemon: FakeEngine, argv: list[str]) -> None:
    same(daemon, argv)


@pytest.mark.parametrize(("argv", "answer"), [(["volume", "prune"], "y\n"), (["volume", "prune", "-a"], "n\n"),
                                              (["volume", "prune"], "")])
def test_prune_asks(daemon: FakeEngine, argv: list[str], answer: str) -> None:
    same(daemon, argv, stdin=answer)


@pytest.mark.parametrize("argv", [["volume", "--help"], ["volume", "create", "--help"], ["volume", "ls", "--help"],
                                  ["volume", "prune", "--help"], ["volume", "rm", "--help"],
                                  ["volume", "inspect", "--help"]], ids=" ".join)
def test_help(daemon: FakeEngine, argv: list[str]) -> None:
    theirs = docker_run(daemon.host, argv)
    ours = dockyard_run(daemon.host, argv)
    expected = theirs.out.replace("docker volume", "dockyard volume")
    assert (ours.status, ours.out, ours.err) == (theirs.status, expected, theirs.err)
