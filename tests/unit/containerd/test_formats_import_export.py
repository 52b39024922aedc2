"""import_rootfs (docker import) and export_snapshot (docker export) with a content store in
a temporary directory."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
from pathlib import Path

import pytest
import zstandard
from tests.support.images import busybox_layers

from dockyard.containerd.content import ContentStore
from dockyard.containerd.formats.import_export import export_snapshot, import_rootfs
from dockyard.containerd.metadata import DB
from dockyard.containerd.snapshots import Mount
from dockyard.errors import InvalidArgument
from dockyard.oci import mediatypes
from dockyard.oci.image import Manifest
from dockyard.oci.image_config import parse_image_config


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture
def store(tmp_path: Path) -> ContentStore:
    return ContentStore(tmp_path / "store")


@pytest.mark.parametrize("kind", ["none", "gzip", "zstd"])
def test_import_rootfs(store: ContentStore, kind: str) -> None:
    rootfs = busybox_layers()[0]
    data = {"none": rootfs, "gzip": gzip.compress(rootfs), "zstd": zstandard.ZstdCompressor().compress(rootfs)}[kind]
    desc = import_rootfs(io.BytesIO(data), store, config_overrides={"Cmd": ["/bin/sh"], "Env": ["A=1"]},
                         platform="linux/arm64")
    assert desc.media_type == mediatypes.OCI_MANIFEST
    assert str(desc.platform) == "linux/arm64"
    manifest = Manifest.from_dict(json.loads(store.read_all(desc.digest)))
    (layer,) = manifest.layers
    assert layer.media_type == mediatypes.OCI_LAYER_GZIP
    assert gzip.decompress(store.read_all(layer.digest)) == rootfs
    config = parse_image_config(store.read_all(manifest.config.digest))
    assert config.diff_ids == [sha(rootfs)]
    assert (config.os, config.architecture) == ("linux", "arm64")
    assert config.config.cmd == ["/bin/sh"]
    assert config.config.env == ["A=1"]
    (history,) = config.history
    assert history.comment == "Imported from -"
    assert history.created == config.created
    assert config.created.endswith("Z")
    assert store.list_statuses() == []


def test_import_records_the_image(tmp_path: Path) -> None:
    db = DB(tmp_path / "meta.db", ContentStore(tmp_path / "shared"))
    content = db.content("default")
    desc = import_rootfs(io.BytesIO(busybox_layers()[0]), content, name="docker.io/library/imported:latest",
                         images=db.images("default"), db=db, message="from a test")
    image = db.images("default").get("docker.io/library/imported:latest")
    assert image.target.digest == desc.digest
    manifest = Manifest.from_dict(json.loads(content.read_all(desc.digest)))
    layer_info = content.info(manifest.layers[0].digest)
    assert layer_info.labels["containerd.io/uncompressed"] == sha(busybox_layers()[0])
    config = parse_image_config(content.read_all(manifest.config.digest))
    assert config.history[0].comment == "from a test"
    db.close()


@pytest.mark.parametrize("data", [b"", b"not a tar at all" * 100, gzip.compress(b"x" * 1000), b"\x1f\x8b\x08junk"])
def test_import_refuses_what_is_not_a_tar(store: ContentStore, data: bytes) -> None:
    with pytest.raises(InvalidArgument, match="import"):
        import_rootfs(io.BytesIO(data), store)
    assert store.list() == []
    assert store.list_statuses() == []
    assert list((store.root / "ingest").iterdir()) == []


def test_import_empty_tar(store: ContentStore) -> None:
    desc = import_rootfs(io.BytesIO(bytes(10240)), store)
    assert store.info(desc.digest).size == desc.size


def make_tree(root: Path) -> None:
    (root / "bin").mkdir(parents=True)
    (root / "bin/busybox").write_bytes(b"\x7fELF" + b"x" * 5000)
    (root / "bin/busybox").chmod(0o755)
    (root / "bin/sh").symlink_to("busybox")
    os.link(root / "bin/busybox", root / "bin/ls")
    (root / "etc").mkdir()
    (root / "etc/passwd").write_text("root:x:0:0::/root:/bin/sh\n")


def tar_listing(data: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {m.name: m for m in tar.getmembers()}


@pytest.mark.parametrize("as_mounts", [False, True])
def test_export_snapshot(tmp_path: Path, as_mounts: bool) -> None:
    root = tmp_path / "rootfs"
    make_tree(root)
    out = io.BytesIO()
    source = [Mount("bind", str(root), ["rbind", "ro"])] if as_mounts else root
    result = export_snapshot(source, out)
    listing = tar_listing(out.getvalue())
    assert {"bin", "bin/busybox", "bin/sh", "bin/ls", "etc", "etc/passwd"} <= set(listing)
    assert listing["bin/sh"].issym() and listing["bin/sh"].linkname == "busybox"
    assert listing["bin/ls"].islnk() or listing["bin/busybox"].islnk()
    assert listing["bin/busybox"].mode & 0o777 == 0o755 or listing["bin/ls"].mode & 0o777 == 0o755
    assert result.diff_id == sha(out.getvalue())


def test_export_single_lower_overlay_reads_the_directory(tmp_path: Path) -> None:
    root = tmp_path / "lower"
    make_tree(root)
    out = io.BytesIO()
    export_snapshot([Mount("overlay", "overlay", [f"lowerdir={root}"])], out)
    assert "etc/passwd" in tar_listing(out.getvalue())
