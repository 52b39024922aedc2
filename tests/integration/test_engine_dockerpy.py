"""The engine driven by docker-py 7 through ``docker.from_env()`` (``DOCKER_HOST`` pointing at
dockyardd's socket): containers (run both ways, streamed and with a TTY, the lifecycle
verbs, a stop or rm -f while a restart policy restarts, list filters, inspect attributes,
wait, top, update, attach, resize, prune, auto_remove, the typed errors), images (list,
get, tag, history, remove, save, load, import, prune), exec (exec_run and the low-level
calls, demux, streams, stdin over the hijacked socket, large outputs), logs (tail, since,
until, timestamps, follow, a 128 KiB line), stats (one and a stream), archive (put then
get, a missing path), events (a container's life, a stream closed early) and commit.

One engine serves the module; after each test no container is left, nor their fifos, log
dirs, snapshots or cgroups (the ``docker`` fixture of test_engine_containers.py), and no
image but busybox; the engine's own check at the end of the module finds no process or
mount left.
"""

from __future__ import annotations

import concurrent.futures
import datetime
import io
import json
import os
import socket
import tarfile
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from tests.integration.test_engine_containers import docker as docker
from tests.integration.test_engine_containers import wait_for
from tests.support.engine import DOCKER, RunningEngine

pytest_plugins = ["tests.support.engine_fixtures"]
pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(not os.access(DOCKER, os.X_OK), reason=f"{DOCKER} (docker CLI 28) is not installed"),
]

dockerpy = pytest.importorskip("docker")
errors = dockerpy.errors

TERM_EXITS = 'trap "exit 143" TERM; while true; do sleep 0.1; done'


@pytest.fixture
def client(docker: RunningEngine, engine_busybox: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """``docker.from_env()`` with ``DOCKER_HOST`` set to the engine's socket; at the end no
    container and no image but busybox is left (and busybox keeps its one tag); then the
    ``docker`` fixture checks for files, fifos, snapshots and cgroups."""
    for name in ("DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_CONTEXT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DOCKER_HOST", docker.host)
    monkeypatch.setenv("DOCKER_CONFIG", str(docker.base / "docker-config"))
    py = dockerpy.from_env(timeout=60)
    busybox_id = py.images.get(engine_busybox).id
    try:
        yield py
    finally:
        left = py.containers.list(all=True)
        for container in left:
            container.remove(force=True)
        extra = [i for i in py.images.list(all=True) if i.id != busybox_id]
        for image in extra:
            py.images.remove(image.id, force=True)
        busybox = py.images.get(busybox_id)
        stray_tags = [t for t in busybox.tags if t != "busybox:latest"]
        for tag in stray_tags:
            py.images.remove(tag)
        py.close()
    assert left == [] and extra == [] and stray_tags == [], (left, extra, stray_tags)


def tar_of(files: dict[str, bytes], mode: int = 0o644) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), mode, 1700000000
            tar.addfile(info, io.BytesIO(data))
    return raw.getvalue()


def restarting(client: Any, cid: str) -> bool:
    return bool(client.api.inspect_container(cid)["State"]["Restarting"])


def names(client: Any, **filters: Any) -> list[str]:
    return sorted(c.name for c in client.containers.list(all=True, filters=filters))


# -- containers ------------------------------------------------------------------------------------
def test_run_returns_output_or_a_container(client: Any, engine_busybox: str) -> None:
    assert client.containers.run("busybox", ["echo", "hello py"], remove=True) == b"hello py\n"
    both = client.containers.run("busybox", ["sh", "-c", "echo out; echo err >&2"], stderr=True, name="kept")
    assert both in (b"out\nerr\n", b"err\nout\n")
    kept = client.containers.get("kept")
    assert kept.status == "exited" and kept.attrs["State"]["ExitCode"] == 0
    kept.remove()
    box = client.containers.run(engine_busybox, ["sleep", "300"], detach=True, name="det")
    assert len(box.id) == 64 and box.name == "det"
    box.reload()
    assert box.status == "running" and box.image.id == client.images.get("busybox").id
    box.remove(force=True)
    with pytest.raises(errors.NotFound):
        box.reload()


