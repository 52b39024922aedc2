"""What every call of dockyard-containerd shares: dockyard errors as gRPC codes (both ways),
the namespace and lease headers, and the interceptor that answers errors."""

from __future__ import annotations

from typing import Any, NamedTuple

import grpc
import pytest

from dockyard import errors
from dockyard.containerd.server import call
from dockyard.containerd.server.errors import from_code, status_code


class Item(NamedTuple):
    key: str
    value: str


class FakeContext:
    """The parts of grpc.ServicerContext the call helpers use."""

    def __init__(self, metadata: dict[str, str] | None = None) -> None:
        self.metadata = [Item(k, v) for k, v in (metadata or {}).items()]
        self.aborted: tuple[grpc.StatusCode, str] | None = None
        self._code: grpc.StatusCode | None = None

    def invocation_metadata(self) -> list[Item]:
        return self.metadata

    def code(self) -> grpc.StatusCode | None:
        return self._code

    def abort(self, code: grpc.StatusCode, details: str) -> None:
        self.aborted = (code, details)
        self._code = code
        raise RuntimeError("aborted")  # grpc raises a bare Exception here


@pytest.mark.parametrize(("error", "code"), [
    (errors.NotFound, grpc.StatusCode.NOT_FOUND),
    (errors.AlreadyExists, grpc.StatusCode.ALREADY_EXISTS),
    (errors.InvalidArgument, grpc.StatusCode.INVALID_ARGUMENT),
    (errors.FailedPrecondition, grpc.StatusCode.FAILED_PRECONDITION),
    (errors.Unavailable, grpc.StatusCode.UNAVAILABLE),
    (errors.NotImplementedYet, grpc.StatusCode.UNIMPLEMENTED),
    (errors.Internal, grpc.StatusCode.INTERNAL),
    (errors.PermissionDenied, grpc.StatusCode.PERMISSION_DENIED),
])
def test_each_error_class_has_its_code_and_back(error: type[errors.DockyardError], code: grpc.StatusCode) -> None:
    assert status_code(error("x")) == code
    back = from_code(code, "image 'x': not found")
    assert type(back) is error and str(back) == "image 'x': not found"


def test_other_exceptions() -> None:
    assert status_code(errors.DockyardError("x")) == grpc.StatusCode.UNKNOWN
    assert status_code(NotImplementedError()) == grpc.StatusCode.UNIMPLEMENTED
    assert status_code(ValueError("x")) == grpc.StatusCode.UNKNOWN
    assert type(from_code(grpc.StatusCode.DATA_LOSS, "m")) is errors.DockyardError


def test_namespace_and_lease_headers() -> None:
    assert call.namespace(FakeContext()) == "default"  # what ctr sends unless told
    assert call.namespace(FakeContext({"containerd-namespace": "k8s.io"})) == "k8s.io"
    with pytest.raises(errors.InvalidArgument, match="namespace 'bad name'"):
        call.namespace(FakeContext({"containerd-namespace": "bad name"}))
    assert call.lease(FakeContext()) == ""
    assert call.lease(FakeContext({"containerd-lease": "166334371-3pL-"})) == "166334371-3pL-"


class Handler(NamedTuple):
    unary_unary: Any = None
    unary_stream: Any = None
    stream_unary: Any = None
    stream_stream: Any = None


class Details(NamedTuple):
    method: str


def wrapped(behavior: Any, kind: str = "unary_unary") -> Any:
    handler = call.ErrorInterceptor().intercept_service(lambda d: Handler(**{kind: behavior}),
                                                        Details("/svc/Method"))
    return getattr(handler, kind)


def test_the_interceptor_answers_dockyard_errors_with_their_code() -> None:
    def fails(request: object, context: object) -> None:
        raise errors.NotFound("image 'x': not found")

    context = FakeContext()
    with pytest.raises(RuntimeError, match="aborted"):
        wrapped(fails)(None, context)
    assert context.aborted == (grpc.StatusCode.NOT_FOUND, "image 'x': not found")


def test_the_interceptor_answers_a_bug_internal() -> None:
    def buggy(request: object, context: object) -> None:
        raise KeyError("oops")

    context = FakeContext()
    with pytest.raises(RuntimeError):
        wrapped(buggy)(None, context)
    assert context.aborted is not None and context.aborted[0] == grpc.StatusCode.INTERNAL
    assert "KeyError" in context.aborted[1]


def test_the_interceptor_wraps_streams_and_leaves_own_aborts_alone() -> None:
    def stream(request: object, context: FakeContext) -> Any:
        yield 1
        raise errors.Unavailable("ref x locked")

    context = FakeContext()
    results = []
    with pytest.raises(RuntimeError):
        for item in wrapped(stream, "unary_stream")(None, context):
            results.append(item)
    assert results == [1] and context.aborted == (grpc.StatusCode.UNAVAILABLE, "ref x locked")

    def aborts(request: object, context: FakeContext) -> None:
        context.abort(grpc.StatusCode.OUT_OF_RANGE, "write @5 must occur at current offset 3")

    context = FakeContext()
    with pytest.raises(RuntimeError):
        wrapped(aborts)(None, context)
    assert context.aborted == (grpc.StatusCode.OUT_OF_RANGE, "write @5 must occur at current offset 3")
