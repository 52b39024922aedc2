"""The event exchange: envelopes as containerd writes them, filters over namespace, topic and
the decoded event's fields, topics checked, subscriptions ended by close."""

from __future__ import annotations

import pytest

from dockyard.containerd.api.events import image_pb2, namespace_pb2, snapshot_pb2
from dockyard.containerd.server.exchange import Exchange, decode, validate_topic
from dockyard.errors import InvalidArgument


def drain(exchange: Exchange, filters: list[str], publish: list[tuple[str, str, object]]) -> list[str]:
    sub = exchange.subscribe(filters)
    for ns, topic, event in publish:
        exchange.publish(ns, topic, event)  # type: ignore[arg-type]
    sub.close()
    out = []
    for envelope in exchange.stream(sub, lambda: True):
        out.append(f"{envelope.namespace} {envelope.topic}")
    return out


EVENTS: list[tuple[str, str, object]] = [
    ("default", "/images/create", image_pb2.ImageCreate(name="busybox", labels={"team": "a"})),
    ("other", "/images/create", image_pb2.ImageCreate(name="alpine")),
    ("default", "/namespaces/create", namespace_pb2.NamespaceCreate(name="default")),
    ("default", "/snapshot/prepare", snapshot_pb2.SnapshotPrepare(key="k", parent="p", snapshotter="overlayfs")),
]


@pytest.mark.parametrize(("filters", "expected"), [
    ([], ["default /images/create", "other /images/create", "default /namespaces/create",
          "default /snapshot/prepare"]),
    (["namespace==other"], ["other /images/create"]),
    (['topic~="^/images/"'], ["default /images/create", "other /images/create"]),
    (["event.name==busybox"], ["default /images/create"]),
    (["event.labels.team==a"], ["default /images/create"]),
    (['event.parent==p,topic=="/snapshot/prepare"'], ["default /snapshot/prepare"]),
    (["namespace==other", "event.key==k"], ["other /images/create", "default /snapshot/prepare"]),
])
def test_filters(filters: list[str], expected: list[str]) -> None:
    assert drain(Exchange(), filters, EVENTS) == expected


def test_envelopes_carry_containerd_type_urls() -> None:
    exchange = Exchange()
    sub = exchange.subscribe()
    exchange.publish("default", "/images/delete", image_pb2.ImageDelete(name="x"))
    envelope = sub.get(1)
    assert envelope is not None
    assert envelope.event.type_url == "containerd.services.images.v1.ImageDelete"  # as typeurl writes it
    decoded = decode(envelope.event)
    assert isinstance(decoded, image_pb2.ImageDelete) and decoded.name == "x"
    assert envelope.timestamp.seconds > 0


def test_topics_are_checked() -> None:
    assert validate_topic("/tasks/exec-added") == "/tasks/exec-added"
    for bad in ("images/create", "/", "/a//b", "/a b"):
        with pytest.raises(InvalidArgument, match="topic"):
            validate_topic(bad)


def test_close_ends_every_stream() -> None:
    exchange = Exchange()
    sub = exchange.subscribe()
    exchange.close()
    assert list(exchange.stream(sub, lambda: True)) == []