def test_lifecycle_verbs(client: Any) -> None:
    box = client.containers.create("busybox", ["sh", "-c", TERM_EXITS], name="life", labels={"k": "v"})
    assert box.status == "created"
    box.start()
    box.reload()
    assert box.status == "running"
    pid = box.attrs["State"]["Pid"]
    box.pause()
    box.reload()
    assert box.status == "paused" and box.attrs["State"]["Paused"] is True
    box.unpause()
    box.reload()
    assert box.status == "running" and box.attrs["State"]["Paused"] is False
    box.restart(timeout=5)
    box.reload()
    assert box.status == "running" and box.attrs["State"]["Pid"] != pid
    box.rename("life2")
    box.reload()
    assert box.name == "life2" and client.containers.get("life2").id == box.id
    with pytest.raises(errors.NotFound):
        client.containers.get("life")
    box.stop(timeout=5)
    assert box.wait() == {"StatusCode": 143, "Error": None}
    box.start()
    box.kill(signal="SIGKILL")
    assert box.wait()["StatusCode"] == 137
    box.reload()
    assert box.status == "exited" and box.attrs["State"]["ExitCode"] == 137
    with pytest.raises(errors.APIError) as not_running:
        box.kill()
    assert not_running.value.status_code == 409 and "is not running" in str(not_running.value.explanation)
    box.remove()
    with pytest.raises(errors.NotFound):
        client.containers.get(box.id)


def test_stop_while_a_policy_restart_is_under_way(client: Any, docker: RunningEngine) -> None:
    box = client.containers.run("busybox", ["sh", "-c", TERM_EXITS], detach=True, name="always",
                                restart_policy={"Name": "always"})
    for delay in (0.0, 0.05, 0.09, 0.1, 0.11, 0.13, 0.2):  # the first restart waits 0.1 s
        box.kill()
        wait_for(partial(restarting, client, box.id), what="restarting")
        time.sleep(delay)
        box.stop(timeout=5)
        time.sleep(0.3)
        box.reload()
        assert box.status == "exited", (delay, box.attrs["State"])
        box.start()
    box.remove(force=True)
    for delay in (0.0, 0.09, 0.1, 0.11, 0.2):  # rm -f then: no task, mount or cgroup may be left
        box = client.containers.run("busybox", ["sleep", "300"], detach=True, restart_policy={"Name": "always"})
        box.kill()
        wait_for(partial(restarting, client, box.id), what="restarting")
        time.sleep(delay)
        box.remove(force=True)
        with pytest.raises(errors.NotFound):
            box.reload()
    assert docker.ctr("-n", "dockyard", "tasks", "ls", "-q").stdout.split() == []


def test_list_filters(client: Any) -> None:
    running = client.containers.run("busybox", ["sleep", "300"], detach=True, name="f-run", labels={"tier": "a"})
    exited = client.containers.create("busybox", ["sh", "-c", "exit 4"], name="f-exit", labels={"tier": "b"})
    exited.start()
    assert exited.wait()["StatusCode"] == 4
    client.containers.create("busybox", ["true"], name="f-new")
    paused = client.containers.run("busybox", ["sleep", "300"], detach=True, name="f-paused")
    paused.pause()
    assert [c.name for c in client.containers.list()] == ["f-paused", "f-run"]  # running ones, newest first
    assert names(client) == ["f-exit", "f-new", "f-paused", "f-run"]
    assert names(client, status="running") == ["f-run"]
    assert names(client, status="exited") == ["f-exit"]
    assert names(client, status="created") == ["f-new"]
    assert names(client, status="paused") == ["f-paused"]
    assert names(client, exited=4) == ["f-exit"]
    assert names(client, label="tier") == ["f-exit", "f-run"]
    assert names(client, label="tier=a") == ["f-run"]
    assert names(client, label=["tier", "tier=b"]) == ["f-exit"]
    assert names(client, name="f-r") == ["f-run"]
    assert names(client, ancestor="busybox") == ["f-exit", "f-new", "f-paused", "f-run"]
    assert names(client, ancestor="busybox:latest", status="running") == ["f-run"]
    assert names(client, id=running.id[:12]) == ["f-run"]
    assert names(client, name="nothing-like-it") == []
    assert [c.name for c in client.containers.list(all=True, limit=1)] == ["f-paused"]  # the newest
    ids = client.containers.list(all=True, sparse=True)
    assert sorted(c.id for c in ids) == sorted(c.id for c in client.containers.list(all=True))
    for box in client.containers.list(all=True):
        box.remove(force=True)


