"""``dockyard build`` and ``dockyard builder prune`` against the docker CLI 28 (``DOCKER_BUILDKIT=0``).

Both clients run against one fake engine whose ``POST /build`` streams the messages a test
chooses; the exit status, stdout and stderr must be docker's (its "legacy builder is
deprecated" notice aside: dockyard has no other builder), and so must the requests: query,
``Content-Type``, ``X-Registry-Config`` and the context tar's members (names, types, modes,
sizes, contents; the tar headers differ only in fields docker fills with zeros). Where
docker adds a Dockerfile under a random name (``.dockerfile.<20 hex>``), the names are
compared by their shape. Skipped where docker is not installed.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest
from tests.unit.cli.fake_engine import VERSION, FakeEngine, Reply, Request, json_reply
from tests.unit.cli.oracle import docker_run, needs_docker
from tests.unit.cli.test_cli_image_oracle import dockyard_run

pytestmark = needs_docker

IMAGE_ID = "sha256:" + "ab" * 32
OK = [{"stream": "Step 1/2 : FROM busybox\n"}, {"stream": " ---> 1a2b3c4d5e6f\n"},
      {"stream": "Step 2/2 : CMD [\"sh\"]\n"}, {"stream": " ---> Running in 0123456789ab\n"},
      {"aux": {"ID": IMAGE_ID}}, {"stream": "Successfully built abababababab\n"},
      {"stream": "Successfully tagged app:1\n"}]
FAILED_RUN = [{"stream": "Step 1/2 : FROM busybox\n"}, {"stream": " ---> 1a2b3c4d5e6f\n"},
              {"stream": "Step 2/2 : RUN false\n"}, {"stream": " ---> Running in 0123456789ab\n"},
              {"errorDetail": {"code": 1, "message": "The command '/bin/sh -c false' returned a non-zero code: 1"},
               "error": "The command '/bin/sh -c false' returned a non-zero code: 1"}]
QUIET = [{"stream": IMAGE_ID + "\n"}, {"aux": {"ID": IMAGE_ID}}]
RANDOM_NAME = re.compile(r"\.dockerfile\.[0-9a-f]{20}")


class Scene:
    """The fake engine, the messages its ``POST /build`` streams, and a context directory."""

    def __init__(self, engine: FakeEngine, root: str) -> None:
        self.engine = engine
        self.root = root
        self.messages: list[dict[str, Any]] = OK
        engine.routes[("POST", "/build")] = self._build
        engine.routes[("POST", "/build/prune")] = lambda _r: json_reply(
            {"CachesDeleted": ["y7jjxrzw1ig0hgtb5i5z0p2lz", "sha256:0b8a0d2b6e"], "SpaceReclaimed": 12345})

    def _build(self, request: Request) -> Reply:
        return Reply(200, headers={"Content-Type": "application/json"},
                     chunks=[json.dumps(m).encode() + b"\r\n" for m in self.messages])


@pytest.fixture(scope="module")
def scene() -> Iterator[Scene]:
    root = tempfile.mkdtemp(prefix="dybuild")
    ctx = f"{root}/ctx"
    for path, data in {"Dockerfile": "FROM busybox\nCMD [\"sh\"]\n", "a.txt": "hello\n", "sub/b.txt": "b\n",
                       "skip/c.txt": "c\n", "keep.log": "k\n", "drop.log": "d\n", "sub/x.log": "x\n",
                       ".dockerignore": "skip\n*.log\n!keep.log\n", "other/Dockerfile.dev": "FROM busybox\n",
                       "other/Dockerfile.dev.dockerignore": "a.txt\n"}.items():
        os.makedirs(os.path.dirname(f"{ctx}/{path}"), exist_ok=True)
        with open(f"{ctx}/{path}", "w") as f:
            f.write(data)
    os.chmod(f"{ctx}/a.txt", 0o600)
    os.makedirs(f"{root}/lower")
    with open(f"{root}/lower/dockerfile", "w") as f:
        f.write("FROM busybox\n")
    with open(f"{root}/Outside.df", "w") as f:
        f.write("FROM busybox\nRUN true\n")
    with FakeEngine(f"{root}/engine.sock") as engine:
        engine.json("GET", "/version", VERSION)
        yield Scene(engine, root)
    shutil.rmtree(root, ignore_errors=True)


def members(body: bytes) -> list[tuple[str, bytes, int, int, bytes]]:
    """(name, type, mode, size, content) of each member; docker's truncated tars (a file added
    without padding nor end blocks) are read as far as they go."""
    found = []
    with tarfile.open(fileobj=io.BytesIO(body + bytes(1024)), mode="r|*") as tar:
        for info in tar:
            data = tar.extractfile(info).read() if info.isreg() else b""  # type: ignore[union-attr]
            data = RANDOM_NAME.sub(".dockerfile.X", data.decode("latin-1")).encode("latin-1")
            found.append((RANDOM_NAME.sub(".dockerfile.X", info.name), info.type, info.mode, len(data), data))
    return found


def requests(engine: FakeEngine) -> list[tuple[Any, ...]]:
    calls = []
    for r in engine.requests:
        if r.path == "/_ping":
            continue
        query = {k: [RANDOM_NAME.sub(".dockerfile.X", v) for v in vs] for k, vs in sorted(r.query.items())}
        tar = members(r.body) if r.path == "/build" and r.body else None
        calls.append((r.method, r.path, query, r.headers.get("content-type"), r.headers.get("x-registry-config"), tar))
    del engine.requests[:]
    return calls


def without_notice(err: str) -> str:
    """docker's stderr without its "legacy builder is deprecated" paragraph."""
    for end in ("environment-variable.\n\n", "https://docs.docker.com/go/buildx/\n\n"):
        if err.startswith("DEPRECATED:") and end in err:
            return err[err.index(end) + len(end):]
    return err


