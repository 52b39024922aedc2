"""``docker cp`` (HEAD/GET/PUT /containers/{id}/archive) with the real docker CLI and docker-py:
files and directories both ways, symlinks resolved inside the container's root, missing
paths, a hostile tar (``../`` entries) and a stopped container. Nothing may be left: no
container, snapshot, mount or temporary directory of the engine."""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.engine import DOCKER, RunningEngine

pytest_plugins = ["tests.support.engine_fixtures"]
pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(not os.access(DOCKER, os.X_OK), reason=f"{DOCKER} (docker CLI 28) is not installed"),
]


def _mounts_under(path: Path) -> list[str]:
    return [line for line in Path("/proc/self/mountinfo").read_text().splitlines() if f" {path}/mnt/" in line]


@pytest.fixture
def docker(engine: RunningEngine, engine_busybox: str) -> Iterator[RunningEngine]:
    yield engine
    left = engine.docker("ps", "-aq", "--no-trunc").stdout.split()
    if left:
        engine.docker("rm", "-f", *left, check=False)
    assert not left, f"containers left: {left}"
    mnt = engine.exec_root / "mnt"
    assert not mnt.exists() or list(mnt.iterdir()) == []
    assert _mounts_under(engine.exec_root) == []
    log = engine.log_path.read_text(errors="replace")
    assert "Traceback" not in log, log[-4000:]


def _run(docker: RunningEngine, name: str, image: str) -> None:
    docker.docker("run", "-d", "--name", name, image, "sleep", "600")


def _rm(docker: RunningEngine, name: str) -> None:
    docker.docker("rm", "-f", name, check=False)


def test_cp_out_to_stdout_and_dirs(docker: RunningEngine, engine_busybox: str, tmp_path: Path) -> None:
    _run(docker, "cp-out", engine_busybox)
    try:
        out = subprocess.run([DOCKER, "cp", "cp-out:/etc/hostname", "-"], env=docker.docker_env(),
                             capture_output=True, check=True, timeout=60).stdout
        with tarfile.open(fileobj=io.BytesIO(out)) as tar:
            assert tar.getnames() == ["hostname"]
            assert tar.extractfile("hostname") is not None
        docker.docker("cp", "cp-out:/etc", str(tmp_path / "etc"))
        assert (tmp_path / "etc" / "passwd").read_text().startswith("root:")
        docker.docker("cp", "cp-out:/etc/passwd", str(tmp_path))
        assert (tmp_path / "passwd").read_text() == (tmp_path / "etc" / "passwd").read_text()
        root = subprocess.run([DOCKER, "cp", "cp-out:/", "-"], env=docker.docker_env(),
                              capture_output=True, check=True, timeout=60).stdout
        with tarfile.open(fileobj=io.BytesIO(root)) as tar:
            names = set(tar.getnames())
        assert {".", "./proc", "./sys", "./dev", "./bin/busybox", "./etc/hostname"} <= names, sorted(names)[:20]
        assert not any(n.startswith(("./proc/", "./sys/", "./dev/")) for n in names)  # no kernel files
        missing = docker.docker("cp", "cp-out:/nope", str(tmp_path), check=False)
        assert missing.returncode == 1
        assert "Could not find the file /nope in container cp-out" in missing.stderr
    finally:
        _rm(docker, "cp-out")


def test_cp_in_and_back(docker: RunningEngine, engine_busybox: str, tmp_path: Path) -> None:
    _run(docker, "cp-in", engine_busybox)
    try:
        src = tmp_path / "script.sh"
        src.write_text("#!/bin/sh\necho hi\n")
        src.chmod(0o751)
        docker.docker("cp", str(src), "cp-in:/tmp")
        assert docker.docker("exec", "cp-in", "cat", "/tmp/script.sh").stdout == src.read_text()
        back = tmp_path / "back"
        back.mkdir()
        docker.docker("cp", "cp-in:/tmp/script.sh", str(back))
        assert (back / "script.sh").read_text() == src.read_text()
        assert (back / "script.sh").stat().st_mode & 0o7777 == 0o751
        bad = docker.docker("cp", str(src), "cp-in:/nodir/", check=False)
        assert bad.returncode == 1
    finally:
        _rm(docker, "cp-in")


