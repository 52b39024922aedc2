"""Between protobuf messages and the library's values: times, descriptors, mounts, field
masks and ``Any`` values."""

from __future__ import annotations

from collections.abc import Iterable

from google.protobuf import any_pb2, timestamp_pb2
from google.protobuf.message import Message

from dockyard.containerd.api.types import descriptor_pb2, mount_pb2
from dockyard.containerd.metadata.containers import AnyValue
from dockyard.containerd.metadata.images import Descriptor
from dockyard.containerd.snapshots import Mount


def timestamp(seconds: float) -> timestamp_pb2.Timestamp:
    """A Timestamp of seconds since the epoch (nanosecond precision)."""
    ts = timestamp_pb2.Timestamp()
    nanos = round(seconds * 1e9)
    ts.seconds, ts.nanos = divmod(nanos, 1_000_000_000)
    return ts


def timestamp_ns(nanoseconds: int) -> timestamp_pb2.Timestamp:
    """A Timestamp of nanoseconds since the epoch, exactly."""
    ts = timestamp_pb2.Timestamp()
    ts.seconds, ts.nanos = divmod(int(nanoseconds), 1_000_000_000)
    return ts


def seconds(ts: timestamp_pb2.Timestamp) -> float:
    return float(ts.seconds + ts.nanos / 1e9)


def descriptor_to_pb(desc: Descriptor) -> descriptor_pb2.Descriptor:
    return descriptor_pb2.Descriptor(media_type=desc.media_type, digest=desc.digest, size=desc.size,
                                     annotations=dict(desc.annotations))


def descriptor_from_pb(desc: descriptor_pb2.Descriptor) -> Descriptor:
    return Descriptor(desc.media_type, desc.digest, desc.size, dict(desc.annotations))


def mounts_to_pb(mounts: Iterable[Mount]) -> list[mount_pb2.Mount]:
    return [mount_pb2.Mount(type=m.type, source=m.source, options=list(m.options)) for m in mounts]


def mounts_from_pb(mounts: Iterable[mount_pb2.Mount]) -> list[Mount]:
    return [Mount(m.type, m.source, list(m.options)) for m in mounts]


def paths(message: Message, field: str = "update_mask") -> list[str]:
    """The paths of a request's field mask ([] when unset: "every mutable field")."""
    if not message.HasField(field):
        return []
    return list(getattr(message, field).paths)


def any_from_pb(value: any_pb2.Any, present: bool = True) -> AnyValue | None:
    return AnyValue(value.type_url, value.value) if present else None


def any_to_pb(value: AnyValue | None) -> any_pb2.Any | None:
    return None if value is None else any_pb2.Any(type_url=value.type_url, value=value.value)


def pack(message: Message) -> any_pb2.Any:
    """An Any holding ``message`` under its bare full name, as containerd's typeurl writes
    it (``containerd.events.ImageCreate``, no ``type.googleapis.com/`` prefix)."""
    return any_pb2.Any(type_url=message.DESCRIPTOR.full_name, value=message.SerializeToString())
