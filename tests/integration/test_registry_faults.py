"""The registry client on bad input: unknown names, failing, hanging and lying registries."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.registry import (
    LocalRegistry,
    Seeded,
    fast_client,
    make_image,
    make_layer,
    push_with_skopeo,
    store_image,
    store_state,
)
from tests.support.registry_stub import HangingServer, StubRegistry, StubState

from dockyard.containerd.content import ContentStore
from dockyard.containerd.registry import (
    pull,
)
from dockyard.errors import InvalidArgument, NotFound, Unavailable
from dockyard.oci import mediatypes
from dockyard.oci.descriptor import Descriptor

pytest_plugins = ["tests.integration.conftest_registry"]


# -- bad input -----------------------------------------------------------------------------


def test_unknown_repository_and_tag(seeded: Seeded, store: ContentStore) -> None:
    host = seeded.registry.host
    with fast_client(host) as client:
        with pytest.raises(NotFound) as info:
            pull(f"{host}/busybox:nope", store, client=client)
        assert str(info.value) == f"manifest unknown: {host}/busybox:nope not found"
        with pytest.raises(NotFound, match=f"{host}/no/such/repo:latest not found"):
            pull(f"{host}/no/such/repo", store, client=client)
        with pytest.raises(NotFound, match="blob unknown"):
            client.fetch_blob("busybox", Descriptor(mediatypes.OCI_LAYER, "sha256:" + "1" * 64, 3),
                              store.writer("x"))
    assert store_state(store)[0] == []


def test_registry_answering_500_is_unavailable_after_retries(store: ContentStore) -> None:
    state = StubState(always=500)
    with StubRegistry(state) as stub, fast_client(stub.host, retries=3) as client:
        started = time.monotonic()
        with pytest.raises(Unavailable) as info:
            pull(f"{stub.host}/app:1", store, client=client)
        assert time.monotonic() - started < 5
    assert "answered HTTP 500 Internal Server Error" in str(info.value) and "after 4 attempts" in str(info.value)
    assert len(state.log) == 4


def test_retry_after_is_honoured(store: ContentStore) -> None:
    state = StubState(always=429, retry_after="1")
    with StubRegistry(state) as stub, fast_client(stub.host, retries=1) as client:
        started = time.monotonic()
        with pytest.raises(Unavailable, match="after 2 attempts"):
            client.resolve(f"{stub.host}/app:1")
        assert time.monotonic() - started >= 0.9


def test_hanging_registry_times_out_quickly(store: ContentStore) -> None:
    with HangingServer() as server, fast_client(server.host, timeout=0.3, retries=1) as client:
        started = time.monotonic()
        with pytest.raises(Unavailable, match=r"timed out after 0\.3s"):
            pull(f"{server.host}/app:1", store, client=client)
        assert time.monotonic() - started < 3
    assert store_state(store) == ([], [])


def test_tampered_manifest_is_rejected_and_nothing_stored(store: ContentStore) -> None:
    image = make_image([make_layer({"m": b"manifest\n"})])
    tampered = image.manifest.data.replace(b'"schemaVersion":2', b'"schemaVersion":2 ')
    state = StubState()
    with StubRegistry(state) as stub:
        state.blobs = {blob.desc.digest: blob.data for blob in image.blobs()}
        digest = stub.add_manifest("app", "1", image.manifest.desc.media_type, image.manifest.data)
        state.manifests[("app", digest)] = (image.manifest.desc.media_type, tampered)  # what GET by digest serves
        with fast_client(stub.host) as client, pytest.raises(InvalidArgument) as info:
            pull(f"{stub.host}/app:1", store, client=client)
        assert f"{stub.host}/app@{digest}: digest mismatch" in str(info.value)
        state.digest_header["2"] = "sha256:" + "2" * 64  # a GET by tag whose header lies
        stub.add_manifest("app", "2", "", image.manifest.data)  # no type: HEAD is not enough, GET
        with fast_client(stub.host) as client, pytest.raises(InvalidArgument, match="digest mismatch"):
            client.resolve(f"{stub.host}/app:2")
    assert store_state(store) == ([], [])


def test_corrupted_manifest_in_registry_storage_is_rejected(registry: LocalRegistry, store: ContentStore,
                                                            tmp_path: Path) -> None:
    image = make_image([make_layer({"corrupt-manifest": os.urandom(64)})])
    push_with_skopeo(tmp_path, image.blobs(), image.manifest.desc, f"{registry.host}/corrupt-manifest:1")
    path = registry.blob_data_path(image.manifest.desc.digest)
    data = path.read_bytes()
    config_hex = image.config.desc.digest.split(":")[1].encode()
    flipped = (b"0" if config_hex[:1] != b"0" else b"1") + config_hex[1:]
    path.write_bytes(data.replace(config_hex, flipped))  # same size, still valid JSON
    with fast_client(registry.host) as client, pytest.raises(InvalidArgument, match="digest mismatch"):
        pull(f"{registry.host}/corrupt-manifest:1", store, client=client)
    assert store_state(store) == ([], [])


def test_truncated_blob_is_rejected_and_the_store_is_as_it_was(registry: LocalRegistry, tmp_path: Path) -> None:
    image = make_image([make_layer({"truncated": os.urandom(200_000)})])
    push_with_skopeo(tmp_path, image.blobs(), image.manifest.desc, f"{registry.host}/truncated:1")
    layer = image.layers[0].blob.desc
    path = registry.blob_data_path(layer.digest)
    path.write_bytes(path.read_bytes()[: layer.size // 2])
    store = ContentStore(tmp_path / "content")
    store_image(store, make_image([make_layer({"other": b"x"})]))  # something that was there before
    before = store_state(store)
    with fast_client(registry.host) as client, pytest.raises(InvalidArgument, match="truncated"):
        pull(f"{registry.host}/truncated:1", store, client=client)
    assert store_state(store) == before


def test_interrupted_blob_download_resumes_with_a_range(store: ContentStore) -> None:
    image = make_image([make_layer({"resume": os.urandom(300_000)})])
    layer = image.layers[0].blob
    state = StubState(cut_once={layer.desc.digest: 100_000})
    with StubRegistry(state) as stub:
        state.blobs = {blob.desc.digest: blob.data for blob in image.blobs()}
        stub.add_manifest("app", "1", image.manifest.desc.media_type, image.manifest.data)
        with fast_client(stub.host) as client:
            pull(f"{stub.host}/app:1", store, client=client)
    assert store.read_all(layer.desc.digest) == layer.data
    ranges = [headers.get("Range") for method, path, headers in state.log if path.endswith(layer.desc.digest)]
    assert ranges[0] is None and ranges[1] == "bytes=100000-"


def test_partial_ingest_from_an_earlier_pull_resumes(seeded: Seeded, store: ContentStore) -> None:
    layer = seeded.single.layers[0].blob
    with store.writer(f"layer-{layer.desc.digest}", layer.desc.digest, layer.desc.size) as writer:
        writer.write(layer.data[:1000])  # a pull that died after 1000 bytes
    with fast_client(seeded.registry.host) as client:
        pull(f"{seeded.registry.host}/busybox:latest", store, client=client)
    assert store.read_all(layer.desc.digest) == layer.data
    assert store_state(store)[1] == []


def _outside_address() -> str | None:
    """An address of this host that is not loopback, if it has one."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.connect(("192.0.2.1", 9))  # no packet is sent
            address = str(sock.getsockname()[0])
    except OSError:
        return None
    return None if address.startswith("127.") else address


@pytest.fixture
def outside_stub() -> Iterator[StubRegistry]:
    address = _outside_address()
    if address is None:
        pytest.skip("no non-loopback address on this host")
    with StubRegistry(address=address) as stub:
        yield stub


def test_plain_http_only_for_loopback_or_insecure(outside_stub: StubRegistry) -> None:
    with fast_client(outside_stub.host, retries=0) as client, pytest.raises(Unavailable) as info:
        client.ping()
    assert "TLS failed" in str(info.value) and "insecure registry" in str(info.value)
    with fast_client(outside_stub.host, insecure=True) as client:
        client.ping()
