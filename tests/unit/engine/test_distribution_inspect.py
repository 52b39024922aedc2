"""``GET /distribution/{name}/json`` without a registry: the name as a reference, the answer
built from an index, a manifest list and a single manifest (a fake client serves the
documents), the platform read from a config, and the route's statuses (400, 401, 404) and
``X-Registry-Auth`` handling with the remote call replaced."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from tests.unit.engine.engine_fakes import make_context

from dockyard.containerd.registry.credentials import Credentials
from dockyard.engine.api import app as app_mod
from dockyard.engine.api import distribution as distribution_api
from dockyard.engine.distribution_inspect import (
    FULL_IMAGE_ID,
    config_platform,
    describe_image,
    distribution_reference,
    index_platforms,
    inspect_body,
)
from dockyard.errors import InvalidArgument, NotFound, PermissionDenied, Unavailable
from dockyard.oci import mediatypes
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.image import ImageIndex, Manifest
from dockyard.oci.platform import Platform
from dockyard.oci.reference import Reference

Client = TestClient[web.Request, web.Application]
AMD64 = Platform("linux", "amd64")
ARM_V7 = Platform("linux", "arm", "v7")
WINDOWS = Platform("windows", "amd64", os_version="10.0.17763.1", os_features=["win32k"])


def _config(platform: Platform | None, **extra: Any) -> bytes:
    doc: dict[str, Any] = {"rootfs": {"type": "layers", "diff_ids": []}, "config": {}, **extra}
    if platform is not None:
        doc.update({k: v for k, v in platform.to_dict().items()})
    return json.dumps(doc).encode()


# -- the name --------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "expected"), [
    ("busybox", "docker.io/library/busybox:latest"),
    ("127.0.0.1:5000/team/app", "127.0.0.1:5000/team/app:latest"),
    ("127.0.0.1:5000/app:1.2", "127.0.0.1:5000/app:1.2"),
    ("app@sha256:" + "a" * 64, "docker.io/library/app@sha256:" + "a" * 64),
])
def test_reference_defaults_to_latest(name: str, expected: str) -> None:
    assert str(distribution_reference(name)) == expected


@pytest.mark.parametrize("name", ["a" * 64, "sha256:" + "b" * 64])
def test_a_full_image_id_is_refused(name: str) -> None:
    with pytest.raises(InvalidArgument, match=f"^{FULL_IMAGE_ID}$"):
        distribution_reference(name)


@pytest.mark.parametrize(("name", "message"), [
    ("Busybox", "invalid reference format: repository name (library/Busybox) must be lowercase"),
    ("busybox:", "invalid reference format"),
    ("a//b", "invalid reference format"),
])
def test_bad_names_are_invalid_with_dockers_words(name: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        distribution_reference(name)
    assert str(info.value) == message


# -- platforms and the body ------------------------------------------------------------------


def test_index_platforms_keep_order_and_unlabelled_entries() -> None:
    entries = [Descriptor(mediatypes.OCI_MANIFEST, "sha256:" + str(n) * 64, 10, platform=p)
               for n, p in enumerate((AMD64, ARM_V7, None))]
    assert index_platforms(ImageIndex(entries)) == [AMD64, ARM_V7, Platform("", "")]


def test_config_platform_reads_every_field() -> None:
    assert config_platform(_config(WINDOWS)) == WINDOWS
    assert config_platform(_config(ARM_V7)) == ARM_V7


@pytest.mark.parametrize("data", [
    b"not json", b"[1]", _config(None), _config(Platform("", "")),
    json.dumps({"os": "linux", "architecture": 5}).encode(),
    json.dumps({"os": "linux", "architecture": "amd64", "os.features": "x"}).encode(),
])
def test_config_platform_is_none_for_configs_that_name_none(data: bytes) -> None:
    assert config_platform(data) is None


def test_body_has_dockers_shape() -> None:
    desc = Descriptor(mediatypes.OCI_INDEX, "sha256:" + "c" * 64, 743)
    assert inspect_body(desc, [AMD64, WINDOWS, ARM_V7]) == {
        "Descriptor": {"mediaType": mediatypes.OCI_INDEX, "digest": "sha256:" + "c" * 64, "size": 743},
        "Platforms": [
            {"architecture": "amd64", "os": "linux"},
            {"architecture": "amd64", "os": "windows", "os.version": "10.0.17763.1", "os.features": ["win32k"]},
            {"architecture": "arm", "os": "linux", "variant": "v7"},
        ],
    }
    with_urls = Descriptor(mediatypes.DOCKER_MANIFEST, "sha256:" + "d" * 64, 5, urls=["https://x/y"])
    assert inspect_body(with_urls, []) == {
        "Descriptor": {"mediaType": mediatypes.DOCKER_MANIFEST, "digest": "sha256:" + "d" * 64, "size": 5,
                       "urls": ["https://x/y"]},
        "Platforms": [],
    }


# -- the documents, from a fake client -------------------------------------------------------


class FakeClient:
    """resolve / fetch_manifest / fetch_blob over documents in memory, recording the calls."""

    host = "127.0.0.1:5000"

    def __init__(self, top: bytes, media_type: str, blobs: dict[str, bytes] | None = None) -> None:
        self.top = Descriptor.for_bytes(media_type, top)
        self.data = top
        self.blobs = blobs or {}
        self.calls: list[str] = []

    def resolve(self, ref: Reference) -> Descriptor:
        self.calls.append(f"resolve {ref}")
        return self.top

    def fetch_manifest(self, repo: str, desc: Descriptor) -> bytes:
        self.calls.append(f"manifest {repo}@{desc.digest}")
        return self.data

    def fetch_blob(self, repo: str, desc: Descriptor, writer: Any) -> None:
        self.calls.append(f"blob {repo}@{desc.digest}")
        if desc.digest not in self.blobs:
            raise NotFound(f"blob unknown to registry: {self.host}/{repo}@{desc.digest} not found")
        writer.write(self.blobs[desc.digest])


REF = Reference("127.0.0.1:5000", "app", "1")


def _describe(client: FakeClient) -> dict[str, Any]:
    return describe_image(client, REF)  # type: ignore[arg-type]


def test_an_oci_index_lists_its_entries_platforms() -> None:
    entries = [Descriptor(mediatypes.OCI_MANIFEST, "sha256:" + "1" * 64, 400, platform=AMD64),
               Descriptor(mediatypes.OCI_MANIFEST, "sha256:" + "2" * 64, 400, platform=ARM_V7),
               Descriptor(mediatypes.OCI_MANIFEST, "sha256:" + "3" * 64, 400, platform=Platform("unknown", "unknown"),
                          annotations={"vnd.docker.reference.type": "attestation-manifest"})]
    client = FakeClient(ImageIndex(entries).to_bytes(), mediatypes.OCI_INDEX)
    body = _describe(client)
    assert body["Descriptor"] == {"mediaType": mediatypes.OCI_INDEX, "digest": client.top.digest,
                                  "size": client.top.size}
    assert body["Platforms"] == [{"architecture": "amd64", "os": "linux"},
                                 {"architecture": "arm", "os": "linux", "variant": "v7"},
                                 {"architecture": "unknown", "os": "unknown"}]
    assert client.calls == [f"resolve {REF}", f"manifest app@{client.top.digest}"]  # no config fetched


def test_a_docker_manifest_list_lists_its_entries_platforms() -> None:
    entries = [Descriptor(mediatypes.DOCKER_MANIFEST, "sha256:" + "1" * 64, 400, platform=WINDOWS)]
    data = ImageIndex(entries, media_type=mediatypes.DOCKER_MANIFEST_LIST).to_bytes()
    body = _describe(FakeClient(data, mediatypes.DOCKER_MANIFEST_LIST))
    assert body["Descriptor"]["mediaType"] == mediatypes.DOCKER_MANIFEST_LIST
    assert body["Platforms"] == [WINDOWS.to_dict()]


@pytest.mark.parametrize("docker", [False, True])
def test_a_single_manifest_has_its_configs_platform(docker: bool) -> None:
    config = _config(ARM_V7)
    config_type = mediatypes.DOCKER_CONFIG if docker else mediatypes.OCI_CONFIG
    config_desc = Descriptor.for_bytes(config_type, config)
    manifest_type = mediatypes.DOCKER_MANIFEST if docker else mediatypes.OCI_MANIFEST
    data = Manifest(config_desc, [], media_type=manifest_type).to_bytes()
    client = FakeClient(data, manifest_type, {config_desc.digest: config})
    body = _describe(client)
    assert body == {"Descriptor": {"mediaType": manifest_type, "digest": client.top.digest, "size": len(data)},
                    "Platforms": [{"architecture": "arm", "os": "linux", "variant": "v7"}]}
    assert client.calls[-1] == f"blob app@{config_desc.digest}"


def test_a_manifest_whose_config_is_missing_or_not_an_image_has_no_platform() -> None:
    config_desc = Descriptor(mediatypes.OCI_CONFIG, "sha256:" + "e" * 64, 10)
    missing = FakeClient(Manifest(config_desc, []).to_bytes(), mediatypes.OCI_MANIFEST)
    assert _describe(missing)["Platforms"] == []
    artifact = Descriptor("application/vnd.cncf.helm.config.v1+json", "sha256:" + "f" * 64, 10)
    client = FakeClient(Manifest(artifact, []).to_bytes(), mediatypes.OCI_MANIFEST)
    assert _describe(client)["Platforms"] == []
    assert not any(call.startswith("blob") for call in client.calls)


# -- the route -------------------------------------------------------------------------------

Scenario = Callable[[Client], Awaitable[None]]


def _serve(scenario: Scenario) -> None:
    async def main() -> None:
        application = app_mod.make_app(make_context(), (distribution_api,))
        async with TestClient(TestServer(application)) as client:
            await scenario(client)

    asyncio.run(main())


def _auth_header(doc: dict[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode()


def test_route_answers_json_and_passes_the_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, Credentials | None]] = []
    answer = inspect_body(Descriptor(mediatypes.OCI_MANIFEST, "sha256:" + "a" * 64, 3), [AMD64])

    def fake(ref: Reference, credentials: Credentials | None = None) -> dict[str, Any]:
        seen.append((str(ref), credentials))
        return answer

    monkeypatch.setattr(distribution_api, "inspect_remote", fake)

    async def scenario(client: Client) -> None:
        resp = await client.get("/v1.47/distribution/127.0.0.1:5000/team/app/json",
                                headers={"X-Registry-Auth": _auth_header({"username": "u", "password": "p"})})
        assert resp.status == 200 and resp.headers["Content-Type"] == "application/json"
        assert await resp.json() == answer
        resp = await client.get("/distribution/127.0.0.1:5000/app%40sha256:" + "a" * 64 + "/json",
                                headers={"X-Registry-Auth": "%%% not base64"})  # ignored, as dockerd does
        assert resp.status == 200

    _serve(scenario)
    assert seen == [("127.0.0.1:5000/team/app:latest", Credentials("u", "p")),
                    ("127.0.0.1:5000/app@sha256:" + "a" * 64, None)]


@pytest.mark.parametrize(("error", "status"), [
    (NotFound("manifest unknown: 127.0.0.1:5000/app:nope not found"), 404),
    (PermissionDenied("access to manifest 127.0.0.1:5000/app:1 denied: authentication required"), 401),
    (Unavailable("cannot reach registry 127.0.0.1:5000 for manifest 127.0.0.1:5000/app:1: refused"), 503),
])
def test_route_statuses_of_registry_errors(monkeypatch: pytest.MonkeyPatch, error: Exception, status: int) -> None:
    def fake(ref: Reference, credentials: Credentials | None = None) -> dict[str, Any]:
        raise error

    monkeypatch.setattr(distribution_api, "inspect_remote", fake)

    async def scenario(client: Client) -> None:
        resp = await client.get("/v1.47/distribution/127.0.0.1:5000/app/json")
        assert resp.status == status
        assert await resp.json() == {"message": str(error)}

    _serve(scenario)


def test_route_refuses_bad_names_with_400() -> None:
    async def scenario(client: Client) -> None:
        resp = await client.get("/v1.47/distribution/Busybox/json")
        assert resp.status == 400
        assert (await resp.json())["message"].startswith("invalid reference format")
        resp = await client.get("/v1.47/distribution/" + "a" * 64 + "/json")
        assert resp.status == 400 and await resp.json() == {"message": FULL_IMAGE_ID}

    _serve(scenario)