def test_symlinks_resolved_inside_root(docker: RunningEngine, engine_busybox: str, tmp_path: Path) -> None:
    _run(docker, "cp-link", engine_busybox)
    try:
        docker.docker("exec", "cp-link", "sh", "-c",
                      "echo inside > /marker && ln -s /etc /lnk && ln -s ../../../../../marker /tmp/up")
        docker.docker("cp", "cp-link:/lnk/passwd", str(tmp_path))
        assert (tmp_path / "passwd").read_text().startswith("root:")
        docker.docker("cp", "-L", "cp-link:/tmp/up", str(tmp_path / "up"))
        assert (tmp_path / "up").read_text() == "inside\n"
        status, headers, _ = docker.request("HEAD", "/containers/cp-link/archive?path=/tmp/up")
        assert status == 200
        import base64
        import json
        value = {k.lower(): v for k, v in headers.items()}["x-docker-container-path-stat"]
        doc = json.loads(base64.b64decode(value))
        assert doc["linkTarget"] == "/marker" and doc["mode"] & (1 << 27)
    finally:
        _rm(docker, "cp-link")


def test_hostile_tar_is_contained(docker: RunningEngine, engine_busybox: str, tmp_path: Path) -> None:
    _run(docker, "cp-evil", engine_busybox)
    try:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            data = b"pwned\n"
            for name in ("../../../../../../tmp/dockyard-cp-escape", "../escape2"):
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        status, _, _ = docker.request("PUT", "/containers/cp-evil/archive?path=/tmp", buf.getvalue())
        assert status >= 400 or not Path("/tmp/dockyard-cp-escape").exists()
        assert not Path("/tmp/dockyard-cp-escape").exists()
        assert not (docker.exec_root / "escape2").exists()
        assert docker.docker("exec", "cp-evil", "ls", "/tmp").stdout.strip() == ""
    finally:
        _rm(docker, "cp-evil")


def test_cp_into_stopped_container(docker: RunningEngine, engine_busybox: str, tmp_path: Path) -> None:
    docker.docker("create", "--name", "cp-stopped", engine_busybox, "cat", "/greeting")
    try:
        src = tmp_path / "greeting"
        src.write_text("hello stopped\n")
        docker.docker("cp", str(src), "cp-stopped:/")
        assert _mounts_under(docker.exec_root) == []
        docker.docker("start", "cp-stopped")
        assert docker.docker("wait", "cp-stopped").stdout.strip() == "0"
        assert docker.docker("logs", "cp-stopped").stdout == "hello stopped\n"
        docker.docker("cp", "cp-stopped:/greeting", str(tmp_path / "again"))
        assert (tmp_path / "again").read_text() == "hello stopped\n"
    finally:
        _rm(docker, "cp-stopped")


def test_docker_py_archive(docker: RunningEngine, engine_busybox: str) -> None:
    client = docker.docker_py()
    container = client.containers.run(engine_busybox, ["sleep", "600"], detach=True, name="cp-py")
    try:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            info = tarfile.TarInfo("dir/file.txt")
            info.size = 3
            info.mode = 0o640
            tar.addfile(info, io.BytesIO(b"abc"))
        assert container.put_archive("/tmp", buf.getvalue()) is True
        stream, stat = container.get_archive("/tmp/dir")
        assert stat["name"] == "dir" and stat["mode"] & (1 << 31)
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
            member = tar.getmember("dir/file.txt")
            assert member.mode & 0o777 == 0o640
            handle = tar.extractfile(member)
            assert handle is not None and handle.read() == b"abc"
    finally:
        container.remove(force=True)
        client.close()
