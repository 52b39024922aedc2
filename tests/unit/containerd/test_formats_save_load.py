"""docker-archive and OCI layout save/load against a content store in a temporary directory
(no root, no skopeo: the interop checks live in tests/integration/test_formats_interop.py)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from tests.support.images import build_busybox_image, build_image, busybox_layers, put_blob

from dockyard.containerd.content import ContentStore
from dockyard.containerd.formats import docker_archive, oci_layout
from dockyard.containerd.metadata import DB
from dockyard.errors import InvalidArgument, NotFound
from dockyard.oci import mediatypes
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.image import ImageIndex, Manifest
from dockyard.oci.platform import Platform


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def state(store: ContentStore) -> tuple[list[str], list[str], list[str]]:
    """Blobs, ingests and ingest directories: what a failed load must not change."""
    ingest_dirs = sorted(p.name for p in (store.root / "ingest").iterdir())
    return [i.digest for i in store.list()], [s.ref for s in store.list_statuses()], ingest_dirs


def members(data: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {m.name: m for m in tar.getmembers()}


def read_member(data: bytes, name: str) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        f = tar.extractfile(name)
        assert f is not None
        return f.read()


def make_tar(files: Mapping[str, bytes | tuple[str, str]], gz: bool = False) -> bytes:
    """A tar of regular files (bytes) and links (("sym"|"hard", target))."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, value in files.items():
            info = tarfile.TarInfo(name)
            if isinstance(value, tuple):
                info.type = tarfile.SYMTYPE if value[0] == "sym" else tarfile.LNKTYPE
                info.linkname = value[1]
                tar.addfile(info)
            else:
                info.size = len(value)
                tar.addfile(info, io.BytesIO(value))
    data = out.getvalue()
    return gzip.compress(data) if gz else data


@pytest.fixture
def store(tmp_path: Path) -> ContentStore:
    return ContentStore(tmp_path / "store")


@pytest.fixture
def other(tmp_path: Path) -> ContentStore:
    return ContentStore(tmp_path / "other")


def saved(store: ContentStore, images: list[tuple[str, Any]]) -> bytes:
    out = io.BytesIO()
    docker_archive.save(images, store, out)
    return out.getvalue()


# -- docker-archive --------------------------------------------------------------------------


def test_docker_archive_layout(store: ContentStore) -> None:
    image = build_busybox_image(store)
    data = saved(store, [("busybox", image.manifest), ("example.com/app:v1", image.manifest)])
    names = list(members(data))
    blob_names = [f"blobs/sha256/{d.partition(':')[2]}" for d in (image.config_digest, *image.diff_ids)]
    assert names[:2] == ["blobs", "blobs/sha256"]  # (tarfile drops the trailing slash)
    assert names[-4:] == ["index.json", "manifest.json", "oci-layout", "repositories"]
    assert set(blob_names) <= set(names)
    assert names[2:-4] == sorted(names[2:-4])
    (item,) = json.loads(read_member(data, "manifest.json"))
    assert item == {"Config": blob_names[0], "RepoTags": ["busybox:latest", "example.com/app:v1"],
                    "Layers": blob_names[1:]}
    top = image.diff_ids[-1].partition(":")[2]
    assert json.loads(read_member(data, "repositories")) == {
        "busybox": {"latest": top}, "example.com/app": {"v1": top}}
    index = json.loads(read_member(data, "index.json"))
    assert [m["annotations"]["io.containerd.image.name"] for m in index["manifests"]] == [
        "docker.io/library/busybox:latest", "example.com/app:v1"]
    manifest = json.loads(read_member(data, "blobs/sha256/" + index["manifests"][0]["digest"][7:]))
    assert [layer["digest"] for layer in manifest["layers"]] == image.diff_ids
    assert {layer["mediaType"] for layer in manifest["layers"]} == {mediatypes.OCI_LAYER}
    for diff_id in image.diff_ids:  # layers are written uncompressed
        assert sha(read_member(data, f"blobs/sha256/{diff_id[7:]}")) == diff_id


def test_docker_archive_is_deterministic(store: ContentStore) -> None:
    image = build_busybox_image(store)
    assert saved(store, [("busybox", image.manifest)]) == saved(store, [("busybox", image.manifest)])


