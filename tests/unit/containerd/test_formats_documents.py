"""The small JSON documents of the image formats: manifest.json, repositories, oci-layout,
index.json, and archive path handling."""

from __future__ import annotations

import pytest

from dockyard.containerd.formats import oci_index, paths
from dockyard.containerd.formats.docker_manifest import (
    ManifestItem,
    dump_manifest,
    dump_repositories,
    parse_manifest,
)
from dockyard.errors import InvalidArgument
from dockyard.oci import mediatypes
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.image import ImageIndex

HEX = "a" * 64
HEX2 = "b" * 64


# -- manifest.json / repositories ---------------------------------------------------------------


def test_manifest_json_is_written_as_docker_writes_it() -> None:
    items = [ManifestItem(f"blobs/sha256/{HEX}", ["busybox:latest"], [f"blobs/sha256/{HEX2}"])]
    assert dump_manifest(items) == (
        b'[{"Config":"blobs/sha256/' + HEX.encode() + b'","RepoTags":["busybox:latest"],'
        b'"Layers":["blobs/sha256/' + HEX2.encode() + b'"]}]\n'
    )


def test_manifest_json_untagged_image_has_null_repo_tags() -> None:
    out = dump_manifest([ManifestItem(f"{HEX}.json", [], [])])
    assert out == b'[{"Config":"' + HEX.encode() + b'.json","RepoTags":null,"Layers":[]}]\n'


def test_manifest_json_optional_fields() -> None:
    item = ManifestItem("c.json", ["a:1"], ["l.tar"], parent=f"sha256:{HEX}",
                        layer_sources={"sha256:z": {"mediaType": "m"}, "sha256:a": {"mediaType": "n"}})
    text = dump_manifest([item]).decode()
    assert text.index('"Parent"') < text.index('"LayerSources"')
    assert text.index('"sha256:a"') < text.index('"sha256:z"')


def test_manifest_json_round_trip() -> None:
    items = [ManifestItem("c.json", ["a:1", "b:2"], ["x/layer.tar", "y/layer.tar"]),
             ManifestItem("d.json", [], ["z.tar"])]
    assert parse_manifest(dump_manifest(items)) == items


def test_manifest_json_reads_old_docker_layout() -> None:
    data = (b'[{"Config":"' + HEX.encode() + b'.json","RepoTags":["busybox:latest"],'
            b'"Layers":["' + HEX2.encode() + b'/layer.tar"]}]')
    (item,) = parse_manifest(data)
    assert item.config == f"{HEX}.json"
    assert item.layers == [f"{HEX2}/layer.tar"]
    assert item.repo_tags == ["busybox:latest"]


@pytest.mark.parametrize(("data", "message"), [
    (b"null", "manifest cannot be null"),
    (b"{}", "must be a list"),
    (b'[{"RepoTags":[]}]', "[0].Config: required"),
    (b'[{"Config":"c","Layers":"x"}]', "[0].Layers: must be a list"),
    (b'[{"Config":"c","RepoTags":[1]}]', "[0].RepoTags[0]"),
    (b"[{", "invalid JSON"),
])
def test_manifest_json_errors_name_the_field(data: bytes, message: str) -> None:
    with pytest.raises(InvalidArgument, match=r"manifest\.json") as info:
        parse_manifest(data)
    assert message in str(info.value)


def test_repositories_sorted_with_newline() -> None:
    out = dump_repositories([("zeta", "1", HEX), ("alpha", "latest", HEX2), ("alpha", "edge", HEX)])
    assert out == (b'{"alpha":{"edge":"' + HEX.encode() + b'","latest":"' + HEX2.encode() + b'"},'
                   b'"zeta":{"1":"' + HEX.encode() + b'"}}\n')


# -- oci-layout / index.json --------------------------------------------------------------------


def test_layout_file() -> None:
    assert oci_index.layout_bytes() == b'{"imageLayoutVersion":"1.0.0"}'
    oci_index.check_layout(b'{"imageLayoutVersion": "1.0.0"}', "dir")


@pytest.mark.parametrize("data", [b"[]", b"{}", b'{"imageLayoutVersion":"2.0.0"}', b"x"])
def test_layout_file_refused(data: bytes) -> None:
    with pytest.raises(InvalidArgument, match="oci-layout"):
        oci_index.check_layout(data, "dir")


def test_named_entry_annotations() -> None:
    target = Descriptor(mediatypes.OCI_MANIFEST, f"sha256:{HEX}", 10)
    entry = oci_index.named_entry(target, "busybox")
    assert entry.annotations == {
        "io.containerd.image.name": "docker.io/library/busybox:latest",
        "org.opencontainers.image.ref.name": "latest",
    }
    assert target.annotations == {}
    assert oci_index.named_entry(target, "").annotations == {}


