"""Manifests and indexes (OCI and Docker): detection, validation, canonical bytes, platform choice."""

import hashlib
import pathlib
import subprocess
import sys

import pytest

from dockyard.errors import InvalidArgument, NotFound, NotImplementedYet
from dockyard.oci import jsonio
from dockyard.oci import mediatypes as mt
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.image import ImageIndex, Manifest, parse_manifest_document, select_manifest
from dockyard.oci.platform import Platform, parse_platform


def dg(name: str) -> str:
    return "sha256:" + hashlib.sha256(name.encode()).hexdigest()


def compact(text: str) -> bytes:
    return jsonio.dumps(jsonio.loads(text)).encode()


# What a registry serves for a Docker image (distribution writes it indented by three spaces).
DOCKER_MANIFEST = f"""{{
   "schemaVersion": 2,
   "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
   "config": {{
      "mediaType": "application/vnd.docker.container.image.v1+json",
      "size": 1457,
      "digest": "{dg("config")}"
   }},
   "layers": [
      {{
         "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
         "size": 2152262,
         "digest": "{dg("layer0")}"
      }},
      {{
         "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
         "size": 183,
         "digest": "{dg("layer1")}"
      }},
      {{
         "mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
         "size": 1000,
         "digest": "{dg("layer2")}",
         "urls": ["https://mcr.microsoft.com/v2/windows/blobs/x"]
      }}
   ]
}}"""

# A Docker manifest list: amd64, arm64 (v8), arm v7.
MANIFEST_LIST = f"""{{
   "schemaVersion": 2,
   "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
   "manifests": [
      {{
         "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
         "size": 528,
         "digest": "{dg("amd64")}",
         "platform": {{"architecture": "amd64", "os": "linux"}}
      }},
      {{
         "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
         "size": 528,
         "digest": "{dg("arm64")}",
         "platform": {{"architecture": "arm64", "os": "linux", "variant": "v8"}}
      }},
      {{
         "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
         "size": 528,
         "digest": "{dg("armv7")}",
         "platform": {{"architecture": "arm", "os": "linux", "variant": "v7"}}
      }}
   ]
}}"""

# What BuildKit pushes: an OCI index with one attestation manifest per image (unknown/unknown).
OCI_INDEX = f"""{{
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.index.v1+json",
  "manifests": [
    {{
      "mediaType": "application/vnd.oci.image.manifest.v1+json",
      "digest": "{dg("oci-amd64")}",
      "size": 1238,
      "platform": {{"architecture": "amd64", "os": "linux"}}
    }},
    {{
      "mediaType": "application/vnd.oci.image.manifest.v1+json",
      "digest": "{dg("oci-arm64")}",
      "size": 1238,
      "platform": {{"architecture": "arm64", "os": "linux"}}
    }},
    {{
      "mediaType": "application/vnd.oci.image.manifest.v1+json",
      "digest": "{dg("att-amd64")}",
      "size": 566,
      "annotations": {{
        "vnd.docker.reference.digest": "{dg("oci-amd64")}",
        "vnd.docker.reference.type": "attestation-manifest"
      }},
      "platform": {{"architecture": "unknown", "os": "unknown"}}
    }},
    {{
      "mediaType": "application/vnd.oci.image.manifest.v1+json",
      "digest": "{dg("att-arm64")}",
      "size": 566,
      "annotations": {{
        "vnd.docker.reference.digest": "{dg("oci-arm64")}",
        "vnd.docker.reference.type": "attestation-manifest"
      }},
      "platform": {{"architecture": "unknown", "os": "unknown"}}
    }}
  ],
  "annotations": {{"org.opencontainers.image.created": "2024-05-01T10:00:00Z"}}
}}"""

# The attestation manifest itself: its "layers" are in-toto statements, not tars.
OCI_ATTESTATION_MANIFEST = f"""{{
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.manifest.v1+json",
  "config": {{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "{dg("c")}", "size": 167}},
  "layers": [
    {{
      "mediaType": "application/vnd.in-toto+json",
      "digest": "{dg("sbom")}",
      "size": 1385,
      "annotations": {{"in-toto.io/predicate-type": "https://spdx.dev/Document"}}
    }}
  ]
}}"""

