"""The gRPC client layer: failed calls become dockyard errors by gRPC code (and so reach
the API's client with the matching HTTP status), every call carries the namespace."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest

from dockyard import errors
from dockyard.engine.supervisor import NAMESPACE, Supervisor, rpc_error


class FakeRpcError(grpc.RpcError):
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        self._code, self._details = code, details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details


@pytest.mark.parametrize(("code", "cls", "status"), [
    (grpc.StatusCode.NOT_FOUND, errors.NotFound, 404),
    (grpc.StatusCode.ALREADY_EXISTS, errors.AlreadyExists, 409),
    (grpc.StatusCode.INVALID_ARGUMENT, errors.InvalidArgument, 400),
    (grpc.StatusCode.FAILED_PRECONDITION, errors.FailedPrecondition, 409),
    (grpc.StatusCode.UNAVAILABLE, errors.Unavailable, 503),
    (grpc.StatusCode.UNIMPLEMENTED, errors.NotImplementedYet, 501),
    (grpc.StatusCode.INTERNAL, errors.Internal, 500),
    (grpc.StatusCode.PERMISSION_DENIED, errors.PermissionDenied, 403),
    (grpc.StatusCode.DEADLINE_EXCEEDED, errors.DockyardError, 500),
])
def test_grpc_codes_map_to_dockyard_errors(code: grpc.StatusCode, cls: type[errors.DockyardError],
                                           status: int) -> None:
    err = rpc_error(FakeRpcError(code, "image \"x\": not found"))
    assert type(err) is cls and err.http_status == status
    if code == grpc.StatusCode.UNAVAILABLE:
        assert str(err) == 'dockyard-containerd: image "x": not found'
    else:
        assert str(err) == 'image "x": not found'


def test_calls_carry_the_namespace_and_raise_mapped_errors() -> None:
    seen: list[Any] = []

    async def ok(request: Any, metadata: Any = None, timeout: Any = None) -> str:
        seen.append(metadata)
        return "reply"

    async def missing(request: Any, metadata: Any = None, timeout: Any = None) -> str:
        raise FakeRpcError(grpc.StatusCode.NOT_FOUND, "no such image")

    class Stream:
        def __init__(self, items: list[Any], fail: bool) -> None:
            self.items, self.fail, self.cancelled = items, fail, False

        def __aiter__(self) -> Stream:
            return self

        async def __anext__(self) -> Any:
            if self.items:
                return self.items.pop(0)
            if self.fail:
                raise FakeRpcError(grpc.StatusCode.INTERNAL, "broken")
            raise StopAsyncIteration

        def cancel(self) -> None:
            self.cancelled = True

    async def scenario() -> None:
        sv = Supervisor("/nonexistent/containerd.sock")
        try:
            assert sv.namespace == NAMESPACE == "dockyard"
            assert await sv.unary(ok, object()) == "reply"
            assert seen == [(("containerd-namespace", "dockyard"),)]
            with pytest.raises(errors.NotFound, match="no such image"):
                await sv.unary(missing, object())
            stream = Stream([1, 2], fail=True)
            got = []
            with pytest.raises(errors.Internal, match="broken"):
                async for item in sv.stream(lambda r, metadata, timeout: stream, object()):
                    got.append(item)
            assert got == [1, 2] and stream.cancelled
        finally:
            await sv.close()

    asyncio.run(scenario())
