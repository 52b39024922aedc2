"""``GET /distribution/{name}/json`` through dockyardd, against local docker-registries on
127.0.0.1: busybox pushed by the engine (one OCI manifest: the platform comes from its
config), the seeded OCI index (``multi:1``: its entries' platforms), by tag and by digest,
with docker-py's ``images.get_registry_data`` and with raw HTTP over the engine's socket;
an unknown tag or repository is 404, a registry wanting credentials 401 without them or
with wrong ones and 200 with ``X-Registry-Auth``."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from typing import Any

import pytest
from tests.support.engine import DOCKER, RunningEngine
from tests.support.registry import REGISTRY_PASSWORD, REGISTRY_USER, LocalRegistry, Seeded

from dockyard.oci import mediatypes

pytest_plugins = ["tests.support.engine_fixtures", "tests.integration.conftest_registry"]
pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(not os.access(DOCKER, os.X_OK), reason=f"{DOCKER} (docker CLI 28) is not installed"),
]

dockerpy = pytest.importorskip("docker")
AMD64 = {"architecture": "amd64", "os": "linux"}
ARM64 = {"architecture": "arm64", "os": "linux"}
PUSHED = re.compile(r"^latest: digest: (sha256:[0-9a-f]{64}) size: (\d+)$", re.MULTILINE)


@pytest.fixture
def client(engine: RunningEngine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """docker-py on the engine, with a docker config dir of its own (no stored credentials)."""
    monkeypatch.setenv("DOCKER_CONFIG", str(engine.base / "docker-config"))
    py = dockerpy.DockerClient(base_url=engine.host, timeout=60)
    yield py
    py.close()


def push_busybox(engine: RunningEngine, busybox: str, name: str) -> tuple[str, int]:
    """Push the engine's busybox as ``name`` (then untag it): the pushed digest and size."""
    engine.docker("tag", busybox, name)
    try:
        out = engine.docker("push", name).stdout
    finally:
        engine.docker("rmi", name)
    found = PUSHED.search(out)
    assert found is not None, out
    return found.group(1), int(found.group(2))


def get(engine: RunningEngine, name: str) -> tuple[int, dict[str, str], Any]:
    """Status, headers (without ``Date``: two answers may fall in different seconds) and body."""
    status, headers, body = engine.request("GET", f"/v1.47/distribution/{name}/json")
    return status, {k: v for k, v in headers.items() if k != "date"}, json.loads(body)


def test_pushed_busybox_single_manifest(engine: RunningEngine, engine_busybox: str, registry: LocalRegistry,
                                        client: Any) -> None:
    name = f"{registry.host}/dist/busybox:latest"
    digest, size = push_busybox(engine, engine_busybox, name)

    data = client.images.get_registry_data(name)
    assert data.id == digest and data.short_id == digest[:19]
    assert data.attrs == {"Descriptor": {"mediaType": mediatypes.OCI_MANIFEST, "digest": digest, "size": size},
                          "Platforms": [AMD64]}
    assert data.has_platform("linux/amd64") and data.has_platform("linux")
    assert not data.has_platform("linux/arm64")

    status, headers, body = get(engine, name)
    assert status == 200 and headers["content-type"] == "application/json"
    assert body == data.attrs
    # the default tag, and by digest
    assert get(engine, f"{registry.host}/dist/busybox") == (status, headers, body)
    status, _, by_digest = get(engine, f"{registry.host}/dist/busybox@{digest}")
    assert status == 200 and by_digest == body


def test_index_lists_its_platforms(engine: RunningEngine, seeded: Seeded, client: Any) -> None:
    index = seeded.multi.index.desc
    name = f"{seeded.registry.host}/multi:1"
    data = client.images.get_registry_data(name)
    assert data.attrs == {"Descriptor": {"mediaType": mediatypes.OCI_INDEX, "digest": index.digest,
                                         "size": index.size},
                          "Platforms": [AMD64, ARM64]}
    assert data.has_platform("linux/arm64") and data.has_platform("linux/amd64")
    assert not data.has_platform("linux/arm/v7")
    status, _, body = get(engine, f"{seeded.registry.host}/multi@{index.digest}")
    assert status == 200 and body == data.attrs
    # an entry by its digest is a single manifest: its config's platform
    status, _, entry = get(engine, f"{seeded.registry.host}/multi@{seeded.arm64.manifest.desc.digest}")
    assert status == 200 and entry["Platforms"] == [ARM64]
    assert entry["Descriptor"]["digest"] == seeded.arm64.manifest.desc.digest


def test_unknown_tag_repository_and_bad_names(engine: RunningEngine, seeded: Seeded, client: Any) -> None:
    host = seeded.registry.host
    status, _, body = get(engine, f"{host}/busybox:nope")
    assert (status, body) == (404, {"message": f"manifest unknown: {host}/busybox:nope not found"})
    status, _, body = get(engine, f"{host}/no/such/repo")
    assert status == 404 and body["message"].endswith(f"{host}/no/such/repo:latest not found")
    with pytest.raises(dockerpy.errors.NotFound):
        client.images.get_registry_data(f"{host}/busybox:nope")
    status, _, body = get(engine, "Busybox")
    assert status == 400 and body["message"].startswith("invalid reference format")


def test_credentials_from_x_registry_auth(engine: RunningEngine, engine_busybox: str,
                                          auth_registry: LocalRegistry, client: Any) -> None:
    host = auth_registry.host
    name = f"{host}/dist/private:latest"
    good = {"username": REGISTRY_USER, "password": REGISTRY_PASSWORD, "serveraddress": host}
    client.images.get(engine_busybox).tag(name)
    try:
        for line in client.images.push(name, auth_config=good, stream=True, decode=True):
            assert "error" not in line, line
    finally:
        client.images.remove(name)

    with pytest.raises(dockerpy.errors.APIError) as info:
        client.images.get_registry_data(name)
    assert info.value.status_code == 401 and "log in first" in str(info.value)
    with pytest.raises(dockerpy.errors.APIError) as info:
        client.images.get_registry_data(name, auth_config={**good, "password": "wrong"})
    assert info.value.status_code == 401
    data = client.images.get_registry_data(name, auth_config=good)
    assert data.attrs["Platforms"] == [AMD64]
    assert data.attrs["Descriptor"]["mediaType"] == mediatypes.OCI_MANIFEST