def test_run_stream_tty_attach_resize(client: Any) -> None:
    assert list(client.containers.run("busybox", ["sh", "-c", "echo a; sleep 0.3; echo b"], stream=True,
                                      remove=True)) == [b"a\n", b"b\n"]
    assert client.containers.run("busybox", ["sh", "-c", "echo a; echo b >&2"], tty=True, remove=True) == b"a\r\nb\r\n"
    box = client.containers.run("busybox", ["sh", "-c", "echo hi; sleep 300"], detach=True, name="att")
    wait_for(lambda: box.logs() == b"hi\n", what="hi")
    for _ in range(10):  # the log follows the headers at once: docker-py must not lose it in its buffer
        assert box.attach(stdout=True, stderr=True, logs=True, stream=False) == b"hi\n"
    box.resize(24, 80)  # no terminal: nothing to do, as with Docker
    term = client.containers.run("busybox", ["sleep", "300"], detach=True, tty=True, name="term")
    term.resize(24, 80)
    assert term.exec_run(["sh", "-c", "tty; echo x"], tty=True).output == b"/dev/pts/1\r\nx\r\n"
    checked = client.containers.run("busybox", ["sleep", "300"], detach=True, name="checked",
                                    healthcheck={"test": ["CMD", "true"], "interval": 200_000_000})
    wait_for(lambda: client.containers.get("checked").health == "healthy", what="healthy")
    assert box.health == "unknown"
    assert names(client, health="none") == ["att", "term"] and names(client, health="healthy") == ["checked"]
    checked.remove(force=True)
    assert names(client, since="att") == ["term"] and names(client, before="term") == ["att"]
    with pytest.raises(errors.APIError) as bad:
        client.containers.list(filters={"health": "fine"})
    assert bad.value.status_code == 400
    term.remove(force=True)
    box.kill()
    box.wait()
    pruned = client.containers.prune()
    assert pruned["ContainersDeleted"] == [box.id] and isinstance(pruned["SpaceReclaimed"], int)
    assert client.containers.list(all=True) == []


