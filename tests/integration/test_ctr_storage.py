"""Debian's ``ctr`` (containerd 1.6) against ``dockyard-containerd``: everything that is not
tasks. One daemon runs for the module with its own socket, root and state in a temporary
directory and is stopped by PID at the end; each test works in its own namespace.

Images come from a docker-archive made with dockyard's ``docker_archive.save`` (busybox
layers from the host's static busybox) and from a local ``docker-registry``.
"""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import tarfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.ctrd import CTR, RunningDaemon, daemon_argv, dockyard_containerd, namespace
from tests.support.images import BuiltImage, save_busybox_archive
from tests.support.registry import Seeded

from dockyard.containerd.archive.layers import chain_ids
from dockyard.containerd.server.version import VERSION

pytest_plugins = ["tests.integration.conftest_registry"]

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(shutil.which(CTR) is None, reason="ctr is not installed (apt-get install containerd)"),
    pytest.mark.skipif(not Path("/bin/busybox").exists(), reason="busybox-static is not installed"),
]

IMAGE = "docker.io/library/busybox:latest"


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDaemon]:
    with dockyard_containerd(tmp_path_factory.mktemp("ctrd")) as running:
        yield running


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, BuiltImage]:
    return save_busybox_archive(tmp_path_factory.mktemp("archive"))


@pytest.fixture
def ns(request: pytest.FixtureRequest, daemon: RunningDaemon) -> Iterator[str]:
    """A namespace of the test's own (its images go, and it is removed, at the end)."""
    with namespace(daemon, "t-" + request.node.name.replace("_", "-")[:60].strip("-")) as name:
        yield name


def import_busybox(daemon: RunningDaemon, ns: str, archive: tuple[Path, BuiltImage]) -> BuiltImage:
    path, image = archive
    out = daemon.ctr("-n", ns, "images", "import", str(path)).stdout
    assert f"unpacking {IMAGE}" in out and "done" in out
    return image


def snapshot_keys(daemon: RunningDaemon, ns: str) -> dict[str, tuple[str, str]]:
    """key -> (parent, kind) of ``ctr snapshots ls``."""
    out: dict[str, tuple[str, str]] = {}
    for line in daemon.ctr("-n", ns, "snapshots", "ls").stdout.splitlines()[1:]:
        fields = line.split()
        if len(fields) == 3:
            out[fields[0]] = (fields[1], fields[2])
        elif len(fields) == 2:
            out[fields[0]] = ("", fields[1])
    return out


def test_version(daemon: RunningDaemon) -> None:
    out = daemon.ctr("version").stdout
    server = out.split("Server:", 1)[1]
    assert f"Version:  {VERSION}" in server
    assert "UUID:" in server


def test_namespaces(daemon: RunningDaemon) -> None:
    daemon.ctr("namespaces", "create", "ns-made-by-ctr", "team=storage")
    listed = daemon.ctr("namespaces", "ls").stdout
    assert any(line.split() == ["ns-made-by-ctr", "team=storage"] for line in listed.splitlines())
    daemon.ctr("namespaces", "label", "ns-made-by-ctr", "team=", "tier=one")
    assert "tier=one" in daemon.ctr("namespaces", "ls").stdout
    again = daemon.ctr("namespaces", "create", "ns-made-by-ctr", check=False)
    assert again.returncode != 0 and "already exists" in again.stderr
    assert daemon.ctr("namespaces", "rm", "ns-made-by-ctr").stdout.strip() == "ns-made-by-ctr"
    assert "ns-made-by-ctr" not in daemon.ctr("namespaces", "ls", "-q").stdout.split()


def test_a_namespace_with_images_is_not_removed(daemon: RunningDaemon, ns: str,
                                                archive: tuple[Path, BuiltImage]) -> None:
    import_busybox(daemon, ns, archive)
    refused = daemon.ctr("namespaces", "rm", ns, check=False)
    assert refused.returncode != 0
    assert "must be empty" in refused.stderr and "images" in refused.stderr


def test_plugins(daemon: RunningDaemon) -> None:
    rows = [line.split() for line in daemon.ctr("plugins", "ls").stdout.splitlines()[1:]]
    plugins = {(row[0], row[1]): row[-1] for row in rows}
    assert plugins[("io.containerd.snapshotter.v1", "overlayfs")] == "ok"
    assert plugins[("io.containerd.snapshotter.v1", "native")] == "ok"
    assert plugins[("io.containerd.content.v1", "content")] == "ok"
    assert plugins[("io.containerd.grpc.v1", "images")] == "ok"
    only = daemon.ctr("plugins", "ls", "type==io.containerd.snapshotter.v1").stdout.splitlines()[1:]
    assert sorted(line.split()[1] for line in only) == ["native", "overlayfs"]


