"""Image formats side by side with skopeo and umoci (Debian's packages).

A small busybox image (three layers: gzip, plain, zstd or gzip; built by
tests/support/images.py from the host's /bin/busybox) is saved by dockyard and read by
skopeo and umoci; what skopeo writes (docker-archive:, oci:, oci-archive:) is loaded by
dockyard and must give the same config digest and diffIDs. A one-byte change in any blob
(config, layer, manifest) of any of these archives is refused on load, with the file named
in the error, and the content store is left as it was.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.support.images import BuiltImage, build_busybox_image, put_blob

from dockyard.containerd.content import ContentStore
from dockyard.containerd.formats import docker_archive, oci_layout
from dockyard.errors import InvalidArgument

pytestmark = pytest.mark.skipif(
    shutil.which("skopeo") is None or shutil.which("umoci") is None,
    reason="skopeo and umoci are needed (apt-get install skopeo umoci)",
)


GZIP_ONLY = ("gzip", "none", "gzip")


def run(*args: str | Path) -> str:
    proc = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"{args}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def skopeo_copy(src: str, dst: str) -> None:
    run("skopeo", "--insecure-policy", "copy", "-q", src, dst)


def state(store: ContentStore) -> tuple[list[str], list[str], list[str]]:
    return ([i.digest for i in store.list()], [s.ref for s in store.list_statuses()],
            sorted(p.name for p in (store.root / "ingest").iterdir()))


@pytest.fixture
def store(tmp_path: Path) -> ContentStore:
    return ContentStore(tmp_path / "store")


@pytest.fixture
def image(store: ContentStore) -> BuiltImage:
    return build_busybox_image(store, ("gzip", "none", "zstd"))


@pytest.fixture
def gzip_image(store: ContentStore) -> BuiltImage:
    """Without zstd: umoci 0.4.7 cannot read it, skopeo 1.9 cannot put it in a docker-archive."""
    return build_busybox_image(store, GZIP_ONLY)


def save_docker(store: ContentStore, image: BuiltImage, path: Path, *names: str) -> Path:
    with open(path, "wb") as out:
        docker_archive.save([(name, image.manifest) for name in names or ("busybox:latest",)], store, out)
    return path


def fresh(tmp_path: Path, name: str) -> ContentStore:
    return ContentStore(tmp_path / name)


# -- what dockyard writes, skopeo and umoci read ---------------------------------------------


def test_skopeo_inspects_and_copies_our_docker_archive(tmp_path: Path, store: ContentStore,
                                                       image: BuiltImage) -> None:
    archive = save_docker(store, image, tmp_path / "busybox.tar", "busybox:latest", "busybox:1.36")
    info = json.loads(run("skopeo", "inspect", f"docker-archive:{archive}"))
    assert info["Layers"] == image.diff_ids
    assert (info["Architecture"], info["Os"]) == ("amd64", "linux")
    config = run("skopeo", "inspect", "--config", "--raw", f"docker-archive:{archive}:busybox:1.36")
    assert config.encode() == image.config
    skopeo_copy(f"docker-archive:{archive}", f"oci:{tmp_path / 'oci'}:tag")
    (item,) = oci_layout.load(tmp_path / "oci", fresh(tmp_path, "back"), base_name="busybox")
    assert item.name == "docker.io/library/busybox:tag"
    assert (item.config_digest, item.diff_ids) == (image.config_digest, image.diff_ids)


def test_skopeo_and_umoci_read_our_oci_layout(tmp_path: Path, store: ContentStore, gzip_image: BuiltImage) -> None:
    umoci_image = gzip_image
    layout = tmp_path / "layout"
    oci_layout.save([("busybox:latest", umoci_image.manifest)], store, layout)
    info = json.loads(run("skopeo", "inspect", f"oci:{layout}:latest"))
    assert info["Layers"] == [layer.digest for layer in umoci_image.layers]
    assert info["Digest"] == umoci_image.manifest.digest
    bundle = tmp_path / "bundle"
    rootless = [] if os.geteuid() == 0 else ["--rootless"]
    run("umoci", "unpack", *rootless, "--image", f"{layout}:latest", bundle)
    rootfs = bundle / "rootfs"
    assert (rootfs / "hello.txt").read_text() == "hello from dockyard\n"
    assert os.readlink(rootfs / "bin/sh") == "busybox"
    assert not (rootfs / "etc/motd").exists()  # removed by the third layer's whiteout
    assert (rootfs / "bin/busybox").read_bytes() == Path("/bin/busybox").read_bytes()
    assert run(rootfs / "bin/busybox", "echo", "it runs").strip() == "it runs"


def test_skopeo_reads_our_oci_archive(tmp_path: Path, store: ContentStore, image: BuiltImage) -> None:
    archive = tmp_path / "busybox-oci.tar"
    with open(archive, "wb") as out:
        oci_layout.save([("busybox:latest", image.manifest)], store, out)
    info = json.loads(run("skopeo", "inspect", f"oci-archive:{archive}:latest"))
    assert info["Layers"] == [layer.digest for layer in image.layers]
    skopeo_copy(f"oci-archive:{archive}:latest", f"oci:{tmp_path / 'copy'}:latest")


# -- what skopeo writes, dockyard loads ------------------------------------------------------


def test_skopeo_docker_archive_loads_back(tmp_path: Path, store: ContentStore, gzip_image: BuiltImage) -> None:
    image = gzip_image
    oci_layout.save([("busybox:latest", image.manifest)], store, tmp_path / "layout")
    archive = tmp_path / "skopeo.tar"
    skopeo_copy(f"oci:{tmp_path / 'layout'}:latest", f"docker-archive:{archive}:busybox:sk")
    target = fresh(tmp_path, "loaded")
    with open(archive, "rb") as stream:
        (item,) = docker_archive.load(stream, target)
    assert item.name == "docker.io/library/busybox:sk"
    assert (item.config_digest, item.diff_ids) == (image.config_digest, image.diff_ids)
    for diff_id in image.diff_ids:  # docker-archive layers are uncompressed
        assert target.info(diff_id).size > 0
    # and back out again: skopeo reads what dockyard saves of it
    again = save_docker(target, BuiltImage(item.target, item.config_digest, b"", item.diff_ids), tmp_path / "again.tar")
    assert json.loads(run("skopeo", "inspect", f"docker-archive:{again}"))["Layers"] == image.diff_ids


@pytest.mark.parametrize("as_tar", [False, True])
def test_skopeo_oci_output_loads_back(tmp_path: Path, store: ContentStore, image: BuiltImage, as_tar: bool) -> None:
    archive = save_docker(store, image, tmp_path / "ours.tar")
    layout = tmp_path / "skopeo-oci"
    skopeo_copy(f"docker-archive:{archive}", f"oci:{layout}:v1")
    source: Any = layout
    if as_tar:
        source = tmp_path / "skopeo-oci.tar"
        run("tar", "-C", layout, "-cf", source, ".")  # names start with ./
    loaded = oci_layout.load(source, fresh(tmp_path, "loaded"), base_name="example.com/busybox")
    (item,) = loaded
    assert item.name == "example.com/busybox:v1"
    assert (item.config_digest, item.diff_ids) == (image.config_digest, image.diff_ids)


def test_skopeo_oci_archive_loads_back(tmp_path: Path, store: ContentStore, image: BuiltImage) -> None:
    archive = save_docker(store, image, tmp_path / "ours.tar")
    oci_archive = tmp_path / "skopeo-oci-archive.tar"
    skopeo_copy(f"docker-archive:{archive}", f"oci-archive:{oci_archive}:v2")
    with open(oci_archive, "rb") as stream:
        (item,) = docker_archive.load(stream, fresh(tmp_path, "loaded"), base_name="busybox")
    assert item.name == "docker.io/library/busybox:v2"
    assert (item.config_digest, item.diff_ids) == (image.config_digest, image.diff_ids)


# -- one byte changed ------------------------------------------------------------------------


def _flip_member(archive: Path, name: str) -> None:
    with tarfile.open(archive) as tar:
        member = tar.getmember(name)
    with open(archive, "r+b") as f:
        f.seek(member.offset_data + member.size // 2)
        byte = f.read(1)[0]
        f.seek(-1, io.SEEK_CUR)
        f.write(bytes([byte ^ 1]))


def _flip_file(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 1
    path.chmod(0o644)
    path.write_bytes(bytes(data))


def _index_manifest(layout_index: bytes) -> str:
    return json.loads(layout_index)["manifests"][0]["digest"][7:]


def _member_json(archive: Path, name: str) -> Any:
    with tarfile.open(archive) as tar:
        f = tar.extractfile(name)
        assert f is not None
        return json.loads(f.read())


def ours_docker(tmp_path: Path, store: ContentStore, image: BuiltImage, blob: str) -> tuple[Path, str]:
    archive = save_docker(store, image, tmp_path / "ours.tar")
    if blob == "manifest":
        hexname = _member_json(archive, "index.json")["manifests"][0]["digest"][7:]
    else:
        hexname = (image.config_digest if blob == "config" else image.diff_ids[1])[7:]
    _flip_member(archive, f"blobs/sha256/{hexname}")
    return archive, hexname


def skopeo_docker(tmp_path: Path, store: ContentStore, image: BuiltImage, blob: str) -> tuple[Path, str]:
    image = build_busybox_image(store, GZIP_ONLY)
    oci_layout.save([("busybox:latest", image.manifest)], store, tmp_path / "layout")
    archive = tmp_path / "skopeo.tar"
    skopeo_copy(f"oci:{tmp_path / 'layout'}:latest", f"docker-archive:{archive}:busybox:sk")
    (item,) = _member_json(archive, "manifest.json")
    name = item["Config"] if blob == "config" else item["Layers"][0]
    _flip_member(archive, name)
    return archive, name


def skopeo_oci(tmp_path: Path, store: ContentStore, image: BuiltImage, blob: str) -> tuple[Path, str]:
    archive = save_docker(store, image, tmp_path / "ours.tar")
    layout = tmp_path / "skopeo-oci"
    skopeo_copy(f"docker-archive:{archive}", f"oci:{layout}:v1")
    manifest_hex = _index_manifest((layout / "index.json").read_bytes())
    manifest = json.loads((layout / "blobs/sha256" / manifest_hex).read_bytes())
    hexname = {"manifest": manifest_hex, "config": manifest["config"]["digest"][7:],
               "layer": manifest["layers"][0]["digest"][7:]}[blob]
    _flip_file(layout / "blobs/sha256" / hexname)
    return layout, hexname


def skopeo_oci_archive(tmp_path: Path, store: ContentStore, image: BuiltImage, blob: str) -> tuple[Path, str]:
    layout, hexname = skopeo_oci(tmp_path, store, image, blob)
    archive = tmp_path / "tampered-oci.tar"
    run("tar", "-C", layout, "-cf", archive, "oci-layout", "index.json", "blobs")
    return archive, hexname


MAKERS: dict[str, Callable[[Path, ContentStore, BuiltImage, str], tuple[Path, str]]] = {
    "dockyard-docker-archive": ours_docker,
    "skopeo-docker-archive": skopeo_docker,
    "skopeo-oci-dir": skopeo_oci,
    "skopeo-oci-tar": skopeo_oci_archive,
}
CASES = [(fmt, blob) for fmt in MAKERS for blob in ("config", "layer", "manifest")
         if not (fmt == "skopeo-docker-archive" and blob == "manifest")]  # that format has no manifest blob


@pytest.mark.parametrize(("fmt", "blob"), CASES)
def test_one_byte_changed_is_refused(tmp_path: Path, store: ContentStore, image: BuiltImage,
                                     fmt: str, blob: str) -> None:
    source, name = MAKERS[fmt](tmp_path, store, image, blob)
    target = fresh(tmp_path, "target")
    put_blob(target, b"something loaded before")
    put_blob(target, image.config)  # a blob of the image the store had already stays
    before = state(target)
    with pytest.raises(InvalidArgument) as error:
        if source.is_dir():
            oci_layout.load(source, target)
        else:
            with open(source, "rb") as stream:
                docker_archive.load(stream, target)
    assert name in str(error.value)
    assert state(target) == before


# -- import and export -----------------------------------------------------------------------


def test_imported_rootfs_is_an_image_skopeo_and_umoci_read(tmp_path: Path, store: ContentStore) -> None:
    from tests.support.images import busybox_layers

    from dockyard.containerd.formats.import_export import import_rootfs

    rootfs = busybox_layers()[0]
    desc = import_rootfs(io.BytesIO(rootfs), store, config_overrides={"Cmd": ["/bin/busybox", "true"]})
    archive = tmp_path / "imported.tar"
    with open(archive, "wb") as out:
        docker_archive.save([("imported:latest", desc)], store, out)
    info = json.loads(run("skopeo", "inspect", f"docker-archive:{archive}"))
    assert len(info["Layers"]) == 1
    config = json.loads(run("skopeo", "inspect", "--config", "--raw", f"docker-archive:{archive}"))
    assert config["history"][0]["comment"] == "Imported from -"
    assert config["config"]["Cmd"] == ["/bin/busybox", "true"]
    oci_layout.save([("imported:latest", desc)], store, tmp_path / "layout")
    bundle = tmp_path / "bundle"
    rootless = [] if os.geteuid() == 0 else ["--rootless"]
    run("umoci", "unpack", *rootless, "--image", f"{tmp_path / 'layout'}:latest", bundle)
    assert (bundle / "rootfs/bin/busybox").stat().st_size == Path("/bin/busybox").stat().st_size


@pytest.mark.root
def test_export_of_overlay_snapshots_matches_umoci(tmp_path: Path, store: ContentStore,
                                                   gzip_image: BuiltImage) -> None:
    """Layers unpacked into overlay snapshots and exported flat hold what umoci unpacks."""
    from dockyard.containerd.formats.import_export import export_snapshot
    from dockyard.containerd.snapshots.overlay import OverlaySnapshotter
    from dockyard.containerd.unpack import apply_to_snapshot

    snapshotter = OverlaySnapshotter(str(tmp_path / "snapshots"))
    parent = ""
    try:
        for n, (layer, diff_id) in enumerate(zip(gzip_image.layers, gzip_image.diff_ids, strict=True)):
            with store.reader(layer.digest) as blob:
                parent = apply_to_snapshot(snapshotter, f"extract-{n}", parent, blob,
                                           expected_diff_id=diff_id).name
        mounts = snapshotter.view("export-view", parent)
        out = io.BytesIO()
        export_snapshot(mounts, out)
    finally:
        snapshotter.close()
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as tar:
        exported = {m.name for m in tar.getmembers()}
        hello = tar.extractfile("hello.txt")
        assert hello is not None and hello.read() == b"hello from dockyard\n"
    oci_layout.save([("busybox:latest", gzip_image.manifest)], store, tmp_path / "layout")
    run("umoci", "unpack", "--image", f"{tmp_path / 'layout'}:latest", tmp_path / "bundle")
    rootfs = tmp_path / "bundle/rootfs"
    unpacked = {str(p.relative_to(rootfs)) for p in rootfs.rglob("*")}
    assert exported == unpacked
    assert "etc/motd" not in exported