def test_index_json_written_in_go_order() -> None:
    target = Descriptor(mediatypes.OCI_MANIFEST, f"sha256:{HEX}", 10)
    data = ImageIndex([oci_index.named_entry(target, "localhost:5000/app:v1")]).to_bytes()
    assert data == (
        b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":['
        b'{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:' + HEX.encode()
        + b'","size":10,"annotations":{"io.containerd.image.name":"localhost:5000/app:v1",'
        b'"org.opencontainers.image.ref.name":"v1"}}]}'
    )
    index = oci_index.parse_index(data, "dir")
    assert oci_index.entry_name(index.manifests[0]) == "localhost:5000/app:v1"


@pytest.mark.parametrize(("annotations", "base", "name"), [
    ({"io.containerd.image.name": "docker.io/library/a:1", "org.opencontainers.image.ref.name": "1"}, "",
     "docker.io/library/a:1"),
    ({"org.opencontainers.image.ref.name": "latest"}, "", ""),
    ({"org.opencontainers.image.ref.name": "latest"}, "myapp", "docker.io/library/myapp:latest"),
    ({"org.opencontainers.image.ref.name": "example.com/x/y:2"}, "", "example.com/x/y:2"),
    ({}, "base", ""),
])
def test_entry_name(annotations: dict[str, str], base: str, name: str) -> None:
    entry = Descriptor(mediatypes.OCI_MANIFEST, f"sha256:{HEX}", 1, annotations=annotations)
    assert oci_index.entry_name(entry, base) == name


def test_index_json_must_be_an_index() -> None:
    with pytest.raises(InvalidArgument, match=r"index\.json"):
        oci_index.parse_index(b'{"schemaVersion":2,"config":{"mediaType":"a/b","digest":"sha256:'
                              + HEX.encode() + b'","size":1},"layers":[]}', "dir")


def test_merged_index_replaces_same_name() -> None:
    old = Descriptor(mediatypes.OCI_MANIFEST, f"sha256:{HEX}", 1,
                     annotations={"org.opencontainers.image.ref.name": "latest"})
    other = Descriptor(mediatypes.OCI_MANIFEST, f"sha256:{HEX}", 1,
                       annotations={"org.opencontainers.image.ref.name": "v1"})
    new = Descriptor(mediatypes.OCI_MANIFEST, f"sha256:{HEX2}", 2,
                     annotations={"org.opencontainers.image.ref.name": "latest"})
    merged = oci_index.merged_index(ImageIndex([old, other]), [new])
    assert merged.manifests == [other, new]


# -- archive names ------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "clean"), [
    ("manifest.json", "manifest.json"),
    ("./manifest.json", "manifest.json"),
    ("blobs//sha256/./x", "blobs/sha256/x"),
    ("a/../b", "b"),
    ("dir/", "dir"),
    (".", ""),
])
def test_normalize(name: str, clean: str) -> None:
    assert paths.normalize(name) == clean


@pytest.mark.parametrize(("name", "message"), [
    ("/etc/passwd", "absolute"),
    ("../x", "escapes"),
    ("a/../../x", "escapes"),
    ("a\0b", "NUL"),
])
def test_normalize_refuses(name: str, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        paths.normalize(name, "my.tar")


def test_blob_digest() -> None:
    assert paths.blob_digest(f"blobs/sha256/{HEX}") == f"sha256:{HEX}"
    assert paths.blob_digest(f"blobs/sha256/{HEX}x") == ""
    assert paths.blob_digest(f"blobs/md5/{HEX}") == ""
    assert paths.blob_digest(f"x/blobs/sha256/{HEX}") == ""
    assert paths.blob_name(f"sha256:{HEX}") == f"blobs/sha256/{HEX}"


def test_resolve_links() -> None:
    links = {
        "old/layer.tar": ("sym", "../blobs/sha256/x"),
        "abs": ("sym", "/blobs/sha256/x"),
        "hard": ("hard", "blobs/sha256/x"),
        "dir": ("sym", "blobs"),
        "chain": ("sym", "old/layer.tar"),
    }
    for name in ("old/layer.tar", "abs", "hard", "dir/sha256/x", "chain", "blobs/sha256/x"):
        assert paths.resolve(name, links) == "blobs/sha256/x"


@pytest.mark.parametrize("links", [
    {"a": ("sym", "../../etc/passwd")},
    {"a": ("sym", "b"), "b": ("sym", "a")},
])
def test_resolve_refuses_escapes_and_loops(links: dict[str, tuple[str, str]]) -> None:
    with pytest.raises(InvalidArgument, match=r"leaves the archive|too many levels"):
        paths.resolve("a", links)
