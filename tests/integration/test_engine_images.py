"""The engine's images driven by the real docker CLI 28 and docker-py against dockyardd,
with a local ``docker-registry`` (the ``seeded`` fixture's ``busybox:latest``): pull
(progress, "Downloaded newer image", "Image is up to date"), images (columns, -q,
filters, --digests, --format), inspect, history, tag and rmi (conflicts), save | load,
import, push then pull back, prune, search, image events, and docker-py.

One engine serves the module; every test removes the images it made (``clean`` below),
and the engine fixture checks at the end that nothing (processes, mounts) is left.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import subprocess
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.engine import DOCKER, RunningEngine
from tests.support.registry import Seeded

pytest_plugins = ["tests.support.engine_fixtures", "tests.integration.conftest_registry"]
pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(not os.access(DOCKER, os.X_OK), reason=f"{DOCKER} (docker CLI 28) is not installed"),
]


@pytest.fixture(autouse=True)
def clean(engine: RunningEngine) -> Iterator[None]:
    """Every image the test made is removed afterwards (and the store is empty again)."""
    yield
    ids = engine.docker("images", "-aq", "--no-trunc").stdout.split()
    for image_id in dict.fromkeys(ids):
        engine.docker("rmi", "-f", image_id, check=False)
    assert engine.docker("images", "-aq").stdout == ""
    left = engine.ctr("-n", "dockyard", "images", "ls", "-q").stdout.split()
    assert left == [], left


@pytest.fixture
def busybox(engine: RunningEngine, seeded: Seeded) -> str:
    """The seeded busybox pulled into the engine; its reference."""
    ref = f"{seeded.registry.host}/busybox:latest"
    engine.docker("pull", "-q", ref)
    return ref


def image_id(engine: RunningEngine, name: str) -> str:
    return engine.docker("image", "inspect", "-f", "{{.Id}}", name).stdout.strip()


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def tar_of(files: dict[str, bytes]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 1700000000
            tar.addfile(info, io.BytesIO(data))
    return raw.getvalue()


def history_archive(path: Path, tag: str) -> str:
    """A docker-archive of a two-layer image whose history has an empty step between the
    layers; its ID."""
    layers = [tar_of({"a.txt": b"a" * 3000}), tar_of({"b.txt": b"b" * 5000})]
    diff_ids = [sha256(layer) for layer in layers]
    config = {
        "architecture": "amd64", "os": "linux", "created": "2024-05-06T07:08:09Z",
        "config": {"Cmd": ["/bin/sh"], "Labels": {"stage": "test"}},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [
            {"created": "2024-05-06T07:08:01Z", "created_by": "ADD a.txt /"},
            {"created": "2024-05-06T07:08:02Z", "created_by": "ENV X=1", "empty_layer": True},
            {"created": "2024-05-06T07:08:03Z", "created_by": "ADD b.txt /", "comment": "second"},
        ],
    }
    config_bytes = json.dumps(config).encode()
    config_name = sha256(config_bytes)[7:] + ".json"
    manifest = [{"Config": config_name, "RepoTags": [tag],
                 "Layers": [f"{d[7:]}/layer.tar" for d in diff_ids]}]
    with tarfile.open(path, "w") as tar:
        entries = {config_name: config_bytes, "manifest.json": json.dumps(manifest).encode()}
        for diff_id, layer in zip(diff_ids, layers, strict=True):
            entries[f"{diff_id[7:]}/layer.tar"] = layer
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return sha256(config_bytes)


# -- pull -----------------------------------------------------------------------------------------


def test_pull_shows_progress_then_up_to_date(engine: RunningEngine, seeded: Seeded) -> None:
    ref = f"{seeded.registry.host}/busybox"
    layer = seeded.single.layers[0].blob.desc.digest[7:19]
    first = engine.docker("pull", ref).stdout.splitlines()
    assert first[0] == "Using default tag: latest"
    assert first[1] == "latest: Pulling from busybox"
    assert f"{layer}: Pulling fs layer" in first and f"{layer}: Pull complete" in first
    assert f"Digest: {seeded.single.manifest.desc.digest}" in first
    assert first[-2:] == [f"Status: Downloaded newer image for {ref}:latest", f"{ref}:latest"]

    again = engine.docker("pull", ref).stdout.splitlines()
    assert again == ["Using default tag: latest", "latest: Pulling from busybox",
                     f"Digest: {seeded.single.manifest.desc.digest}",
                     f"Status: Image is up to date for {ref}:latest", f"{ref}:latest"]


def test_pull_json_stream_and_errors(engine: RunningEngine, seeded: Seeded) -> None:
    host = seeded.registry.host
    status, headers, body = engine.request("POST", f"/images/create?fromImage={host}/busybox&tag=latest")
    assert status == 200 and headers["content-type"] == "application/json"
    messages = [json.loads(line) for line in body.decode().splitlines()]
    assert messages[0] == {"status": "Pulling from busybox", "id": "latest"}
    downloading = [m for m in messages if m.get("status") == "Downloading"]
    assert downloading and set(downloading[-1]["progressDetail"]) == {"current", "total"}
    assert downloading[-1]["progress"].startswith("[=") and downloading[-1]["id"] == messages[1]["id"]
    assert messages[-1] == {"status": f"Status: Downloaded newer image for {host}/busybox:latest"}

    missing = engine.docker("pull", f"{host}/busybox:nope", check=False)
    assert missing.returncode == 1 and "not found" in missing.stderr
    status, _, body = engine.request("POST", f"/images/create?fromImage={host}/nothing-here&tag=1")
    assert status == 404 and "message" in json.loads(body)
    unreachable = engine.docker("pull", "nohost.invalid/app", check=False)
    assert unreachable.returncode == 1
    assert "Error response from daemon: cannot reach registry nohost.invalid" in unreachable.stderr


def test_pull_by_digest_and_platform(engine: RunningEngine, seeded: Seeded) -> None:
    host = seeded.registry.host
    digest = seeded.single.manifest.desc.digest
    out = engine.docker("pull", f"{host}/busybox@{digest}").stdout
    assert f"Status: Downloaded newer image for {host}/busybox@{digest}" in out
    listed = engine.docker("images", "--digests", "--format", "{{.Repository}} {{.Tag}} {{.Digest}}").stdout
    assert f"{host}/busybox <none> {digest}" in listed
    engine.docker("pull", "--platform", "linux/arm64", f"{host}/multi:1")
    assert engine.docker("image", "inspect", "-f", "{{.Os}}/{{.Architecture}}", f"{host}/multi:1").stdout.strip() \
        == "linux/arm64"
    arm_id = image_id(engine, f"{host}/multi:1")
    assert arm_id == seeded.arm64.config.desc.digest
    saved = subprocess.run(f"{DOCKER} save {host}/multi:1 | {DOCKER} load", shell=True, capture_output=True,
                           text=True, env=engine.docker_env(), timeout=120, check=False)
    assert saved.returncode == 0 and saved.stdout.strip() == f"Loaded image: {host}/multi:1", saved.stderr
    assert image_id(engine, f"{host}/multi:1") == arm_id


# -- listing, inspect, history ---------------------------------------------------------------------


def test_images_columns_quiet_filters_digests_format(engine: RunningEngine, busybox: str, seeded: Seeded) -> None:
    host = seeded.registry.host
    engine.docker("tag", busybox, "other/box:2")
    full_id = image_id(engine, busybox)
    lines = engine.docker("images").stdout.splitlines()
    assert lines[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    rows = sorted(line.split()[:3] for line in lines[1:])
    assert rows == sorted([[f"{host}/busybox", "latest", full_id[7:19]], ["other/box", "2", full_id[7:19]]])
    assert engine.docker("images", "-q").stdout.split() == [full_id[7:19]] * 2
    assert engine.docker("images", "-q", "--no-trunc").stdout.split()[0] == full_id

    by_ref = engine.docker("images", "--filter", "reference=other/*", "--format", "{{.Repository}}:{{.Tag}}")
    assert by_ref.stdout.split() == ["other/box:2"]
    assert engine.docker("images", "--filter", "dangling=true", "-q").stdout == ""
    assert engine.docker("images", "--filter", "label=stage", "-q").stdout == ""
    bad = engine.docker("images", "--filter", "colour=red", check=False)
    assert bad.returncode == 1 and "invalid filter 'colour'" in bad.stderr

    digests = engine.docker("images", "--digests", "--filter", f"reference={host}/busybox").stdout.splitlines()
    assert digests[0].split()[:3] == ["REPOSITORY", "TAG", "DIGEST"]
    assert seeded.single.manifest.desc.digest in digests[1]
    doc = json.loads(engine.docker("images", "--format", "{{json .}}", "--filter", "reference=other/box").stdout)
    assert doc["Repository"] == "other/box" and doc["Tag"] == "2" and doc["ID"] == full_id[7:19]

    status, _, body = engine.request("GET", "/images/json?shared-size=1")
    summaries = json.loads(body)
    assert status == 200 and len(summaries) == 1
    summary = summaries[0]
    assert summary["Id"] == full_id and summary["ParentId"] == "" and summary["Containers"] == -1
    assert sorted(summary["RepoTags"]) == sorted([busybox, "other/box:2"])
    assert summary["Size"] > 1_000_000 and summary["SharedSize"] == 0 and "VirtualSize" not in summary
    _, _, old = engine.request("GET", "/v1.43/images/json")
    assert json.loads(old)[0]["VirtualSize"] == summary["Size"]


def test_inspect_image_fields(engine: RunningEngine, busybox: str, seeded: Seeded) -> None:
    doc = json.loads(engine.docker("image", "inspect", busybox).stdout)[0]
    config_digest = seeded.single.config.desc.digest
    assert doc["Id"] == config_digest
    assert doc["RepoTags"] == [busybox]
    assert doc["RepoDigests"] == [f"{seeded.registry.host}/busybox@{seeded.single.manifest.desc.digest}"]
    assert doc["Os"] == "linux" and doc["Architecture"] == "amd64" and doc["Created"] == "2024-01-01T00:00:00Z"
    assert doc["Config"]["Cmd"] == ["/bin/sh"] and doc["Parent"] == "" and doc["Comment"] == ""
    assert doc["GraphDriver"]["Name"] == "overlayfs"
    assert doc["RootFS"] == {"Type": "layers", "Layers": [seeded.single.layers[0].diff_id]}
    assert doc["Size"] > 1_000_000 and doc["Metadata"]["LastTagTime"].endswith("Z")
    assert "ContainerConfig" not in doc
    _, _, old = engine.request("GET", f"/v1.43/images/{busybox}/json")
    assert json.loads(old)["ContainerConfig"]["Hostname"] == ""
    by_short_id = engine.docker("inspect", "--type", "image", "-f", "{{.Id}}", config_digest[7:19]).stdout.strip()
    assert by_short_id == config_digest
    missing = engine.docker("image", "inspect", "nope", check=False)
    assert missing.returncode == 1 and "No such image: nope:latest" in missing.stderr


def test_history_sizes_and_missing_rows(engine: RunningEngine, tmp_path: Path) -> None:
    expected_id = history_archive(tmp_path / "h.tar", "hist:1")
    engine.docker("load", "-i", str(tmp_path / "h.tar"))
    assert image_id(engine, "hist:1") == expected_id
    rows = [line.split("\t") for line in engine.docker(
        "history", "--no-trunc", "--format", "{{.ID}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}", "hist:1",
    ).stdout.splitlines()]
    assert [r[0] for r in rows] == [expected_id, "<missing>", "<missing>"]
    assert [r[1] for r in rows] == ["ADD b.txt /", "ENV X=1", "ADD a.txt /"]
    assert rows[1][2] == "0B" and rows[0][3] == "second"
    raw = json.loads(engine.request("GET", "/images/hist:1/history")[2])
    assert [r["Size"] for r in raw][1] == 0 and all(r["Size"] > 0 for r in (raw[0], raw[2]))
    assert raw[0]["Tags"] == ["hist:1"] and raw[1]["Tags"] is None
    assert raw[2]["Created"] == 1714979281
    table = engine.docker("history", "hist:1").stdout.splitlines()
    assert table[0].split() == ["IMAGE", "CREATED", "CREATED", "BY", "SIZE", "COMMENT"]
    assert engine.docker("history", "-q", "hist:1").stdout.split() == [expected_id[7:19], "<missing>", "<missing>"]


# -- tag and rmi -------------------------------------------------------------------------------------


def test_tag_rmi_and_conflicts(engine: RunningEngine, busybox: str) -> None:
    full_id = image_id(engine, busybox)
    engine.docker("tag", busybox, "mine:1")
    engine.docker("tag", busybox, "mine:2")
    engine.docker("image", "tag", "mine:1", "yours")
    assert image_id(engine, "yours:latest") == full_id
    bad = engine.docker("tag", busybox, "Bad:tag", check=False)
    assert bad.returncode != 0 and "lowercase" in bad.stderr

    assert engine.docker("rmi", "mine:2").stdout.splitlines() == ["Untagged: mine:2"]
    conflict = engine.docker("rmi", full_id[7:19], check=False)
    assert conflict.returncode == 1
    assert (f"conflict: unable to delete {full_id[7:19]} (must be forced) - image is referenced in multiple "
            "repositories") in conflict.stderr
    status, _, body = engine.request("DELETE", f"/images/{full_id}")
    assert status == 409 and "multiple repositories" in json.loads(body)["message"]

    forced = engine.docker("rmi", "-f", full_id[7:19]).stdout.splitlines()
    assert sorted(forced[:-1]) == sorted([f"Untagged: {busybox}", "Untagged: mine:1", "Untagged: yours:latest"])
    assert forced[-1] == f"Deleted: {full_id}"
    assert engine.docker("images", "-q").stdout == ""
    gone = engine.docker("rmi", "mine:1", check=False)
    assert gone.returncode == 1 and "No such image: mine:1" in gone.stderr


def test_rmi_last_tag_deletes_and_moved_tag_leaves_dangling(engine: RunningEngine, busybox: str,
                                                          tmp_path: Path) -> None:
    history_archive(tmp_path / "h.tar", "box:moving")
    engine.docker("load", "-i", str(tmp_path / "h.tar"))
    old_id = image_id(engine, "box:moving")
    engine.docker("tag", busybox, "box:moving")  # the name moves: the old image stays, dangling
    dangling = engine.docker("images", "-q", "--no-trunc", "--filter", "dangling=true").stdout.split()
    assert dangling == [old_id]
    assert "<none>" in engine.docker("images", "-a").stdout
    busybox_id = image_id(engine, busybox)
    out = engine.docker("rmi", busybox).stdout.splitlines()
    assert out == [f"Untagged: {busybox}"]  # box:moving still names it
    out = engine.docker("rmi", "box:moving").stdout.splitlines()
    assert out == ["Untagged: box:moving", f"Deleted: {busybox_id}"]
    assert engine.docker("images", "-aq", "--no-trunc").stdout.split() == [old_id]


# -- save and load ----------------------------------------------------------------------------------


def test_save_load_round_trip(engine: RunningEngine, busybox: str, tmp_path: Path) -> None:
    full_id = image_id(engine, busybox)
    engine.docker("tag", busybox, "copy:1")
    archive = tmp_path / "saved.tar"
    engine.docker("save", "-o", str(archive), busybox, "copy:1")
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
    assert "index.json" in names and "oci-layout" in names and f"blobs/sha256/{full_id[7:]}" in names
    assert sorted(manifest[0]["RepoTags"]) == sorted([busybox, "copy:1"])
    engine.docker("rmi", busybox, "copy:1")
    assert engine.docker("images", "-q").stdout == ""

    loaded = engine.docker("load", "-i", str(archive)).stdout.splitlines()
    assert sorted(loaded) == sorted([f"Loaded image: {busybox}", "Loaded image: copy:1"])
    assert image_id(engine, busybox) == full_id and image_id(engine, "copy:1") == full_id

    piped = subprocess.run(f"{DOCKER} save {busybox} | {DOCKER} load", shell=True, capture_output=True, text=True,
                           env=engine.docker_env(), timeout=120, check=False)
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout.strip() == f"Loaded image: {busybox}"

    by_id = tmp_path / "by-id.tar"
    with open(by_id, "wb") as out:
        subprocess.run([DOCKER, "save", full_id[7:19]], stdout=out, env=engine.docker_env(), check=True, timeout=120)
    engine.docker("rmi", "-f", full_id)
    quiet = engine.docker("load", "-q", "-i", str(by_id)).stdout.strip()
    assert quiet == f"Loaded image ID: {full_id}"
    assert engine.docker("images", "-q", "--no-trunc", "--filter", "dangling=true").stdout.split() == [full_id]

    missing = engine.docker("save", "-o", str(tmp_path / "x.tar"), "nope:1", check=False)
    assert missing.returncode == 1 and "No such image: nope:1" in missing.stderr
    broken = tmp_path / "broken.tar"
    broken.write_bytes(tar_of({"hello.txt": b"not an image"}))
    failed = engine.docker("load", "-i", str(broken), check=False)
    assert failed.returncode == 1 and "manifest.json" in failed.stderr


def test_load_reports_layer_progress_unless_quiet(engine: RunningEngine, busybox: str, tmp_path: Path) -> None:
    archive = tmp_path / "saved.tar"
    engine.docker("save", "-o", str(archive), busybox)
    layers = json.loads(engine.docker("image", "inspect", "-f", "{{json .RootFS.Layers}}", busybox).stdout)
    engine.docker("rmi", busybox)

    status, _, body = engine.request("POST", "/v1.47/images/load?quiet=0", archive.read_bytes())
    assert status == 200
    messages = [json.loads(line) for line in body.splitlines()]
    bars = [m for m in messages if m.get("status") == "Loading layer"]
    assert [m["id"] for m in bars if m["progressDetail"]["current"] == m["progressDetail"]["total"]] == \
        [layer[7:19] for layer in layers]
    assert all(m["progress"].startswith("[") for m in bars)
    assert messages[-1] == {"stream": f"Loaded image: {busybox}\n"}

    status, _, body = engine.request("POST", "/v1.47/images/load?quiet=1", archive.read_bytes())
    assert status == 200 and b"Loading layer" not in body  # present layers are not unpacked again either


# -- import ------------------------------------------------------------------------------------------


def test_import_rootfs(engine: RunningEngine, tmp_path: Path) -> None:
    rootfs = tmp_path / "rootfs.tar"
    rootfs.write_bytes(tar_of({"bin/hello": b"#!/bin/sh\necho hi\n", "etc/motd": b"imported\n"}))
    out = engine.docker("import", "-c", "CMD [\"/bin/hello\"]", "-c", "ENV A=b", "-c", "LABEL team=ops",
                        "-m", "from a test", str(rootfs), "imported:1").stdout.strip()
    assert out.startswith("sha256:") and image_id(engine, "imported:1") == out
    doc = json.loads(engine.docker("image", "inspect", "imported:1").stdout)[0]
    assert doc["Config"]["Cmd"] == ["/bin/hello"] and doc["Config"]["Env"] == ["A=b"]
    assert doc["Config"]["Labels"] == {"team": "ops"} and doc["Comment"] == "from a test"
    assert len(doc["RootFS"]["Layers"]) == 1
    history = engine.docker("history", "--format", "{{.Comment}}", "imported:1").stdout.split("\n")[0]
    assert history == "from a test"
    assert engine.docker("images", "--filter", "label=team=ops", "-q").stdout.strip() == out[7:19]

    piped = subprocess.run(f"{DOCKER} import - < {rootfs}", shell=True, capture_output=True, text=True,
                           env=engine.docker_env(), timeout=60, check=False)
    assert piped.returncode == 0, piped.stderr
    untagged = piped.stdout.strip()
    assert engine.docker("images", "-q", "--no-trunc", "--filter", "dangling=true").stdout.split() == [untagged]
    bad = engine.docker("import", "-c", "RUN echo", str(rootfs), check=False)
    assert bad.returncode == 1 and "RUN is not a valid change command" in bad.stderr


def test_imported_image_runs_and_containers_hold_it(engine: RunningEngine, tmp_path: Path) -> None:
    rootfs = tmp_path / "rootfs.tar"
    with tarfile.open(rootfs, "w") as tar:
        tar.add("/bin/busybox", "bin/busybox")
    engine.docker("import", "-c", 'CMD ["/bin/busybox", "echo", "hello from import"]', str(rootfs), "runs:1")
    run = engine.docker("run", "--rm", "runs:1", check=False)
    if "page not found" in run.stderr:
        pytest.skip("the engine has no container service")
    assert run.returncode == 0 and run.stdout == "hello from import\n", run.stderr
    full_id = image_id(engine, "runs:1")
    cid = engine.docker("create", "runs:1").stdout.strip()
    try:
        refused = engine.docker("rmi", "runs:1", check=False)
        assert refused.returncode == 1
        assert (f'conflict: unable to remove repository reference "runs:1" (must force) - container {cid[:12]} '
                f"is using its referenced image {full_id[7:19]}") in refused.stderr
        by_id = engine.docker("rmi", full_id[7:19], check=False)
        assert by_id.returncode == 1 and f"image is being used by stopped container {cid[:12]}" in by_id.stderr
        assert engine.docker("rmi", "-f", "runs:1").stdout.splitlines() == ["Untagged: runs:1"]
        assert engine.docker("images", "-aq", "--no-trunc").stdout.split() == [full_id]  # kept for the container
        assert engine.docker("image", "prune", "-a", "-f").stdout.strip() == "Total reclaimed space: 0B"
    finally:
        engine.docker("rm", "-f", cid)
    assert f"deleted: {full_id}" in engine.docker("image", "prune", "-f").stdout


# -- push --------------------------------------------------------------------------------------------


def test_push_then_pull_back(engine: RunningEngine, busybox: str, seeded: Seeded) -> None:
    host = seeded.registry.host
    target = f"{host}/pushed/box:v1"
    engine.docker("tag", busybox, target)
    out = engine.docker("push", target).stdout.splitlines()
    assert out[0] == f"The push refers to repository [{host}/pushed/box]"
    layer = seeded.single.layers[0].blob.desc.digest[7:19]
    assert f"{layer}: Pushed" in out or f"{layer}: Mounted from busybox" in out
    assert out[-1].startswith("v1: digest: sha256:") and " size: " in out[-1]
    again = engine.docker("push", target).stdout
    assert f"{layer}: Layer already exists" in again
    full_id = image_id(engine, busybox)
    engine.docker("rmi", "-f", full_id)
    pulled = engine.docker("pull", target).stdout
    assert f"Status: Downloaded newer image for {target}" in pulled
    assert image_id(engine, target) == full_id
    missing = engine.docker("push", f"{host}/never/was:1", check=False)
    assert missing.returncode == 1 and "An image does not exist locally with the tag" in missing.stderr


def test_push_and_pull_with_credentials(engine: RunningEngine, busybox: str, auth_registry: object) -> None:
    from tests.support.registry import REGISTRY_PASSWORD, REGISTRY_USER, LocalRegistry

    assert isinstance(auth_registry, LocalRegistry)
    target = f"{auth_registry.host}/private/box:1"
    engine.docker("tag", busybox, target)
    denied = engine.docker("push", target, check=False)
    assert denied.returncode == 1 and "401 Unauthorized" in denied.stderr
    config = Path(engine.docker_env()["DOCKER_CONFIG"]) / "config.json"
    auth = base64.b64encode(f"{REGISTRY_USER}:{REGISTRY_PASSWORD}".encode()).decode()
    config.write_text(json.dumps({"auths": {auth_registry.host: {"auth": auth}}}))
    try:
        assert "1: digest: sha256:" in engine.docker("push", target).stdout
        engine.docker("rmi", target)
        assert f"Downloaded newer image for {target}" in engine.docker("pull", target).stdout
    finally:
        config.unlink()
    engine.docker("rmi", target)
    anonymous = engine.docker("pull", target, check=False)
    assert anonymous.returncode == 1


# -- prune, search, events --------------------------------------------------------------------------


def test_image_prune(engine: RunningEngine, busybox: str, tmp_path: Path) -> None:
    rootfs = tmp_path / "rootfs.tar"
    rootfs.write_bytes(tar_of({"only/file": os.urandom(4096)}))
    dangling = subprocess.run([DOCKER, "import", str(rootfs)], capture_output=True, text=True,
                              env=engine.docker_env(), check=True).stdout.strip()
    out = engine.docker("image", "prune", "-f").stdout
    assert f"deleted: {dangling}" in out and "Total reclaimed space:" in out
    assert engine.docker("images", "-q").stdout.split() == [image_id(engine, busybox)[7:19]]
    status, _, body = engine.request("POST", "/images/prune")
    assert status == 200 and json.loads(body) == {"ImagesDeleted": None, "SpaceReclaimed": 0}
    everything = engine.docker("image", "prune", "-a", "-f").stdout
    assert f"untagged: {busybox}" in everything and "deleted: sha256:" in everything
    assert engine.docker("images", "-aq").stdout == ""


def test_search_is_not_supported(engine: RunningEngine) -> None:
    out = engine.docker("search", "busybox", check=False)
    assert out.returncode == 1 and "search is not supported: no registry search endpoint" in out.stderr


def test_image_events(engine: RunningEngine, seeded: Seeded) -> None:
    since = str(time.time())
    ref = f"{seeded.registry.host}/busybox:latest"
    engine.docker("pull", "-q", ref)
    engine.docker("tag", ref, "evt:1")
    engine.docker("rmi", "evt:1", ref)
    until = str(time.time() + 1)
    time.sleep(1.1)
    out = engine.docker("events", "--since", since, "--until", until, "--filter", "type=image",
                        "--format", "{{.Action}} {{.Actor.Attributes.name}}").stdout.splitlines()
    assert out[:4] == [f"pull {seeded.registry.host}/busybox", "tag evt:1", "untag evt:1", f"untag {ref}"]
    assert out[4].startswith("delete sha256:")


# -- docker-py ---------------------------------------------------------------------------------------


def test_docker_py_images(engine: RunningEngine, seeded: Seeded, tmp_path: Path) -> None:
    client = engine.docker_py()
    try:
        repo = f"{seeded.registry.host}/busybox"
        image = client.images.pull(repo, tag="latest")
        assert image.id == seeded.single.config.desc.digest and image.tags == [f"{repo}:latest"]
        assert [i.id for i in client.images.list()] == [image.id]
        assert client.images.list(filters={"dangling": True}) == []
        got = client.images.get(f"{repo}:latest")
        assert got.attrs["Os"] == "linux" and got.labels == {}
        assert got.tag("pyrepo", "t1") is True
        assert sorted(client.images.get(image.id).tags) == sorted([f"{repo}:latest", "pyrepo:t1"])
        assert len(got.history()) == 1

        archive = tmp_path / "py.tar"
        with open(archive, "wb") as f:
            for chunk in got.save(named=True):
                f.write(chunk)
        client.images.remove(f"{repo}:latest")
        client.images.remove("pyrepo:t1")
        assert client.images.list() == []
        loaded = client.images.load(archive.read_bytes())
        assert [i.id for i in loaded] == [image.id]

        docker_errors = pytest.importorskip("docker.errors")
        with pytest.raises(docker_errors.ImageNotFound):
            client.images.get("nope:1")
        with pytest.raises(docker_errors.NotFound):
            client.images.pull(f"{seeded.registry.host}/never/was", tag="1")
        client.images.remove(image.id, force=True)
        assert client.images.list(all=True) == []
    finally:
        client.close()
