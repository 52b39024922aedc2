"""Registry fixtures (load with ``pytest_plugins = ["tests.integration.conftest_registry"]``).

- ``registry``: a ``docker-registry`` on 127.0.0.1 without auth, for the session.
- ``auth_registry``: another one with htpasswd auth (``REGISTRY_USER`` / ``REGISTRY_PASSWORD``).
- ``seeded``: test images pushed into ``registry`` with skopeo (not with our client):
  ``seeded.single`` is ``busybox:latest`` (one OCI manifest, linux/amd64) and
  ``seeded.multi`` is ``multi:1``, an OCI index with linux/amd64 and linux/arm64 entries
  sharing the busybox layer.
- ``store``: an empty content store in the test's temporary directory.
- ``docker_config``: a function writing a docker ``config.json`` into a temporary directory.

Both registries are stopped by PID at the end of the session and their directories removed.
"""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.support.registry import (
    REGISTRY_BINARY,
    REGISTRY_PASSWORD,
    REGISTRY_USER,
    LocalRegistry,
    Seeded,
    busybox_layer,
    make_image,
    make_index,
    make_layer,
    push_with_skopeo,
)

from dockyard.containerd.content import ContentStore
from dockyard.oci.platform import Platform


def _require_tools() -> None:
    for tool in (REGISTRY_BINARY, "htpasswd", "skopeo", "/bin/busybox"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed "
                        "(apt-get install docker-registry apache2-utils skopeo busybox-static)")


@pytest.fixture(scope="session")
def registry() -> Iterator[LocalRegistry]:
    _require_tools()
    with LocalRegistry() as running:
        yield running


@pytest.fixture(scope="session")
def auth_registry() -> Iterator[LocalRegistry]:
    _require_tools()
    with LocalRegistry({REGISTRY_USER: REGISTRY_PASSWORD}) as running:
        yield running


@pytest.fixture(scope="session")
def seeded(registry: LocalRegistry, tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    work = tmp_path_factory.mktemp("seed")
    base = busybox_layer()
    single = make_image([base])
    amd64 = make_image([base, make_layer({"etc/arch": b"amd64\n"})], Platform("linux", "amd64"))
    arm64 = make_image([base, make_layer({"etc/arch": b"arm64\n"})], Platform("linux", "arm64"))
    multi = make_index([amd64, arm64])
    push_with_skopeo(work, single.blobs(), single.manifest.desc, f"{registry.host}/busybox:latest")
    push_with_skopeo(work, multi.blobs(), multi.index.desc, f"{registry.host}/multi:1")
    return Seeded(registry, single, multi)


@pytest.fixture
def store(tmp_path: Path) -> ContentStore:
    return ContentStore(tmp_path / "content")


@pytest.fixture
def docker_config(tmp_path: Path) -> Callable[[dict[str, dict[str, str]]], Path]:
    """``docker_config({"host": {"username": u, "password": p}})`` -> path of a config.json
    (``username``/``password`` pairs are written base64 in ``auth``, as docker login does)."""

    def write(auths: dict[str, dict[str, str]]) -> Path:
        entries = {}
        for host, entry in auths.items():
            if "username" in entry and "password" in entry:
                raw = f"{entry['username']}:{entry['password']}".encode()
                entries[host] = {"auth": base64.b64encode(raw).decode()}
            else:
                entries[host] = dict(entry)
        directory = tmp_path / "docker-config"
        directory.mkdir(exist_ok=True)
        path = directory / "config.json"
        path.write_text(json.dumps({"auths": entries}))
        return path

    return write
