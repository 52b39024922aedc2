"""Platforms: normalising like containerd, parsing specifiers, the host, matching and ordering."""

import os

import pytest

from dockyard.errors import InvalidArgument
from dockyard.oci.platform import (
    Platform,
    best_match,
    compatible,
    host_platform,
    match_rank,
    matches,
    normalize_arch,
    normalize_os,
    parse_platform,
    platform_from_uname,
)


@pytest.mark.parametrize(
    ("arch", "variant", "expected"),
    [
        ("x86_64", "", ("amd64", "")),
        ("x86-64", "", ("amd64", "")),
        ("AMD64", "v1", ("amd64", "")),
        ("amd64", "v3", ("amd64", "v3")),
        ("aarch64", "", ("arm64", "")),
        ("arm64", "v8", ("arm64", "")),
        ("arm64", "8", ("arm64", "")),
        ("ARM64", "V8", ("arm64", "")),
        ("arm64", "v9", ("arm64", "v9")),
        ("arm64", "v8.2", ("arm64", "v8.2")),
        ("armhf", "", ("arm", "v7")),
        ("armel", "", ("arm", "v6")),
        ("arm", "", ("arm", "v7")),
        ("arm", "7", ("arm", "v7")),
        ("arm", "6", ("arm", "v6")),
        ("arm", "5", ("arm", "v5")),
        ("arm", "8", ("arm", "v8")),
        ("arm", "v6", ("arm", "v6")),
        ("i386", "", ("386", "")),
        ("386", "", ("386", "")),
        ("ppc64le", "", ("ppc64le", "")),
        ("s390x", "", ("s390x", "")),
        ("riscv64", "", ("riscv64", "")),
    ],
)
def test_normalize_arch(arch: str, variant: str, expected: tuple[str, str]) -> None:
    assert normalize_arch(arch, variant) == expected


def test_normalize_os_and_platform() -> None:
    assert normalize_os("Linux") == "linux"
    assert normalize_os("macos") == "darwin"
    p = Platform("Linux", "x86_64", "v1", os_features=["b", "a", "b"]).normalize()
    assert p == Platform("linux", "amd64", os_features=["a", "b"])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("linux/arm64/v8", "linux/arm64"),
        ("linux/arm64", "linux/arm64"),
        ("linux/amd64", "linux/amd64"),
        ("linux/x86_64", "linux/amd64"),
        ("Linux/AArch64", "linux/arm64"),
        ("linux/arm", "linux/arm/v7"),
        ("linux/arm/v6", "linux/arm/v6"),
        ("linux/arm/7", "linux/arm/v7"),
        ("linux/armhf", "linux/arm/v7"),
        ("linux/386", "linux/386"),
        ("linux/i386", "linux/386"),
        ("linux/amd64/v3", "linux/amd64/v3"),
        ("linux/arm64/v8.2", "linux/arm64/v8.2"),
        ("windows/amd64", "windows/amd64"),
    ],
)
def test_parse_platform(text: str, expected: str) -> None:
    assert str(parse_platform(text)) == expected


def test_parse_one_component_fills_in_from_the_host() -> None:
    host = host_platform()
    assert parse_platform("linux") == Platform("linux", host.architecture, host.variant)
    assert parse_platform("arm64") == Platform(host.os, "arm64")
    assert parse_platform("armhf") == Platform(host.os, "arm", "v7")


@pytest.mark.parametrize("text", ["", "linux/", "/amd64", "linux//arm", "a/b/c/d", "lin ux/amd64", "linux/*", "foo"])
def test_parse_platform_refuses(text: str) -> None:
    with pytest.raises(InvalidArgument, match="invalid platform"):
        parse_platform(text)


@pytest.mark.parametrize(
    ("sysname", "machine", "expected"),
    [
        ("Linux", "x86_64", "linux/amd64"),
        ("Linux", "aarch64", "linux/arm64"),
        ("Linux", "armv7l", "linux/arm/v7"),
        ("Linux", "armv6l", "linux/arm/v6"),
        ("Linux", "armv5tel", "linux/arm/v5"),
        ("Linux", "armv8l", "linux/arm/v8"),
        ("Linux", "i686", "linux/386"),
        ("Linux", "s390x", "linux/s390x"),
        ("Linux", "ppc64le", "linux/ppc64le"),
    ],
)
def test_platform_from_uname(sysname: str, machine: str, expected: str) -> None:
    assert str(platform_from_uname(sysname, machine)) == expected


def test_host_platform() -> None:
    uname = os.uname()
    host = host_platform()
    assert host == platform_from_uname(uname.sysname, uname.machine)
    assert host.os == "linux"
    assert host_platform() is host  # computed once