def test_import_list_export_remove(daemon: RunningDaemon, ns: str, archive: tuple[Path, BuiltImage],
                                   tmp_path: Path) -> None:
    image = import_busybox(daemon, ns, archive)
    assert IMAGE in daemon.ctr("-n", ns, "images", "ls", "-q").stdout.split()
    # the blobs: the layers as saved, a config, a manifest; labelled as containerd labels them
    content = daemon.ctr("-n", ns, "content", "ls").stdout
    for layer in image.diff_ids:
        assert layer in content
    assert "containerd.io/gc.ref.snapshot.overlayfs=" in content
    # import unpacked the layers into overlayfs snapshots named by chain ID
    chains = chain_ids(image.diff_ids)
    snapshots = snapshot_keys(daemon, ns)
    assert [snapshots[c] for c in chains] == [
        ("", "Committed"), (chains[0], "Committed"), (chains[1], "Committed")]

    exported = tmp_path / "export.tar"
    daemon.ctr("-n", ns, "images", "export", str(exported), IMAGE)
    inspected = subprocess.run(["skopeo", "inspect", f"docker-archive:{exported}"], capture_output=True,
                               text=True, check=True)
    assert json.loads(inspected.stdout)["Layers"] == image.diff_ids
    copied = subprocess.run(["skopeo", "copy", f"oci-archive:{exported}", f"oci:{tmp_path / 'layout'}:x"],
                            capture_output=True, text=True, check=False)
    assert copied.returncode == 0, copied.stderr

    daemon.ctr("-n", ns, "images", "rm", "--sync", IMAGE)
    assert daemon.ctr("-n", ns, "images", "ls", "-q").stdout.split() == []
    assert daemon.ctr("-n", ns, "content", "ls", "-q").stdout.split() == []
    assert snapshot_keys(daemon, ns) == {}


def test_unpacked_tree(daemon: RunningDaemon, ns: str, archive: tuple[Path, BuiltImage], tmp_path: Path) -> None:
    image = import_busybox(daemon, ns, archive)
    top = chain_ids(image.diff_ids)[-1]
    daemon.ctr("-n", ns, "snapshots", "view", "look", top)
    target = tmp_path / "mnt"
    target.mkdir()
    command = daemon.ctr("-n", ns, "snapshots", "mounts", str(target), "look").stdout.strip()
    assert command.startswith("mount -t overlay overlay")
    subprocess.run(["sh", "-c", command], check=True)
    try:
        assert (target / "bin" / "busybox").is_file()
        assert (target / "bin" / "sh").is_symlink()
        assert not (target / "etc" / "motd").exists()  # a whiteout in the top layer
        assert (target / "hello.txt").read_text() == "hello from dockyard\n"
    finally:
        subprocess.run(["umount", str(target)], check=True)
    daemon.ctr("-n", ns, "snapshots", "rm", "look")


def test_snapshots_prepare_mounts_remove(daemon: RunningDaemon, ns: str, archive: tuple[Path, BuiltImage]) -> None:
    image = import_busybox(daemon, ns, archive)
    top = chain_ids(image.diff_ids)[-1]
    mounts = json.loads(daemon.ctr("-n", ns, "snapshots", "prepare", "--mounts", "work", top).stdout)
    assert [m["Type"] for m in mounts] == ["overlay"]
    assert any(o.startswith("upperdir=") for o in mounts[0]["Options"])
    printed = daemon.ctr("-n", ns, "snapshots", "mounts", "/somewhere", "work").stdout
    assert printed.startswith("mount -t overlay overlay /somewhere -o ")
    assert snapshot_keys(daemon, ns)["work"] == (top, "Active")
    info = json.loads(daemon.ctr("-n", ns, "snapshots", "info", "work").stdout)
    assert info["Kind"] == "Active" and "containerd.io/gc.root" in info["Labels"]
    daemon.ctr("-n", ns, "snapshots", "prepare", "empty")
    assert snapshot_keys(daemon, ns)["empty"] == ("", "Active")
    busy = daemon.ctr("-n", ns, "snapshots", "rm", chain_ids(image.diff_ids)[0], check=False)
    assert busy.returncode != 0  # it has children
    daemon.ctr("-n", ns, "snapshots", "rm", "work", "empty")
    assert "work" not in snapshot_keys(daemon, ns)


