"""The shim's wire format: line framing, request parsing and typed arguments, and error
codes that map both ways onto dockyard.errors."""

from __future__ import annotations

import pytest

from dockyard import errors
from dockyard.shim import protocol as pr


def test_line_buffer_splits_and_keeps_partial_lines() -> None:
    buf = pr.LineBuffer()
    assert buf.feed(b'{"op":"a"}\n{"op"') == [b'{"op":"a"}']
    assert buf.pending == 5
    assert buf.feed(b':"b"}\n\n') == [b'{"op":"b"}', b""]
    assert buf.pending == 0


def test_line_buffer_drops_oversized_lines() -> None:
    buf = pr.LineBuffer(limit=8)
    assert buf.feed(b"0123456789") == [None]  # too long already: reported once ...
    assert buf.feed(b"abcdef") == []  # ... and dropped up to its newline
    assert buf.pending == 0
    assert buf.feed(b"xyz\nok\n") == [b"ok"]
    assert buf.feed(b"0123456789abc\nfine\n") == [None, b"fine"]
    assert pr.LineBuffer(limit=8).feed(b"12345678\n") == [b"12345678"]


def test_parse_request() -> None:
    req = pr.parse_request(b'{"id": 7, "op": "kill", "signal": "KILL", "all": true, "exec_id": "e"}')
    assert (req.id, req.op) == (7, "kill")
    assert req.signal("signal") == 9
    assert req.bool("all") is True
    assert req.str("exec_id") == "e"
    assert req.str("missing", "d") == "d"
    assert req.int("missing") == 0
    assert pr.parse_request(b'{"op": "ping"}').id is None
    assert pr.parse_request(b'{"op": "ping", "id": "abc"}').id == "abc"


@pytest.mark.parametrize("line", [
    b"not json", b"[1, 2]", b'{"id": 1}', b'{"op": ""}', b'{"op": 3}', b'{"op": "x", "id": [1]}',
    b'{"op": "x"} trailing', b"\xff\xfe",
])  # fmt: skip
def test_bad_requests(line: bytes) -> None:
    with pytest.raises(errors.InvalidArgument):
        pr.parse_request(line)


def test_request_id_is_recovered_from_a_bad_request() -> None:
    assert pr.request_id(b'{"id": 4, "op": 5}') == 4
    assert pr.request_id(b"garbage") is None
    assert pr.request_id(b'{"id": {"x": 1}}') is None


@pytest.mark.parametrize(("key", "value", "method"), [
    ("width", "80", "int"), ("width", True, "int"), ("all", 1, "bool"), ("exec_id", 3, "str"),
    ("spec", [], "obj"), ("args", ["a", 1], "strings"), ("signal", 0, "signal"), ("signal", 65, "signal"),
    ("signal", "NOPE", "signal"), ("signal", True, "signal"), ("signal", 1.5, "signal"),
])  # fmt: skip
def test_typed_arguments_are_checked(key: str, value: object, method: str) -> None:
    req = pr.Request("op", {key: value})
    with pytest.raises(errors.InvalidArgument, match=key if method != "signal" or value != "NOPE" else "NOPE"):
        getattr(req, method)(key)


def test_required_arguments() -> None:
    req = pr.Request("exec", {})
    with pytest.raises(errors.InvalidArgument, match="exec: exec_id: is required"):
        req.required_str("exec_id")
    with pytest.raises(errors.InvalidArgument, match="exec: spec: is required"):
        req.obj("spec", required=True)
    assert req.obj("spec") == {}
    assert req.signal("signal") == 15
    assert pr.Request("k", {"signal": "SIGRTMIN+2"}).signal("signal") == 36


def test_encode_is_one_line() -> None:
    line = pr.encode({"id": 1, "result": {"text": "a\nb"}})
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert pr.decode(line[:-1]) == {"id": 1, "result": {"text": "a\nb"}}


@pytest.mark.parametrize("cls", [
    errors.NotFound, errors.AlreadyExists, errors.InvalidArgument, errors.FailedPrecondition,
    errors.Unavailable, errors.NotImplementedYet, errors.Internal, errors.PermissionDenied,
])  # fmt: skip
def test_error_codes_round_trip(cls: type[errors.DockyardError]) -> None:
    body = pr.error(3, cls("it broke"))
    assert body == {"id": 3, "error": {"code": cls.grpc_code, "message": "it broke"}}
    back = pr.error_from(pr.decode(pr.encode(body)[:-1])["error"])
    assert type(back) is cls and str(back) == "it broke"


def test_unexpected_errors_are_internal() -> None:
    assert pr.error_body(ValueError("bad"))["code"] == "INTERNAL"
    assert pr.error_body(OSError(2, "No such file"))["message"] == "No such file"
    assert type(pr.error_from({"code": "SOMETHING", "message": "m"})) is errors.DockyardError
    assert isinstance(pr.error_from("junk"), errors.Internal)