def same(scene: Scene, argv: list[str], stdin: bytes = b"", config_dir: str | None = None,
         sizes_differ: bool = False, any_order: bool = False) -> tuple[Any, Any]:
    """Run docker and dockyard alike (cwd: the scene's root); compare output and requests
    (``any_order``: the tar members in any order, where docker's comes from a Go map)."""
    del scene.engine.requests[:]
    config = config_dir or tempfile.mkdtemp(prefix="dycfg")
    cwd = os.getcwd()
    os.chdir(scene.root)
    try:
        theirs = docker_run(scene.engine.host, argv, stdin, config_dir=config, env={"DOCKER_BUILDKIT": "0"})
        their_calls = requests(scene.engine)
        ours = dockyard_run(scene.engine.host, argv, stdin.decode("latin-1"), config_dir=config)
        our_calls = requests(scene.engine)
    finally:
        os.chdir(cwd)
        if config_dir is None:
            shutil.rmtree(config, ignore_errors=True)
    if any_order:
        their_calls = [(*call[:5], sorted(call[5] or [])) for call in their_calls]
        our_calls = [(*call[:5], sorted(call[5] or [])) for call in our_calls]
    assert our_calls == their_calls
    expected_err = without_notice(theirs.err).replace("docker: 'docker ", "dockyard: 'dockyard ").replace(
        "Usage:  docker ", "Usage:  dockyard ").replace("Run 'docker ", "Run 'dockyard ")
    expected_out = theirs.out.replace("docker ", "dockyard ") if "--help" in argv else theirs.out
    if sizes_differ:  # docker cuts the tar short after the Dockerfile it adds; we send a whole one
        ours.out = re.sub(r"daemon +\S+\r", "daemon SIZE\r", ours.out)
        expected_out = re.sub(r"daemon +\S+\r", "daemon SIZE\r", expected_out)
    assert (ours.status, ours.out, ours.err) == (theirs.status, expected_out, expected_err)
    return ours, their_calls


