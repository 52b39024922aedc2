"""``run``, ``create`` and ``start -a``: the flow (create, pull, attach, wait, start), exit codes.

The oracle tests run docker 28 and dockyard against the same fake engine and compare
status, output (container IDs masked: each run creates its own container) and the
requests; the others check the same behaviour on their own, so they run without docker.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest
from tests.unit.cli.container_engine import Containers, docker, install, needs_docker, ours, requests_since
from tests.unit.cli.fake_engine import FakeEngine, Reply, Request, error_reply, json_reply

ID = re.compile(r"\b[0-9a-f]{64}\b")
PULL = [{"status": "Pulling from library/busybox", "id": "latest"},
        {"status": "Pulling fs layer", "progressDetail": {}, "id": "aaa"},
        {"status": "Downloading", "progressDetail": {"current": 10, "total": 100}, "progress": "[=>  ] 10B/100B",
         "id": "aaa"},
        {"status": "Pull complete", "progressDetail": {}, "id": "aaa"}, {"status": "Digest: sha256:abc"},
        {"status": "Status: Downloaded newer image for busybox:latest"}]


@pytest.fixture
def world() -> Iterator[tuple[FakeEngine, Containers]]:
    with tempfile.TemporaryDirectory(prefix="dyrun") as path, FakeEngine(f"{path}/e.sock") as fake:
        store = install(fake)
        store.next_output = [(1, b"hello\n"), (2, b"oops\n"), (1, b"x")]
        store.next_exit_code = 3
        yield fake, store


def _masked(text: str) -> str:
    return ID.sub("<id>", text)


def _shape(fake: FakeEngine, start: int) -> list[tuple[str, str, str]]:
    out = []
    for request in requests_since(fake, start):
        out.append((request.method, _masked(request.path), json.dumps(sorted(request.query.items()))))
    return sorted(out)


def _both(fake: FakeEngine, argv: list[str], stdin: str = "", reset: Any = None) -> list[Any]:
    results = []
    for runner in (docker, ours):
        if reset is not None:
            reset()
        start = len(fake.requests)
        result = runner(fake, argv, stdin.encode()) if runner is docker else runner(fake, argv, stdin)
        results.append((result.status, _masked(result.out), _masked(result.err), _shape(fake, start)))
    return results


RUNS = [
    ["run", "busybox", "echo"], ["run", "--rm", "busybox"], ["run", "-a", "stdin", "busybox"],
    ["run", "-a", "stdout", "busybox"], ["run", "-i", "busybox", "cat"], ["run", "-it", "busybox"],
    ["run", "-d", "-a", "stdout", "busybox"], ["run", "--detach-keys", "ctrl-a", "-i", "busybox"],
    ["container", "run", "--name", "x", "busybox"],
]


@needs_docker
@pytest.mark.parametrize("argv", RUNS, ids=lambda a: " ".join(a))
def test_run_as_docker(world: tuple[FakeEngine, Containers], argv: list[str]) -> None:
    theirs, mine = _both(world[0], argv, "input\n")
    assert mine == theirs


@needs_docker
def test_run_detached_as_docker(world: tuple[FakeEngine, Containers]) -> None:
    theirs, mine = _both(world[0], ["run", "-d", "busybox"])
    assert mine[:3] == theirs[:3]
    # docker also sends a wait it never reads; dockyard leaves it out
    assert [r for r in theirs[3] if not r[1].endswith("/wait")] == mine[3]


@needs_docker
@pytest.mark.parametrize(("message", "status"), [
    ('failed to create task: exec: "nope": executable file not found in $PATH', 127),
    ("exec /bin/x: permission denied", 126), ("exec /etc: is a directory", 126), ("cgroup trouble", 125)])
@pytest.mark.parametrize("flags", [[], ["--rm"], ["-d", "--rm"]], ids=" ".join)
def test_start_failure_as_docker(world: tuple[FakeEngine, Containers], message: str, status: int,
                                 flags: list[str]) -> None:
    fake, store = world
    store.start_reply = error_reply(400, message)
    theirs, mine = _both(fake, ["run", *flags, "busybox", "nope"])
    assert mine == theirs
    assert mine[0] == status


def _pull_world(fake: FakeEngine, store: Containers, fail: bool = False) -> Any:
    """The image is missing until pulled; returns the function that makes it missing again."""
    state = {"pulled": False}

    def create(request: Request) -> Reply:
        if not state["pulled"]:
            return error_reply(404, "No such image: busybox:latest")
        return json_reply({"Id": "f" * 64, "Warnings": ["careful"]}, 201)
    store.create_reply = create

    def pull(request: Request) -> Reply:
        assert request.headers.get("x-registry-auth") == "e30="
        if fail:
            return error_reply(500, "pull failed: nope")
        state["pulled"] = True
        return Reply(200, headers={"Content-Type": "application/json"},
                     chunks=[json.dumps(m).encode() + b"\r\n" for m in PULL])
    fake.routes[("POST", "/images/create")] = pull
    return lambda: state.update(pulled=False)


@needs_docker
@pytest.mark.parametrize("argv", [["create", "busybox"], ["create", "-q", "--platform", "linux/amd64", "busybox"],
                                  ["create", "--pull", "never", "busybox"], ["run", "-d", "busybox"]])
@pytest.mark.parametrize("fail", [False, True])
def test_pull_missing_image_as_docker(world: tuple[FakeEngine, Containers], argv: list[str], fail: bool) -> None:
    fake, store = world
    reset = _pull_world(fake, store, fail)
    theirs, mine = _both(fake, argv, reset=reset)
    if argv[:2] == ["run", "-d"]:
        theirs = (*theirs[:3], [r for r in theirs[3] if not r[1].endswith("/wait")])
    assert mine[:3] == theirs[:3]
    assert list(mine[3]) == list(theirs[3])


# --- without docker ---------------------------------------------------------------------

def test_run_exit_status_and_streams(world: tuple[FakeEngine, Containers]) -> None:
    fake, _ = world
    result = ours(fake, ["run", "--rm", "busybox", "echo"])
    assert (result.status, result.out, result.err) == (3, "hello\nx", "oops\n")
    paths = [(r.method, r.path.rsplit("/", 1)[-1], r.query) for r in fake.requests if r.path != "/_ping"]
    # the wait and the attach are sent side by side (their order varies), both before start
    assert [p[:2] for p in paths[-4:]][::3] == [("POST", "create"), ("POST", "start")]
    assert sorted(p[:2] for p in paths[-3:-1]) == [("POST", "attach"), ("POST", "wait")]
    assert [p[2] for p in paths[-3:-1] if p[1] == "wait"] == [{"condition": ["removed"]}]


def test_run_detached_prints_the_id(world: tuple[FakeEngine, Containers]) -> None:
    fake, store = world
    result = ours(fake, ["run", "-d", "busybox"])
    assert result.status == 0 and ID.fullmatch(result.out.strip())
    assert store.created[-1]["AttachStdout"] is False and store.created[-1]["StdinOnce"] is False


@pytest.mark.parametrize(("message", "status"), [("exec: \"x\": executable file not found in $PATH", 127),
                                                 ("open /x: permission denied", 126), ("boom", 125)])
def test_start_failure_exit_codes(world: tuple[FakeEngine, Containers], message: str, status: int) -> None:
    fake, store = world
    store.start_reply = error_reply(500, message)
    result = ours(fake, ["run", "busybox"])
    assert result.status == status
    assert result.err == (f"dockyard: Error response from daemon: {message}\n\n"
                          "Run 'dockyard run --help' for more information\n")


def test_create_errors_exit_125(world: tuple[FakeEngine, Containers]) -> None:
    fake, store = world
    store.create_reply = lambda request: error_reply(409, 'Conflict. The container name "/x" is already in use')
    result = ours(fake, ["run", "--name", "x", "busybox"])
    assert (result.status, result.out) == (125, "")
    assert result.err.startswith('dockyard: Error response from daemon: Conflict. The container name "/x"')
    assert ours(fake, ["create", "--name", "x", "busybox"]).status == 1
    assert ours(fake, ["run", "--restart", "always", "--rm", "busybox"]).status == 125


def test_wait_error_is_125(world: tuple[FakeEngine, Containers]) -> None:
    fake, _ = world
    fake.routes.override("POST", "/containers/{id}/wait", lambda r, p: json_reply(
        {"StatusCode": 0, "Error": {"Message": "container vanished"}}))
    result = ours(fake, ["run", "busybox"])
    assert result.status == 125
    assert result.err.endswith(' level=error msg="Error waiting for container: container vanished"\n')
    assert result.err.splitlines()[-1].startswith('time="')  # a logrus line, as docker logs it


def test_logrus_lines() -> None:
    from dockyard.cli import logrus

    assert logrus.line("error", 'exec: "nope": not found', "2026-11-28T16:03:25Z") == (
        'time="2026-11-28T16:03:25Z" level=error msg="exec: \\"nope\\": not found"\n')
    assert logrus.line("warning", "plain-word_1.2/x@y", "2026-11-28T16:03:25+01:00") == (
        'time="2026-11-28T16:03:25+01:00" level=warning msg=plain-word_1.2/x@y\n')


def test_pull_then_create(world: tuple[FakeEngine, Containers]) -> None:
    fake, store = world
    _pull_world(fake, store)
    result = ours(fake, ["create", "busybox"])
    assert (result.status, result.out) == (0, "f" * 64 + "\n")
    assert result.err == ("Unable to find image 'busybox:latest' locally\nlatest: Pulling from library/busybox\n"
                          "aaa: Pulling fs layer\naaa: Pull complete\nDigest: sha256:abc\n"
                          "Status: Downloaded newer image for busybox:latest\nWARNING: careful\n")
    pull = [r for r in fake.requests if r.path == "/images/create"][-1]
    assert pull.query == {"fromImage": ["docker.io/library/busybox"], "tag": ["latest"]}


def test_cidfile(world: tuple[FakeEngine, Containers], tmp_path: Any) -> None:
    fake, store = world
    path = tmp_path / "cid"
    result = ours(fake, ["create", "--cidfile", str(path), "busybox"])
    assert result.status == 0 and path.read_text() == result.out.strip()
    again = ours(fake, ["create", "--cidfile", str(path), "busybox"])
    assert again.status == 1 and "container ID file found" in again.err
    store.create_reply = lambda request: error_reply(500, "no")
    other = tmp_path / "cid2"
    assert ours(fake, ["create", "--cidfile", str(other), "busybox"]).status == 1
    assert not other.exists()  # removed when the create failed


def test_start_attached(world: tuple[FakeEngine, Containers]) -> None:
    fake, store = world
    record = store.add("job", state="created", exit_code=0)
    store.output[record["Id"]] = [(1, b"done\n")]
    store.exit_codes[record["Id"]] = 9
    result = ours(fake, ["start", "-a", "job"])
    assert (result.status, result.out) == (9, "done\n")
    attach = [r for r in fake.requests if r.path.endswith("/attach")][-1]
    assert attach.query == {"stderr": ["1"], "stdout": ["1"], "stream": ["1"]}
    assert ours(fake, ["start", "-a", "job", "job"]).err == "you cannot start and attach multiple containers at once\n"


def test_run_sends_stdin(world: tuple[FakeEngine, Containers]) -> None:
    fake, store = world
    result = ours(fake, ["run", "-i", "busybox", "cat"], stdin="some input\n")
    assert result.status == 3
    assert list(store.stdin.values())[-1] == b"some input\n"
    assert store.created[-1]["OpenStdin"] and store.created[-1]["StdinOnce"] and store.created[-1]["AttachStdin"]


@needs_docker
def test_client_config_proxies_and_detach_keys_as_docker(world: tuple[FakeEngine, Containers], tmp_path: Any) -> None:
    fake, store = world
    (tmp_path / "config.json").write_text(json.dumps({
        "proxies": {"default": {"httpProxy": "http://p:3128", "noProxy": "localhost"}}, "detachKeys": "ctrl-x"}))
    results = []
    for runner in (docker, ours):
        start = len(fake.requests)
        argv = ["run", "-i", "-e", "http_proxy=mine", "busybox"]
        if runner is docker:
            result = docker(fake, argv, env={"DOCKER_CONFIG": str(tmp_path)})
        else:
            result = ours(fake, ["--config", str(tmp_path), *argv])
        results.append((result.status, sorted(store.created[-1]["Env"]), _shape(fake, start)))
    assert results[1] == results[0]
    assert results[1][1] == ["HTTP_PROXY=http://p:3128", "NO_PROXY=localhost", "http_proxy=mine",
                             "no_proxy=localhost"]
    assert any('"detachKeys", ["ctrl-x"]' in query for _, _, query in results[1][2])
