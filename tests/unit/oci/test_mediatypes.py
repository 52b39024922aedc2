"""Media types: what each one is, layer compression, and schema 1 refused."""

import pytest

from dockyard.errors import InvalidArgument, NotImplementedYet
from dockyard.oci import mediatypes as mt

# media type, index, manifest, config, layer, compression ("-" if not a layer), non-distributable
TABLE = [
    (mt.OCI_INDEX, True, False, False, False, "-", False),
    (mt.DOCKER_MANIFEST_LIST, True, False, False, False, "-", False),
    (mt.OCI_MANIFEST, False, True, False, False, "-", False),
    (mt.DOCKER_MANIFEST, False, True, False, False, "-", False),
    (mt.OCI_CONFIG, False, False, True, False, "-", False),
    (mt.DOCKER_CONFIG, False, False, True, False, "-", False),
    (mt.OCI_LAYER, False, False, False, True, "", False),
    (mt.OCI_LAYER_GZIP, False, False, False, True, "gzip", False),
    (mt.OCI_LAYER_ZSTD, False, False, False, True, "zstd", False),
    (mt.OCI_LAYER_NONDISTRIBUTABLE, False, False, False, True, "", True),
    (mt.OCI_LAYER_NONDISTRIBUTABLE_GZIP, False, False, False, True, "gzip", True),
    (mt.OCI_LAYER_NONDISTRIBUTABLE_ZSTD, False, False, False, True, "zstd", True),
    (mt.DOCKER_LAYER, False, False, False, True, "", False),
    (mt.DOCKER_LAYER_GZIP, False, False, False, True, "gzip", False),
    (mt.DOCKER_LAYER_ZSTD, False, False, False, True, "zstd", False),
    (mt.DOCKER_LAYER_FOREIGN, False, False, False, True, "", True),
    (mt.DOCKER_LAYER_FOREIGN_GZIP, False, False, False, True, "gzip", True),
    (mt.OCI_EMPTY, False, False, False, False, "-", False),
    ("application/vnd.in-toto+json", False, False, False, False, "-", False),
    (mt.DOCKER_SCHEMA1_SIGNED_MANIFEST, False, False, False, False, "-", False),
]


@pytest.mark.parametrize(("media_type", "index", "manifest", "config", "layer", "compression", "nondist"), TABLE)
def test_classification(
    media_type: str, index: bool, manifest: bool, config: bool, layer: bool, compression: str, nondist: bool
) -> None:
    assert mt.is_index(media_type) is index
    assert mt.is_manifest(media_type) is manifest
    assert mt.is_config(media_type) is config
    assert mt.is_layer(media_type) is layer
    assert mt.is_non_distributable(media_type) is nondist
    assert mt.is_foreign(media_type) is nondist
    if compression == "-":
        with pytest.raises(InvalidArgument, match="unsupported layer media type"):
            mt.layer_compression(media_type)
    else:
        assert mt.layer_compression(media_type) == compression


def test_parameters_and_blanks_are_ignored() -> None:
    assert mt.is_manifest(" application/vnd.oci.image.manifest.v1+json; charset=utf-8")
    assert mt.layer_compression(mt.OCI_LAYER_GZIP + ";foo=bar") == "gzip"


def test_docker_or_oci() -> None:
    assert mt.is_docker(mt.DOCKER_MANIFEST)
    assert mt.is_docker(mt.DOCKER_LAYER_FOREIGN_GZIP)
    assert not mt.is_docker(mt.OCI_MANIFEST)


def test_encrypted_layers_are_recognised_and_refused() -> None:
    with pytest.raises(NotImplementedYet, match="encrypted layers are not supported"):
        mt.layer_compression("application/vnd.oci.image.layer.v1.tar+gzip+encrypted")


def test_layer_type_for_a_compression() -> None:
    assert mt.layer_type("gzip") == mt.OCI_LAYER_GZIP
    assert mt.layer_type("zstd") == mt.OCI_LAYER_ZSTD
    assert mt.layer_type("") == mt.OCI_LAYER
    assert mt.layer_type("gzip", docker=True) == mt.DOCKER_LAYER_GZIP
    assert mt.layer_type("", docker=True) == mt.DOCKER_LAYER
    with pytest.raises(InvalidArgument, match="unsupported layer compression 'xz'"):
        mt.layer_type("xz")


@pytest.mark.parametrize("media_type", [mt.DOCKER_SCHEMA1_MANIFEST, mt.DOCKER_SCHEMA1_SIGNED_MANIFEST])
def test_schema1_refused(media_type: str) -> None:
    assert mt.is_schema1(media_type)
    with pytest.raises(NotImplementedYet, match="schema 1 manifests are not supported"):
        mt.reject_schema1(media_type)


def test_reject_schema1_passes_others() -> None:
    mt.reject_schema1(mt.OCI_MANIFEST)
    mt.reject_schema1("")