CASES = [
    (["build", "ctx"], OK),
    (["build", "-t", "app:1", "-t", "localhost:5000/app", "ctx"], OK),
    (["image", "build", "--build-arg", "A=1", "--build-arg", "HOME", "--build-arg", "UNSET_ARG_X", "--target",
      "t1", "--no-cache", "--pull", "--label", "l1=v1", "--label", "l2", "--network", "host", "--platform",
      "Linux/ARM64", "--rm=false", "--force-rm", "--shm-size", "64m", "-m", "512m", "--add-host",
      "h:1.2.3.4", "--add-host", "g=::1", "--cache-from", "a", "--cache-from", "b,c", "ctx"], OK),
    (["builder", "build", "--cgroup-parent", "cg", "--cpu-period", "1000", "--cpu-quota", "500", "-c", "7",
      "--cpuset-cpus", "0-1", "--cpuset-mems", "0", "--isolation", "default", "--memory-swap", "1g",
      "--security-opt", "seccomp=unconfined,a=b", "--ulimit", "nofile=100:200", "--ulimit", "nproc=5", "ctx"], OK),
    (["build", "lower"], OK),
    (["build", "ctx"], FAILED_RUN),
    (["build", "ctx"], [{"stream": "Step 1/1 : FROM nope\n"}, {"errorDetail": {"code": 3, "message": "boom"}}]),
    (["build", "ctx"], [{"stream": "x\n"}, {"errorDetail": {"message": "no code"}}]),
    (["build", "ctx"], [{"stream": "x\n"}, {"error": "an error without errorDetail is printed as a status"}]),
    (["build", "-q", "ctx"], QUIET),
    (["build", "-q", "ctx"], FAILED_RUN),
    (["build", "nonexistent"], OK),
    (["build", "-f", "nope", "ctx"], OK),
    (["build", "-f", "lower", "ctx"], OK),
    (["build", "lower/dockerfile"], OK),
    (["build"], OK),
    (["build", "a", "b"], OK),
    (["build", "-t", "BAD", "ctx"], OK),
    (["build", "-t", "a:b:c", "ctx"], OK),
    (["build", "--add-host", "bad", "ctx"], OK),
    (["build", "--label", "=x", "ctx"], OK),
    (["build", "--ulimit", "bad", "ctx"], OK),
    (["build", "--shm-size", "x", "ctx"], OK),
    (["build", "--squash", "ctx"], OK),
    (["build", "--help"], OK),
    (["builder", "prune", "-f"], OK),
    (["builder", "prune", "-af", "--filter", "until=24h", "--filter", "label=a=b", "--keep-storage", "1g"], OK),
    (["builder", "prune", "--help"], OK),
    (["builder", "prune", "x"], OK),
]


@pytest.mark.parametrize(("argv", "messages"), CASES, ids=[" ".join(c[0]) + f" #{i}" for i, c in enumerate(CASES)])
def test_build_like_docker(scene: Scene, argv: list[str], messages: list[dict[str, Any]]) -> None:
    scene.messages = messages
    same(scene, argv)


def test_compressed_context(scene: Scene) -> None:
    scene.messages = OK
    same(scene, ["build", "--compress", "ctx"], sizes_differ=True)  # Go's gzip and zlib differ in size


def test_dockerignore_applied(scene: Scene) -> None:
    scene.messages = OK
    _, calls = same(scene, ["build", "ctx"])
    names = [m[0] for m in calls[0][5]]
    assert names == [".dockerignore", "Dockerfile", "a.txt", "keep.log", "other", "other/Dockerfile.dev",
                     "other/Dockerfile.dev.dockerignore", "sub", "sub/b.txt", "sub/x.log"]
    # docker's classic build ignores <Dockerfile>.dockerignore; dockyard honours it instead of
    # the context's .dockerignore (as BuildKit does, and as issue 6 asks)
    del scene.engine.requests[:]
    cwd = os.getcwd()
    os.chdir(scene.root)
    try:
        ours = dockyard_run(scene.engine.host, ["build", "-f", "ctx/other/Dockerfile.dev", "ctx"], "")
    finally:
        os.chdir(cwd)
    assert ours.status == 0, ours.err
    members = [m[0] for m in requests(scene.engine)[0][5]]
    assert "a.txt" not in members and "drop.log" in members and "other/Dockerfile.dev" in members


