"""Build contexts from git repositories against dockyardd: ``dockyard build <git URL>`` and
``DOCKER_BUILDKIT=0 docker build <git URL>`` (both clone on the client) and docker-py's
``images.build(path=<git URL>)`` (``remote=``: the engine clones), with and without
``#ref:subdir``, from a repository served over dumb HTTP on 127.0.0.1. The image's files
come from that ref and directory; a bad ref fails cleanly and leaves no clone, neither in
/tmp nor under the engine's data root.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.integration.test_engine_build import build, docker, image_id  # noqa: F401 (docker: a fixture)
from tests.support.engine import DOCKER, RunningEngine
from tests.support.gitserve import ServedRepo, git_temp_dirs, served_repo

pytest_plugins = ["tests.support.engine_fixtures", "tests.integration.conftest_registry"]
pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(not os.access(DOCKER, os.X_OK), reason=f"{DOCKER} (docker CLI 28) is not installed"),
    pytest.mark.skipif(not os.access("/usr/bin/git", os.X_OK), reason="git is not installed"),
]

DOCKYARD = str(Path(sys.executable).with_name("dockyard"))


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedRepo]:
    with served_repo(tmp_path_factory.mktemp("git")) as served:  # master: what docker 28 fetches without a ref
        yield served


@pytest.fixture
def engine_git(docker: RunningEngine) -> Iterator[RunningEngine]:  # noqa: F811
    """The engine; no clone may be left in /tmp nor in the builder's directory."""
    tmp = tempfile.gettempdir()
    before = git_temp_dirs(tmp)
    yield docker
    assert git_temp_dirs(tmp) <= before
    builder_tmp = docker.data_root / "builder" / "tmp"
    assert not builder_tmp.exists() or os.listdir(builder_tmp) == []


def dockyard_build(engine: RunningEngine, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([DOCKYARD, "-H", engine.host, "build", *args], capture_output=True, text=True,
                          env=engine.docker_env(), timeout=180, stdin=subprocess.DEVNULL, check=False)


def cat(engine: RunningEngine, image: str, *paths: str) -> str:
    return engine.docker("run", "--rm", image, "cat", *paths).stdout


def test_dockyard_build_from_git(engine_git: RunningEngine, repo: ServedRepo) -> None:
    proc = dockyard_build(engine_git, "-t", "git:plain", repo.url)
    assert proc.returncode == 0, (proc.stdout, proc.stderr, engine_git.log()[-4000:])
    assert "Sending build context to Docker daemon" in proc.stdout
    assert cat(engine_git, "git:plain", "/ctx/which.txt", "/ctx/sub/s.txt") == "master\nsub-master\n"
    listing = engine_git.docker("run", "--rm", "git:plain", "ls", "-a", "/ctx").stdout.split()
    assert "x.log" not in listing and ".git" in listing  # .dockerignore applied; the clone's .git sent, as docker

    proc = dockyard_build(engine_git, "-t", "git:sub", repo.url + "#feature:sub")
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    assert cat(engine_git, "git:sub", "/sub/s.txt") == "sub-feature\n"
    assert engine_git.docker("run", "--rm", "git:sub", "ls", "-a", "/sub").stdout.split() == [
        ".", "..", "Dockerfile", "s.txt"]

    proc = dockyard_build(engine_git, "-t", "git:f", "-f", "sub/Dockerfile", repo.url + "#v1")
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    assert cat(engine_git, "git:f", "/sub/which.txt") == "feature\n"  # the whole repo copied by sub/Dockerfile

    proc = dockyard_build(engine_git, repo.url + "#nope")
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr == ("unable to prepare context: unable to 'git clone' to temporary context directory: "
                           "error fetching: fatal: couldn't find remote ref nope\n: exit status 128\n")
    engine_git.docker("rmi", "git:plain", "git:sub", "git:f")


def test_docker_cli_build_from_git(engine_git: RunningEngine, repo: ServedRepo) -> None:
    before = git_temp_dirs(tempfile.gettempdir())
    build(engine_git, repo.url, "-t", "dgit:plain")  # type: ignore[arg-type]
    assert cat(engine_git, "dgit:plain", "/ctx/which.txt") == "master\n"
    build(engine_git, repo.url + "#feature:sub", "-t", "dgit:sub")  # type: ignore[arg-type]
    assert cat(engine_git, "dgit:sub", "/sub/s.txt") == "sub-feature\n"
    assert image_id(engine_git, "dgit:plain") != image_id(engine_git, "dgit:sub")
    for name in git_temp_dirs(tempfile.gettempdir()) - before:  # docker 28 keeps the clone of a #ref:subdir
        shutil.rmtree(os.path.join(tempfile.gettempdir(), name), ignore_errors=True)
    engine_git.docker("rmi", "dgit:plain", "dgit:sub")


def test_docker_py_build_from_git(engine_git: RunningEngine, repo: ServedRepo) -> None:
    client = engine_git.docker_py()
    import docker as docker_py

    try:
        client.images.build(path=repo.url + "#feature:sub", tag="pygit:sub")
        assert client.containers.run("pygit:sub", ["cat", "/sub/s.txt"], remove=True) == b"sub-feature\n"
        client.images.build(path=repo.url, tag="pygit:plain")
        assert client.containers.run("pygit:plain", ["cat", "/ctx/which.txt"], remove=True) == b"master\n"
        listing = client.containers.run("pygit:plain", ["ls", "-a", "/ctx"], remove=True).decode().split()
        assert "Dockerfile" in listing and "sub" in listing
        with pytest.raises(docker_py.errors.APIError) as caught:
            client.images.build(path=repo.url + "#nope", tag="pygit:never")
        assert caught.value.status_code == 500
        assert "error fetching: fatal: couldn't find remote ref nope" in str(caught.value)
        with pytest.raises(docker_py.errors.APIError) as caught:
            client.images.build(path=repo.url + "#feature:../../etc", tag="pygit:never")
        assert caught.value.status_code == 400 and "not within git root" in str(caught.value)
        client.images.remove("pygit:sub")
        client.images.remove("pygit:plain")
    finally:
        client.close()