def test_snapshots_diff(daemon: RunningDaemon, ns: str, archive: tuple[Path, BuiltImage], tmp_path: Path) -> None:
    """``ctr snapshots diff`` uses the diff service: an active snapshot against its parent
    (the overlay upper read alone), and two snapshots compared (both mounted)."""
    image = import_busybox(daemon, ns, archive)
    chains = chain_ids(image.diff_ids)
    daemon.ctr("-n", ns, "snapshots", "prepare", "work", chains[-1])
    target = tmp_path / "mnt"
    target.mkdir()
    subprocess.run(["sh", "-c", daemon.ctr("-n", ns, "snapshots", "mounts", str(target), "work").stdout],
                   check=True)
    try:
        (target / "newfile").write_text("new\n")
        (target / "hello.txt").unlink()
    finally:
        subprocess.run(["umount", str(target)], check=True)

    def members(*args: str) -> list[str]:
        layer = tmp_path / "layer.tar"
        with open(layer, "wb") as out:
            proc = subprocess.run([CTR, "--address", str(daemon.address), "-n", ns, "snapshots", "diff", *args],
                                  stdout=out, stderr=subprocess.PIPE, check=False)
        assert proc.returncode == 0, proc.stderr.decode()
        with tarfile.open(layer) as tar:  # gzip or plain
            return sorted(tar.getnames())

    assert members("work") == [".wh.hello.txt", "newfile"]
    assert members("--media-type", "application/vnd.oci.image.layer.v1.tar", "work", chains[-1]) == [
        ".wh.newfile", "hello.txt"]
    assert "bin/.wh.sh" in members("work", chains[0])
    daemon.ctr("-n", ns, "snapshots", "rm", "work")


def test_leases(daemon: RunningDaemon, ns: str) -> None:
    daemon.ctr("-n", ns, "leases", "create", "--id", "held", "purpose=test")
    rows = daemon.ctr("-n", ns, "leases", "ls").stdout.splitlines()
    assert rows[0].split()[:3] == ["ID", "CREATED", "AT"]
    held = [row for row in rows if row.startswith("held ")]
    assert held and "purpose=test" in held[0] and "containerd.io/gc.expire=" in held[0]
    made = daemon.ctr("-n", ns, "leases", "create").stdout.strip()
    assert sorted(daemon.ctr("-n", ns, "leases", "ls", "-q").stdout.split()) == sorted(["held", made])
    daemon.ctr("-n", ns, "leases", "rm", "held", made)
    assert daemon.ctr("-n", ns, "leases", "ls", "-q").stdout.split() == []


def test_content_ingest_get_label_remove(daemon: RunningDaemon, ns: str) -> None:
    data = "a blob written through the content Write stream\n" * 1000
    from dockyard.oci.digest import digest_bytes

    digest = digest_bytes(data.encode())
    daemon.ctr("-n", ns, "content", "ingest", "--expected-size", str(len(data)), "--expected-digest", digest,
               "blob-ref", input=data)
    assert daemon.ctr("-n", ns, "content", "get", digest).stdout == data
    daemon.ctr("-n", ns, "content", "label", digest, "containerd.io/gc.root=now")
    listed = daemon.ctr("-n", ns, "content", "ls").stdout
    assert digest in listed and "containerd.io/gc.root=now" in listed
    daemon.ctr("-n", ns, "content", "rm", digest)
    assert digest not in daemon.ctr("-n", ns, "content", "ls", "-q").stdout


def test_containers_metadata(daemon: RunningDaemon, ns: str, archive: tuple[Path, BuiltImage]) -> None:
    import_busybox(daemon, ns, archive)
    daemon.ctr("-n", ns, "containers", "create", "--label", "role=test", IMAGE, "box")
    rows = daemon.ctr("-n", ns, "containers", "ls").stdout.splitlines()
    assert rows[1].split() == ["box", IMAGE, "io.containerd.runc.v2"]
    info = json.loads(daemon.ctr("-n", ns, "containers", "info", "box").stdout)
    assert info["Labels"]["role"] == "test" and info["SnapshotKey"] == "box"
    assert info["Runtime"]["Name"] == "io.containerd.runc.v2" and info["Spec"]["ociVersion"]
    assert snapshot_keys(daemon, ns)["box"][1] == "Active"
    # the container holds its snapshot and image through garbage collection
    daemon.ctr("-n", ns, "images", "rm", "--sync", IMAGE)
    assert "box" in snapshot_keys(daemon, ns)
    daemon.ctr("-n", ns, "containers", "rm", "box")
    assert daemon.ctr("-n", ns, "containers", "ls", "-q").stdout.split() == []
    daemon.ctr("-n", ns, "leases", "create", "--id", "gc-now")
    daemon.ctr("-n", ns, "leases", "rm", "--sync", "gc-now")
    assert snapshot_keys(daemon, ns) == {}


