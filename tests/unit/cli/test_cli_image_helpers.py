"""The helpers of the image and system commands: times, platforms, filters, references, inspect
JSON, the config file and the terminal facts."""

from __future__ import annotations

import base64
import io
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.cli import dockerconfig, term
from dockyard.cli.filteropt import Filters, parse_filter
from dockyard.cli.imagefmt import image_format, image_rows, is_dangling, split_reference
from dockyard.cli.inspecting import compact_json, indent_json
from dockyard.cli.platforms import platform_dict
from dockyard.cli.timestamps import get_timestamp, rfc3339, rfc3339_nano_fixed
from dockyard.errors import InvalidArgument

NOW = 1795870800.0  # 2026-11-28T13:00:00Z


@pytest.fixture
def zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "Asia/Kolkata")  # +05:30, no daylight saving time
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


# --- --since / --until --------------------------------------------------------------------

@pytest.mark.parametrize(("value", "expected"), [
    ("10m", str(int(NOW) - 600)),
    ("1h30m", str(int(NOW) - 5400)),
    ("-5s", str(int(NOW) + 5)),
    ("2025-11-28T13:00:00Z", "1764334800.000000000"),
    ("2025-11-28T13:00:00.5Z", "1764334800.500000000"),
    ("2025-11-28T14:00:00+01:00", "1764334800.000000000"),
    ("2025-11-28T14:00+01:00", "1764334800.000000000"),
    ("2025-11-28T14+01:00", "1764334800.000000000"),
    ("2025-11-28Z", "1764288000.000000000"),
    ("1764334800", "1764334800"),
    ("1764334800.123", "1764334800.123"),
])
def test_get_timestamp(value: str, expected: str) -> None:
    assert get_timestamp(value, NOW) == expected


def test_get_timestamp_in_the_local_zone(zone: None) -> None:
    assert get_timestamp("2025-11-28T18:30:00", NOW) == "1764334800.000000000"
    assert get_timestamp("2025-11-28T18:30", NOW) == "1764334800.000000000"
    assert get_timestamp("2025-11-28T18", NOW) == "1764333000.000000000"
    assert get_timestamp("2025-11-28", NOW) == "1764268200.000000000"
    assert rfc3339(1764334800) == "2025-11-28T18:30:00+05:30"
    assert rfc3339_nano_fixed(1764334800_000000007) == "2025-11-28T18:30:00.000000007+05:30"


