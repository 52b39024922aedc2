"""The image store: create, get, list with filters, update by field path, delete; and
containerd's filter syntax."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from dockyard.containerd.filters import Adaptor, labels_adaptor, parse_filters
from dockyard.containerd.metadata import DB, Descriptor, Image
from dockyard.errors import AlreadyExists, InvalidArgument, NotFound
from dockyard.oci.digest import digest_bytes

INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def target(data: bytes, media_type: str = MANIFEST) -> Descriptor:
    return Descriptor(media_type, digest_bytes(data), len(data), {"org.opencontainers.image.ref.name": "x"})


@pytest.fixture
def db(tmp_path: Path) -> DB:
    return DB(tmp_path / "meta.db")


def test_create_get_and_timestamps(db: DB) -> None:
    images = db.images("default")
    created = images.create(Image("docker.io/library/busybox:latest", target(b"m1"), {"a": "1"}))
    assert created.created_at == created.updated_at > 0
    got = images.get("docker.io/library/busybox:latest")
    assert got == created
    assert got.target.annotations == {"org.opencontainers.image.ref.name": "x"}
    with pytest.raises(AlreadyExists, match=r"image 'docker\.io/library/busybox:latest': already exists"):
        images.create(Image("docker.io/library/busybox:latest", target(b"m2")))
    with pytest.raises(NotFound, match="image 'nope': not found"):
        images.get("nope")


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (Image("", target(b"x")), "image name must not be empty"),
        (Image("n", Descriptor(MANIFEST, "sha256:abc", 1)), "target.digest"),
        (Image("n", Descriptor(MANIFEST, digest_bytes(b"x"), 0)), "target.size must be greater than zero"),
        (Image("n", Descriptor("", digest_bytes(b"x"), 1)), "target.media_type must be set"),
        (Image("n", target(b"x"), {"k": "v" * 4096}), "more than 4096"),
    ],
)
def test_create_validates(db: DB, bad: Image, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        db.images("default").create(bad)


def test_list_with_filters(db: DB) -> None:
    images = db.images("default")
    images.create(Image("docker.io/library/alpine:3", target(b"a", INDEX), {"env": "prod", "team": "x"}))
    images.create(Image("docker.io/library/busybox:1", target(b"b"), {"env": "dev"}))
    images.create(Image("quay.io/x/y:latest", target(b"c"), {"containerd.io/gc.root": "true"}))

    def names(*filters: str) -> list[str]:
        return [i.name for i in images.list(*filters)]

    assert names() == ["docker.io/library/alpine:3", "docker.io/library/busybox:1", "quay.io/x/y:latest"]
    assert names("name==docker.io/library/busybox:1") == ["docker.io/library/busybox:1"]
    assert names("labels.env==prod") == ["docker.io/library/alpine:3"]
    assert names("labels.env") == ["docker.io/library/alpine:3", "docker.io/library/busybox:1"]
    assert names("labels.env==prod,labels.team==x") == ["docker.io/library/alpine:3"]
    assert names("labels.env==prod", "labels.env==dev") == ["docker.io/library/alpine:3", "docker.io/library/busybox:1"]
    assert names('labels."containerd.io/gc.root"') == ["quay.io/x/y:latest"]
    assert names("labels.containerd.io/gc.root==true") == ["quay.io/x/y:latest"]
    assert names("name~=^docker\\.io/") == ["docker.io/library/alpine:3", "docker.io/library/busybox:1"]
    assert names(f"target.mediatype=={INDEX}") == ["docker.io/library/alpine:3"]
    assert names(f"target.digest=={digest_bytes(b'c')}") == ["quay.io/x/y:latest"]
    assert names("labels.env!=prod") == ["docker.io/library/busybox:1", "quay.io/x/y:latest"]
    with pytest.raises(InvalidArgument, match="filter"):
        images.list("name==")


def test_update_by_field_path(db: DB) -> None:
    images = db.images("default")
    first = images.create(Image("img", target(b"one"), {"a": "1", "b": "2"}))
    change = Image("img", Descriptor(INDEX, digest_bytes(b"two"), 3, {"new": "ann"}), {"a": "10", "c": "3"})
    updated = images.update(change, ["labels.a"])
    assert updated.labels == {"a": "10", "b": "2"}
    assert updated.target.digest == digest_bytes(b"one")
    assert updated.created_at == first.created_at and updated.updated_at >= first.updated_at
    updated = images.update(change, ["labels.b"])  # absent in the change: removed
    assert updated.labels == {"a": "10"}
    updated = images.update(change, ["target"])
    assert updated.target == Descriptor(INDEX, digest_bytes(b"two"), 3, {"new": "ann"})
    updated = images.update(Image("img", Descriptor(INDEX, digest_bytes(b"two"), 3, {"more": "x"})),
                            ["annotations.more"])
    assert updated.target.annotations == {"new": "ann", "more": "x"}
    updated = images.update(change)  # no field paths: everything
    assert updated.labels == {"a": "10", "c": "3"} and updated.target.media_type == INDEX
    assert images.get("img") == updated
    with pytest.raises(InvalidArgument, match="cannot update 'name' field"):
        images.update(change, ["name"])
    with pytest.raises(NotFound):
        images.update(Image("missing", target(b"x")))
    with pytest.raises(InvalidArgument, match="required"):
        images.update(Image("", target(b"x")))


def test_delete(db: DB) -> None:
    images = db.images("default")
    images.create(Image("img", target(b"one")))
    with pytest.raises(NotFound, match="has target"):
        images.delete("img", target_digest=digest_bytes(b"other"))
    images.delete("img", target_digest=digest_bytes(b"one"))
    with pytest.raises(NotFound):
        images.delete("img")


def adapt(values: dict[str, str], labels: dict[str, str]) -> Adaptor:
    def adaptor(path: Sequence[str]) -> tuple[str, bool]:
        if path and path[0] == "labels":
            return labels_adaptor(labels, path)
        key = ".".join(path)
        return (values[key], True) if key in values else ("", False)
    return adaptor


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ([], True),
        (["name==a"], True),
        (["name==b"], False),
        (['name=="a"'], True),
        (["name!=b"], True),
        (["missing!=x"], True),
        (["missing"], False),
        (["name~=/^a$/"], True),
        (["name~=^b"], False),
        (['labels."x.y"==z'], True),
        (["labels.x.y==z"], True),
        (["labels.x.y==z , name==a"], True),
        (["name==b", "name==a"], True),
        (['labels."x.y"~="^z"'], True),
    ],
)
def test_filter_syntax(filters: list[str], expected: bool) -> None:
    flt = parse_filters(filters)
    assert flt.match(adapt({"name": "a"}, {"x.y": "z"})) is expected


@pytest.mark.parametrize("bad", ["name=", "name==a,", '"unterminated', "name~=(", ".x==1"])
def test_filter_errors_name_the_filter(bad: str) -> None:
    with pytest.raises(InvalidArgument, match="filter"):
        parse_filters([bad])
