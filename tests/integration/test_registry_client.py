"""The registry client against a real registry (Debian's docker-registry) and stubs for faults."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.support.registry import (
    REGISTRY_PASSWORD,
    REGISTRY_USER,
    Image,
    LocalRegistry,
    Seeded,
    busybox_layer,
    fast_client,
    make_image,
    make_layer,
    push_with_skopeo,
    store_image,
    store_state,
)
from tests.support.registry_stub import StubRegistry, StubState

from dockyard.containerd.content import ContentStore
from dockyard.containerd.metadata.db import DB
from dockyard.containerd.registry import (
    Credentials,
    DockerConfig,
    LayerFeed,
    Progress,
    pull,
    push,
)
from dockyard.containerd.registry.unpacking import SnapshotApplier
from dockyard.containerd.snapshots.native import NativeSnapshotter
from dockyard.errors import InvalidArgument, NotFound, PermissionDenied
from dockyard.oci import mediatypes
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.platform import Platform

pytest_plugins = ["tests.integration.conftest_registry"]


def _phases(events: list[Progress], digest: str) -> list[str]:
    out: list[str] = []
    for event in events:
        if event.digest == digest and (not out or out[-1] != event.phase):
            out.append(event.phase)
    return out


# -- pull ----------------------------------------------------------------------------------


def test_pull_by_tag(seeded: Seeded, store: ContentStore) -> None:
    image = seeded.single
    events: list[Progress] = []
    with fast_client(seeded.registry.host) as client:
        result = pull(f"{seeded.registry.host}/busybox:latest", store, client=client, progress=events.append)
    assert result.index is None
    assert result.target == result.manifest
    assert result.manifest.digest == image.manifest.desc.digest
    assert result.config.digest == image.config.desc.digest
    assert [layer.digest for layer in result.layers] == [layer.blob.desc.digest for layer in image.layers]
    assert result.image_config.diff_ids == [layer.diff_id for layer in image.layers]
    for blob in image.blobs():
        assert store.read_all(blob.desc.digest) == blob.data
    assert store_state(store)[1] == []  # no ingest left
    layer = image.layers[0].blob.desc
    assert _phases(events, layer.digest) == ["Waiting", "Downloading", "Verifying Checksum", "Download complete"]
    downloading = [e for e in events if e.digest == layer.digest and e.phase == "Downloading"]
    assert downloading[-1].current == downloading[-1].total == layer.size
    assert all(e.id == layer.digest[7:19] for e in downloading)

    again: list[Progress] = []
    with fast_client(seeded.registry.host) as client:
        pull(f"{seeded.registry.host}/busybox", store, client=client, progress=again.append)
    assert _phases(again, layer.digest) == ["Waiting", "Already exists"]


def test_resolve_heads_the_manifest(seeded: Seeded) -> None:
    with fast_client(seeded.registry.host) as client:
        desc = client.resolve(f"{seeded.registry.host}/multi:1")
        assert desc == Descriptor(mediatypes.OCI_INDEX, seeded.multi.index.desc.digest, seeded.multi.index.desc.size)
        assert client.fetch_manifest("multi", desc) == seeded.multi.index.data


def test_pull_index_picks_the_host_platform_by_default(seeded: Seeded, store: ContentStore) -> None:
    with fast_client(seeded.registry.host) as client:
        result = pull(f"{seeded.registry.host}/multi:1", store, client=client)
        explicit = pull(f"{seeded.registry.host}/multi:1", store, client=client, platform="linux/amd64")
    assert result.index is not None and result.index.digest == seeded.multi.index.desc.digest
    assert result.manifest.digest == explicit.manifest.digest == seeded.amd64.manifest.desc.digest
    assert result.platform == Platform("linux", "amd64")
    assert store.read_all(seeded.multi.index.desc.digest) == seeded.multi.index.data
    assert not any(info.digest == seeded.arm64.manifest.desc.digest for info in store.list())


def test_pull_other_platform(seeded: Seeded, store: ContentStore) -> None:
    with fast_client(seeded.registry.host) as client:
        result = pull(f"{seeded.registry.host}/multi:1", store, client=client, platform="linux/arm64")
    assert result.manifest.digest == seeded.arm64.manifest.desc.digest
    assert result.image_config.architecture == "arm64"
    assert store.read_all(seeded.arm64.layers[1].blob.desc.digest) == b"".join([seeded.arm64.layers[1].blob.data])


def test_pull_unknown_platform_lists_the_available(seeded: Seeded, store: ContentStore) -> None:
    with fast_client(seeded.registry.host) as client, pytest.raises(NotFound) as info:
        pull(f"{seeded.registry.host}/multi:1", store, client=client, platform="linux/s390x")
    assert "linux/s390x" in str(info.value) and "linux/amd64, linux/arm64" in str(info.value)
    assert store_state(store) == ([], [])


def test_pull_by_digest(seeded: Seeded, store: ContentStore) -> None:
    host = seeded.registry.host
    with fast_client(host) as client:
        by_index = pull(f"{host}/multi@{seeded.multi.index.desc.digest}", store, client=client, platform="linux/arm64")
        assert by_index.manifest.digest == seeded.arm64.manifest.desc.digest
        direct = pull(f"{host}/multi@{seeded.amd64.manifest.desc.digest}", store, client=client)
        assert direct.index is None and direct.manifest.digest == seeded.amd64.manifest.desc.digest
        with pytest.raises(NotFound, match="does not match the specified platform: wanted linux/arm64"):
            pull(f"{host}/multi@{seeded.amd64.manifest.desc.digest}", store, client=client, platform="linux/arm64")


def test_pull_applies_layers_while_they_download(seeded: Seeded, tmp_path: Path, store: ContentStore) -> None:
    snapshotter = NativeSnapshotter(str(tmp_path / "snapshots"))
    applier = SnapshotApplier(snapshotter)
    events: list[Progress] = []
    try:
        with fast_client(seeded.registry.host) as client:
            result = pull(f"{seeded.registry.host}/multi:1", store, client=client, applier=applier,
                          progress=events.append)
        assert [r.diff_id for r in applier.results] == result.image_config.diff_ids
        mounts = snapshotter.view("check", applier.chain_ids[-1])
        root = Path(mounts[0].source)
        assert (root / "etc/arch").read_bytes() == b"amd64\n"
        assert (root / "bin/busybox").read_bytes() == Path("/bin/busybox").read_bytes()
        assert os.readlink(root / "bin/sh") == "busybox"
        snapshotter.remove("check")
        for layer in result.layers:
            seen = _phases(events, layer.digest)
            assert "Extracting" in seen and seen[-1] == "Pull complete"
    finally:
        snapshotter.close()


def test_applier_sees_layers_in_order_with_verified_bytes(seeded: Seeded, store: ContentStore) -> None:
    seen: list[tuple[int, str, bytes]] = []

    def applier(index: int, layer: Descriptor, diff_id: str, feed: LayerFeed) -> None:
        data = bytearray()
        while piece := feed.read(65536):
            data += piece
        seen.append((index, diff_id, bytes(data)))

    with fast_client(seeded.registry.host) as client:
        pull(f"{seeded.registry.host}/multi:1", store, client=client, applier=applier, platform="linux/arm64")
    assert [(n, d) for n, d, _ in seen] == [(n, layer.diff_id) for n, layer in enumerate(seeded.arm64.layers)]
    assert [data for _, _, data in seen] == [layer.blob.data for layer in seeded.arm64.layers]


def test_applier_failure_stops_the_pull(seeded: Seeded, store: ContentStore) -> None:
    def applier(index: int, layer: Descriptor, diff_id: str, feed: LayerFeed) -> None:
        raise InvalidArgument('layer entry "../x": path escapes the root')

    with fast_client(seeded.registry.host) as client, pytest.raises(InvalidArgument, match="escapes the root"):
        pull(f"{seeded.registry.host}/busybox:latest", store, client=client, applier=applier)
    assert seeded.single.manifest.desc.digest not in store_state(store)[0]


# -- push ----------------------------------------------------------------------------------


def test_push_then_pull_round_trip_in_chunks(registry: LocalRegistry, tmp_path: Path) -> None:
    image = make_image([busybox_layer(), make_layer({"hello": b"round trip\n"})], docker=True)
    source = ContentStore(tmp_path / "source")
    store_image(source, image)
    events: list[Progress] = []
    ref = f"{registry.host}/roundtrip:v1"
    with fast_client(registry.host, chunk_size=256 << 10, monolithic_limit=64 << 10) as client:
        result = push(ref, source, image.manifest.desc, client=client, progress=events.append)
        assert sorted(result.pushed) == sorted([image.config.desc.digest,
                                                *(layer.blob.desc.digest for layer in image.layers)])
        big = image.layers[0].blob.desc
        assert _phases(events, big.digest) == ["Preparing", "Waiting", "Pushing", "Pushed"]
        assert len([e for e in events if e.digest == big.digest and e.phase == "Pushing"]) > 1
        target = ContentStore(tmp_path / "target")
        pulled = pull(ref, target, client=client)
    assert pulled.manifest.digest == image.manifest.desc.digest
    assert pulled.manifest.media_type == mediatypes.DOCKER_MANIFEST
    for blob in image.blobs():
        assert target.read_all(blob.desc.digest) == blob.data
    inspect = subprocess.run(["skopeo", "inspect", "--tls-verify=false", "--raw", f"docker://{ref}"],
                             capture_output=True, check=True, timeout=60)
    assert inspect.stdout == image.manifest.data  # another client reads what we pushed


def test_push_skips_existing_blobs_and_mounts_across_repositories(registry: LocalRegistry, tmp_path: Path) -> None:
    image = make_image([make_layer({"mount-test": os.urandom(2048)})])
    source = ContentStore(tmp_path / "source")
    store_image(source, image)
    host = registry.host
    blobs = sorted([image.config.desc.digest, image.layers[0].blob.desc.digest])
    with fast_client(host) as client:
        first = push(f"{host}/mount-a:1", source, image.manifest.desc, client=client)
        assert sorted(first.pushed) == blobs
        events: list[Progress] = []
        again = push(f"{host}/mount-a:2", source, image.manifest.desc, client=client, progress=events.append)
        assert sorted(again.existing) == blobs and again.pushed == []
        assert "Layer already exists" in _phases(events, image.layers[0].blob.desc.digest)
        events.clear()
        mounted = push(f"{host}/mount-b:1", source, image.manifest.desc, client=client, mount_from=["mount-a"],
                       progress=events.append)
        assert sorted(mounted.mounted) == blobs and mounted.pushed == []
        assert "Mounted from mount-a" in _phases(events, image.layers[0].blob.desc.digest)
        assert client.exists_blob("mount-b", image.layers[0].blob.desc.digest)
        assert client.list_tags("mount-b") == ["1"]


def test_push_mounts_from_where_a_pull_found_the_blob(seeded: Seeded, tmp_path: Path) -> None:
    host = seeded.registry.host
    db = DB(tmp_path / "meta.db", ContentStore(tmp_path / "shared"))
    try:
        content = db.content("default")
        with fast_client(host) as client:
            pulled = pull(f"{host}/busybox:latest", content, client=client)
            label = content.info(pulled.layers[0].digest).labels
            assert label["containerd.io/distribution.source." + host] == "busybox"
            assert content.info(pulled.manifest.digest).labels["containerd.io/gc.ref.content.l.0"] == \
                pulled.layers[0].digest
            result = push(f"{host}/labelled:1", content, pulled.target, client=client)
        assert pulled.layers[0].digest in result.mounted
    finally:
        db.close()


def test_push_index_needs_every_manifest(seeded: Seeded, store: ContentStore) -> None:
    host = seeded.registry.host
    with fast_client(host) as client:
        result = pull(f"{host}/multi:1", store, client=client)  # amd64 only
        with pytest.raises(NotFound, match=f"manifest {seeded.arm64.manifest.desc.digest} .linux/arm64. is not in"):
            push(f"{host}/multi-copy:1", store, result.target, client=client)
        pull(f"{host}/multi:1", store, client=client, platform="linux/arm64")
        pushed = push(f"{host}/multi-copy:1", store, result.target, client=client)
        assert pushed.digest == seeded.multi.index.desc.digest
        assert client.resolve(f"{host}/multi-copy:1").digest == seeded.multi.index.desc.digest


def test_chunked_upload_resumes_where_the_registry_stands() -> None:
    data = os.urandom(100_000)
    desc = Descriptor.for_bytes(mediatypes.OCI_LAYER, data)
    state = StubState(fail_patch={2})
    with StubRegistry(state) as stub, fast_client(stub.host, chunk_size=30_000, monolithic_limit=10_000) as client:
        sent: list[int] = []
        assert client.push_blob("app", desc, data, on_progress=sent.append) == ("pushed", "")
        assert state.blobs[desc.digest] == data
    methods = [(method, headers.get("Content-Range")) for method, path, headers in state.log if "uploads" in path]
    assert methods == [("POST", None), ("PATCH", "0-29999"), ("PATCH", "30000-59999"), ("GET", None),
                       ("PATCH", "45000-74999"), ("PATCH", "75000-99999"), ("PUT", None)]
    assert sent[-1] == len(data)


def test_list_tags(registry: LocalRegistry) -> None:
    image = make_image([make_layer({"tags": b"t"})])
    with fast_client(registry.host) as client:
        for blob in [image.config, *(layer.blob for layer in image.layers)]:
            assert client.push_blob("tagged", blob.desc, blob.data) == ("pushed", "")
        tags = [f"t{n}" for n in range(7)]
        for tag in tags:
            assert client.push_manifest("tagged", tag, image.manifest.desc.media_type, image.manifest.data) == \
                image.manifest.desc.digest
        assert sorted(client.list_tags("tagged")) == tags
        with pytest.raises(NotFound, match=f"{registry.host}/never-pushed not found"):
            client.list_tags("never-pushed")


def test_list_tags_follows_link_pages() -> None:
    state = StubState(tags={"app": [f"v{n}" for n in range(7)], "empty": []})
    with StubRegistry(state) as stub, fast_client(stub.host) as client:
        assert client.list_tags("app", page_size=3) == [f"v{n}" for n in range(7)]
        assert client.list_tags("empty") == []
    pages = [headers for method, path, headers in state.log if path == "/v2/app/tags/list"]
    assert len(pages) == 3


# -- auth ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def auth_seeded(auth_registry: LocalRegistry, tmp_path_factory: pytest.TempPathFactory) -> Image:
    image = make_image([make_layer({"private": b"only with a password\n"})])
    push_with_skopeo(tmp_path_factory.mktemp("auth-seed"), image.blobs(), image.manifest.desc,
                     f"{auth_registry.host}/private:1", creds=f"{REGISTRY_USER}:{REGISTRY_PASSWORD}")
    return image


def test_basic_auth_with_credentials_from_docker_config(
        auth_registry: LocalRegistry, auth_seeded: Image, store: ContentStore,
        docker_config: Callable[[dict[str, dict[str, str]]], Path]) -> None:
    path = docker_config({auth_registry.host: {"username": REGISTRY_USER, "password": REGISTRY_PASSWORD}})
    config = DockerConfig.load(env={"DOCKER_CONFIG": str(path.parent)})
    with fast_client(auth_registry.host, credentials=config) as client:
        result = pull(f"{auth_registry.host}/private:1", store, client=client)
        assert client.transport.authorizer.scheme == "basic"
        pushed = push(f"{auth_registry.host}/private:copy", store, result.target, client=client)
        assert pushed.digest == auth_seeded.manifest.desc.digest
        assert sorted(client.list_tags("private")) == ["1", "copy"]


def test_wrong_password_is_permission_denied(auth_registry: LocalRegistry, auth_seeded: Image,
                                             store: ContentStore) -> None:
    with fast_client(auth_registry.host, credentials=Credentials(REGISTRY_USER, "wrong")) as client, \
            pytest.raises(PermissionDenied) as info:
        pull(f"{auth_registry.host}/private:1", store, client=client)
    assert f"{auth_registry.host}/private:1" in str(info.value)
    assert store_state(store) == ([], [])


def test_no_credentials_is_permission_denied_with_a_hint(auth_registry: LocalRegistry, auth_seeded: Image,
                                                         store: ContentStore) -> None:
    with fast_client(auth_registry.host) as client, pytest.raises(PermissionDenied, match="no credentials for"):
        client.resolve(f"{auth_registry.host}/private:1")


def test_bearer_token_auth(store: ContentStore) -> None:
    image = make_image([make_layer({"bearer": b"token please\n"})])
    state = StubState(bearer_user=("tok", "en"))
    with StubRegistry(state) as stub:
        state.blobs = {blob.desc.digest: blob.data for blob in image.blobs()}
        stub.add_manifest("app", "1", image.manifest.desc.media_type, image.manifest.data)
        with fast_client(stub.host, credentials=Credentials("tok", "en")) as client:
            result = pull(f"{stub.host}/app:1", store, client=client)
            assert result.manifest.digest == image.manifest.desc.digest
            assert client.transport.authorizer.scheme == "bearer"
        token_requests = [entry for entry in state.log if entry[1] == "/token"]
        assert len(token_requests) == 1  # one token for the scope, reused by every request
        with fast_client(stub.host, credentials=Credentials("tok", "bad")) as client, \
                pytest.raises(PermissionDenied, match="authentication failed for user 'tok'"):
            client.resolve(f"{stub.host}/app:1")
