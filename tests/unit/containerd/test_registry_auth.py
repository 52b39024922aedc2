"""Registry auth without a network: WWW-Authenticate parsing, docker config.json, the authorizer."""

from __future__ import annotations

import base64
import json
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from dockyard.containerd.registry.auth import Authorizer, repository_scope
from dockyard.containerd.registry.challenge import Challenge, parse_challenges
from dockyard.containerd.registry.credentials import (
    Credentials,
    DockerConfig,
    default_config_path,
    normalize_host,
)
from dockyard.containerd.registry.responses import Subject
from dockyard.errors import InvalidArgument, PermissionDenied

# -- challenges --------------------------------------------------------------------------


def test_bearer_challenge_of_docker_hub() -> None:
    header = ('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
              'scope="repository:library/busybox:pull"')
    [challenge] = parse_challenges(header)
    assert challenge.scheme == "bearer"
    assert challenge.realm == "https://auth.docker.io/token"
    assert challenge.service == "registry.docker.io"
    assert challenge.scopes == ["repository:library/busybox:pull"]


def test_basic_challenge_and_case_of_names() -> None:
    [challenge] = parse_challenges('BASIC Realm="basic-realm"')
    assert challenge == Challenge("basic", {"realm": "basic-realm"})


def test_several_challenges_in_one_header() -> None:
    header = 'Basic realm="a, b", Bearer realm="https://x/token", service=reg ,scope="repository:a/b:pull,push"'
    basic, bearer = parse_challenges(header)
    assert basic.params == {"realm": "a, b"}
    assert bearer.params == {"realm": "https://x/token", "service": "reg", "scope": "repository:a/b:pull,push"}


def test_quoted_string_escapes_and_error_parameter() -> None:
    header = r'Bearer realm="https://x/t\"oken", error="insufficient_scope", scope="a b"'
    [challenge] = parse_challenges(header)
    assert challenge.realm == 'https://x/t"oken'
    assert challenge.error == "insufficient_scope"
    assert challenge.scopes == ["a", "b"]


def test_token68_and_scheme_without_parameters() -> None:
    negotiate, basic, bearer = parse_challenges('Negotiate abc==, Basic, Bearer realm="r"')
    assert negotiate == Challenge("negotiate", {}, "abc==")
    assert basic == Challenge("basic")
    assert bearer.realm == "r"


@pytest.mark.parametrize("header", ["", "   ", ",,", '="x"', "@@@ realm=x"])
def test_garbage_is_skipped_not_fatal(header: str) -> None:
    for challenge in parse_challenges(header):
        assert challenge.scheme


def test_unterminated_quote_takes_the_rest() -> None:
    [challenge] = parse_challenges('Bearer realm="https://x/token')
    assert challenge.realm == "https://x/token"


# -- docker config.json ------------------------------------------------------------------


def _write(path: Path, doc: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc) if not isinstance(doc, str) else doc)
    return path


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_config_auth_base64_and_username_password(tmp_path: Path) -> None:
    path = _write(tmp_path / "config.json", {"auths": {
        "https://index.docker.io/v1/": {"auth": _b64("hubuser:hub:pass")},
        "127.0.0.1:5000": {"username": "u", "password": "p"},
        "http://reg.example.com:8443/v2/": {"auth": _b64("x:y")},
    }})
    config = DockerConfig.load(path)
    assert config.lookup("registry-1.docker.io") == Credentials("hubuser", "hub:pass")
    assert config.lookup("docker.io") == Credentials("hubuser", "hub:pass")
    assert config.lookup("127.0.0.1:5000") == Credentials("u", "p")
    assert config.lookup("reg.example.com:8443") == Credentials("x", "y")
    assert config.lookup("127.0.0.1:5001") is None


def test_config_identity_token_and_empty_entries(tmp_path: Path) -> None:
    path = _write(tmp_path / "config.json", {"auths": {"quay.io": {"identitytoken": "refresh"}, "ghcr.io": {}}})
    config = DockerConfig.load(path)
    assert config.lookup("quay.io") == Credentials(identity_token="refresh")
    assert config.lookup("ghcr.io") is None


def test_missing_config_is_empty(tmp_path: Path) -> None:
    config = DockerConfig.load(tmp_path / "nothing" / "config.json")
    assert config.lookup("docker.io") is None


