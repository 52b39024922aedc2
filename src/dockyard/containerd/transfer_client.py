"""The client side of dockyard's transfer service (``dockyard.services.transfer.v1.Transfer``):
have ``dockyard-containerd`` pull or push an image and iterate over its progress.

    with grpc.insecure_channel("unix:///run/dockyard/containerd.sock") as channel:
        for event in transfer_client.pull(channel, "moby", "busybox"):
            if event.HasField("blob"):
                print(event.blob.id, event.blob.status, event.blob.offset, event.blob.total)
            elif event.HasField("pulled"):
                print("Digest:", event.pulled.target.digest)

Each function returns an iterator of ``Progress`` messages (see the proto): a ``stage``,
``blob`` updates, and last ``pulled`` or ``pushed``. A failure is raised as the
:mod:`dockyard.errors` class of its gRPC status (NotFound, InvalidArgument, Unavailable...).
Closing the iterator before its end (``close()``, or dropping it) cancels the call, and
the daemon abandons the transfer: a pull records nothing and leaves no lease.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping

import grpc

from dockyard.containerd.api.dockyard.transfer.v1 import transfer_pb2 as pb
from dockyard.containerd.api.dockyard.transfer.v1 import transfer_pb2_grpc
from dockyard.containerd.registry.credentials import Credentials
from dockyard.containerd.server.call import NAMESPACE_HEADER
from dockyard.containerd.server.errors import from_code

Progress = pb.Progress


def _auth(credentials: Credentials | None) -> pb.RegistryAuth | None:
    if credentials is None:
        return None
    return pb.RegistryAuth(username=credentials.username, password=credentials.password,
                           identity_token=credentials.identity_token, registry_token=credentials.registry_token)


def _follow(responses: grpc.Call) -> Iterator[pb.Progress]:
    """The messages of a server stream; RpcErrors as dockyard errors; cancel when left early."""
    try:
        yield from responses
    except grpc.RpcError as exc:
        raise from_code(exc.code(), exc.details() or str(exc)) from None
    finally:
        responses.cancel()  # a no-op once the stream has ended


def pull(channel: grpc.Channel, namespace: str, reference: str, *, platform: str = "", unpack: bool = True,
         snapshotter: str = "", plain_http: bool = False, credentials: Credentials | None = None,
         labels: Mapping[str, str] | None = None, timeout: float | None = None) -> Iterator[pb.Progress]:
    """Pull ``reference`` into ``namespace`` (and unpack it, by default into the daemon's
    default snapshotter); ``platform`` "" is the daemon host's."""
    request = pb.PullRequest(reference=reference, platform=platform, unpack=unpack, snapshotter=snapshotter,
                             plain_http=plain_http, auth=_auth(credentials), labels=dict(labels or {}))
    stub = transfer_pb2_grpc.TransferStub(channel)  # type: ignore[no-untyped-call]
    return _follow(stub.Pull(request, metadata=[(NAMESPACE_HEADER, namespace)], timeout=timeout))


def push(channel: grpc.Channel, namespace: str, name: str, reference: str = "", *, platform: str = "",
         plain_http: bool = False, credentials: Credentials | None = None,
         timeout: float | None = None) -> Iterator[pb.Progress]:
    """Push image ``name`` of ``namespace`` to ``reference`` (default: ``name``); with
    ``platform``, only that platform's manifest of an index."""
    request = pb.PushRequest(name=name, reference=reference, platform=platform, plain_http=plain_http,
                             auth=_auth(credentials))
    stub = transfer_pb2_grpc.TransferStub(channel)  # type: ignore[no-untyped-call]
    return _follow(stub.Push(request, metadata=[(NAMESPACE_HEADER, namespace)], timeout=timeout))


def result(events: Iterator[pb.Progress]) -> pb.Progress:
    """Run a transfer to its end, ignoring its progress: its last message."""
    last = deque(events, maxlen=1)
    return last[0] if last else pb.Progress()
