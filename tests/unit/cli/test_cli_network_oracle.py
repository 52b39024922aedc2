"""Differential tests: ``dockyard network ...`` and ``docker network ...`` on one fake daemon.

The same requests (bodies byte for byte), stdout, stderr and exit status. Skipped where
docker is not installed.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator

import pytest
from tests.unit.cli import network_engine
from tests.unit.cli.fake_engine import VERSION, FakeEngine
from tests.unit.cli.oracle import docker_run, needs_docker
from tests.unit.cli.test_cli_image_oracle import dockyard_run, same

pytestmark = needs_docker


@pytest.fixture(scope="module")
def daemon() -> Iterator[FakeEngine]:
    with tempfile.TemporaryDirectory(prefix="dynet") as path, FakeEngine(f"{path}/engine.sock") as engine:
        engine.json("GET", "/version", VERSION)
        network_engine.install(engine)
        yield engine
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(autouse=True)
def _utc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    import time

    time.tzset()


LS = [
    ["network", "ls"],
    ["network", "list", "--no-trunc"],
    ["network", "ls", "-q"],
    ["network", "ls", "-q", "--no-trunc"],
    ["network", "ls", "--format", "json"],
    ["network", "ls", "--format", "{{json .}}"],
    ["network", "ls", "--format", "table {{.Name}}\t{{.IPv6}}\t{{.Internal}}\t{{.Label \"tier\"}}\t{{.CreatedAt}}"],
    ["network", "ls", "--format", "{{.Name}} {{.Labels}}"],
    ["network", "ls", "--format", "raw"],
    ["network", "ls", "-f", "driver=bridge", "-f", "label=tier=web"],
    ["network", "ls", "--filter", "nope"],
    ["network", "ls", "x"],
]


@pytest.mark.parametrize("argv", LS, ids=" ".join)
def test_ls(daemon: FakeEngine, argv: list[str]) -> None:
    same(daemon, argv)


INSPECT = [
    ["network", "inspect", "bridge"],
    ["network", "inspect", "net9", "host"],
    ["network", "inspect", "-f", "{{.Name}} {{range .IPAM.Config}}{{.Subnet}}{{end}}", "net10", "net9"],
    ["network", "inspect", "--format", "json", "none"],
    ["network", "inspect", "-v", "bridge"],
    ["network", "inspect", "nope"],
    ["network", "inspect", "bridge", "nope"],
    ["network", "inspect"],
]


@pytest.mark.parametrize("argv", INSPECT, ids=" ".join)
def test_inspect(daemon: FakeEngine, argv: list[str]) -> None:
    same(daemon, argv)


CREATE = [
    ["network", "create", "mynet"],
    ["network", "create", "--subnet", "10.199.5.0/24", "--gateway", "10.199.5.254", "--ip-range", "10.199.5.128/25",
     "mynet"],
    ["network", "create", "-d", "bridge", "--label", "a=b", "--label", "c", "-o", "com.docker.network.bridge.name=x",
     "--internal", "--attachable", "--ipv6=false", "mynet"],
    # one subnet only: docker pairs them through a Go map, so several come in random order
    ["network", "create", "--subnet", "10.199.6.0/24", "--aux-address", "r=10.199.6.9", "mynet"],
    ["network", "create", "--subnet", "10.199.6.0/24", "--aux-address", "r=10.199.7.9", "mynet"],
    ["network", "create", "--gateway", "10.199.5.1", "mynet"],
    ["network", "create", "--subnet", "10.199.5.0/24", "--gateway", "10.199.7.1", "mynet"],
    ["network", "create", "--subnet", "10.199.5.0/24", "--ip-range", "10.199.7.0/25", "mynet"],
    ["network", "create", "--subnet", "10.199.5.0/24", "--subnet", "10.199.5.0/25", "mynet"],
    ["network", "create", "--subnet", "nope", "mynet"],
    ["network", "create"],
]


@pytest.mark.parametrize("argv", CREATE, ids=" ".join)
def test_create(daemon: FakeEngine, argv: list[str]) -> None:
    same(daemon, argv)


OTHERS = [
    (["network", "rm", "net9"], ""),
    (["network", "remove", "net9", "nope", "bridge", "net10"], ""),
    (["network", "rm", "-f", "gone", "net9"], ""),
    (["network", "rm"], ""),
    (["network", "prune"], "y\n"),
    (["network", "prune"], "n\n"),
    (["network", "prune", "-f", "--filter", "until=24h", "--filter", "label=a"], ""),
    (["network", "connect", "net9", "c1"], ""),
    (["network", "connect", "--ip", "10.199.9.5", "--alias", "a,b", "--alias", "c", "net9", "c1"], ""),
    (["network", "connect", "net9"], ""),
    (["network", "disconnect", "net9", "c1"], ""),
    (["network", "disconnect", "-f", "net9", "c1"], ""),
]


@pytest.mark.parametrize(("argv", "answer"), OTHERS, ids=lambda v: " ".join(v) if isinstance(v, list) else repr(v))
def test_rm_prune_connect(daemon: FakeEngine, argv: list[str], answer: str) -> None:
    same(daemon, argv, stdin=answer)


HELP = [["network", "--help"], *([["network", c, "--help"] for c in (
    "create", "ls", "inspect", "rm", "prune", "connect", "disconnect")])]


@pytest.mark.parametrize("argv", HELP, ids=" ".join)
def test_help(daemon: FakeEngine, argv: list[str]) -> None:
    theirs = docker_run(daemon.host, argv)
    ours = dockyard_run(daemon.host, argv)
    assert (ours.status, ours.out, ours.err) == (theirs.status, theirs.out.replace("docker ", "dockyard "), theirs.err)