@pytest.mark.parametrize(("doc", "message"), [
    ("{not json", "invalid JSON"),
    ("[1]", "expected a JSON object"),
    ({"auths": {"h": {"auth": "%%%"}}}, "auths['h']: auth: invalid base64"),
    ({"auths": {"h": {"auth": _b64("nocolon")}}}, "expected base64 of user:password"),
    ({"auths": {"h": {"username": 5}}}, "username: expected a string"),
    ({"auths": []}, "auths: expected an object"),
])
def test_bad_config_names_the_file_and_field(tmp_path: Path, doc: object, message: str) -> None:
    path = _write(tmp_path / "config.json", doc)
    with pytest.raises(InvalidArgument) as info:
        DockerConfig.load(path)
    assert str(path) in str(info.value)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_docker_config_env_overrides_the_directory(tmp_path: Path) -> None:
    _write(tmp_path / "custom" / "config.json", {"auths": {"h:1": {"username": "a", "password": "b"}}})
    env = {"DOCKER_CONFIG": str(tmp_path / "custom"), "HOME": str(tmp_path / "home")}
    assert default_config_path(env) == tmp_path / "custom" / "config.json"
    assert DockerConfig.load(env=env).lookup("h:1") == Credentials("a", "b")
    assert default_config_path({"HOME": str(tmp_path / "home")}) == tmp_path / "home" / ".docker" / "config.json"


def test_normalize_host() -> None:
    assert normalize_host("https://index.docker.io/v1/") == "docker.io"
    assert normalize_host("HTTP://Reg.Example.com:5000/path") == "reg.example.com:5000"
    assert normalize_host("[::1]:5000") == "[::1]:5000"


def test_credentials_repr_hides_the_password() -> None:
    assert "secret" not in repr(Credentials("user", "secret"))