def test_events(daemon: RunningDaemon) -> None:
    watcher = subprocess.Popen([CTR, "--address", str(daemon.address), "events"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(watcher.stdout or ()), daemon=True)
    reader.start()
    try:
        # ctr subscribes in its own time: probe until one of our events shows
        deadline = time.monotonic() + 30
        for n in itertools.count():
            daemon.ctr("namespaces", "create", f"probe-{n}")
            daemon.ctr("namespaces", "rm", f"probe-{n}")
            time.sleep(0.1)
            if any("/namespaces/delete" in line for line in list(lines)):
                break
            assert time.monotonic() < deadline, "ctr events printed nothing"
        daemon.ctr("namespaces", "create", "ns-for-events", "k=v")
        daemon.ctr("namespaces", "rm", "ns-for-events")
        deadline = time.monotonic() + 10
        while not any("ns-for-events" in line and "/namespaces/delete" in line for line in list(lines)):
            assert time.monotonic() < deadline, f"no delete event in {lines}"
            time.sleep(0.05)
    finally:
        watcher.terminate()
        watcher.wait(10)
        reader.join(10)
    created = [line for line in lines if "/namespaces/create" in line and "ns-for-events" in line]
    assert len(created) == 1
    assert " default /namespaces/create " in created[0]  # published in the caller's namespace
    assert json.loads(created[0].split("/namespaces/create", 1)[1]) == {"name": "ns-for-events",
                                                                         "labels": {"k": "v"}}


def test_pull_and_push_with_a_registry(daemon: RunningDaemon, ns: str, seeded: Seeded) -> None:
    host = seeded.registry.host
    pulled = daemon.ctr("-n", ns, "images", "pull", "--plain-http", f"{host}/busybox:latest")
    assert "unpacking linux/amd64" in pulled.stdout and "done" in pulled.stdout
    assert f"{host}/busybox:latest" in daemon.ctr("-n", ns, "images", "ls", "-q").stdout.split()
    top = chain_ids([layer.diff_id for layer in seeded.single.layers])[-1]
    assert top in snapshot_keys(daemon, ns)
    # an index: only this host's platform is fetched and unpacked
    daemon.ctr("-n", ns, "images", "pull", "--plain-http", f"{host}/multi:1")
    content = daemon.ctr("-n", ns, "content", "ls", "-q").stdout.split()
    assert seeded.amd64.manifest.desc.digest in content
    assert seeded.arm64.manifest.desc.digest not in content

    daemon.ctr("-n", ns, "images", "push", "--plain-http", f"{host}/pushed:1", f"{host}/busybox:latest")
    inspected = subprocess.run(["skopeo", "inspect", "--tls-verify=false", "--raw", f"docker://{host}/pushed:1"],
                               capture_output=True, text=True, check=True)
    manifest = json.loads(inspected.stdout)
    assert [layer["digest"] for layer in manifest["layers"]] == [
        layer.blob.desc.digest for layer in seeded.single.layers]


def test_a_second_daemon_on_the_same_socket_refuses(daemon: RunningDaemon, tmp_path: Path) -> None:
    second = subprocess.run(
        [*daemon_argv(), "--address", str(daemon.address), "--root", str(tmp_path / "root"),
         "--state", str(tmp_path / "state")], capture_output=True, text=True, timeout=60, check=False)
    assert second.returncode == 1
    assert str(daemon.address) in second.stderr and "another" in second.stderr
    assert not (tmp_path / "root").exists()  # it gave up before touching anything
    assert "Server:" in daemon.ctr("version").stdout  # the first one still serves


def test_a_killed_daemon_leaves_a_stale_socket_the_next_one_replaces(tmp_path: Path) -> None:
    first = RunningDaemon.start(tmp_path / "d")
    try:
        first.ctr("namespaces", "create", "survivor")
        first.process.kill()  # SIGKILL: no cleanup, the socket stays
        first.process.wait(10)
        assert first.address.is_socket()
        second = RunningDaemon.start(tmp_path / "d")
        try:
            assert "survivor" in second.ctr("namespaces", "ls", "-q").stdout.split()
        finally:
            assert second.stop() == 0
        assert not second.address.exists()
    finally:
        first.stop()
