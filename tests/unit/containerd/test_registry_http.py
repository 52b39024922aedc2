"""Registry HTTP helpers without a network: error mapping, headers, scheme choice."""

from __future__ import annotations

import json

import pytest

from dockyard.containerd.registry.client import RegistryClient
from dockyard.containerd.registry.responses import (
    Subject,
    content_range_start,
    error_for,
    next_link,
    resolve_location,
    retry_after,
    upload_offset,
)
from dockyard.containerd.registry.transport import Transport, host_name, is_loopback
from dockyard.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    NotImplementedYet,
    PermissionDenied,
    Unavailable,
)

MANIFEST = Subject("manifest", "docker.io/library/x:tag")


def _body(code: str, message: str) -> bytes:
    return json.dumps({"errors": [{"code": code, "message": message, "detail": {}}]}).encode()


def test_not_found_names_the_reference() -> None:
    error = error_for(404, "Not Found", _body("MANIFEST_UNKNOWN", "manifest unknown"), MANIFEST, "h")
    assert isinstance(error, NotFound)
    assert str(error) == "manifest unknown: docker.io/library/x:tag not found"
    # HEAD answers carry no body: the kind says what is unknown
    error = error_for(404, "", b"", Subject("blob", "h/r@sha256:ab"), "h")
    assert str(error) == "blob unknown: h/r@sha256:ab not found"


@pytest.mark.parametrize(("status", "kind"), [
    (401, PermissionDenied), (403, PermissionDenied), (400, InvalidArgument), (405, NotImplementedYet),
    (416, FailedPrecondition), (429, Unavailable), (500, Unavailable), (503, Unavailable),
])
def test_status_mapping(status: int, kind: type[Exception]) -> None:
    error = error_for(status, "Reason", _body("X", "the message"), MANIFEST, "h", attempts=4)
    assert isinstance(error, kind)
    assert "docker.io/library/x:tag" in str(error)
    assert "\n" not in str(error)


def test_unavailable_says_how_many_attempts() -> None:
    assert "after 4 attempts" in str(error_for(500, "Internal Server Error", b"oops", MANIFEST, "h", attempts=4))


def test_permission_denied_hints_at_login_without_credentials() -> None:
    error = error_for(401, "", _body("UNAUTHORIZED", "authentication required"), MANIFEST, "reg:5000",
                      authenticated=False)
    assert "authentication required" in str(error) and "no credentials for reg:5000" in str(error)


def test_retry_after() -> None:
    assert retry_after("3") == 3.0
    assert retry_after(None) is None
    assert retry_after("soon") is None
    assert retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == pytest.approx(10.0)


def test_next_link() -> None:
    base = "http://reg:5000/v2/app/tags/list?n=2"
    header = '</v2/app/tags/list?last=b&n=2>; rel="next"'
    assert next_link(header, base) == "http://reg:5000/v2/app/tags/list?last=b&n=2"
    assert next_link('<https://other/x>; rel="prev", <https://other/y?a=1,2>; rel=next', base) == \
        "https://other/y?a=1,2"
    assert next_link(None, base) is None
    assert next_link('<x>; rel="last"', base) is None


def test_upload_headers() -> None:
    assert upload_offset("0-1023") == 1024
    assert upload_offset("bytes=0-0") == 1
    assert upload_offset(None) is None
    assert upload_offset("garbage") is None
    assert content_range_start("bytes 100-199/200") == 100
    assert content_range_start("items 1-2") is None
    base = "http://reg:5000/v2/app/blobs/uploads/"
    assert resolve_location("/v2/app/blobs/uploads/u?_state=s", base, MANIFEST) == \
        "http://reg:5000/v2/app/blobs/uploads/u?_state=s"
    assert resolve_location("https://cdn/x", base, MANIFEST) == "https://cdn/x"


@pytest.mark.parametrize(("host", "loopback"), [
    ("localhost", True), ("localhost:5000", True), ("127.0.0.1:5000", True), ("127.1.2.3", True),
    ("[::1]:5000", True), ("::1", True), ("registry-1.docker.io", False), ("10.0.0.1:5000", False),
    ("localhost.example.com", False),
])
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_host_name() -> None:
    assert host_name("[fe80::1]:5000") == "fe80::1"
    assert host_name("Reg.Example.com:443") == "reg.example.com"


def test_scheme_https_unless_loopback_or_insecure() -> None:
    secure = Transport("reg.example.com")
    assert (secure.scheme, secure.verify) == ("https", True)
    local = Transport("127.0.0.1:5000")
    assert (local.scheme, local.verify) == ("http", False)
    listed = Transport("reg.example.com:5000", insecure=True)
    assert (listed.scheme, listed.verify) == ("http", False)
    for transport in (secure, local, listed):
        transport.close()


def test_client_checks_its_arguments() -> None:
    with RegistryClient("127.0.0.1:5000") as client:
        with pytest.raises(InvalidArgument, match=r"not on registry 127\.0\.0\.1:5000"):
            client.resolve("docker.io/library/busybox")
        with pytest.raises(InvalidArgument, match="invalid repository name"):
            client.list_tags("Upper/Case")
        with pytest.raises(InvalidArgument, match="no tag or digest"):
            client.exists_blob("app:tag", "sha256:" + "0" * 64)
    with pytest.raises(InvalidArgument):
        Transport("a/b")