@pytest.mark.parametrize(("value", "message"), [
    ("xyz", 'failed to parse value as time or duration: "xyz"'),
    ("2025-13-45", 'parsing time "2025-13-45": month out of range'),
    ("2025-02-29", 'parsing time "2025-02-29": day out of range'),
    ("2025-11-28T25:00:00Z", 'parsing time "2025-11-28T25:00:00Z": hour out of range'),
    ("2025-1-2", 'parsing time "2025-1-2" as "2006-01-02": cannot parse "1-2" as "01"'),
])
def test_get_timestamp_errors(value: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        get_timestamp(value, NOW)
    assert str(info.value) == message


# --- platforms, filters, references -------------------------------------------------------

@pytest.mark.parametrize(("spec", "expected"), [
    ("linux/amd64", {"architecture": "amd64", "os": "linux"}),
    ("Linux/ARM64", {"architecture": "arm64", "os": "linux"}),
    ("linux/arm64/v8", {"architecture": "arm64", "os": "linux", "variant": "v8"}),
    ("linux/arm", {"architecture": "arm", "os": "linux"}),
    ("linux/arm/v7", {"architecture": "arm", "os": "linux", "variant": "v7"}),
    ("linux/x86_64/v1", {"architecture": "amd64", "os": "linux"}),
    ("arm64", {"architecture": "arm64", "os": "linux"}),
    ("windows(10.0.17763)/amd64", {"architecture": "amd64", "os": "windows", "os.version": "10.0.17763"}),
])
def test_platforms_as_containerd_parses_them(spec: str, expected: dict[str, str]) -> None:
    assert platform_dict(spec) == expected


@pytest.mark.parametrize(("spec", "message"), [
    ("linux/a/b/c", '"linux/a/b/c": cannot parse platform specifier: invalid argument'),
    ("nope", '"nope": unknown operating system or architecture: invalid argument'),
    ("linux/*", '"linux/*": wildcards not yet supported: invalid argument'),
    ("linux/a b", '"a b" is an invalid component of "linux/a b": platform specifier component must match '
                  '"^[A-Za-z0-9_.-]+$": invalid argument'),
])
def test_platform_errors(spec: str, message: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        platform_dict(spec)
    assert str(info.value) == message


def test_filters() -> None:
    filters = Filters([parse_filter("Label = a=b"), parse_filter("label=c"), parse_filter("dangling=true"), None])
    assert filters.encode() == {"dangling": {"true": True}, "label": {"a=b": True, "c": True}}
    assert filters.get("label") == ["a=b", "c"] and filters.contains("dangling") and len(filters) == 2
    assert Filters().encode() is None
    with pytest.raises(ValueError, match=r"^bad format of filter \(expected name=value\)$"):
        parse_filter("nope")


@pytest.mark.parametrize(("ref", "expected"), [
    ("busybox:latest", ("busybox", "latest", "")),
    ("docker.io/library/busybox:1.36", ("busybox", "1.36", "")),
    ("docker.io/user/app:1", ("user/app", "1", "")),
    ("localhost:5000/team/app", ("localhost:5000/team/app", "", "")),
    ("busybox@sha256:" + "a" * 64, ("busybox", "", "sha256:" + "a" * 64)),
    ("<none>:<none>", None),
    ("<none>@<none>", None),
])
def test_split_reference(ref: str, expected: tuple[str, str, str] | None) -> None:
    assert split_reference(ref) == expected


def test_image_rows_of_digest_only_and_dangling_images() -> None:
    digest = "sha256:" + "b" * 64
    image = {"Id": "sha256:" + "c" * 64, "RepoTags": [], "RepoDigests": [f"app@{digest}"], "Created": 0, "Size": 1}
    assert [(r.Repository(), r.Tag(), r.Digest()) for r in image_rows([image], False, False)] == [("app", "<none>", "")]
    assert [(r.Repository(), r.Tag(), r.Digest()) for r in image_rows([image], True, True)] == [
        ("app", "<none>", digest)]
    assert is_dangling({"RepoTags": ["<none>:<none>"], "RepoDigests": ["<none>@<none>"]})
    assert image_format("table {{.ID}}", False, True) == "table {{.ID}}\t{{.Digest}}"
    assert image_format("{{.ID}}", True, True) == "{{.ID}}"


# --- inspect's JSON -----------------------------------------------------------------------

def test_indent_json_is_gos() -> None:
    raw = '[{"a":1,"b":[],"c":{},"d":[1,{"e":"x, y: \\"z\\""}],"f":null}]'
    assert indent_json(raw) == (
        '[\n    {\n        "a": 1,\n        "b": [],\n        "c": {},\n        "d": [\n            1,\n'
        '            {\n                "e": "x, y: \\"z\\""\n            }\n        ],\n        "f": null\n    }\n]')
    assert json.loads(indent_json(raw)) == json.loads(raw)
    assert compact_json('[ {"a" : "b c",\n "d": [1, 2]} ]') == '[{"a":"b c","d":[1,2]}]'


# --- the config file ----------------------------------------------------------------------

def test_encode_auth_is_base64url_json_without_empty_fields() -> None:
    assert dockerconfig.encode_auth({}) == "e30="
    encoded = dockerconfig.encode_auth({"username": "u", "password": "p?>", "email": "", "serveraddress": "h"})
    assert "+" not in encoded and "/" not in encoded
    assert base64.urlsafe_b64decode(encoded) == b'{"username":"u","password":"p?>","serveraddress":"h"}'


def test_config_file_round_trip(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text('{"psFormat": "x", "auths": {"https://index.docker.io/v1/": '
                                          '{"auth": "dXNlcjpwYXNz"}}}')
    config = dockerconfig.ConfigFile(str(tmp_path))
    assert config.auth_for(dockerconfig.server_key("docker.io")) == {
        "username": "user", "password": "pass", "serveraddress": "https://index.docker.io/v1/"}
    assert config.auth_for("localhost:5000") == {}
    assert config.store_auth({"username": "a", "password": "b", "serveraddress": "localhost:5000"}) is True
    text = (tmp_path / "config.json").read_text()
    assert text.startswith('{\n\t"psFormat": "x",\n\t"auths": {\n\t\t"https://index.docker.io/v1/"')
    assert (tmp_path / "config.json").stat().st_mode & 0o777 == 0o600
    config.erase_auth("https://index.docker.io/v1/")
    assert json.loads((tmp_path / "config.json").read_text())["auths"] == {"localhost:5000": {"auth": "YTpi"}}
    assert dockerconfig.hostname("https://localhost:5000/v2/") == "localhost:5000"
    (tmp_path / "config.json").write_text("{nope")
    with pytest.raises(InvalidArgument, match=r"^parsing config file \("):
        dockerconfig.ConfigFile(str(tmp_path))


def test_credential_helpers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    helper = tmp_path / "docker-credential-fake"
    store = tmp_path / "store.json"
    helper.write_text(f"""#!/bin/sh
read -r input
case "$1" in
get) if [ -f {store} ]; then cat {store}; else echo "credentials not found in native keychain"; exit 1; fi ;;
store) printf '%s' "$input" > {store} ;;
erase) rm -f {store} ;;
esac
""")
    helper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    (tmp_path / "config.json").write_text('{"credsStore": "fake"}')
    config = dockerconfig.ConfigFile(str(tmp_path))
    assert config.auth_for("localhost:5000") == {}
    assert config.store_auth({"username": "u", "password": "p", "serveraddress": "localhost:5000"}) is False
    assert json.loads(store.read_text()) == {"ServerURL": "localhost:5000", "Username": "u", "Secret": "p"}
    assert config.auth_for("localhost:5000") == {"username": "u", "password": "p", "serveraddress": "localhost:5000"}
    config.erase_auth("localhost:5000")
    assert not store.exists()


# --- the terminal -------------------------------------------------------------------------

class _Tty(io.StringIO):
    columns = 99

    def isatty(self) -> bool:
        return True


def test_term_helpers() -> None:
    assert not term.isatty(io.StringIO()) and term.isatty(_Tty())
    assert term.width(io.StringIO()) == 200 and term.width(_Tty()) == 99
    out = io.StringIO()
    assert term.confirm(io.StringIO(" Y \n"), out, "Go?") and out.getvalue() == "Go? [y/N] "
    assert not term.confirm(io.StringIO("yes\n"), io.StringIO(), "Go?")
    assert not term.confirm(io.StringIO(""), io.StringIO(), "Go?")
    with open(os.devnull) as devnull:
        assert not term.isatty(devnull) and term.width(devnull) == 200
