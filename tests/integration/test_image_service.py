"""Images end to end against a real registry: pull two images that share layers into one
namespace, unpack them into overlay snapshots, remove one and collect garbage: what the
other uses stays (blobs and snapshots, still mountable); removing the last leaves nothing."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.registry import LocalRegistry, busybox_layer, fast_client, make_image, make_layer, push_with_skopeo
from tests.support.registry_stub import StubRegistry, StubState

from dockyard.containerd.content import ContentStore
from dockyard.containerd.image_service import LABEL_GC_SNAPSHOT, ImageService
from dockyard.containerd.metadata.db import DB
from dockyard.containerd.mount import mounted
from dockyard.containerd.snapshots import KIND_COMMITTED
from dockyard.containerd.snapshots.overlay import OverlaySnapshotter
from dockyard.errors import NotFound

pytest_plugins = ["tests.integration.conftest_registry"]
pytestmark = pytest.mark.root


class Host:
    def __init__(self, root: Path) -> None:
        self.content = ContentStore(root / "content")
        self.overlay = OverlaySnapshotter(str(root / "overlay"))
        self.db = DB(root / "meta.db", content=self.content, snapshotters={"overlayfs": self.overlay})
        self.service = ImageService(self.db)

    def committed(self) -> set[str]:
        """Committed snapshot names in the namespace; the backend holds exactly as many."""
        names = {i.name for i in self.db.snapshotter("overlayfs", "default").walk() if i.kind == KIND_COMMITTED}
        assert len([i for i in self.overlay.walk() if i.kind == KIND_COMMITTED]) == len(names)
        return names

    def blobs(self) -> set[str]:
        return {info.digest for info in self.content.walk()}

    def close(self) -> None:
        self.db.close()
        self.overlay.close()


@pytest.fixture
def host(tmp_path: Path) -> Iterator[Host]:
    h = Host(tmp_path / "host")
    yield h
    h.close()


def test_shared_layers_survive_removal_of_one_image(host: Host, registry: LocalRegistry, tmp_path: Path) -> None:
    base = busybox_layer()
    app = make_image([base, make_layer({"app/one": b"first app\n"})])
    other = make_image([base, make_layer({"app/two": b"second app\n"})])
    for name, image in (("app", app), ("other", other)):
        push_with_skopeo(tmp_path, image.blobs(), image.manifest.desc, f"{registry.host}/shared/{name}:1")
    client = fast_client(registry.host)
    first = host.service.pull("default", f"{registry.host}/shared/app:1", client=client)
    second = host.service.pull("default", f"{registry.host}/shared/other:1", client=client)

    assert first.chain_ids[0] == second.chain_ids[0]  # the busybox layer is unpacked once
    assert len(host.committed()) == 3
    config = host.db.content("default").info(second.pulled.config.digest)
    assert config.labels[LABEL_GC_SNAPSHOT + "overlayfs"] == second.chain_ids[-1]
    assert {i.name for i in host.service.list("default")} == {
        f"{registry.host}/shared/app:1", f"{registry.host}/shared/other:1"}

    result = host.service.remove("default", f"{registry.host}/shared/app:1")
    assert result is not None
    assert host.committed() == set(second.chain_ids)
    assert set(host.blobs()) == {b.desc.digest for b in other.blobs()}
    view = host.db.snapshotter("overlayfs", "default").view("check", second.chain_ids[-1])
    with mounted(view) as root:
        assert Path(root, "app/two").read_text() == "second app\n"
        assert os.access(Path(root, "bin/busybox"), os.X_OK)
        assert not Path(root, "app/one").exists()
    host.db.snapshotter("overlayfs", "default").remove("check")

    host.service.remove("default", f"{registry.host}/shared/other:1")
    assert host.committed() == set()
    assert host.blobs() == set()
    assert list(host.overlay.walk()) == []


def test_pull_again_points_the_name_at_the_new_image(host: Host, registry: LocalRegistry, tmp_path: Path) -> None:
    ref = f"{registry.host}/moving/tag:latest"
    old = make_image([make_layer({"v": b"1\n"})])
    new = make_image([make_layer({"v": b"2\n"})])
    client = fast_client(registry.host)
    push_with_skopeo(tmp_path, old.blobs(), old.manifest.desc, ref)
    host.service.pull("default", ref, client=client)
    push_with_skopeo(tmp_path, new.blobs(), new.manifest.desc, ref)
    pulled = host.service.pull("default", ref, client=client)
    assert host.db.images("default").get(ref).target.digest == new.manifest.desc.digest
    from dockyard.containerd import gc

    gc.collect(host.db)  # the old image's blobs and snapshot are garbage now
    assert host.blobs() == {b.desc.digest for b in new.blobs()}
    assert host.committed() == set(pulled.chain_ids)


def test_failed_pull_leaves_the_store_as_it_was(host: Host, registry: LocalRegistry, tmp_path: Path) -> None:
    """The first layer arrives and is unpacked, the second is missing: no blob, snapshot, image
    or lease of that pull remains."""
    kept = make_image([make_layer({"kept": b"k\n"})])
    push_with_skopeo(tmp_path, kept.blobs(), kept.manifest.desc, f"{registry.host}/kept/image:1")
    host.service.pull("default", f"{registry.host}/kept/image:1", client=fast_client(registry.host))
    before = (host.blobs(), host.committed())
    broken = make_image([make_layer({"a": b"a\n"}), make_layer({"b": b"b\n"})])
    state = StubState()
    with StubRegistry(state) as stub:
        state.blobs = {b.desc.digest: b.data for b in broken.blobs() if b is not broken.layers[1].blob}
        stub.add_manifest("app", "1", broken.manifest.desc.media_type, broken.manifest.data)
        with pytest.raises(NotFound):
            host.service.pull("default", f"{stub.host}/app:1", client=fast_client(stub.host))
    assert (host.blobs(), host.committed()) == before
    assert [i.name for i in host.service.list("default")] == [f"{registry.host}/kept/image:1"]
    assert host.db.leases("default").list() == []
