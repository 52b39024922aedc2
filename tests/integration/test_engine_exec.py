"""``docker exec`` against the engine, driven by the real docker CLI 28 (and docker-py):
output and exit codes, -e/-w/-u, stdin, a TTY, -d, a stopped container, ExecIDs in inspect.

The module's engine and the ``docker`` fixture (nothing left after each test) come from
test_engine_containers.py's conventions.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time

import pytest
from tests.integration.test_engine_containers import docker as docker
from tests.integration.test_engine_containers import inspect, wait_for
from tests.support.engine import DOCKER, RunningEngine

pytest_plugins = ["tests.support.engine_fixtures"]
pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(not os.access(DOCKER, os.X_OK), reason=f"{DOCKER} (docker CLI 28) is not installed"),
]


@pytest.fixture
def box(docker: RunningEngine) -> RunningEngine:
    """A running container ``box`` (with ENV FOO=base), removed at the end."""
    docker.docker("run", "-d", "--name", "box", "-e", "FOO=base", "-e", "KEEP=1", "busybox", "sleep", "300")
    yield docker  # type: ignore[misc]
    docker.docker("rm", "-f", "box")


def test_exec_output_and_exit_codes(box: RunningEngine) -> None:
    run = box.docker("exec", "box", "echo", "hi")
    assert (run.returncode, run.stdout, run.stderr) == (0, "hi\n", "")
    failed = box.docker("exec", "box", "sh", "-c", "echo out; echo err >&2; exit 3", check=False)
    assert (failed.returncode, failed.stdout, failed.stderr) == (3, "out\n", "err\n")


def test_exec_env_workdir_user(box: RunningEngine) -> None:
    env = box.docker("exec", "-e", "FOO=over", "-e", "NEW=x", "box", "env").stdout.splitlines()
    assert "FOO=over" in env and "NEW=x" in env and "KEEP=1" in env and "FOO=base" not in env
    assert box.docker("exec", "-w", "/tmp", "box", "sh", "-c", "pwd").stdout == "/tmp\n"
    assert box.docker("exec", "-u", "root", "box", "id", "-u").stdout.strip() == "0"
    assert box.docker("exec", "-u", "1234:5678", "box", "id").stdout.startswith("uid=1234 gid=5678")
    missing = box.docker("exec", "box", "nope", check=False)
    assert missing.returncode == 127, missing.stdout + missing.stderr


def test_exec_stdin(box: RunningEngine) -> None:
    proc = subprocess.run([DOCKER, "exec", "-i", "box", "cat"], input="piped\nline 2\n", capture_output=True,
                          text=True, timeout=60, env=box.docker_env(), check=False)
    assert (proc.returncode, proc.stdout) == (0, "piped\nline 2\n"), proc.stderr


def test_exec_with_a_tty(box: RunningEngine) -> None:
    if shutil.which("script") is None:
        pytest.skip("script (util-linux) is not installed")
    proc = subprocess.run(["script", "-qec", "docker exec -it box sh -c 'ls -l /proc/self/fd/0; exit 5'", "/dev/null"],
                          capture_output=True, text=True, timeout=60, env=box.docker_env(),
                          stdin=subprocess.DEVNULL, check=False)
    assert proc.returncode == 5, proc.stdout + proc.stderr
    assert "/dev/pts/" in proc.stdout


def test_exec_detached_and_inspect(box: RunningEngine) -> None:
    since = time.time()
    box.docker("exec", "-d", "box", "sh", "-c", "sleep 2; echo > /tmp/done")
    ids = inspect(box, "box")["ExecIDs"]
    assert isinstance(ids, list) and len(ids) == 1
    status, _, body = box.request("GET", f"/v1.47/exec/{ids[0]}/json")
    doc = json.loads(body)
    assert status == 200 and doc["Running"] is True and doc["ContainerID"] == inspect(box, "box")["Id"]
    assert doc["ProcessConfig"]["entrypoint"] == "sh" and doc["Pid"] > 0
    wait_for(lambda: box.docker("exec", "box", "sh", "-c", "test -e /tmp/done", check=False).returncode == 0,
             timeout=15, what="the detached exec")
    wait_for(lambda: inspect(box, "box")["ExecIDs"] is None, what="ExecIDs to empty")
    doc = json.loads(box.request("GET", f"/v1.47/exec/{ids[0]}/json")[2])
    assert (doc["Running"], doc["ExitCode"]) == (False, 0)
    until = f"{time.time() + 0.1:.9f}"
    time.sleep(0.15)
    events = box.docker("events", "--since", f"{since:.9f}", "--until", until, "--filter", "container=box",
                        "--format", "{{.Action}}").stdout.split("\n")
    assert any(e.startswith("exec_create: sh -c") for e in events), events
    assert any(e.startswith("exec_start: sh -c") for e in events), events
    assert "exec_die" in events, events


def test_exec_on_a_stopped_container(docker: RunningEngine) -> None:
    docker.docker("create", "--name", "idle", "busybox", "true")
    run = docker.docker("exec", "idle", "echo", "hi", check=False)
    cid = inspect(docker, "idle")["Id"]
    assert run.returncode == 1 and f"container {cid} is not running" in run.stderr, run.stderr
    docker.docker("rm", "idle")


def test_docker_py_exec_run(box: RunningEngine) -> None:
    client = box.docker_py()
    try:
        container = client.containers.get("box")
        result = container.exec_run(["sh", "-c", "echo from-py; exit 2"])
        assert (result.exit_code, result.output) == (2, b"from-py\n")
        result = container.exec_run(["sh", "-c", "pwd"], workdir="/etc", environment={"A": "b"})
        assert (result.exit_code, result.output) == (0, b"/etc\n")
        out, err = container.exec_run(["sh", "-c", "echo o; echo e >&2"], demux=True).output
        assert (out, err) == (b"o\n", b"e\n")
    finally:
        client.close()