OCI_MANIFEST = f"""{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",\
"config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{dg("cfg")}","size":581}},\
"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{dg("l0")}","size":3623807}},\
{{"mediaType":"application/vnd.oci.image.layer.v1.tar+zstd","digest":"{dg("l1")}","size":120}}],\
"subject":{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{dg("subj")}","size":10}},\
"annotations":{{"org.opencontainers.image.base.name":"docker.io/library/alpine:3.19"}}}}"""


# -- round trips ---------------------------------------------------------------------------


def test_docker_manifest_round_trip() -> None:
    doc = parse_manifest_document(DOCKER_MANIFEST.encode(), mt.DOCKER_MANIFEST)
    assert isinstance(doc, Manifest)
    assert doc.is_docker()
    assert doc.content_type == mt.DOCKER_MANIFEST
    assert doc.config.digest == dg("config")
    assert [layer.size for layer in doc.layers] == [2152262, 183, 1000]
    assert mt.is_foreign(doc.layers[2].media_type)
    assert doc.layers[2].urls == ("https://mcr.microsoft.com/v2/windows/blobs/x",)
    assert doc.to_bytes() == compact(DOCKER_MANIFEST)  # Docker's order: size before digest
    assert parse_manifest_document(doc.to_bytes()) == doc
    desc = doc.descriptor()
    assert desc.media_type == mt.DOCKER_MANIFEST
    assert desc.digest == "sha256:" + hashlib.sha256(doc.to_bytes()).hexdigest()


def test_manifest_list_round_trip() -> None:
    doc = parse_manifest_document(MANIFEST_LIST.encode())
    assert isinstance(doc, ImageIndex)
    assert doc.is_docker()
    assert [str(p) for p in doc.platforms()] == ["linux/amd64", "linux/arm64/v8", "linux/arm/v7"]
    assert doc.to_bytes() == compact(MANIFEST_LIST)
    assert parse_manifest_document(doc.to_bytes(), mt.DOCKER_MANIFEST_LIST) == doc


def test_oci_index_with_attestations_round_trip() -> None:
    doc = parse_manifest_document(OCI_INDEX.encode(), mt.OCI_INDEX)
    assert isinstance(doc, ImageIndex)
    assert not doc.is_docker()
    assert len(doc.manifests) == 4
    assert doc.manifests[2].is_attestation()
    assert doc.manifests[2].platform == Platform("unknown", "unknown")
    assert [str(p) for p in doc.platforms()] == ["linux/amd64", "linux/arm64"]
    assert doc.to_bytes() == compact(OCI_INDEX)


def test_oci_manifests_round_trip() -> None:
    att = parse_manifest_document(OCI_ATTESTATION_MANIFEST.encode())
    assert isinstance(att, Manifest)
    assert att.layers[0].media_type == "application/vnd.in-toto+json"  # artifacts are not refused
    assert att.to_bytes() == compact(OCI_ATTESTATION_MANIFEST)
    doc = parse_manifest_document(OCI_MANIFEST.encode())
    assert isinstance(doc, Manifest)
    assert doc.subject is not None and doc.subject.digest == dg("subj")
    assert [mt.layer_compression(layer.media_type) for layer in doc.layers] == ["gzip", "zstd"]
    assert doc.to_bytes() == OCI_MANIFEST.encode()


def test_sorted_key_documents_parse_to_the_same_object() -> None:
    """Hub's manifest lists are often written with sorted keys: same object, canonical bytes."""
    obj = jsonio.loads(MANIFEST_LIST)
    resorted = jsonio.dumps(_sort(obj), "  ").encode()
    assert parse_manifest_document(resorted) == parse_manifest_document(MANIFEST_LIST.encode())


