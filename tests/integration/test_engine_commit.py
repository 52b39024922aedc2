"""``docker commit`` (``POST /commit``) against dockyardd, with the real docker CLI 28 and
dockyard's own CLI: the new layer (changes and whiteouts, not the engine's mount points),
history, ``--change``, ``--author``, tags and dangling images, pausing a running container,
a request body's Config, the ``commit`` event, errors, and docker-py's ``commit``.

One engine serves the module (``engine_busybox``); after each test every container and
every image but busybox is gone, and with them their snapshots and blobs; no lease, mount
or traceback is left (the engine's own check at the end of the module finds no process
or mount left).
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support import hostcheck
from tests.support.engine import DOCKER, RunningEngine, store_state, wait_for

pytest_plugins = ["tests.support.engine_fixtures"]
pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(not os.access(DOCKER, os.X_OK), reason=f"{DOCKER} (docker CLI 28) is not installed"),
]

IMAGE_ID = re.compile(r"^sha256:[0-9a-f]{64}\n$")
LOOP = "echo run > /running; while true; do sleep 0.1; done"
DOCKYARD = str(Path(sys.executable).with_name("dockyard"))


@pytest.fixture
def docker(engine: RunningEngine, engine_busybox: str) -> Iterator[RunningEngine]:
    """The engine; at the end its containers and images but busybox are removed, and the
    store (snapshots, blobs, leases) must be as before."""
    before = store_state(engine)
    assert before[2] == set(), before
    busybox = engine.docker("image", "inspect", "-f", "{{.Id}}", "busybox").stdout.strip()
    yield engine
    left = engine.docker("ps", "-aq", "--no-trunc").stdout.split()
    if left:
        engine.docker("rm", "-f", *left, check=False)
    images = [i for i in engine.docker("images", "-aq", "--no-trunc").stdout.split() if i != busybox]
    for image in dict.fromkeys(images):
        engine.docker("rmi", "-f", image, check=False)
    wait_for(lambda: store_state(engine) == before, what=f"the store as before: {before} now {store_state(engine)}")
    assert hostcheck.mounts_under(engine.base) == []
    log = engine.log_path.read_text(errors="replace")
    assert "Traceback" not in log, log[-4000:]


def inspect(engine: RunningEngine, name: str) -> dict[str, object]:
    doc = json.loads(engine.docker("inspect", name).stdout)
    assert isinstance(doc, list) and len(doc) == 1 and isinstance(doc[0], dict)
    return doc[0]


def layers(engine: RunningEngine, name: str) -> list[str]:
    rootfs = inspect(engine, name)["RootFS"]
    assert isinstance(rootfs, dict)
    return list(rootfs["Layers"])


def top_layer_names(engine: RunningEngine, name: str) -> list[str]:
    """The entries of the image's last layer blob (read from the content store with ctr)."""
    records = engine.ctr("-n", "dockyard", "images", "ls").stdout.splitlines()[1:]
    wanted = "docker.io/library/" + name if "/" not in name else name
    digest = next(line.split()[2] for line in records if line.split()[0] == wanted)
    manifest = json.loads(engine.ctr("-n", "dockyard", "content", "get", digest).stdout)
    blob = subprocess.run(["ctr", "--address", str(engine.address), "-n", "dockyard", "content", "get",
                           manifest["layers"][-1]["digest"]], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
        return tar.getnames()


def events(engine: RunningEngine, since: float, *filters: str) -> list[dict[str, object]]:
    until = f"{time.time() + 0.1:.9f}"
    time.sleep(0.15)
    argv = ["events", "--since", f"{since:.9f}", "--until", until, "--format", "{{json .}}"]
    for item in filters:
        argv += ["--filter", item]
    return [json.loads(line) for line in engine.docker(*argv).stdout.splitlines()]


def test_commit_adds_one_layer_with_the_changes_and_whiteouts(docker: RunningEngine) -> None:
    docker.docker("run", "--name", "src", "busybox", "sh", "-c",
                  "echo new > /newfile; mkdir -p /d/e; echo deep > /d/e/f; rm /hello.txt")
    commit = docker.docker("commit", "-m", "the message", "src", "committed:v1")
    assert IMAGE_ID.match(commit.stdout), commit.stdout
    assert commit.stdout.strip() == inspect(docker, "committed:v1")["Id"]
    assert len(layers(docker, "committed:v1")) == len(layers(docker, "busybox")) + 1
    out = docker.docker("run", "--rm", "committed:v1", "sh", "-c", "cat /newfile /d/e/f; test -e /hello.txt; echo $?")
    assert out.stdout == "new\ndeep\n1\n"
    names = top_layer_names(docker, "committed:v1")
    assert sorted(names) == [".wh.hello.txt", "d", "d/e", "d/e/f", "newfile"]  # no /proc, /etc/hosts...
    history = docker.docker("history", "--no-trunc", "--format", "{{.CreatedBy}}|{{.Comment}}",
                            "committed:v1").stdout.splitlines()
    assert history[0] == "sh -c echo new > /newfile; mkdir -p /d/e; echo deep > /d/e/f; rm /hello.txt|the message"
    assert len(history) == len(docker.docker("history", "-q", "busybox").stdout.split()) + 1
    busybox_id = inspect(docker, "busybox")["Id"]
    ids = docker.docker("history", "-q", "--no-trunc", "committed:v1").stdout.split()
    assert ids[:2] == [commit.stdout.strip(), busybox_id]  # the parent's ID on its top row, as dockerd shows it
    doc = inspect(docker, "committed:v1")
    assert doc["Comment"] == "the message" and doc["Parent"] == busybox_id
    listed = docker.docker("images", "--no-trunc", "--format", "{{.ID}}", "committed").stdout.split()
    assert listed == [commit.stdout.strip()]
    config = doc["Config"]
    assert isinstance(config, dict) and config["Cmd"] == ["sh", "-c", "echo new > /newfile; mkdir -p /d/e; "
                                                          "echo deep > /d/e/f; rm /hello.txt"]


def test_commit_changes_and_author(docker: RunningEngine) -> None:
    docker.docker("create", "--name", "src", "-e", "KEEP=1", "busybox", "true")
    image_id = docker.docker("commit", "-c", 'CMD ["echo","x"]', "-c", "ENV A=b", "-c", "LABEL l=v",
                             "--author", "Ann Author <ann@example.com>", "src", "changed").stdout.strip()
    doc = inspect(docker, "changed")
    config = doc["Config"]
    assert isinstance(config, dict)
    assert config["Cmd"] == ["echo", "x"]
    assert "A=b" in config["Env"] and "KEEP=1" in config["Env"]
    assert config["Labels"] == {"l": "v"}
    assert doc["Author"] == "Ann Author <ann@example.com>" and doc["Id"] == image_id
    assert docker.docker("run", "--rm", "changed").stdout == "x\n"
    # nothing changed in the container: docker's empty layer
    assert layers(docker, "changed") == layers(docker, "busybox")
    size = docker.docker("history", "--format", "{{.Size}}", "changed").stdout.splitlines()[0]
    assert size == "0B"


def test_commit_without_repository_is_dangling(docker: RunningEngine) -> None:
    docker.docker("run", "--name", "src", "busybox", "sh", "-c", "echo > /x")
    image_id = docker.docker("commit", "src").stdout.strip()
    dangling = docker.docker("images", "-q", "--no-trunc", "--filter", "dangling=true").stdout.split()
    assert image_id in dangling
    row = docker.docker("images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}").stdout.splitlines()
    assert f"<none>:<none> {image_id.removeprefix('sha256:')[:12]}" in row
    records = docker.ctr("-n", "dockyard", "images", "ls", "-q").stdout.split()
    assert any(r.startswith("dockyard-dangling@") for r in records)
    # tagging it later takes the dangling record away
    docker.docker("tag", image_id, "named:later")
    assert docker.docker("images", "-q", "--filter", "dangling=true").stdout == ""


def test_commit_of_a_running_container_pauses_it_and_resumes_it(docker: RunningEngine) -> None:
    docker.docker("run", "-d", "--name", "busy", "busybox", "sh", "-c", LOOP)
    wait_for(lambda: docker.docker("exec", "busy", "cat", "/running", check=False).returncode == 0)
    since = time.time()
    image_id = docker.docker("commit", "-m", "live", "busy", "live:1").stdout.strip()
    state = inspect(docker, "busy")["State"]
    assert isinstance(state, dict) and state["Running"] is True and state["Paused"] is False
    seen = events(docker, since, "type=container")
    assert [e["Action"] for e in seen] == ["pause", "commit", "unpause"]
    attributes = seen[1]["Actor"]["Attributes"]  # type: ignore[index]
    assert attributes["comment"] == "live" and attributes["imageID"] == image_id  # type: ignore[index]
    assert attributes["imageRef"] == "live:1" and attributes["name"] == "busy"  # type: ignore[index]
    assert docker.docker("run", "--rm", "live:1", "cat", "/running").stdout == "run\n"
    since = time.time()
    docker.docker("commit", "--pause=false", "busy", "live:2")
    assert [e["Action"] for e in events(docker, since, "type=container")] == ["commit"]
    assert inspect(docker, "busy")["State"]["Running"] is True  # type: ignore[index]


def test_commit_errors(docker: RunningEngine) -> None:
    missing = docker.docker("commit", "nope", check=False)
    assert missing.returncode == 1
    assert missing.stderr == "Error response from daemon: No such container: nope\n"
    docker.docker("run", "-d", "--name", "busy", "busybox", "sh", "-c", LOOP)
    bad = docker.docker("commit", "-c", "ADD a b", "busy", check=False)
    assert bad.returncode == 1
    assert bad.stderr == "Error response from daemon: ADD is not a valid change command\n"
    status, _, body = docker.request("POST", "/commit?container=busy&repo=Bad:x")
    assert status == 400 and b"not a valid repository/tag" in body, body
    status, _, body = docker.request("POST", "/commit?container=busy&changes=CMD%20%5B", b"[1]")
    assert status == 400, body
    state = inspect(docker, "busy")["State"]
    assert isinstance(state, dict) and state["Running"] is True and state["Paused"] is False
    assert docker.docker("images", "-q").stdout.split() == [inspect(docker, "busybox")["Id"][7:19]]  # type: ignore[index]


def test_commit_api_with_a_config_body(docker: RunningEngine) -> None:
    docker.docker("create", "--name", "src", "-e", "FROM_CONTAINER=1", "-l", "c=1", "busybox", "sh")
    body = json.dumps({"Cmd": ["echo", "from", "body"], "Labels": {"b": "2"}}).encode()
    status, _, reply = docker.request("POST", "/v1.47/commit?container=src&repo=withbody&comment=c1", body)
    assert status == 201, reply
    image_id = json.loads(reply)["Id"]
    assert image_id.startswith("sha256:")
    config = inspect(docker, "withbody")["Config"]
    assert isinstance(config, dict)
    assert config["Cmd"] == ["echo", "from", "body"]
    assert config["Labels"] == {"b": "2", "c": "1"}  # merged with the container's
    assert "FROM_CONTAINER=1" in config["Env"]
    assert docker.docker("run", "--rm", "withbody").stdout == "from body\n"


def test_dockyard_cli_commit(docker: RunningEngine) -> None:
    docker.docker("run", "-d", "--name", "busy", "busybox", "sh", "-c", LOOP)
    env = docker.docker_env()
    proc = subprocess.run([DOCKYARD, "commit", "-a", "cli author", "-m", "by dockyard", "-c", "ENV Z=9", "-p",
                           "busy", "bycli:t"], capture_output=True, text=True, env=env, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert IMAGE_ID.match(proc.stdout), proc.stdout
    doc = inspect(docker, "bycli:t")
    assert doc["Id"] == proc.stdout.strip() and doc["Author"] == "cli author" and doc["Comment"] == "by dockyard"
    assert "Z=9" in doc["Config"]["Env"]  # type: ignore[index]
    assert inspect(docker, "busy")["State"]["Running"] is True  # type: ignore[index]
    since = time.time()
    proc = subprocess.run([DOCKYARD, "commit", "--pause=false", "busy"], capture_output=True, text=True, env=env,
                          timeout=60, check=False)
    assert proc.returncode == 0 and IMAGE_ID.match(proc.stdout), proc.stderr
    assert [e["Action"] for e in events(docker, since, "type=container")] == ["commit"]
    missing = subprocess.run([DOCKYARD, "commit", "nope"], capture_output=True, text=True, env=env, timeout=60,
                             check=False)
    assert missing.returncode == 1 and "No such container: nope" in missing.stderr


def test_docker_py_commit(docker: RunningEngine) -> None:
    client = docker.docker_py()
    try:
        container = client.containers.run("busybox", ["sh", "-c", "echo py > /py"], name="src", detach=True)
        container.wait()
        image = container.commit(repository="bypy", tag="1", message="from py", author="py",
                                 changes=["ENV P=1", 'CMD ["cat", "/py"]'], conf={"Labels": {"k": "v"}})
        assert image.tags == ["bypy:1"]
        assert image.attrs["Comment"] == "from py" and image.attrs["Author"] == "py"
        assert "P=1" in image.attrs["Config"]["Env"] and image.attrs["Config"]["Labels"] == {"k": "v"}
        assert client.containers.run("bypy:1", remove=True) == b"py\n"
    finally:
        client.close()