def test_docker_archive_round_trip(store: ContentStore, other: ContentStore) -> None:
    image = build_busybox_image(store)
    data = saved(store, [("busybox:1", image.manifest), ("", image.manifest)])
    loaded = docker_archive.load(io.BytesIO(data), other)
    assert [item.name for item in loaded] == ["docker.io/library/busybox:1"]
    (item,) = loaded
    assert item.config_digest == image.config_digest
    assert item.diff_ids == image.diff_ids
    manifest = Manifest.from_dict(json.loads(other.read_all(item.target.digest)))
    assert [layer.digest for layer in manifest.layers] == image.diff_ids
    assert other.read_all(image.config_digest) == image.config
    assert state(other)[1:] == ([], [])
    # saving what was loaded gives the same archive back
    assert saved(other, [("busybox:1", item.target)]) == data


def test_docker_archive_untagged_image(store: ContentStore, other: ContentStore) -> None:
    image = build_busybox_image(store, ("none", "none", "none"))
    data = saved(store, [("", image.manifest)])
    assert json.loads(read_member(data, "manifest.json"))[0]["RepoTags"] is None
    assert "repositories" not in members(data)
    (item,) = docker_archive.load(io.BytesIO(data), other)
    assert item.name == ""
    assert item.target == image.manifest  # uncompressed layers: the stored manifest is kept


def old_layout_archive(compress_first: bool = False) -> tuple[bytes, bytes, list[str]]:
    """A docker save archive as Docker before 25 wrote it: <id>/layer.tar, <hex>.json."""
    layers = busybox_layers()
    diff_ids = [sha(layer) for layer in layers]
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/bin/sh"]},
                         "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    config_hex = sha(config)[7:]
    files: dict[str, bytes | tuple[str, str]] = {}
    paths = []
    for n, layer in enumerate(layers):
        directory = f"{n:064x}"
        files[f"{directory}/VERSION"] = b"1.0"
        files[f"{directory}/json"] = b"{}"
        files[f"{directory}/layer.tar"] = gzip.compress(layer) if compress_first and n == 0 else layer
        paths.append(f"{directory}/layer.tar")
    files["shared/layer.tar"] = ("sym", f"../{paths[1]}")  # as old docker linked shared layers
    files[f"{config_hex}.json"] = config
    manifest = [{"Config": f"{config_hex}.json", "RepoTags": ["old:1"],
                 "Layers": [paths[0], "shared/layer.tar", paths[2]]}]
    files["manifest.json"] = json.dumps(manifest).encode()
    files["repositories"] = b'{"old":{"1":"x"}}'
    return make_tar(files), config, diff_ids


def test_old_docker_layout_loads(store: ContentStore) -> None:
    data, config, diff_ids = old_layout_archive(compress_first=True)
    (item,) = docker_archive.load(io.BytesIO(data), store)
    assert item.name == "docker.io/library/old:1"
    assert item.config_digest == sha(config)
    assert item.diff_ids == diff_ids
    manifest = Manifest.from_dict(json.loads(store.read_all(item.target.digest)))
    assert manifest.media_type == mediatypes.DOCKER_MANIFEST
    assert manifest.config.media_type == mediatypes.DOCKER_CONFIG
    assert [layer.media_type for layer in manifest.layers] == [
        mediatypes.DOCKER_LAYER_GZIP, mediatypes.DOCKER_LAYER, mediatypes.DOCKER_LAYER]
    assert manifest.layers[1].digest == diff_ids[1]


def test_compressed_archive_loads(store: ContentStore, other: ContentStore) -> None:
    image = build_busybox_image(store)
    data = gzip.compress(saved(store, [("busybox", image.manifest)]))
    (item,) = docker_archive.load(io.BytesIO(data), other)
    assert item.diff_ids == image.diff_ids


