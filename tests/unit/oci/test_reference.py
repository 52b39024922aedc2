"""Image references: docker's normalisation, familiar names, and the references docker refuses."""

import pytest

from dockyard.errors import InvalidArgument
from dockyard.oci.reference import (
    Reference,
    is_image_id,
    parse_canonical,
    parse_reference,
    registry_host,
    split_for_registry,
    validate_domain,
)

H = "7cc4b5aefd1d0cadf8d97d4350462ba51c694ebca145b08d7d41b41acc8db5aa"
D = f"sha256:{H}"
D512 = "sha512:" + "ab" * 64

# input, full normalised form, familiar form
VALID = [
    ("busybox", "docker.io/library/busybox:latest", "busybox:latest"),
    ("busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36"),
    ("library/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
    ("docker.io/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
    ("docker.io/library/busybox:musl", "docker.io/library/busybox:musl", "busybox:musl"),
    ("index.docker.io/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
    ("index.docker.io/user/app:v1", "docker.io/user/app:v1", "user/app:v1"),
    ("user/app", "docker.io/user/app:latest", "user/app:latest"),
    ("user/app:1", "docker.io/user/app:1", "user/app:1"),
    ("docker.io/library/a/b", "docker.io/library/a/b:latest", "library/a/b:latest"),
    ("org/team/app:2", "docker.io/org/team/app:2", "org/team/app:2"),
    ("localhost/x", "localhost/x:latest", "localhost/x:latest"),
    ("localhost:5000/x", "localhost:5000/x:latest", "localhost:5000/x:latest"),
    ("127.0.0.1:5000/a/b:tag", "127.0.0.1:5000/a/b:tag", "127.0.0.1:5000/a/b:tag"),
    ("[::1]:5000/x", "[::1]:5000/x:latest", "[::1]:5000/x:latest"),
    ("[2001:db8::1]/x:v", "[2001:db8::1]/x:v", "[2001:db8::1]/x:v"),
    ("foo:5000/bar", "foo:5000/bar:latest", "foo:5000/bar:latest"),
    ("example.com/a/b/c:v1.2.3", "example.com/a/b/c:v1.2.3", "example.com/a/b/c:v1.2.3"),
    ("ghcr.io/owner/repo", "ghcr.io/owner/repo:latest", "ghcr.io/owner/repo:latest"),
    ("Registry.Example.com/ns/app", "Registry.Example.com/ns/app:latest", "Registry.Example.com/ns/app:latest"),
    ("Foo/bar", "Foo/bar:latest", "Foo/bar:latest"),  # an upper-case first component is a domain
    ("localhost:5000", "docker.io/library/localhost:5000", "localhost:5000"),  # one component: name:tag
    ("a__b/c-d/e--f/g.h_i", "docker.io/a__b/c-d/e--f/g.h_i:latest", "a__b/c-d/e--f/g.h_i:latest"),
    ("x/y:Tag_1.0-rc.2", "docker.io/x/y:Tag_1.0-rc.2", "x/y:Tag_1.0-rc.2"),
    ("busybox:_", "docker.io/library/busybox:_", "busybox:_"),
    (f"busybox@{D}", f"docker.io/library/busybox@{D}", f"busybox@{D}"),
    (f"busybox:1.36@{D}", f"docker.io/library/busybox:1.36@{D}", f"busybox:1.36@{D}"),
    (f"ghcr.io/o/r@{D}", f"ghcr.io/o/r@{D}", f"ghcr.io/o/r@{D}"),
    (f"localhost:5000/x:t@{D512}", f"localhost:5000/x:t@{D512}", f"localhost:5000/x:t@{D512}"),
    ("b" * 10 + ":" + "t" * 128, "docker.io/library/" + "b" * 10 + ":" + "t" * 128, "b" * 10 + ":" + "t" * 128),
]


@pytest.mark.parametrize(("text", "full", "familiar"), VALID)
def test_normalisation(text: str, full: str, familiar: str) -> None:
    ref = parse_reference(text)
    assert str(ref) == full
    assert ref.familiar() == familiar
    assert parse_reference(full) == ref  # the full form parses to itself
    assert parse_reference(familiar) == ref


def test_parts() -> None:
    ref = parse_reference(f"localhost:5000/team/app:v2@{D}")
    assert (ref.domain, ref.path, ref.tag, ref.digest) == ("localhost:5000", "team/app", "v2", D)
    assert ref.name == "localhost:5000/team/app"
    assert ref.familiar_name() == "localhost:5000/team/app"
    hub = parse_reference("busybox")
    assert (hub.domain, hub.path, hub.tag, hub.digest) == ("docker.io", "library/busybox", "latest", "")
    assert hub.name == "docker.io/library/busybox"
    assert hub.familiar_name() == "busybox"


def test_digest_only_gets_no_default_tag() -> None:
    ref = parse_reference(f"busybox@{D}")
    assert ref.tag == ""
    assert ref.digest == D
    assert ref.api_reference == D


def test_tag_and_digest_both_kept_digest_wins_for_the_api() -> None:
    ref = parse_reference(f"busybox:1.36@{D}")
    assert (ref.tag, ref.digest) == ("1.36", D)
    assert split_for_registry(ref) == ("registry-1.docker.io", "library/busybox", D)


def test_without_default_tag() -> None:
    ref = parse_reference("user/app", default_tag=False)
    assert str(ref) == "docker.io/user/app"
    assert ref.is_name_only()
    assert ref.api_reference == "latest"


def test_registry_split() -> None:
    assert split_for_registry(parse_reference("alpine:3")) == ("registry-1.docker.io", "library/alpine", "3")
    assert split_for_registry(parse_reference("127.0.0.1:5000/a/b")) == ("127.0.0.1:5000", "a/b", "latest")
    assert registry_host("docker.io") == "registry-1.docker.io"
    assert registry_host("index.docker.io") == "registry-1.docker.io"
    assert registry_host("quay.io") == "quay.io"
    assert parse_reference("[::1]:5000/x").registry_host == "[::1]:5000"


# input, docker's message
INVALID = [
    ("", "invalid reference format"),
    ("Busybox", "invalid reference format: repository name (library/Busybox) must be lowercase"),
    ("BUSYBOX:latest", "invalid reference format: repository name (library/BUSYBOX) must be lowercase"),
    ("user/App", "invalid reference format: repository name (user/App) must be lowercase"),
    ("localhost:5000/Foo:tag", "invalid reference format: repository name (Foo) must be lowercase"),
    ("ghcr.io/Owner/repo", "invalid reference format: repository name (Owner/repo) must be lowercase"),
    ("busybox:", "invalid reference format"),
    (":tag", "invalid reference format"),
    ("busybox:tag:extra", "invalid reference format"),
    ("-busybox", "invalid reference format"),
    ("busybox-", "invalid reference format"),
    ("bu..sy", "invalid reference format"),
    ("a___b", "invalid reference format"),
    ("a//b", "invalid reference format"),
    ("a/b/", "invalid reference format"),
    ("/a", "invalid reference format"),
    ("busybox:-tag", "invalid reference format"),
    ("busybox:.tag", "invalid reference format"),
    ("busybox:" + "t" * 129, "invalid reference format"),
    ("busybox@sha256:abc", "invalid reference format"),
    ("busybox@", "invalid reference format"),
    ("a b", "invalid reference format"),
    ("busybox:t@g", "invalid reference format"),
    ("https://example.com/x", "invalid reference format"),
    ("[::1/x", "invalid reference format"),
    ("example.com:port/x", "invalid reference format"),
    ("-example.com/x", "invalid reference format"),
    ("b\u00fcsybox", "invalid reference format"),
    (f"busybox@sha256:{H[:40]}", "invalid checksum digest length"),
    (f"busybox@md5:{H[:32]}", "unsupported digest algorithm"),
    (f"busybox@sha256:{H.upper()}", "invalid checksum digest format"),
    (H, f"invalid repository name ({H}), cannot specify 64-byte hexadecimal strings"),
]


@pytest.mark.parametrize(("text", "message"), INVALID)
def test_refused_like_docker(text: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        parse_reference(text)
    assert str(info.value) == message


def test_name_length_limit_is_on_the_path() -> None:
    path = "a/" + "b" * 253  # 255 characters
    assert parse_reference(path).path == path
    assert parse_reference("registry.example.com:5000/" + path).path == path
    with pytest.raises(InvalidArgument, match=r"^repository name must not be more than 255 characters$"):
        parse_reference(path + "c")
    # an official name's path counts "library/"
    with pytest.raises(InvalidArgument, match="must not be more than 255"):
        parse_reference("b" * 250)


def test_parse_canonical_keeps_names_as_written() -> None:
    ref = parse_canonical("busybox")
    assert (ref.domain, ref.path, ref.tag) == ("", "busybox", "")
    ref = parse_canonical("quay.io/a/b:c")
    assert (ref.domain, ref.path, ref.tag) == ("quay.io", "a/b", "c")
    with pytest.raises(InvalidArgument, match=r"^repository name must be lowercase$"):
        parse_canonical("quay.io/A/b")
    with pytest.raises(InvalidArgument, match="at least one component"):
        parse_canonical("")


def test_with_tag_and_digest() -> None:
    ref = parse_reference("busybox")
    assert str(ref.with_tag("1.36")) == "docker.io/library/busybox:1.36"
    both = ref.with_digest(D)
    assert str(both) == f"docker.io/library/busybox:latest@{D}"
    assert str(both.repository()) == "docker.io/library/busybox"
    with pytest.raises(InvalidArgument, match=r"^invalid tag format$"):
        ref.with_tag("-x")
    with pytest.raises(InvalidArgument, match=r"^invalid digest format$"):
        ref.with_digest("sha256:xyz")
    with pytest.raises(InvalidArgument, match="invalid checksum digest length"):
        ref.with_digest("sha256:" + "a" * 40)


def test_equality_hash_and_immutability() -> None:
    a = parse_reference("busybox")
    b = parse_reference("docker.io/library/busybox:latest")
    assert a == b
    assert len({a, b}) == 1
    assert a != parse_reference("busybox:1")
    assert repr(a) == "Reference('docker.io/library/busybox:latest')"
    with pytest.raises(AttributeError):
        a.tag = "x"  # type: ignore[misc]
    assert Reference("docker.io", "library/busybox", "latest") == a


def test_image_ids_and_domains() -> None:
    assert is_image_id(H)
    assert not is_image_id(H[:-1])
    assert not is_image_id(H.upper())
    assert validate_domain("localhost:5000") == "localhost:5000"
    assert validate_domain("[fe80::1]:443") == "[fe80::1]:443"
    with pytest.raises(InvalidArgument, match="invalid registry domain"):
        validate_domain("exa_mple.com")