def test_stdin_contexts(scene: Scene) -> None:
    scene.messages = OK
    tar = io.BytesIO()  # GNU format: docker takes a tar starting with a PAX header for a Dockerfile
    with tarfile.open(fileobj=tar, mode="w", format=tarfile.GNU_FORMAT) as archive:
        archive.add(f"{scene.root}/ctx", arcname=".")
    same(scene, ["build", "-"], stdin=tar.getvalue())
    same(scene, ["build", "-f", "other/Dockerfile.dev", "-"], stdin=tar.getvalue())
    import gzip

    same(scene, ["build", "-t", "x", "-"], stdin=gzip.compress(tar.getvalue(), mtime=0))
    _, calls = same(scene, ["build", "-t", "x", "-"], stdin=b"FROM busybox\nRUN true\n")
    assert [m[0] for m in calls[0][5]] == ["Dockerfile"]
    same(scene, ["build", "-"], stdin=b"")
    same(scene, ["build", "-f", "-", "-"], stdin=b"FROM busybox\n")
    same(scene, ["build", "-f", "-", "-"], stdin=tar.getvalue())
    same(scene, ["build", "-f", "ctx/Dockerfile", "-"], stdin=b"FROM busybox\n")


def test_dockerfile_outside_the_context(scene: Scene) -> None:
    scene.messages = OK
    _, calls = same(scene, ["build", "-f", "Outside.df", "ctx"], sizes_differ=True)
    assert calls[0][2]["dockerfile"] == [".dockerfile.X"]
    assert calls[0][5][0] == (".dockerignore", tarfile.REGTYPE, 0o644, 36, b"skip\n*.log\n!keep.log\n\n.dockerfile.X\n")
    assert calls[0][5][-1] == (".dockerfile.X", tarfile.REGTYPE, 0o600, 22, b"FROM busybox\nRUN true\n")
    _, calls = same(scene, ["build", "-f", "-", "ctx"], stdin=b"FROM busybox\nRUN true\n", sizes_differ=True)
    assert calls[0][5][-1][0] == ".dockerfile.X"
    # no .dockerignore: one is added (docker writes the two new files in a random order)
    _, calls = same(scene, ["build", "-f", "Outside.df", "lower"], sizes_differ=True, any_order=True)
    assert sorted(m[:3] for m in calls[0][5]) == [(".dockerfile.X", tarfile.REGTYPE, 0o600),
                                                  (".dockerignore", tarfile.REGTYPE, 0o600),
                                                  ("dockerfile", tarfile.REGTYPE, 0o644)]
    assert dict((m[0], m[4]) for m in calls[0][5])[".dockerignore"] == b".dockerignore\n.dockerfile.X\n"


def test_iidfile(scene: Scene) -> None:
    for messages, quiet in ((OK, []), (QUIET, ["-q"])):
        scene.messages = messages
        path = f"{scene.root}/iid"
        same(scene, ["build", *quiet, "--iidfile", path, "ctx"])
        with open(path) as f:
            theirs = f.read()
        os.unlink(path)
        dockyard_run(scene.engine.host, ["build", *quiet, "--iidfile", path, f"{scene.root}/ctx"])
        with open(path) as f:
            assert f.read() == theirs == (IMAGE_ID if not quiet else IMAGE_ID + "\n")
    scene.messages = [{"stream": "no aux\n"}]
    same(scene, ["build", "--iidfile", f"{scene.root}/iid2", "ctx"])


def test_registry_config_header(scene: Scene) -> None:
    scene.messages = OK
    config = tempfile.mkdtemp(prefix="dycfg")
    try:
        with open(f"{config}/config.json", "w") as f:
            json.dump({"auths": {"https://index.docker.io/v1/": {"auth": "dXNlcjpwYXNz"},
                                 "localhost:5000": {"auth": "YTpi", "email": "e@x"},
                                 "tok.io": {"identitytoken": "T"}}}, f)
        _, calls = same(scene, ["build", "-q", "ctx"], config_dir=config)
        import base64

        decoded = json.loads(base64.urlsafe_b64decode(calls[0][4]))
        assert decoded["localhost:5000"] == {"username": "a", "password": "b", "email": "e@x",
                                             "serveraddress": "localhost:5000"}
    finally:
        shutil.rmtree(config, ignore_errors=True)


def test_builder_prune_prompt(scene: Scene) -> None:
    same(scene, ["builder", "prune"], stdin=b"y\n")
    same(scene, ["builder", "prune", "-a"], stdin=b"n\n")
    same(scene, ["builder", "prune", "--filter", "until=1h"], stdin=b"")
