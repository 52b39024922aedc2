"""``dockyard build <git URL>`` against the docker CLI 28 (``DOCKER_BUILDKIT=0``), which clones
on the client: both run against one fake engine with a repository served over dumb HTTP on
127.0.0.1. Output, exit status, query and the context's members (``.git`` aside: two clones
differ there) must be docker's, with the temporary directory's name and the context's size
normalised. Unlike docker, dockyard leaves no ``docker-build-git*`` directory behind (docker
keeps the clone of a ``#ref:subdir`` context and the one of a failed ``-f``)."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest
from tests.support.gitserve import ServedRepo, git_temp_dirs, served_repo
from tests.unit.cli.fake_engine import VERSION, FakeEngine, Result
from tests.unit.cli.oracle import docker_run, needs_docker
from tests.unit.cli.test_cli_build import OK, RANDOM_NAME, Scene, members, without_notice
from tests.unit.cli.test_cli_image_oracle import dockyard_run

pytestmark = [needs_docker, pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")]

TEMP = re.compile(r"docker-build-git\w+")
SIZE = re.compile(r"daemon +\S+\r")


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedRepo]:
    with served_repo(tmp_path_factory.mktemp("git")) as served:  # default branch master, as docker asks
        yield served


@pytest.fixture(scope="module")
def scene() -> Iterator[Scene]:
    root = tempfile.mkdtemp(prefix="dygit")
    with FakeEngine(f"{root}/engine.sock") as engine:
        engine.json("GET", "/version", VERSION)
        yield Scene(engine, root)
    shutil.rmtree(root, ignore_errors=True)


def calls(engine: FakeEngine) -> list[tuple[Any, ...]]:
    found = []
    for r in engine.requests:
        if r.path == "/build":
            tar = [m for m in members(r.body) if m[0] != ".git" and not m[0].startswith(".git/")]
            query = {k: [RANDOM_NAME.sub(".dockerfile.X", v) for v in vs] for k, vs in sorted(r.query.items())}
            found.append((query, r.headers.get("content-type"), sorted(tar)))  # docker adds files in any order
    del engine.requests[:]
    return found


def normal(result: Result) -> tuple[int, str, str]:
    return result.status, SIZE.sub("daemon SIZE\r", TEMP.sub("TMP", result.out)), TEMP.sub("TMP", result.err)


def same(scene: Scene, argv: list[str], stdin: bytes = b"") -> list[tuple[Any, ...]]:
    del scene.engine.requests[:]
    config = tempfile.mkdtemp(prefix="dycfg")
    try:
        theirs = docker_run(scene.engine.host, argv, stdin, config_dir=config, env={"DOCKER_BUILDKIT": "0"})
        their_calls = calls(scene.engine)
        before = git_temp_dirs(tempfile.gettempdir())
        ours = dockyard_run(scene.engine.host, argv, stdin.decode(), config_dir=config)
        assert git_temp_dirs(tempfile.gettempdir()) <= before  # our clone is gone
        our_calls = calls(scene.engine)
    finally:
        shutil.rmtree(config, ignore_errors=True)
    theirs.err = without_notice(theirs.err)
    assert normal(ours) == normal(theirs)
    assert our_calls == their_calls
    return our_calls


@pytest.fixture(autouse=True)
def _no_docker_leftovers() -> Iterator[None]:
    """Remove the clones docker itself leaves in /tmp."""
    before = git_temp_dirs(tempfile.gettempdir())
    yield
    for name in git_temp_dirs(tempfile.gettempdir()) - before:
        shutil.rmtree(os.path.join(tempfile.gettempdir(), name), ignore_errors=True)


def test_git_contexts_like_docker(scene: Scene, repo: ServedRepo) -> None:
    scene.messages = OK
    found = same(scene, ["build", repo.url])
    names = [m[0] for m in found[0][2]]
    assert names == [".dockerignore", "Dockerfile", "sub", "sub/Dockerfile", "sub/s.txt", "up", "which.txt"]
    assert found[0][2][5][1:] == (b"2", 0o777, 0, b"")  # a symlink (to "/") stays one
    assert dict((m[0], m[4]) for m in found[0][2])["which.txt"] == b"master\n"  # x.log: .dockerignore'd
    found = same(scene, ["build", "-t", "x:1", repo.url + "#feature"])
    assert dict((m[0], m[4]) for m in found[0][2])["which.txt"] == b"feature\n"
    found = same(scene, ["build", repo.url + "#v1:sub"])
    assert [(m[0], m[4]) for m in found[0][2]] == [("Dockerfile", b"FROM busybox\nCOPY . /sub/\n"),
                                                   ("s.txt", b"sub-feature\n")]
    found = same(scene, ["build", "-f", "sub/Dockerfile", repo.url + "#feature"])
    assert found[0][0]["dockerfile"] == ["sub/Dockerfile"]
    same(scene, ["build", "-q", repo.url + "#feature:/sub"])
    same(scene, ["build", "-f", "-", repo.url + "#feature:sub"], stdin=b"FROM busybox\nRUN true\n")


@pytest.mark.parametrize("argv", [
    ["build", "-f", "nope", "{url}#feature"],
    ["build", "-f", "../Dockerfile", "{url}#feature:sub"],
    ["build", "-f", "/etc/hostname", "{url}"],
    ["build", "{url}#nope"],
    ["build", "{url}#master:../x"],
    ["build", "{url}#master:nosub"],
    ["build", "{url}#master:which.txt"],
    ["build", "{url}#-x"],
    ["build", "{base}/missing.git"],
])
def test_git_errors_like_docker(scene: Scene, repo: ServedRepo, argv: list[str]) -> None:
    scene.messages = OK
    same(scene, [arg.format(url=repo.url, base=repo.base) for arg in argv])


def test_the_clone_goes_on_interrupt(scene: Scene, repo: ServedRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    from dockyard.cli import buildcontext
    from dockyard.cli.commands import build

    seen: list[str] = []
    prepare = buildcontext.prepare

    def spy(*args: Any) -> buildcontext.Context:
        context = prepare(*args)
        seen.append(next(iter(git_temp_dirs(tempfile.gettempdir()) - before)))
        return context

    def interrupted(*_args: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(buildcontext, "prepare", spy)
    monkeypatch.setattr(build, "_send", interrupted)
    before = git_temp_dirs(tempfile.gettempdir())
    result = dockyard_run(scene.engine.host, ["build", repo.url + "#feature:sub"])
    assert result.status == 130 and len(seen) == 1
    assert git_temp_dirs(tempfile.gettempdir()) <= before