def _sort(value: object) -> object:
    if isinstance(value, dict):
        return {k: _sort(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sort(v) for v in value]
    return value


def test_built_documents_have_stable_bytes() -> None:
    config = Descriptor(mt.OCI_CONFIG, dg("cfg"), 581)
    layers = [Descriptor(mt.OCI_LAYER_GZIP, dg("l0"), 3623807), Descriptor(mt.OCI_LAYER_ZSTD, dg("l1"), 120)]
    subject = Descriptor(mt.OCI_MANIFEST, dg("subj"), 10)
    built = Manifest(
        config, layers, subject=subject,
        annotations={"org.opencontainers.image.base.name": "docker.io/library/alpine:3.19"},
    )
    assert built.to_bytes() == OCI_MANIFEST.encode()
    assert built == parse_manifest_document(OCI_MANIFEST.encode())
    index = ImageIndex([built.descriptor(platform=Platform("linux", "amd64"))])
    text = index.to_bytes().decode()
    assert text.startswith('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[')
    assert index.manifests[0].digest == "sha256:" + hashlib.sha256(OCI_MANIFEST.encode()).hexdigest()
    docker = Manifest(Descriptor(mt.DOCKER_CONFIG, dg("c"), 1), [], media_type=mt.DOCKER_MANIFEST)
    assert docker.to_bytes().decode() == (
        '{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",'
        f'"config":{{"mediaType":"application/vnd.docker.container.image.v1+json","size":1,"digest":"{dg("c")}"}},'
        '"layers":[]}'
    )


# -- telling the kind ----------------------------------------------------------------------


def test_kind_from_content_type_when_the_document_has_no_media_type() -> None:
    obj = jsonio.loads(OCI_MANIFEST)
    del obj["mediaType"]
    data = jsonio.dumps(obj).encode()
    doc = parse_manifest_document(data, mt.OCI_MANIFEST + "; charset=utf-8")
    assert isinstance(doc, Manifest)
    assert doc.media_type == ""
    assert doc.content_type == mt.OCI_MANIFEST
    assert doc.to_bytes() == data  # still no mediaType: the same bytes
    assert isinstance(parse_manifest_document(data), Manifest)  # from its shape
    assert isinstance(parse_manifest_document(data, "application/json"), Manifest)
    index = jsonio.loads(OCI_INDEX)
    del index["mediaType"]
    assert isinstance(parse_manifest_document(jsonio.dumps(index).encode()), ImageIndex)


def test_kind_conflicts_are_refused() -> None:
    with pytest.raises(InvalidArgument, match=r"^manifest: mediaType: the document is .*index.* but was served as"):
        parse_manifest_document(OCI_INDEX.encode(), mt.OCI_MANIFEST)
    with pytest.raises(InvalidArgument, match=r"^manifest: mediaType: '.*config.v1\+json' is not"):
        parse_manifest_document(b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.config.v1+json"}')
    with pytest.raises(InvalidArgument, match=r"^manifest: neither a manifest nor an index"):
        parse_manifest_document(b'{"schemaVersion":2}')
    # an index dressed as a manifest, and the other way round
    obj = jsonio.loads(OCI_INDEX)
    del obj["mediaType"]
    with pytest.raises(InvalidArgument, match=r"^manifest: manifests: found in an image manifest"):
        parse_manifest_document(jsonio.dumps(obj).encode(), mt.OCI_MANIFEST)
    obj = jsonio.loads(OCI_MANIFEST)
    del obj["mediaType"]
    with pytest.raises(InvalidArgument, match=r"^index: config: found in an index"):
        parse_manifest_document(jsonio.dumps(obj).encode(), mt.OCI_INDEX)


# -- schema 1 ------------------------------------------------------------------------------

SCHEMA1_SIGNED = """{
   "schemaVersion": 1,
   "name": "library/busybox",
   "tag": "latest",
   "architecture": "amd64",
   "fsLayers": [{"blobSum": "sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4"}],
   "history": [{"v1Compatibility": "{\\"id\\":\\"abc\\"}"}],
   "signatures": [{"header": {"jwk": {"crv": "P-256"}, "alg": "ES256"}, "signature": "x", "protected": "y"}]
}"""


def test_schema1_signed_refused() -> None:
    with pytest.raises(NotImplementedYet, match="schema 1 manifests are not supported"):
        parse_manifest_document(SCHEMA1_SIGNED.encode(), mt.DOCKER_SCHEMA1_SIGNED_MANIFEST)
    with pytest.raises(NotImplementedYet, match=r"^manifest: schema 1 manifests are not supported"):
        parse_manifest_document(SCHEMA1_SIGNED.encode())


def test_schema1_unsigned_refused() -> None:
    obj = jsonio.loads(SCHEMA1_SIGNED)
    del obj["signatures"]
    obj["mediaType"] = mt.DOCKER_SCHEMA1_MANIFEST
    with pytest.raises(NotImplementedYet, match=r"^manifest: schema 1 .* \(mediaType .*manifest\.v1\+json\): push"):
        parse_manifest_document(jsonio.dumps(obj).encode())
    with pytest.raises(NotImplementedYet, match="schema 1 manifests are not supported"):
        parse_manifest_document(b'{"schemaVersion":1,"config":{}}', mt.OCI_MANIFEST)
    with pytest.raises(NotImplementedYet, match=r"^index: schema 1 .*\(schemaVersion 1\)"):
        parse_manifest_document(b'{"schemaVersion":1,"manifests":[]}')


# -- validation ----------------------------------------------------------------------------


def _manifest_with(**changes: object) -> bytes:
    obj = jsonio.loads(DOCKER_MANIFEST)
    for key, value in changes.items():
        if value is ...:
            del obj[key]
        else:
            obj[key] = value
    return jsonio.dumps(obj).encode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"{", "manifest: invalid JSON"),
        (b"[]", "manifest: must be an object, not a list"),
        (_manifest_with(schemaVersion=...), "manifest: schemaVersion: required"),
        (_manifest_with(schemaVersion=3), "manifest: schemaVersion: must be 2, not 3"),
        (_manifest_with(schemaVersion="2"), "manifest: schemaVersion: must be an integer, not a string"),
        (_manifest_with(config=...), "manifest: config: required"),
        (_manifest_with(config="sha256:x"), "manifest: config: must be an object, not a string"),
        (_manifest_with(layers=...), "manifest: layers: required"),
        (_manifest_with(layers={}), "manifest: layers: must be a list"),
        (_manifest_with(annotations={"a": 1}), "manifest: annotations['a']: must be a string"),
        (_manifest_with(mediaType=7), "manifest: mediaType: must be a string, not a number"),
    ],
)
def test_manifest_refusals_name_the_field(data: bytes, message: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        parse_manifest_document(data)
    assert str(info.value).startswith(message), str(info.value)


def test_bad_layer_digest_names_the_layer() -> None:
    obj = jsonio.loads(DOCKER_MANIFEST)
    obj["layers"][2]["digest"] = "sha256:123"
    with pytest.raises(InvalidArgument) as info:
        parse_manifest_document(jsonio.dumps(obj).encode())
    assert str(info.value) == (
        "manifest: layers[2].digest: invalid digest 'sha256:123': sha256 needs 64 lowercase hex characters"
    )


def test_null_layers_is_an_empty_list() -> None:
    doc = parse_manifest_document(_manifest_with(layers=None))
    assert isinstance(doc, Manifest)
    assert doc.layers == []


def test_index_refusals_name_the_entry() -> None:
    obj = jsonio.loads(MANIFEST_LIST)
    del obj["manifests"][1]["platform"]
    with pytest.raises(InvalidArgument, match=r"^manifest list: manifests\[1\]\.platform: required in a Docker"):
        parse_manifest_document(jsonio.dumps(obj).encode())
    obj = jsonio.loads(OCI_INDEX)
    del obj["manifests"][3]["platform"]["os"]
    with pytest.raises(InvalidArgument, match=r"^index: manifests\[3\]\.platform\.os: required$"):
        parse_manifest_document(jsonio.dumps(obj).encode())
    obj["manifests"] = "x"
    with pytest.raises(InvalidArgument, match=r"^index: manifests: must be a list$"):
        parse_manifest_document(jsonio.dumps(obj).encode())
    del obj["manifests"]
    with pytest.raises(InvalidArgument, match=r"^index: manifests: required$"):
        parse_manifest_document(jsonio.dumps(obj).encode(), mt.OCI_INDEX)


def test_oci_index_entries_may_lack_a_platform() -> None:
    obj = jsonio.loads(OCI_INDEX)
    del obj["manifests"][0]["platform"]
    doc = parse_manifest_document(jsonio.dumps(obj).encode())
    assert isinstance(doc, ImageIndex)
    assert doc.manifests[0].platform is None


# -- choosing a platform -------------------------------------------------------------------


def _list() -> ImageIndex:
    doc = parse_manifest_document(MANIFEST_LIST.encode())
    assert isinstance(doc, ImageIndex)
    return doc


@pytest.mark.parametrize(
    ("want", "chosen"),
    [
        ("linux/amd64", "amd64"),
        ("linux/x86_64", "amd64"),
        ("linux/arm64", "arm64"),
        ("linux/arm64/v8", "arm64"),
        ("linux/arm/v7", "armv7"),
        ("linux/arm", "armv7"),
        ("linux/arm/v8", "armv7"),  # a lower variant runs
    ],
)
def test_select_manifest(want: str, chosen: str) -> None:
    assert select_manifest(_list(), want).digest == dg(chosen)
    assert select_manifest(_list(), parse_platform(want)).digest == dg(chosen)


def test_select_prefers_exact_over_compatible() -> None:
    index = _list()
    index.manifests.insert(0, Descriptor(mt.DOCKER_MANIFEST, dg("armv6"), 1, platform=Platform("linux", "arm", "v6")))
    assert select_manifest(index, "linux/arm/v7").digest == dg("armv7")
    assert select_manifest(index, "linux/arm/v6").digest == dg("armv6")


def test_select_default_is_the_host() -> None:
    index = parse_manifest_document(OCI_INDEX.encode())
    assert isinstance(index, ImageIndex)
    host = str(parse_platform("linux"))
    if host in ("linux/amd64", "linux/arm64"):
        assert select_manifest(index).platform == parse_platform(host)


def test_no_match_names_wanted_and_available() -> None:
    with pytest.raises(NotFound) as info:
        select_manifest(_list(), "linux/arm/v6")
    assert str(info.value) == (
        "no matching manifest for linux/arm/v6 in the manifest list entries "
        "(available: linux/amd64, linux/arm64, linux/arm/v7)"
    )
    index = parse_manifest_document(OCI_INDEX.encode())
    assert isinstance(index, ImageIndex)
    with pytest.raises(NotFound) as info:
        select_manifest(index, "linux/s390x")
    # attestation manifests (unknown/unknown) are never chosen nor listed
    assert str(info.value).endswith("(available: linux/amd64, linux/arm64)")
    with pytest.raises(NotFound, match=r"\(available: none\)$"):
        select_manifest(ImageIndex([]), "linux/amd64")


def test_select_skips_attestations_nested_indexes_and_unlabelled_entries() -> None:
    amd = Platform("linux", "amd64")
    index = ImageIndex([
        Descriptor(mt.OCI_MANIFEST, dg("none"), 1),
        Descriptor(mt.OCI_INDEX, dg("nested"), 1, platform=amd),
        Descriptor(mt.OCI_MANIFEST, dg("att"), 1, platform=amd,
                   annotations={"vnd.docker.reference.type": "attestation-manifest"}),
        Descriptor(mt.OCI_MANIFEST, dg("real"), 1, platform=amd),
    ])
    assert select_manifest(index, amd).digest == dg("real")


def test_import_stays_light() -> None:
    """The image model loads in a fresh interpreter without json, re, typing, enum or dataclasses,
    and without hashlib (~3 ms) until a digest is checked."""
    src = pathlib.Path(__file__).resolve().parents[3] / "src"
    code = (
        "import sys\n"
        f"sys.path.insert(0, {str(src)!r})\n"
        "import dockyard.oci.image, dockyard.oci.image_config, dockyard.oci.reference\n"
        "import dockyard.oci.mediatypes, dockyard.oci.platform, dockyard.oci.descriptor\n"
        "heavy = [m for m in ('json', 're', 'typing', 'enum', 'dataclasses', 'hashlib') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    proc = subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
