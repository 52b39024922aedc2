"""Registry access through dockyardd with the docker CLI and ``dockyard``: ``login``
(``POST /auth``), then a push and a pull with the stored credentials, with a local
docker-registry that wants htpasswd auth; ``pull -a`` (every tag of a repository)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from tests.support.engine import DOCKER, RunningEngine
from tests.support.registry import REGISTRY_PASSWORD, REGISTRY_USER, LocalRegistry, Seeded

pytest_plugins = ["tests.support.engine_fixtures", "tests.integration.conftest_registry"]
pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(not os.access(DOCKER, os.X_OK), reason=f"{DOCKER} (docker CLI 28) is not installed"),
]

DOCKYARD = [sys.executable, "-c", "from dockyard.cli.main import entry; entry()"]


@pytest.fixture(params=["docker", "dockyard"])
def client(request: pytest.FixtureRequest, engine: RunningEngine, engine_busybox: str) -> Iterator[list[str]]:
    argv = [DOCKER] if request.param == "docker" else DOCKYARD
    config = engine.base / "docker-config" / "config.json"
    config.unlink(missing_ok=True)
    yield argv
    config.unlink(missing_ok=True)
    names = engine.docker("images", "--format", "{{.Repository}}:{{.Tag}}", "--filter",
                          "reference=*/login-*").stdout.split()
    if names:  # by name: the tags share busybox's image ID
        engine.docker("rmi", *names, check=False)


def run(engine: RunningEngine, argv: list[str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([*argv, *args], input=stdin, capture_output=True, text=True, timeout=120,
                          env=engine.docker_env(), check=False)


def test_login_push_pull_logout(client: list[str], engine: RunningEngine, engine_busybox: str,
                                auth_registry: LocalRegistry) -> None:
    host = auth_registry.host
    bad = run(engine, client, "login", "-u", REGISTRY_USER, "--password-stdin", host, stdin="wrong\n")
    assert bad.returncode == 1
    assert bad.stderr == f"Error response from daemon: login attempt to http://{host}/v2/ failed with status: " \
                         "401 Unauthorized\n"

    good = run(engine, client, "login", "-u", REGISTRY_USER, "--password-stdin", host, stdin=REGISTRY_PASSWORD + "\n")
    assert good.returncode == 0, good.stderr
    assert good.stdout.rstrip().endswith("Login Succeeded")
    stored = json.loads((engine.base / "docker-config" / "config.json").read_text())
    assert host in stored["auths"]

    name = f"{host}/login-{'docker' if client == [DOCKER] else 'dockyard'}:v1"
    assert run(engine, client, "tag", engine_busybox, name).returncode == 0
    push = run(engine, client, "push", name)
    assert push.returncode == 0, push.stdout + push.stderr
    assert "digest: sha256:" in push.stdout
    assert run(engine, client, "rmi", name).returncode == 0
    pull = run(engine, client, "pull", name)
    assert pull.returncode == 0, pull.stdout + pull.stderr

    assert run(engine, client, "logout", host).returncode == 0
    denied = run(engine, client, "pull", name)
    assert denied.returncode == 1
    assert "Error response from daemon" in denied.stderr


def test_auth_endpoint_refuses_bad_bodies(engine: RunningEngine) -> None:
    status, _, body = engine.request("POST", "/v1.47/auth", b"[1]")
    assert status == 400 and b"auth config: must be a JSON object" in body
    status, _, body = engine.request("POST", "/v1.47/auth", json.dumps({"serveraddress": "docker.io",
                                                                          "username": "u", "password": "p"}).encode())
    assert status == 400 and b"login to Docker Hub is not supported" in body


def test_pull_all_tags(client: list[str], engine: RunningEngine, engine_busybox: str, seeded: Seeded) -> None:
    repo = f"{seeded.registry.host}/login-all-{'docker' if client == [DOCKER] else 'dockyard'}"
    for tag in ("a", "b"):
        engine.docker("tag", engine_busybox, f"{repo}:{tag}")
        engine.docker("push", "-q", f"{repo}:{tag}")
        engine.docker("rmi", f"{repo}:{tag}")
    pull = run(engine, client, "pull", "-a", repo)
    assert pull.returncode == 0, pull.stdout + pull.stderr
    lines = pull.stdout.splitlines()
    assert lines[0] == "a: Pulling from " + repo.split("/", 1)[1], lines
    assert "b: Pulling from " + repo.split("/", 1)[1] in lines
    assert lines[-2:] == [f"Status: Downloaded newer image for {repo}", repo], lines  # the tags were new
    tags = engine.docker("images", "--format", "{{.Tag}}", repo).stdout.split()
    assert sorted(tags) == ["a", "b"]
