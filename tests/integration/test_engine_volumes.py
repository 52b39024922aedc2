"""Volumes on dockyardd, driven by the real docker CLI 28 and docker-py: create/ls/inspect/rm/
prune, named and anonymous volumes in containers (``-v``, ``--mount``, image ``VOLUME``),
copy-up with owners kept (a non-root USER writes its volume), ``--volumes-from``, ``rm -v``
and ``--rm``, a volume in use, driver options that mount a tmpfs, events, ``system df``,
and data that survives the container and a restart of the engine.

One engine serves the module; after each test no container and no volume is left, and no
mount under the engine's data root.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support import hostcheck
from tests.support.clients import make_client
from tests.support.engine import DOCKER, RunningEngine, dockyardd
from tests.support.engine_fixtures import BUSYBOX
from tests.support.images import save_busybox_archive

pytest_plugins = ["tests.support.engine_fixtures"]
pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(not os.access(DOCKER, os.X_OK), reason=f"{DOCKER} (docker CLI 28) is not installed"),
]


def volume_names(engine: RunningEngine) -> list[str]:
    return engine.docker("volume", "ls", "-q").stdout.split()


@pytest.fixture
def docker(engine: RunningEngine, engine_busybox: str) -> Iterator[RunningEngine]:
    """The engine; at the end no container, no volume and no mount under its root is left."""
    yield engine
    left = engine.docker("ps", "-aq", "--no-trunc").stdout.split()
    if left:
        engine.docker("rm", "-f", *left, check=False)
    volumes = volume_names(engine)
    if volumes:
        engine.docker("volume", "rm", "-f", *volumes, check=False)
    mounts = hostcheck.mounts_under(engine.data_root / "volumes")
    assert not left, f"containers left: {left}"
    assert not volumes, f"volumes left: {volumes}"
    assert not mounts, f"mounts left: {mounts}"
    volumes_dir = engine.data_root / "volumes"
    assert sorted(p.name for p in volumes_dir.iterdir() if p.is_dir()) == []
    log = engine.log_path.read_text(errors="replace")
    assert "Traceback" not in log and "container job failed" not in log, log[-4000:]


def inspect_volume(engine: RunningEngine, name: str) -> dict[str, object]:
    doc = json.loads(engine.docker("volume", "inspect", name).stdout)
    assert isinstance(doc, list) and len(doc) == 1
    item = doc[0]
    assert isinstance(item, dict)
    return item


def mounts_of(engine: RunningEngine, container: str) -> list[dict[str, object]]:
    out = json.loads(engine.docker("inspect", "--format", "{{json .Mounts}}", container).stdout)
    assert isinstance(out, list)
    return out


def test_create_inspect_ls_rm(docker: RunningEngine) -> None:
    assert docker.docker("volume", "create", "--label", "a=b", "--label", "c", "vol1").stdout == "vol1\n"
    assert docker.docker("volume", "create", "vol1").stdout == "vol1\n"  # an existing name: idempotent
    doc = inspect_volume(docker, "vol1")
    assert doc["Name"] == "vol1" and doc["Driver"] == "local" and doc["Scope"] == "local"
    assert doc["Labels"] == {"a": "b", "c": ""}
    assert doc["Mountpoint"] == str(docker.data_root / "volumes" / "vol1" / "_data")
    assert Path(str(doc["Mountpoint"])).is_dir()
    assert isinstance(doc["CreatedAt"], str) and doc["CreatedAt"][:2] == "20"
    assert docker.docker("volume", "inspect", "--format", "{{.Driver}} {{.Name}}", "vol1").stdout == "local vol1\n"
    anon = docker.docker("volume", "create").stdout.strip()
    assert len(anon) == 64 and all(c in "0123456789abcdef" for c in anon)
    table = docker.docker("volume", "ls").stdout.splitlines()
    assert table[0].split() == ["DRIVER", "VOLUME", "NAME"]
    assert sorted(line.split()[1] for line in table[1:]) == sorted([anon, "vol1"])
    assert docker.docker("volume", "ls", "-q", "--filter", "label=a=b").stdout.split() == ["vol1"]
    assert docker.docker("volume", "ls", "-q", "--filter", "name=ol1").stdout.split() == ["vol1"]
    assert docker.docker("volume", "ls", "-q", "--filter", "driver=local").stdout.split() == sorted([anon, "vol1"])
    name, _, labels = docker.docker("volume", "ls", "--format", "{{.Name}}:{{.Labels}}", "-f", "label=c").stdout \
        .strip().partition(":")
    assert (name, sorted(labels.split(","))) == ("vol1", ["a=b", "c="])  # docker joins them in Go's map order
    assert docker.docker("volume", "rm", "vol1", anon).stdout.split() == ["vol1", anon]
    assert volume_names(docker) == []


def test_errors(docker: RunningEngine) -> None:
    proc = docker.docker("volume", "inspect", "nosuch", check=False)
    assert proc.returncode == 1 and "no such volume" in proc.stderr
    proc = docker.docker("volume", "rm", "nosuch", check=False)
    assert proc.returncode == 1 and "no such volume" in proc.stderr
    assert docker.docker("volume", "rm", "-f", "nosuch").returncode == 0
    proc = docker.docker("volume", "create", "bad/name", check=False)
    assert proc.returncode == 1 and "includes invalid characters for a local volume name" in proc.stderr
    proc = docker.docker("volume", "create", "-d", "nfsplugin", "x1", check=False)
    assert proc.returncode == 1 and 'plugin "nfsplugin" not found' in proc.stderr
    proc = docker.docker("volume", "ls", "--filter", "nope=1", check=False)
    assert proc.returncode == 1 and "invalid filter 'nope'" in proc.stderr
    assert volume_names(docker) == []


def test_named_volume_keeps_data_and_is_in_use(docker: RunningEngine) -> None:
    docker.docker("run", "--name", "w1", "-v", "data1:/data", BUSYBOX, "sh", "-c", "echo hello > /data/f")
    mounts = mounts_of(docker, "w1")
    assert mounts == [{"Type": "volume", "Name": "data1",
                       "Source": str(docker.data_root / "volumes" / "data1" / "_data"), "Destination": "/data",
                       "Driver": "local", "Mode": "z", "RW": True, "Propagation": ""}]
    cid = docker.docker("inspect", "--format", "{{.Id}}", "w1").stdout.strip()
    assert docker.docker("ps", "-a", "--filter", "volume=data1", "--format", "{{.Names}} {{.Mounts}}").stdout == \
        "w1 data1\n"
    assert docker.docker("ps", "-a", "--filter", "volume=/data", "-q").stdout.strip() == cid[:12]
    proc = docker.docker("volume", "rm", "data1", check=False)
    assert proc.returncode == 1 and f"volume is in use - [{cid}]" in proc.stderr
    proc = docker.docker("volume", "rm", "-f", "data1", check=False)
    assert proc.returncode == 1 and "volume is in use" in proc.stderr
    assert docker.docker("volume", "ls", "-q", "--filter", "dangling=false").stdout.split() == ["data1"]
    assert docker.docker("volume", "ls", "-q", "--filter", "dangling=true").stdout.split() == []
    docker.docker("rm", "-v", "w1")  # a named volume stays
    out = docker.docker("run", "--rm", "-v", "data1:/d:ro", BUSYBOX, "sh", "-c",
                        "cat /d/f; touch /d/g 2>/dev/null || echo read-only").stdout
    assert out == "hello\nread-only\n"
    assert docker.docker("volume", "ls", "-q", "--filter", "dangling=true").stdout.split() == ["data1"]
    docker.docker("volume", "rm", "data1")


def test_anonymous_volumes_rm_v_and_run_rm(docker: RunningEngine) -> None:
    docker.docker("create", "--name", "a1", "-v", "/anon", BUSYBOX, "true")
    [point] = mounts_of(docker, "a1")
    name = str(point["Name"])
    assert point["Type"] == "volume" and len(name) == 64 and point["Destination"] == "/anon"
    assert inspect_volume(docker, name)["Labels"] == {"com.docker.volume.anonymous": ""}
    docker.docker("rm", "a1")  # without -v the anonymous volume stays
    assert volume_names(docker) == [name]
    docker.docker("volume", "rm", name)
    docker.docker("create", "--name", "a2", "-v", "/anon", "-v", "named2:/named", BUSYBOX, "true")
    anon = [str(p["Name"]) for p in mounts_of(docker, "a2") if p["Destination"] == "/anon"]
    docker.docker("rm", "-v", "a2")
    assert volume_names(docker) == ["named2"]
    assert anon[0] not in volume_names(docker)
    docker.docker("run", "--rm", "-v", "/x", "-v", "named2:/y", BUSYBOX, "true")
    assert volume_names(docker) == ["named2"]
    docker.docker("volume", "rm", "named2")


def test_prune(docker: RunningEngine) -> None:
    docker.docker("volume", "create", "keep1")
    docker.docker("volume", "create", "--label", "x=1", "named1")
    anon = docker.docker("volume", "create").stdout.strip()
    docker.docker("create", "--name", "p1", "-v", "keep1:/k", BUSYBOX, "true")
    out = docker.docker("volume", "prune", "-f").stdout
    assert out.splitlines()[:2] == ["Deleted Volumes:", anon] and "Total reclaimed space:" in out
    assert sorted(volume_names(docker)) == ["keep1", "named1"]
    out = docker.docker("volume", "prune", "-af", "--filter", "label=x=2").stdout
    assert out == "Total reclaimed space: 0B\n"
    out = docker.docker("volume", "prune", "-a", "-f").stdout
    assert out.splitlines()[:2] == ["Deleted Volumes:", "named1"]
    assert volume_names(docker) == ["keep1"]
    docker.docker("rm", "p1")
    docker.docker("volume", "rm", "keep1")


def test_copy_up_keeps_owners_for_a_non_root_user(docker: RunningEngine) -> None:
    docker.docker("run", "--name", "base1", BUSYBOX, "sh", "-c",
                  "mkdir -p /srv/app && echo seed > /srv/app/seed && chown -R 65534:65534 /srv/app && "
                  "chmod 750 /srv/app && ln -s seed /srv/app/link")
    docker.docker("commit", "--change", "USER 65534:65534", "--change", "VOLUME /srv/app", "base1", "volimg:1")
    docker.docker("rm", "base1")
    try:
        out = docker.docker("run", "--name", "c1", "volimg:1", "sh", "-c",
                            "id -u; cat /srv/app/seed; echo more > /srv/app/new && cat /srv/app/new; "
                            "stat -c '%u %a' /srv/app; readlink /srv/app/link").stdout
        assert out == "65534\nseed\nmore\n65534 750\nseed\n"
        [point] = mounts_of(docker, "c1")
        assert point["Type"] == "volume" and point["Destination"] == "/srv/app" and point["Mode"] == ""
        data = Path(str(point["Source"]))
        assert (data / "seed").read_text() == "seed\n" and data.stat().st_uid == 65534
        docker.docker("rm", "-v", "c1")
        # nocopy: the volume stays empty
        out = docker.docker("run", "--rm", "-u", "0", "-v", "nc1:/srv/app:nocopy", "volimg:1", "ls", "-A",
                            "/srv/app").stdout
        assert out == ""
        docker.docker("volume", "rm", "nc1")
        # a named volume with --mount gets the image's content too, and stands for the image's VOLUME
        docker.docker("create", "--name", "c2", "--mount", "type=volume,src=m1,dst=/srv/app", "volimg:1", "true")
        [point] = mounts_of(docker, "c2")
        assert (point["Name"], point["Mode"], point["RW"]) == ("m1", "z", True)
        assert docker.docker("start", "-a", "c2").stdout == ""
        docker.docker("rm", "c2")
        out = docker.docker("run", "--rm", "-u", "0", "-v", "m1:/m", BUSYBOX, "cat", "/m/seed").stdout
        assert out == "seed\n"
        docker.docker("volume", "rm", "m1")
        # volume-nocopy, volume-opt (a new volume's driver options) and readonly with --mount
        out = docker.docker("run", "--rm", "-u", "0", "--mount",
                            "type=volume,src=m2,dst=/srv/app,volume-nocopy,volume-opt=type=tmpfs,"
                            "volume-opt=device=tmpfs,volume-label=l=1,readonly", "volimg:1", "sh", "-c",
                            "ls -A /srv/app; grep ' /srv/app ' /proc/mounts | cut -d' ' -f3,4 | cut -c1-8").stdout
        assert out == "tmpfs ro\n"
        doc = inspect_volume(docker, "m2")
        assert doc["Options"] == {"type": "tmpfs", "device": "tmpfs"} and doc["Labels"] == {"l": "1"}
        docker.docker("volume", "rm", "m2")
    finally:
        docker.docker("rmi", "volimg:1", check=False)


def test_volumes_from(docker: RunningEngine, tmp_path: Path) -> None:
    host_dir = tmp_path / "hostdir"
    host_dir.mkdir()
    (host_dir / "h").write_text("host\n")
    docker.docker("create", "--name", "src1", "-v", "shared1:/shared", "-v", f"{host_dir}:/hostdir", "-v", "/anon",
                  BUSYBOX, "true")
    out = docker.docker("run", "--name", "user1", "--volumes-from", "src1:ro", BUSYBOX, "sh", "-c",
                        "cat /hostdir/h; ls -d /anon /shared; touch /shared/x 2>/dev/null || echo ro").stdout
    assert out == "host\n/anon\n/shared\nro\n"
    points = {p["Destination"]: p for p in mounts_of(docker, "user1")}
    assert points["/shared"]["Name"] == "shared1" and points["/shared"]["RW"] is False
    assert points["/hostdir"]["Type"] == "bind" and points["/hostdir"]["Source"] == str(host_dir)
    anon = str(points["/anon"]["Name"])
    docker.docker("rm", "-v", "src1")  # the anonymous volume is still used by user1
    assert anon in volume_names(docker)
    docker.docker("rm", "-v", "user1")
    assert volume_names(docker) == ["shared1"]
    docker.docker("volume", "rm", "shared1")


def test_tmpfs_driver_options_mount_while_used(docker: RunningEngine) -> None:
    docker.docker("volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "-o", "o=size=10m", "tmp1")
    doc = inspect_volume(docker, "tmp1")
    assert doc["Options"] == {"type": "tmpfs", "device": "tmpfs", "o": "size=10m"}
    mountpoint = str(doc["Mountpoint"])
    cid = docker.docker("run", "-d", "-v", "tmp1:/t", BUSYBOX, "sh", "-c",
                        "echo x > /t/f; df -k /t | tail -1; sleep 30").stdout.strip()
    try:
        deadline = time.time() + 10
        while not os.path.exists(os.path.join(mountpoint, "f")) and time.time() < deadline:
            time.sleep(0.05)
        assert os.path.ismount(mountpoint)
        logs = docker.docker("logs", cid).stdout.split()
        assert logs[0] == "tmpfs" and logs[1] == "10240"
    finally:
        docker.docker("rm", "-f", cid)
    assert not os.path.ismount(mountpoint)
    assert not os.path.exists(os.path.join(mountpoint, "f"))  # tmpfs: gone with its last user
    docker.docker("volume", "rm", "tmp1")


def test_events_and_df(docker: RunningEngine) -> None:
    since = f"{time.time():.9f}"
    docker.docker("volume", "create", "ev1")
    docker.docker("run", "--rm", "-v", "ev1:/e", BUSYBOX, "sh", "-c", "head -c 2048 /dev/zero > /e/z")
    df = json.loads(docker.docker("system", "df", "-v", "--format", "{{json .Volumes}}").stdout)
    [entry] = [v for v in df if v["Name"] == "ev1"]
    assert entry["Links"] == "0" and entry["Size"] == "2.048kB"
    docker.docker("volume", "rm", "ev1")
    time.sleep(0.1)
    until = f"{time.time() + 0.1:.9f}"
    out = docker.docker("events", "--since", since, "--until", until, "--filter", "type=volume",
                        "--format", "{{.Action}} {{.Actor.ID}} {{.Actor.Attributes.driver}}").stdout
    assert out.splitlines() == ["create ev1 local", "mount ev1 local", "unmount ev1 local", "destroy ev1 local"]


def test_docker_py(docker: RunningEngine) -> None:
    client = docker.docker_py()
    try:
        volume = client.volumes.create("py1", labels={"k": "v"})
        assert volume.name == "py1" and volume.attrs["Labels"] == {"k": "v"}
        assert [v.name for v in client.volumes.list(filters={"label": "k=v"})] == ["py1"]
        assert client.volumes.get("py1").attrs["Driver"] == "local"
        out = client.containers.run(BUSYBOX, ["sh", "-c", "echo py > /v/f; cat /v/f"],
                                    volumes={"py1": {"bind": "/v", "mode": "rw"}}, remove=True)
        assert out == b"py\n"
        container = client.containers.run(BUSYBOX, ["true"], volumes=["/anon1", "py1:/p:ro"], detach=True)
        container.wait()
        container.reload()
        points = {m["Destination"]: m for m in container.attrs["Mounts"]}
        assert points["/p"]["Name"] == "py1" and points["/p"]["RW"] is False and points["/p"]["Mode"] == "ro"
        container.remove(v=True)
        assert [v.name for v in client.volumes.list()] == ["py1"]
        anon = client.volumes.create()
        report = client.volumes.prune()
        assert report["VolumesDeleted"] == [anon.name]
        client.volumes.get("py1").remove()
        assert client.volumes.list() == []
    finally:
        client.close()


def test_data_survives_an_engine_restart(tmp_path_factory: pytest.TempPathFactory) -> None:
    base = tmp_path_factory.mktemp("volumes-restart")
    archive, _ = save_busybox_archive(tmp_path_factory.mktemp("volumes-restart-image"))
    first = RunningEngine.start(base)
    try:
        first.ctr("-n", "dockyard", "images", "import", str(archive))
        first.docker("run", "--name", "writer", "-v", "keep:/k", BUSYBOX, "sh", "-c", "echo survived > /k/f")
        first.docker("rm", "writer")
        # a container that keeps a tmpfs volume mounted while no engine runs
        first.docker("volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "mem")
        first.docker("run", "-d", "--name", "holder", "-v", "mem:/m", BUSYBOX, "sh", "-c",
                     "echo held > /m/f; sleep 1000")
        # and one whose container ends while no engine runs
        first.docker("volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "brief")
        first.docker("run", "-d", "--name", "short", "-v", "brief:/b", "-v", "mem:/m", BUSYBOX, "sleep", "1")
    finally:
        assert first.stop() == 0, first.log()  # a graceful stop leaves the containers running
    mountpoint = base / "data" / "volumes" / "mem" / "_data"
    brief = base / "data" / "volumes" / "brief" / "_data"
    assert os.path.ismount(mountpoint) and os.path.ismount(brief)
    time.sleep(1.5)
    with dockyardd(base) as second:  # the same data root
        assert not os.path.ismount(brief)  # its last user's exit was handled at start
        second.docker("rm", "short")
        assert sorted(second.docker("volume", "ls", "-q").stdout.split()) == ["brief", "keep", "mem"]
        out = second.docker("run", "--rm", "-v", "keep:/k", "-v", "mem:/m", BUSYBOX, "cat", "/k/f", "/m/f").stdout
        assert out == "survived\nheld\n"
        assert os.path.ismount(mountpoint)  # the found-again container still uses it
        second.docker("rm", "-f", "holder")
        assert not os.path.ismount(mountpoint)
        second.docker("volume", "rm", "keep", "mem", "brief")
        second.docker("rmi", BUSYBOX)


def test_dockyard_cli_prints_what_docker_prints(docker: RunningEngine, tmp_path: Path) -> None:
    """``dockyard volume ...`` and ``docker volume ...`` on the same engine, output alike."""
    ours = make_client("dockyard", docker, tmp_path / "dockyard-config")
    theirs = make_client("docker", docker, tmp_path / "docker-config")
    assert ours.run("volume", "create", "--label", "k=v", "-o", "type=tmpfs", "-o", "device=tmpfs",
                    "cli1").stdout == "cli1\n"
    ours.run("run", "--rm", "-v", "cli1:/c", "-v", "cli2:/d", BUSYBOX, "sh", "-c", "echo x > /d/f")
    for args in (("volume", "ls"), ("volume", "ls", "-q", "--filter", "label=k"), ("volume", "inspect", "cli1", "cli2"),
                 ("volume", "inspect", "--format", "{{json .Options}} {{.Labels}}", "cli1"),
                 ("volume", "ls", "--format", "json"), ("volume", "inspect", "nosuch"), ("volume", "rm", "nosuch")):
        mine, real = ours.run(*args, status=None), theirs.run(*args, status=None)
        assert (mine.returncode, mine.stdout, mine.stderr) == (real.returncode, real.stdout, real.stderr), args
    cid = ours.run("create", "-v", "cli2:/d", BUSYBOX, "true").stdout.strip()
    mine = ours.run("volume", "rm", "cli2", status=1)
    assert mine.stderr == f"Error response from daemon: remove cli2: volume is in use - [{cid}]\n"
    ours.run("rm", cid)
    assert ours.run("volume", "prune", "-a", "-f").stdout.splitlines()[:3] == ["Deleted Volumes:", "cli1", "cli2"]
