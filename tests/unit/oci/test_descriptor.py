"""Descriptors: validation naming the field, Go's field order, embedded data."""

import base64
import hashlib

import pytest

from dockyard.errors import InvalidArgument
from dockyard.oci import jsonio
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.platform import Platform

H = "sha256:" + hashlib.sha256(b"layer").hexdigest()


def test_full_descriptor_round_trip_in_go_order() -> None:
    text = (
        '{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"' + H + '","size":7143,'
        '"urls":["https://example.com/blob"],"annotations":{"a.b":"1","org.opencontainers.image.ref.name":"v1"},'
        '"platform":{"architecture":"arm","os":"linux","variant":"v7"},'
        '"artifactType":"application/vnd.example+type"}'
    )
    desc = Descriptor.from_dict(jsonio.loads(text))
    assert desc.media_type == "application/vnd.oci.image.manifest.v1+json"
    assert desc.digest == H
    assert desc.size == 7143
    assert desc.urls == ("https://example.com/blob",)
    assert desc.annotations["org.opencontainers.image.ref.name"] == "v1"
    assert desc.platform == Platform("linux", "arm", "v7")
    assert desc.artifact_type == "application/vnd.example+type"
    assert jsonio.dumps(desc.to_dict()) == text
    assert Descriptor.from_dict(desc.to_dict()) == desc


def test_minimal_and_docker_order() -> None:
    desc = Descriptor("application/vnd.docker.image.rootfs.diff.tar.gzip", H, 42)
    assert list(desc.to_dict()) == ["mediaType", "digest", "size"]
    assert list(desc.to_dict(docker=True)) == ["mediaType", "size", "digest"]


def test_annotations_written_in_key_order() -> None:
    desc = Descriptor("a/b", H, 1, annotations={"z": "1", "a": "2"})
    assert list(desc.to_dict()["annotations"]) == ["a", "z"]


def test_for_bytes_and_digest_parts() -> None:
    desc = Descriptor.for_bytes("application/octet-stream", b"layer")
    assert (desc.digest, desc.size) == (H, 5)
    assert desc.algorithm == "sha256"
    assert desc.encoded == H.split(":")[1]


GOOD = {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": H, "size": 5}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"mediaType": None}, "layers[2].mediaType: required"),
        ({"mediaType": ""}, "layers[2].mediaType: must not be empty"),
        ({"mediaType": "tar"}, "layers[2].mediaType: invalid media type 'tar'"),
        ({"digest": None}, "layers[2].digest: must be a string, not null"),
        ({"digest": "sha256:abc"}, "layers[2].digest: invalid digest 'sha256:abc'"),
        ({"digest": "md5:" + "0" * 32}, "layers[2].digest: invalid digest"),
        ({"size": -1}, "layers[2].size: must be at least 0, not -1"),
        ({"size": "5"}, "layers[2].size: must be an integer, not a string"),
        ({"size": True}, "layers[2].size: must be an integer, not a boolean"),
        ({"size": 5.0}, "layers[2].size: must be an integer, not a number"),
        ({"urls": "x"}, "layers[2].urls: must be a list, not a string"),
        ({"urls": ["x", 1]}, r"layers[2].urls[1]: must be a string"),
        ({"annotations": {"k": 1}}, "layers[2].annotations['k']: must be a string"),
        ({"annotations": []}, "layers[2].annotations: must be an object"),
        ({"platform": {"os": "linux"}}, "layers[2].platform.architecture: required"),
        ({"artifactType": 3}, "layers[2].artifactType: must be a string"),
    ],
)
def test_refusals_name_the_field(change: dict[str, object], message: str) -> None:
    doc = {**GOOD, **change}
    with pytest.raises(InvalidArgument) as info:
        Descriptor.from_dict(doc, "manifest: layers[2]")
    assert str(info.value).startswith("manifest: " + message), str(info.value)


def test_missing_digest_and_size() -> None:
    with pytest.raises(InvalidArgument, match=r"^descriptor: digest: required$"):
        Descriptor.from_dict({"mediaType": "a/b", "size": 1})
    with pytest.raises(InvalidArgument, match=r"^descriptor: size: required$"):
        Descriptor.from_dict({"mediaType": "a/b", "digest": H})
    with pytest.raises(InvalidArgument, match=r"^descriptor: must be an object, not a list$"):
        Descriptor.from_dict([])


def test_null_optional_fields_are_absent() -> None:
    desc = Descriptor.from_dict({**GOOD, "urls": None, "annotations": None, "platform": None})
    assert desc == Descriptor(GOOD["mediaType"], H, 5)  # type: ignore[arg-type]


def test_embedded_data_is_checked() -> None:
    data = base64.b64encode(b"layer").decode()
    desc = Descriptor.from_dict({**GOOD, "data": data})
    assert desc.embedded_data() == b"layer"
    assert desc.to_dict()["data"] == data
    assert Descriptor.from_dict(GOOD).embedded_data() is None
    with pytest.raises(InvalidArgument, match=r"descriptor: data: holds 5 bytes but size is 6"):
        Descriptor.from_dict({**GOOD, "size": 6, "data": data})
    other = base64.b64encode(b"LAYER").decode()
    with pytest.raises(InvalidArgument, match=r"descriptor: data: digest is sha256:"):
        Descriptor.from_dict({**GOOD, "data": other})
    with pytest.raises(InvalidArgument, match=r"descriptor: data: invalid base64"):
        Descriptor.from_dict({**GOOD, "data": "!!!"})


def test_attestation_flag() -> None:
    desc = Descriptor("a/b", H, 1, annotations={"vnd.docker.reference.type": "attestation-manifest"})
    assert desc.is_attestation()
    assert not Descriptor("a/b", H, 1).is_attestation()