def test_dict_round_trip_and_field_order() -> None:
    doc = {"architecture": "amd64", "os": "windows", "os.version": "10.0.17763.5329", "os.features": ["win32k"]}
    p = Platform.from_dict(doc)
    assert (p.os, p.architecture, p.os_version, p.os_features) == ("windows", "amd64", "10.0.17763.5329", ("win32k",))
    assert list(p.to_dict().items()) == list(doc.items())
    arm = Platform.from_dict({"os": "linux", "variant": "v7", "architecture": "arm"})
    assert list(arm.to_dict()) == ["architecture", "os", "variant"]
    assert str(arm) == "linux/arm/v7"
    assert str(Platform("", "")) == "unknown"


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"os": "linux"}, "platform: architecture: required"),
        ({"architecture": "amd64"}, "platform: os: required"),
        ({"architecture": "amd64", "os": ""}, "platform: os: must not be empty"),
        ({"architecture": 1, "os": "linux"}, "platform: architecture: must be a string, not a number"),
        ({"architecture": "arm", "os": "linux", "variant": 7}, "platform: variant: must be a string"),
        ({"architecture": "amd64", "os": "linux", "os.features": "x"}, "platform: os.features: must be a list"),
        ("linux/amd64", "platform: must be an object, not a string"),
    ],
)
def test_dict_refuses(doc: object, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message.replace(".", r"\.")):
        Platform.from_dict(doc)


def test_platforms_are_hashable_values() -> None:
    assert len({parse_platform("linux/arm64"), Platform("linux", "arm64"), parse_platform("linux/arm64/v8")}) == 1


MATCHES = [
    ("linux/amd64", "linux/amd64", True),
    ("linux/amd64", "linux/x86_64", True),
    ("linux/amd64", "linux/386", False),  # amd64 runs only amd64
    ("linux/amd64", "linux/arm64", False),
    ("linux/amd64", "windows/amd64", False),
    ("linux/amd64", "linux/amd64/v2", False),
    ("linux/amd64/v3", "linux/amd64/v2", True),
    ("linux/amd64/v3", "linux/amd64", True),
    ("linux/amd64/v2", "linux/amd64/v3", False),
    ("linux/arm/v7", "linux/arm/v7", True),
    ("linux/arm/v7", "linux/arm", True),
    ("linux/arm/v7", "linux/arm/v6", True),
    ("linux/arm/v7", "linux/arm/v5", True),
    ("linux/arm/v6", "linux/arm/v7", False),
    ("linux/arm/v5", "linux/arm/v6", False),
    ("linux/arm/v7", "linux/arm64", False),
    ("linux/arm64", "linux/arm64/v8", True),
    ("linux/arm64", "linux/aarch64", True),
    ("linux/arm64", "linux/arm64/v9", False),
    ("linux/arm64", "linux/arm/v7", True),
    ("linux/arm64", "linux/arm/v8", True),
    ("linux/arm64", "linux/amd64", False),
    ("linux/arm64/v8.2", "linux/arm64/v8.1", True),
    ("linux/arm64/v8.2", "linux/arm64", True),
    ("linux/arm64/v9", "linux/arm64/v8.5", True),
    ("linux/arm64/v9", "linux/arm64/v8.6", False),
    ("linux/s390x", "linux/s390x", True),
]


@pytest.mark.parametrize(("want", "have", "expected"), MATCHES)
def test_matches(want: str, have: str, expected: bool) -> None:
    assert matches(parse_platform(want), parse_platform(have)) is expected


def test_unknown_platforms_never_match() -> None:
    assert not matches(parse_platform("linux/amd64"), Platform("unknown", "unknown"))


def test_os_features_of_the_image_must_be_offered() -> None:
    want = Platform("windows", "amd64", os_features=["win32k"])
    assert matches(want, Platform("windows", "amd64"))
    assert matches(want, Platform("windows", "amd64", os_features=["win32k"]))
    assert not matches(Platform("windows", "amd64"), Platform("windows", "amd64", os_features=["win32k"]))


def test_compatibility_order() -> None:
    assert [str(p) for p in compatible(parse_platform("linux/arm/v7"))] == [
        "linux/arm/v7", "linux/arm/v6", "linux/arm/v5",
    ]
    assert [str(p) for p in compatible(parse_platform("linux/arm64"))] == [
        "linux/arm64", "linux/arm/v8", "linux/arm/v7", "linux/arm/v6", "linux/arm/v5",
    ]
    assert [str(p) for p in compatible(parse_platform("linux/amd64/v3"))] == [
        "linux/amd64/v3", "linux/amd64/v2", "linux/amd64",
    ]
    assert [str(p) for p in compatible(parse_platform("linux/amd64"))] == ["linux/amd64"]
    assert match_rank(parse_platform("linux/arm/v7"), parse_platform("linux/arm/v5")) == 2


def _plats(*texts: str) -> list[Platform]:
    return [parse_platform(t) for t in texts]


def test_best_match_prefers_exact_then_nearest_lower_variant() -> None:
    candidates = _plats("linux/arm/v5", "linux/arm/v7", "linux/arm/v6")
    assert best_match(parse_platform("linux/arm/v7"), candidates) == 1
    assert best_match(parse_platform("linux/arm/v6"), candidates) == 2
    assert best_match(parse_platform("linux/arm/v5"), candidates) == 0
    assert best_match(parse_platform("linux/arm64"), _plats("linux/arm/v6", "linux/arm/v7")) == 1
    assert best_match(parse_platform("linux/arm64"), _plats("linux/arm/v7", "linux/arm64")) == 1
    assert best_match(parse_platform("linux/amd64"), _plats("linux/386", "linux/arm64")) is None


def test_best_match_takes_the_first_of_equals_and_skips_none() -> None:
    want = parse_platform("linux/amd64")
    assert best_match(want, [None, Platform("linux", "amd64"), Platform("linux", "x86_64")]) == 1
    assert best_match(want, [None, None]) is None
    assert best_match(want, []) is None