def test_inspect_attrs(client: Any) -> None:
    box = client.containers.run("busybox", ["sleep", "300"], detach=True, name="insp", environment={"A": "b"},
                                labels={"k": "v"}, working_dir="/tmp", mem_limit="64m",
                                restart_policy={"Name": "on-failure", "MaximumRetryCount": 2})
    attrs = client.containers.get("insp").attrs
    assert attrs["Id"] == box.id and attrs["Name"] == "/insp" and attrs["Path"] == "sleep" and attrs["Args"] == ["300"]
    st = attrs["State"]
    assert st["Status"] == "running" and st["Running"] is True and st["Pid"] > 0 and st["ExitCode"] == 0
    assert st["StartedAt"].endswith("Z") and st["FinishedAt"].startswith("0001-01-01")
    config = attrs["Config"]
    assert config["Image"] == "busybox" and "A=b" in config["Env"] and config["Labels"] == {"k": "v"}
    assert config["WorkingDir"] == "/tmp" and config["Cmd"] == ["sleep", "300"] and config["Hostname"] == box.id[:12]
    host = attrs["HostConfig"]
    assert host["Memory"] == 64 * 1024 * 1024 and host["NetworkMode"] in ("bridge", "default")
    assert host["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
    assert box.labels == {"k": "v"} and box.short_id == box.id[:12]
    box.remove(force=True)


def test_wait_top_update(client: Any) -> None:
    box = client.containers.run("busybox", ["sleep", "300"], detach=True, name="tops", mem_limit="64m")
    top = box.top()
    assert top["Titles"][:3] == ["UID", "PID", "PPID"]
    assert any(row[-1] == "sleep 300" for row in top["Processes"]), top
    top_ef = box.top(ps_args="-ef")
    assert "CMD" in top_ef["Titles"] and len(top_ef["Processes"]) == 1
    result = box.update(mem_limit="128m", memswap_limit="256m")
    assert result.get("Warnings") in (None, [])
    box.reload()
    assert box.attrs["HostConfig"]["Memory"] == 128 * 1024 * 1024
    assert box.attrs["HostConfig"]["MemorySwap"] == 256 * 1024 * 1024
    limits = list(Path("/sys/fs/cgroup").glob(f"memory/dockyard/{box.id}/memory.limit_in_bytes"))
    if limits:
        assert limits[0].read_text().strip() == str(128 * 1024 * 1024)
    box.kill()
    assert box.wait(timeout=30) == {"StatusCode": 137, "Error": None}
    assert box.wait(condition="not-running")["StatusCode"] == 137  # already stopped: at once
    box.remove()


def test_auto_remove(client: Any) -> None:
    box = client.containers.run("busybox", ["sh", "-c", "sleep 0.5; exit 3"], detach=True, auto_remove=True,
                                name="gone")
    assert box.attrs["HostConfig"]["AutoRemove"] is True
    assert box.wait(condition="removed")["StatusCode"] == 3
    with pytest.raises(errors.NotFound):
        client.containers.get("gone")


def test_errors(client: Any) -> None:
    with pytest.raises(errors.NotFound) as missing:
        client.containers.get("nosuch")
    assert missing.value.status_code == 404 and "No such container: nosuch" in str(missing.value)
    taken = client.containers.create("busybox", ["true"], name="taken")
    with pytest.raises(errors.APIError) as conflict:
        client.containers.create("busybox", ["true"], name="taken")
    assert conflict.value.status_code == 409 and conflict.value.is_client_error()
    assert f'The container name "/taken" is already in use by container "{taken.id}"' in str(conflict.value)
    with pytest.raises(errors.ContainerError) as failed:
        client.containers.run("busybox", ["sh", "-c", "echo bad >&2; exit 2"], remove=True)
    assert failed.value.exit_status == 2 and failed.value.stderr == b"bad\n"
    assert failed.value.image == "busybox" and "exit 2" in str(failed.value.command)
    with pytest.raises(errors.ImageNotFound):
        client.containers.create("nosuchimage:1", ["true"])
    with pytest.raises(errors.APIError) as running:
        client.containers.run("busybox", ["sleep", "300"], detach=True, name="busy").remove()
    assert running.value.status_code == 409
    client.containers.get("busy").remove(force=True)
    taken.remove()
    assert client.containers.list(all=True) == []


# -- images ----------------------------------------------------------------------------------------
def test_images_list_get_tag_history(client: Any) -> None:
    busybox = client.images.get("busybox")
    assert busybox.id.startswith("sha256:") and busybox.tags == ["busybox:latest"]
    assert busybox.attrs["Os"] == "linux" and busybox.attrs["RootFS"]["Type"] == "layers"
    assert [i.id for i in client.images.list()] == [busybox.id]
    assert [i.id for i in client.images.list(name="busybox")] == [busybox.id]
    assert client.images.list(name="nothing") == [] and client.images.list(filters={"dangling": True}) == []
    assert busybox.tag("pytag", "t1") is True
    assert client.images.get("pytag:t1").id == busybox.id
    assert sorted(client.images.get(busybox.id).tags) == ["busybox:latest", "pytag:t1"]
    assert [i.id for i in client.images.list(filters={"reference": "pytag"})] == [busybox.id]
    history = busybox.history()
    assert history and history[0]["Id"] == busybox.id and {"Created", "CreatedBy", "Size", "Tags"} <= set(history[0])
    assert all(isinstance(row["Size"], int) for row in history)
    client.images.remove("pytag:t1")
    assert client.images.get(busybox.id).tags == ["busybox:latest"]
    with pytest.raises(errors.ImageNotFound):
        client.images.get("pytag:t1")
    with pytest.raises(errors.ImageNotFound):
        client.images.remove("pytag:t1")


def test_import_remove_force_prune(client: Any) -> None:
    first = client.api.import_image_from_data(tar_of({"hello.txt": b"one\n"}), repository="pyimp", tag="1")
    image = client.images.get("pyimp:1")
    assert image.id in str(first) and image.attrs["Size"] > 0
    assert len(image.history()) == 1
    image.tag("pyimp", "2")  # tags of one repository: removing by ID takes them all
    client.images.remove(image.id)
    assert client.images.list(name="pyimp") == []
    client.api.import_image_from_data(tar_of({"hello.txt": b"two\n"}), repository="pyimp", tag="1")
    image = client.images.get("pyimp:1")
    image.tag("pyother", "1")
    with pytest.raises(errors.APIError) as conflict:
        client.images.remove(image.id)
    assert conflict.value.status_code == 409 and "(must be forced) - image is referenced in multiple " \
        "repositories" in str(conflict.value)
    client.images.remove(image.id, force=True)
    assert client.images.list(name="pyimp") == [] and client.images.list(name="pyother") == []
    # a second import with the same tag leaves the first one dangling
    client.api.import_image_from_data(tar_of({"a.txt": b"a\n"}), repository="pydangle", tag="1")
    old = client.images.get("pydangle:1").id
    time.sleep(1.1)  # another Created time: another ID
    client.api.import_image_from_data(tar_of({"a.txt": b"a\n"}), repository="pydangle", tag="1")
    new = client.images.get("pydangle:1").id
    assert new != old
    assert [i.id for i in client.images.list(filters={"dangling": True})] == [old]
    pruned = client.images.prune(filters={"dangling": True})
    assert {"Deleted": old} in pruned["ImagesDeleted"] and isinstance(pruned["SpaceReclaimed"], int)
    assert client.images.list(filters={"dangling": True}) == []
    client.images.get("busybox")  # in use or not, a tagged image survives a dangling prune
    client.images.remove("pydangle:1")


def test_save_and_load(client: Any) -> None:
    busybox = client.images.get("busybox")
    busybox.tag("pysave", "1")
    saved = client.images.get("pysave:1")
    data = b"".join(saved.save(named="pysave:1"))
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
        members = set(tar.getnames())
    assert len(manifest) == 1 and manifest[0]["RepoTags"] == ["pysave:1"]
    assert manifest[0]["Config"] in members and all(layer in members for layer in manifest[0]["Layers"])
    client.images.remove("pysave:1")
    loaded = client.images.load(data)
    assert [i.id for i in loaded] == [busybox.id]
    assert sorted(client.images.get(busybox.id).tags) == ["busybox:latest", "pysave:1"]
    client.images.remove("pysave:1")
    by_id = b"".join(client.api.get_image(busybox.id))
    with tarfile.open(fileobj=io.BytesIO(by_id)) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
    assert manifest[0]["RepoTags"] in (None, [])


# -- exec ------------------------------------------------------------------------------------------
@pytest.fixture
def box(client: Any) -> Iterator[Any]:
    """A running container ``box`` (with FOO=base in its environment), removed at the end."""
    container = client.containers.run("busybox", ["sleep", "300"], detach=True, name="box",
                                      environment={"FOO": "base"})
    yield container
    container.remove(force=True)


def test_exec_run(box: Any) -> None:
    result = box.exec_run(["sh", "-c", "echo from-py; exit 2"])
    assert (result.exit_code, result.output) == (2, b"from-py\n")
    assert box.exec_run("echo $FOO $BAR").output == b"$FOO $BAR\n"  # a string is split, not run by a shell
    env = box.exec_run(["sh", "-c", "echo $FOO $BAR"], environment={"BAR": "x"})
    assert (env.exit_code, env.output) == (0, b"base x\n")
    assert box.exec_run(["sh", "-c", "echo $FOO"], environment=["FOO=over"]).output == b"over\n"
    assert box.exec_run(["sh", "-c", "pwd"], workdir="/etc").output == b"/etc\n"
    assert box.exec_run(["sh", "-c", "echo $(id -u):$(id -g)"], user="1234:5678").output == b"1234:5678\n"
    assert box.exec_run("id -u -n", user="root").output == b"root\n"
    unknown = box.exec_run("id", user="nobody")
    assert unknown.exit_code == 126 and b"no matching entries in passwd file" in unknown.output
    out, err = box.exec_run(["sh", "-c", "echo o; echo e >&2"], demux=True).output
    assert (out, err) == (b"o\n", b"e\n")
    out, err = box.exec_run(["sh", "-c", "echo only-err >&2"], demux=True).output
    assert (out, err) == (None, b"only-err\n")
    assert box.exec_run(["sh", "-c", "echo e >&2"], stderr=False).output == b""
    missing = box.exec_run(["nope"])
    assert missing.exit_code == 127 and b"executable file not found" in missing.output


def test_exec_low_level_and_stream(box: Any, client: Any) -> None:
    api = client.api
    created = api.exec_create(box.id, ["sh", "-c", "pwd; echo $X; exit 5"], environment={"X": "y"}, workdir="/tmp")
    exec_id = created["Id"]
    before = api.exec_inspect(exec_id)
    assert before["Running"] is False and before["ExitCode"] is None and before["ContainerID"] == box.id
    assert before["ProcessConfig"]["entrypoint"] == "sh"
    assert api.exec_start(exec_id) == b"/tmp\ny\n"
    after = api.exec_inspect(exec_id)
    assert after["Running"] is False and after["ExitCode"] == 5 and after["Pid"] > 0
    box.reload()
    assert exec_id in (box.attrs["ExecIDs"] or []) or box.attrs["ExecIDs"] is None
    with pytest.raises(errors.NotFound):
        api.exec_inspect("nosuchexec")
    result = box.exec_run(["sh", "-c", "for i in 1 2 3; do echo line $i; sleep 0.2; done"], stream=True)
    assert result.exit_code is None
    chunks = list(result.output)
    assert len(chunks) >= 2 and b"".join(chunks) == b"line 1\nline 2\nline 3\n"
    split = box.exec_run(["sh", "-c", "echo o; sleep 0.2; echo e >&2"], stream=True, demux=True)
    assert list(split.output) == [(b"o\n", None), (None, b"e\n")]
    fed = api.exec_create(box.id, ["cat"], stdin=True)["Id"]
    sock = api.exec_start(fed, socket=True)
    try:
        raw = sock._sock
        raw.sendall(b"hello\n")
        raw.shutdown(socket.SHUT_WR)
        framed = b""
        while chunk := raw.recv(4096):
            framed += chunk
    finally:
        sock.close()
    assert framed == b"\x01\x00\x00\x00\x00\x00\x00\x06hello\n"  # stdout, 6 bytes
    wait_for(lambda: api.exec_inspect(fed)["ExitCode"] == 0, what="cat's exit")
    detached = api.exec_create(box.id, ["sh", "-c", "sleep 0.3; exit 4"])["Id"]
    assert api.exec_start(detached, detach=True) == ""  # docker-py decodes it
    wait_for(lambda: api.exec_inspect(detached)["ExitCode"] == 4, what="the detached exec's exit")


def test_large_output_stdin_and_next_exit(box: Any, client: Any) -> None:
    lines = "i=0; while [ $i -lt 3000 ]; do echo line-$i-$(printf %064d 0); i=$((i+1)); done"
    expected = b"".join(b"line-%d-%s\n" % (i, b"0" * 64) for i in range(3000))  # ~230 KB: many frames
    assert client.containers.run("busybox", ["sh", "-c", lines], remove=True) == expected
    assert box.exec_run(["sh", "-c", lines + " >&2"], demux=True).output == (None, expected)
    assert b"".join(box.exec_run(["sh", "-c", lines], stream=True).output) == expected
    long_line = client.containers.run("busybox", ["sh", "-c", "s=x; for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17;"
                                      " do s=$s$s; done; echo $s"], detach=True, name="long")
    assert long_line.wait()["StatusCode"] == 0
    assert long_line.logs() == b"x" * 131072 + b"\n"  # split into partial messages in the log, joined back
    long_line.remove()
    cat = client.containers.run("busybox", ["cat"], detach=True, stdin_open=True, name="cat")
    sock = cat.attach_socket(params={"stdin": 1, "stdout": 1, "stream": 1})
    try:
        sock._sock.settimeout(10)
        sock._sock.sendall(b"abc\n")
        assert sock._sock.recv(100) == b"\x01\x00\x00\x00\x00\x00\x00\x04abc\n"
    finally:
        sock.close()
    with pytest.raises(errors.APIError) as paused:
        box.pause()
        box.exec_run("true")
    assert paused.value.status_code == 409 and "is paused" in str(paused.value)
    box.unpause()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(cat.wait, condition="next-exit", timeout=30)
        time.sleep(0.3)
        assert not waiting.done()
        cat.kill()
        assert waiting.result(timeout=30) == {"StatusCode": 137, "Error": None}
    cat.remove()


# -- logs ------------------------------------------------------------------------------------------
def test_logs(client: Any) -> None:
    box = client.containers.run("busybox", ["sh", "-c", "echo o1; echo e1 >&2; echo o2; sleep 1.2; echo late"],
                                detach=True, name="logs")
    wait_for(lambda: b"o2" in box.logs(), what="the first lines")
    assert box.logs(stdout=True, stderr=False) == b"o1\no2\n"
    assert box.logs(stdout=False, stderr=True) == b"e1\n"
    assert sorted(box.logs().splitlines()) == [b"e1", b"o1", b"o2"]
    assert box.logs(tail=1, stderr=False) == b"o2\n"
    assert box.logs(tail=0) == b""
    stamped = box.logs(timestamps=True, stderr=False).decode().splitlines()
    assert len(stamped) == 2 and stamped[0].endswith("Z o1")
    first = datetime.datetime.strptime(stamped[0][:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.UTC)
    assert abs(first.timestamp() - time.time()) < 30
    since = time.time()
    assert box.wait(timeout=30)["StatusCode"] == 0
    assert box.logs(since=since) == b"late\n"  # a float: seconds with a fraction
    assert box.logs(since=datetime.datetime.fromtimestamp(since + 60, datetime.UTC)) == b""
    assert box.logs(until=since) in (b"o1\ne1\no2\n", b"e1\no1\no2\n", b"o1\no2\ne1\n")
    box.remove()


def test_logs_follow_ends_when_the_container_exits(client: Any) -> None:
    box = client.containers.run("busybox", ["sh", "-c", "echo one; sleep 1; echo two >&2; sleep 0.5; exit 3"],
                                detach=True, name="follow")
    started = time.monotonic()
    chunks = list(box.logs(stream=True, follow=True))
    assert b"".join(chunks) == b"one\ntwo\n" and len(chunks) == 2
    assert 1.0 < time.monotonic() - started < 15
    assert box.wait()["StatusCode"] == 3
    assert list(box.logs(stream=True, follow=True)) == [b"one\n", b"two\n"]  # exited: the log, then the end
    box.remove()


# -- stats -----------------------------------------------------------------------------------------
def test_stats(client: Any) -> None:
    box = client.containers.run("busybox", ["sleep", "300"], detach=True, name="stats", mem_limit="64m")
    one = box.stats(stream=False)
    assert one["id"] == box.id and one["name"] == "/stats" and one["read"].endswith("Z")
    memory = one["memory_stats"]
    assert isinstance(memory["usage"], int) and memory["usage"] > 0 and memory["limit"] == 64 * 1024 * 1024
    assert isinstance(memory["stats"], dict)
    cpu = one["cpu_stats"]
    assert isinstance(cpu["cpu_usage"]["total_usage"], int) and cpu["cpu_usage"]["total_usage"] > 0
    assert isinstance(cpu["system_cpu_usage"], int) and cpu["online_cpus"] >= 1
    assert one["pids_stats"]["current"] == 1
    assert isinstance(one["precpu_stats"], dict) and isinstance(one["blkio_stats"], dict)
    stream = box.stats(stream=True, decode=True)
    try:
        first, second = next(stream), next(stream)
    finally:
        stream.close()
    assert first["id"] == second["id"] == box.id
    assert second["read"] > first["read"]
    assert second["precpu_stats"]["cpu_usage"]["total_usage"] == first["cpu_stats"]["cpu_usage"]["total_usage"]
    client.ping()  # the closed stream left the engine serving
    box.remove(force=True)


# -- archive ---------------------------------------------------------------------------------------
def test_put_and_get_archive(client: Any) -> None:
    box = client.containers.run("busybox", ["sleep", "300"], detach=True, name="arch")
    data = tar_of({"dir/file.txt": b"abc", "dir/sub/other.txt": b"12345"}, mode=0o640)
    assert box.put_archive("/tmp", data) is True
    assert box.exec_run(["cat", "/tmp/dir/sub/other.txt"]).output == b"12345"
    stream, stat = box.get_archive("/tmp/dir")
    assert stat["name"] == "dir" and stat["mode"] & (1 << 31) and stat["linkTarget"] == ""
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
        assert sorted(tar.getnames()) == ["dir", "dir/file.txt", "dir/sub", "dir/sub/other.txt"]
        member = tar.getmember("dir/file.txt")
        handle = tar.extractfile(member)
        assert member.mode & 0o777 == 0o640 and handle is not None and handle.read() == b"abc"
    stream, stat = box.get_archive("/tmp/dir/file.txt")
    assert stat == {**stat, "name": "file.txt", "size": 3, "mode": 0o640}
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
        assert tar.getnames() == ["file.txt"]
    with pytest.raises(errors.NotFound):
        box.get_archive("/no/such/path")
    with pytest.raises(errors.NotFound):
        box.put_archive("/no/such/dir", data)
    box.remove(force=True)


# -- events ----------------------------------------------------------------------------------------
def test_events_of_a_container(client: Any) -> None:
    since = time.time()
    client.containers.run("busybox", ["true"], name="evt", remove=True)
    until = time.time() + 0.3
    time.sleep(0.4)
    events = list(client.events(since=since, until=until, decode=True, filters={"container": "evt"}))
    actions = [e["Action"] for e in events]
    assert actions[0] == "create" and actions[-1] == "destroy", actions
    assert actions.count("start") == 1 and actions.count("die") == 1 and actions.index("start") < actions.index("die")
    die = events[actions.index("die")]
    assert die["Type"] == "container" and die["Actor"]["Attributes"]["name"] == "evt"
    assert die["Actor"]["Attributes"]["exitCode"] == "0" and die["Actor"]["Attributes"]["image"] == "busybox"
    assert all(e["Actor"]["ID"] == die["Actor"]["ID"] == e["id"] for e in events)
    assert all(isinstance(e["time"], int) and isinstance(e["timeNano"], int) for e in events)
    only_die = client.events(since=since, until=until, decode=True,
                             filters={"container": "evt", "event": ["die", "destroy"], "type": "container"})
    assert [e["Action"] for e in only_die] == ["die", "destroy"]
    at = datetime.datetime.fromtimestamp(since, datetime.UTC)
    assert [e["Action"] for e in client.events(since=at, until=int(until) + 1, decode=True,
                                               filters={"container": "evt", "event": "create"})] == ["create"]


def test_events_stream_closed_early(client: Any, docker: RunningEngine) -> None:
    stream = client.events(decode=True, filters={"type": "container"})
    box = client.containers.create("busybox", ["true"], name="evs")
    try:
        first = next(stream)
    finally:
        stream.close()
    assert (first["Action"], first["Actor"]["ID"]) == ("create", box.id)
    box.remove()
    assert client.ping() is True
    assert client.containers.list(all=True) == []
    assert "Traceback" not in docker.log_path.read_text(errors="replace")


# -- commit ----------------------------------------------------------------------------------------
def test_commit(client: Any) -> None:
    box = client.containers.run("busybox", ["sh", "-c", "echo committed > /made.txt; sleep 300"], detach=True,
                                name="tocommit", environment={"FROM": "box"})
    wait_for(lambda: box.exec_run(["cat", "/made.txt"]).output == b"committed\n", what="the file")
    image = box.commit(repository="pycommit", tag="1", message="by docker-py", author="tester",
                       changes=["ENV ADDED=yes", "CMD [\"cat\", \"/made.txt\"]"])
    assert image.tags == ["pycommit:1"] and image.id != client.images.get("busybox").id
    attrs = client.images.get("pycommit:1").attrs
    assert attrs["Author"] == "tester" and attrs["Comment"] == "by docker-py"
    assert "ADDED=yes" in attrs["Config"]["Env"] and attrs["Config"]["Cmd"] == ["cat", "/made.txt"]
    assert len(attrs["RootFS"]["Layers"]) == len(client.images.get("busybox").attrs["RootFS"]["Layers"]) + 1
    assert image.history()[0]["Comment"] == "by docker-py"
    assert client.containers.run("pycommit:1", remove=True) == b"committed\n"
    box.remove(force=True)
    client.images.remove("pycommit:1")