@pytest.mark.parametrize("what", ["config", "layer"])
def test_old_layout_tampering_is_refused(store: ContentStore, what: str) -> None:
    data, config, _ = old_layout_archive()
    put_blob(store, b"unrelated")
    put_blob(store, busybox_layers()[2])  # a layer the store had before stays
    before = state(store)
    info = members(data)
    name = f"{sha(config)[7:]}.json" if what == "config" else f"{1:064x}/layer.tar"
    raw = bytearray(data)
    raw[info[name].offset_data + info[name].size // 2] ^= 1
    with pytest.raises(InvalidArgument) as error:
        docker_archive.load(io.BytesIO(bytes(raw)), store)
    assert name in str(error.value)
    assert state(store) == before


@pytest.mark.parametrize(("files", "message"), [
    ({"../evil": b"x"}, "escapes the archive"),
    ({"/etc/passwd": b"x"}, "absolute name"),
    ({"a": b"1", "./a": b"2"}, "appears twice"),
    ({"manifest.json": b'[{"Config":"link","Layers":[]}]', "link": ("sym", "../../etc/passwd")},
     "leaves the archive"),
    ({"manifest.json": b'[{"Config":"c.json","Layers":["nope.tar"]}]',
      "c.json": b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:'
                + b"a" * 64 + b'"]}}'}, "manifest.json[0].Layers[0] nope.tar: not found"),
    ({"manifest.json": b'[{"Config":"c.json","Layers":["l.tar"]}]', "l.tar": b"x" * 1024,
      "c.json": b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'},
     "layers length mismatch"),
    ({"x": b"y"}, "not an image archive"),
])
def test_hostile_or_broken_archives(store: ContentStore, files: dict[str, Any], message: str) -> None:
    before = state(store)
    with pytest.raises(InvalidArgument) as error:
        docker_archive.load(io.BytesIO(make_tar(files)), store)
    assert message in str(error.value)
    assert state(store) == before


def test_truncated_archive(store: ContentStore) -> None:
    image = build_busybox_image(store)
    data = saved(store, [("busybox", image.manifest)])
    fresh = ContentStore(store.root.parent / "fresh")
    with pytest.raises(InvalidArgument, match=r"truncated|not a valid tar"):
        docker_archive.load(io.BytesIO(data[: len(data) // 2]), fresh)
    assert state(fresh) == ([], [], [])


class FailingStore:
    """A content store whose n-th commit fails, as a full disk would."""

    def __init__(self, inner: ContentStore, fail_at: int) -> None:
        self.inner = inner
        self.commits = 0
        self.fail_at = fail_at

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def writer(self, ref: str, expected_digest: str | None = None, total: int | None = None) -> Any:
        writer = self.inner.writer(ref, expected_digest, total)
        owner = self
        commit = writer.commit

        def failing_commit(*args: Any, **kwargs: Any) -> str:
            owner.commits += 1
            if owner.commits == owner.fail_at:
                raise OSError(28, "No space left on device")
            return commit(*args, **kwargs)

        writer.commit = failing_commit  # type: ignore[method-assign]
        return writer


def test_failed_commit_rolls_back(store: ContentStore, other: ContentStore) -> None:
    image = build_busybox_image(store)
    data = saved(store, [("busybox", image.manifest)])
    before = state(other)
    with pytest.raises(OSError, match="No space"):
        docker_archive.load(io.BytesIO(data), FailingStore(other, 3))  # type: ignore[arg-type]
    assert state(other) == before


def test_load_records_images(tmp_path: Path, store: ContentStore) -> None:
    image = build_busybox_image(store)
    data = saved(store, [("busybox", image.manifest), ("busybox:2", image.manifest)])
    db = DB(tmp_path / "meta.db", ContentStore(tmp_path / "shared"))
    lease = db.leases("default").create()  # protects the blobs until the images hold them
    content = db.content("default", lease.id)
    images = db.images("default")
    loaded = docker_archive.load(io.BytesIO(data), content, images=images, db=db)
    leased = {r.id for r in db.leases("default").list_resources(lease.id) if r.type == "content"}
    assert {image.config_digest, *image.diff_ids, loaded[0].target.digest} <= leased
    assert not [r for r in db.leases("default").list_resources(lease.id) if r.type == "ingests"]
    for name in ("docker.io/library/busybox:latest", "docker.io/library/busybox:2"):
        assert images.get(name).target.digest == loaded[0].target.digest
    assert content.info(image.config_digest).size == len(image.config)
    manifest_info = content.info(loaded[0].target.digest)
    assert manifest_info.labels["containerd.io/gc.ref.content.config"] == image.config_digest
    # a second load re-points the tag, as docker load does
    other_image = build_image(store, busybox_layers()[:1])
    data = saved(store, [("busybox", other_image.manifest)])
    (again,) = docker_archive.load(io.BytesIO(data), content, images=images, db=db)
    assert images.get("docker.io/library/busybox:latest").target.digest == again.target.digest
    db.close()


# -- OCI layout ------------------------------------------------------------------------------


def test_oci_layout_directory_round_trip(tmp_path: Path, store: ContentStore, other: ContentStore) -> None:
    image = build_busybox_image(store)
    layout = tmp_path / "layout"
    entries = oci_layout.save([("busybox:latest", image.manifest)], store, layout)
    assert entries[0].digest == image.manifest.digest
    assert (layout / "oci-layout").read_bytes() == b'{"imageLayoutVersion":"1.0.0"}'
    for digest in image.blobs:
        assert (layout / "blobs/sha256" / digest[7:]).is_file()
    (item,) = oci_layout.load(layout, other)
    assert item.name == "docker.io/library/busybox:latest"
    assert item.target == image.manifest
    assert (item.config_digest, item.diff_ids) == (image.config_digest, image.diff_ids)
    compressed = other.info(image.layers[0].digest)
    assert compressed.size == image.layers[0].size
    # adding a second tag keeps the first entry
    oci_layout.save([("busybox:2", image.manifest)], store, layout)
    index = json.loads((layout / "index.json").read_text())
    assert [m["annotations"]["org.opencontainers.image.ref.name"] for m in index["manifests"]] == ["latest", "2"]


def test_oci_layout_tar_round_trip(store: ContentStore, other: ContentStore) -> None:
    image = build_busybox_image(store)
    out = io.BytesIO()
    oci_layout.save([("busybox", image.manifest)], store, out)
    names = list(members(out.getvalue()))
    assert names[:2] == ["oci-layout", "index.json"]
    (item,) = oci_layout.load(io.BytesIO(out.getvalue()), other)
    assert item.target == image.manifest
    # docker load takes an OCI layout tar too
    (again,) = docker_archive.load(io.BytesIO(out.getvalue()), ContentStore(other.root.parent / "third"))
    assert again.target == image.manifest


def make_index(store: ContentStore) -> tuple[Descriptor, Any, Any]:
    amd = build_busybox_image(store)
    arm = build_image(store, busybox_layers()[:2], cmd=["/bin/ls"])
    entries = [
        Descriptor(amd.manifest.media_type, amd.manifest.digest, amd.manifest.size,
                   platform=Platform("linux", "amd64")),
        Descriptor(arm.manifest.media_type, arm.manifest.digest, arm.manifest.size,
                   platform=Platform("linux", "arm64", "v8")),
    ]
    index = ImageIndex(entries)
    data = index.to_bytes()
    put_blob(store, data)
    return Descriptor(mediatypes.OCI_INDEX, sha(data), len(data)), amd, arm


def test_index_saved_whole_and_by_platform(store: ContentStore, other: ContentStore, tmp_path: Path) -> None:
    target, amd, arm = make_index(store)
    (item,) = oci_layout.load(_saved_layout(store, target, tmp_path / "l1"), other)
    assert item.target == target
    assert item.config_digest == ""
    for digest in (*amd.blobs, *arm.blobs):
        other.info(digest)
    data = saved(store, [("multi", target)])
    arm_data = io.BytesIO()
    docker_archive.save([("multi", target)], store, arm_data, platform="linux/arm64")
    (amd_item,) = docker_archive.load(io.BytesIO(data), ContentStore(tmp_path / "a"))
    (arm_item,) = docker_archive.load(io.BytesIO(arm_data.getvalue()), ContentStore(tmp_path / "b"))
    assert amd_item.config_digest == amd.config_digest
    assert arm_item.config_digest == arm.config_digest


def test_partial_index_saves_the_platform_manifest(store: ContentStore, tmp_path: Path) -> None:
    target, amd, arm = make_index(store)
    store.delete(arm.layers[0].digest)  # only the amd64 image was pulled whole
    entries = oci_layout.save([("multi", target)], store, tmp_path / "l", platform="linux/amd64")
    assert entries[0].digest == amd.manifest.digest
    with pytest.raises(NotFound):
        oci_layout.save([("multi", target)], store, tmp_path / "l2", platform="linux/arm64")


def _saved_layout(store: ContentStore, target: Descriptor, path: Path) -> Path:
    oci_layout.save([("multi", target)], store, path)
    return path


@pytest.mark.parametrize("what", ["manifest", "config", "layer", "size"])
def test_oci_layout_tampering_is_refused(store: ContentStore, other: ContentStore, tmp_path: Path,
                                         what: str) -> None:
    image = build_busybox_image(store, ("none", "gzip", "none"))
    layout = tmp_path / "layout"
    oci_layout.save([("busybox", image.manifest)], store, layout)
    before = state(other)
    if what == "size":
        index = json.loads((layout / "index.json").read_text())
        index["manifests"][0]["size"] += 1
        (layout / "index.json").write_text(json.dumps(index))
        hexname = image.manifest.digest[7:]
    else:
        digest = {"manifest": image.manifest.digest, "config": image.config_digest,
                  "layer": image.layers[1].digest}[what]
        hexname = digest[7:]
        path = layout / "blobs/sha256" / hexname
        raw = bytearray(path.read_bytes())
        raw[len(raw) // 2] ^= 1
        path.chmod(0o644)
        path.write_bytes(bytes(raw))
    with pytest.raises(InvalidArgument) as error:
        oci_layout.load(layout, other)
    assert hexname in str(error.value)
    assert state(other) == before


def test_oci_layout_diff_id_mismatch(store: ContentStore, other: ContentStore, tmp_path: Path) -> None:
    image = build_busybox_image(store, ("gzip", "none", "none"))
    config = json.loads(image.config)
    config["rootfs"]["diff_ids"][0] = "sha256:" + "0" * 64
    config_bytes = json.dumps(config).encode()
    put_blob(store, config_bytes)
    manifest = Manifest(Descriptor(mediatypes.OCI_CONFIG, sha(config_bytes), len(config_bytes)), image.layers)
    put_blob(store, manifest.to_bytes())
    oci_layout.save([("bad", manifest.descriptor())], store, tmp_path / "l")
    with pytest.raises(InvalidArgument, match=r"rootfs.diff_ids\[0\]"):
        oci_layout.load(tmp_path / "l", other)
    assert state(other) == ([], [], [])


def test_oci_layout_symlink_out_of_the_directory_is_refused(store: ContentStore, other: ContentStore,
                                                            tmp_path: Path) -> None:
    image = build_busybox_image(store)
    layout = tmp_path / "layout"
    oci_layout.save([("busybox", image.manifest)], store, layout)
    blob = layout / "blobs/sha256" / image.config_digest[7:]
    outside = tmp_path / "outside"
    outside.write_bytes(blob.read_bytes())
    blob.unlink()
    blob.symlink_to(outside)
    with pytest.raises(InvalidArgument, match="leads out of the layout"):
        oci_layout.load(layout, other)


def test_containerd_style_archive_keeps_its_manifest(store: ContentStore, other: ContentStore) -> None:
    """containerd's export (Docker with the containerd store): compressed layers named by
    their digests in manifest.json, index.json pointing at an index."""
    image = build_busybox_image(store, ("gzip", "gzip", "zstd"))
    platform_entry = Descriptor(image.manifest.media_type, image.manifest.digest, image.manifest.size,
                                platform=Platform("linux", "amd64"))
    index = ImageIndex([platform_entry]).to_bytes()
    files: dict[str, bytes | tuple[str, str]] = {"oci-layout": b'{"imageLayoutVersion":"1.0.0"}'}
    for digest in image.blobs:
        files[f"blobs/sha256/{digest[7:]}"] = store.read_all(digest)
    files[f"blobs/sha256/{sha(index)[7:]}"] = index
    files["index.json"] = ImageIndex([Descriptor(mediatypes.OCI_INDEX, sha(index), len(index))]).to_bytes()
    files["manifest.json"] = json.dumps([{
        "Config": f"blobs/sha256/{image.config_digest[7:]}", "RepoTags": ["ctr:1"],
        "Layers": [f"blobs/sha256/{layer.digest[7:]}" for layer in image.layers]}]).encode()
    (item,) = docker_archive.load(io.BytesIO(make_tar(files)), other)
    assert item.target == image.manifest
    assert item.diff_ids == image.diff_ids
    for layer in image.layers:
        assert other.info(layer.digest).size == layer.size