def test_credential_helper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    helper = bin_dir / "docker-credential-fake"
    helper.write_text(
        "#!/bin/sh\nread server\n"
        'case "$server" in\n'
        '  helped.example.com) echo \'{"ServerURL":"x","Username":"hu","Secret":"hs"}\' ;;\n'
        '  token.example.com) echo \'{"ServerURL":"x","Username":"<token>","Secret":"rt"}\' ;;\n'
        '  *) echo "credentials not found in native keychain"; exit 1 ;;\n'
        "esac\n")
    helper.chmod(helper.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    config = DockerConfig.from_dict({
        "credsStore": "fake",
        "credHelpers": {"other.example.com": "missing"},
        "auths": {"plain.example.com": {"username": "pu", "password": "pp"},
                  "other.example.com": {"username": "ou", "password": "op"}},
    })
    assert config.lookup("helped.example.com") == Credentials("hu", "hs")
    assert config.lookup("token.example.com") == Credentials(identity_token="rt")
    assert config.lookup("plain.example.com") == Credentials("pu", "pp")  # the helper has none
    assert config.lookup("other.example.com") == Credentials("ou", "op")  # helper not installed


# -- the authorizer ------------------------------------------------------------------------


@dataclass
class FakeReply:
    status_code: int
    body: object = None
    headers: dict[str, str] = field(default_factory=dict)
    reason: str = ""

    @property
    def content(self) -> bytes:
        return json.dumps(self.body).encode() if self.body is not None else b""


class FakeTokenServer:
    """A sender that answers token requests and records them."""

    def __init__(self, *replies: FakeReply) -> None:
        self.replies = list(replies)
        self.calls: list[tuple[str, str, Mapping[str, object], Mapping[str, str], Mapping[str, str] | None]] = []

    def __call__(self, method: str, url: str, params: Mapping[str, object], headers: Mapping[str, str],
                 form: Mapping[str, str] | None, subject: Subject) -> FakeReply:
        self.calls.append((method, url, dict(params), dict(headers), form))
        return self.replies.pop(0) if self.replies else FakeReply(200, {"token": f"t{len(self.calls)}"})


BEARER = FakeReply(401, headers={
    "WWW-Authenticate": 'Bearer realm="https://auth.example.com/token",service="reg.example.com"'})
BASIC = FakeReply(401, headers={"WWW-Authenticate": 'Basic realm="r"'})


def test_anonymous_until_challenged() -> None:
    auth = Authorizer("reg.example.com", None, FakeTokenServer())
    assert auth.header([repository_scope("a/b")]) is None
    assert auth.scheme == ""


def test_bearer_token_fetched_with_service_scope_and_basic_credentials() -> None:
    server = FakeTokenServer(FakeReply(200, {"access_token": "abc", "expires_in": 300}))
    auth = Authorizer("reg.example.com", Credentials("u", "p"), server)
    scopes = [repository_scope("a/b", "pull", "push")]
    assert auth.unauthorized(BEARER, scopes, None) is True
    assert auth.header(scopes) == "Bearer abc"
    assert auth.header(scopes) == "Bearer abc"  # cached
    [(method, url, params, headers, form)] = server.calls
    assert (method, url, form) == ("GET", "https://auth.example.com/token", None)
    assert params == {"scope": ["repository:a/b:pull,push"], "service": "reg.example.com"}
    assert headers["Authorization"] == "Basic " + _b64("u:p")


def test_token_cache_is_per_scope_and_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    server = FakeTokenServer(FakeReply(200, {"token": "one", "expires_in": 1}), FakeReply(200, {"token": "two"}),
                             FakeReply(200, {"token": "three"}))
    auth = Authorizer("reg.example.com", None, server)
    auth.unauthorized(BEARER, [], None)
    assert auth.header(["repository:a:pull"]) == "Bearer one"
    assert auth.header(["repository:b:pull"]) == "Bearer two"
    assert "Authorization" not in server.calls[0][3]  # anonymous token
    import dockyard.containerd.registry.auth as auth_module

    now = auth_module.time.monotonic()
    monkeypatch.setattr(auth_module.time, "monotonic", lambda: now + 5)
    assert auth.header(["repository:a:pull"]) == "Bearer three"


def test_identity_token_uses_oauth_refresh() -> None:
    server = FakeTokenServer(FakeReply(200, {"access_token": "fresh"}))
    auth = Authorizer("reg.example.com", Credentials(identity_token="refresh-me"), server)
    auth.unauthorized(BEARER, [], None)
    assert auth.header(["repository:a:pull"]) == "Bearer fresh"
    method, _, _, _, form = server.calls[0]
    assert method == "POST"
    assert form is not None and form["grant_type"] == "refresh_token" and form["refresh_token"] == "refresh-me"
    assert form["scope"] == "repository:a:pull" and form["service"] == "reg.example.com"


def test_refused_token_request_is_permission_denied() -> None:
    server = FakeTokenServer(FakeReply(401, {"errors": [{"code": "UNAUTHORIZED", "message": "bad password"}]}))
    auth = Authorizer("reg.example.com", Credentials("u", "wrong"), server)
    auth.unauthorized(BEARER, [], None)
    with pytest.raises(PermissionDenied, match="authentication failed for user 'u': bad password"):
        auth.header(["repository:a:pull"])


def test_token_answer_without_token_is_invalid() -> None:
    auth = Authorizer("reg.example.com", None, FakeTokenServer(FakeReply(200, {"expires_in": 60})))
    auth.unauthorized(BEARER, [], None)
    with pytest.raises(InvalidArgument, match="has no token"):
        auth.header([])


def test_refused_token_is_dropped_once_then_final() -> None:
    auth = Authorizer("reg.example.com", None, FakeTokenServer())
    auth.unauthorized(BEARER, [], None)
    sent = auth.header(["repository:a:pull"])
    assert auth.unauthorized(BEARER, ["repository:a:pull"], sent) is True  # expired: fetch again
    again = auth.header(["repository:a:pull"])
    assert again != sent
    scoped = FakeReply(401, headers={"WWW-Authenticate": BEARER.headers["WWW-Authenticate"]
                                     + ',error="insufficient_scope"'})
    assert auth.unauthorized(scoped, ["repository:a:pull"], again) is False


def test_basic_with_and_without_credentials() -> None:
    auth = Authorizer("h", Credentials("user", "pw"), FakeTokenServer())
    assert auth.unauthorized(BASIC, [], None) is True
    assert auth.header([]) == "Basic " + _b64("user:pw")
    assert auth.unauthorized(BASIC, [], auth.header([])) is False  # wrong password: final
    anonymous = Authorizer("h", None, FakeTokenServer())
    assert anonymous.unauthorized(BASIC, [], None) is False
    assert anonymous.header([]) is None


def test_bearer_preferred_over_basic() -> None:
    both = FakeReply(401, headers={"WWW-Authenticate": 'Basic realm="r", ' + BEARER.headers["WWW-Authenticate"]})
    auth = Authorizer("reg.example.com", None, FakeTokenServer())
    auth.unauthorized(both, [], None)
    assert auth.scheme == "bearer"


def test_realm_must_be_a_url() -> None:
    auth = Authorizer("h", None, FakeTokenServer())
    auth.unauthorized(FakeReply(401, headers={"WWW-Authenticate": 'Bearer realm="/relative"'}), [], None)
    with pytest.raises(InvalidArgument, match="without a usable realm"):
        auth.header([])
