"""The event hub (ring, subscribers, since/until), Docker's event JSON and filters, and the
translation of containerd's task events."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from dockyard.engine import events as events_mod
from dockyard.engine.ctrd_events import ContainerdEvents
from dockyard.engine.event_filters import EventFilter, parse_timestamp, time_range
from dockyard.engine.events import Event, EventHub
from dockyard.engine.filters import Filters
from dockyard.errors import InvalidArgument


class Clock:
    def __init__(self, start: int = 1_700_000_000_000_000_000) -> None:
        self.now = start

    def __call__(self) -> int:
        return self.now


def match(filters: dict[str, list[str]], ev: Event) -> bool:
    return EventFilter(Filters.of(**filters))(ev)


CONTAINER = Event("container", "start", "3f2a1b" + "0" * 58, {"name": "web", "image": "busybox:1.36", "a": "1"})
IMAGE = Event("image", "pull", "docker.io/library/alpine:3.19", {"name": "docker.io/library/alpine:3.19"})


def test_container_event_json_has_the_old_fields_too() -> None:
    ev = Event("container", "die", "abc", {"image": "busybox", "exitCode": "3"}, 1_700_000_000_123_456_789)
    assert ev.to_json() == {
        "status": "die", "id": "abc", "from": "busybox", "Type": "container", "Action": "die",
        "Actor": {"ID": "abc", "Attributes": {"image": "busybox", "exitCode": "3"}}, "scope": "local",
        "time": 1_700_000_000, "timeNano": 1_700_000_000_123_456_789}
    image = Event("image", "tag", "sha256:x", {"name": "a:b"}, 5).to_json()
    assert image["status"] == "tag" and image["id"] == "sha256:x" and "from" not in image
    network = Event("network", "create", "n1", {}, 5).to_json()
    assert "status" not in network and "id" not in network


def test_hub_records_in_order_with_distinct_times() -> None:
    clock = Clock()
    hub = EventHub(ring_size=3, clock=clock)
    stamps = [hub.publish("container", f"a{i}", "c").time_nano for i in range(5)]
    assert stamps == sorted(set(stamps))  # same clock reading: still strictly increasing
    assert [e.action for e in hub.past(0, None)] == ["a2", "a3", "a4"]  # the ring keeps the last 3
    assert [e.action for e in hub.past(stamps[3], None)] == ["a3", "a4"]
    assert [e.action for e in hub.past(None, stamps[3])] == ["a2", "a3"]
    with pytest.raises(InvalidArgument, match="event type 'bogus'"):
        hub.publish("bogus", "x", "y")


def test_subscribers_get_matching_events_until_closed() -> None:
    async def scenario() -> None:
        hub = EventHub()
        only_images = hub.subscribe(lambda e: e.type == "image")
        everything = hub.subscribe()
        assert hub.listeners == 2
        hub.publish("container", "start", "c1")
        hub.publish("image", "pull", "busybox")
        first = await only_images.next()
        assert first is not None and first.action == "pull"
        got = [await everything.next(), await everything.next()]
        assert [e.action for e in got if e] == ["start", "pull"]
        only_images.close()
        assert hub.listeners == 1
        hub.close()
        assert await everything.next() is None
        assert await hub.subscribe().next() is None  # a closed hub ends new streams at once

    asyncio.run(scenario())


def test_a_subscriber_that_falls_behind_is_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(events_mod, "QUEUE_SIZE", 3)

    async def scenario() -> None:
        hub = EventHub()
        slow = hub.subscribe()
        for i in range(5):
            hub.publish("container", f"a{i}", "c")
        received = []
        while (ev := await slow.next()) is not None:
            received.append(ev.action)
        assert received == ["a0", "a1", "a2"]

    asyncio.run(scenario())


def test_publish_threadsafe_needs_a_loop() -> None:
    hub = EventHub()
    with pytest.raises(RuntimeError):
        hub.publish_threadsafe("container", "x", "y")

    async def scenario() -> None:
        hub.bind(asyncio.get_running_loop())
        sub = hub.subscribe()
        await asyncio.to_thread(hub.publish_threadsafe, "container", "kill", "c1", {"signal": "15"})
        ev = await sub.next()
        assert ev is not None and ev.attributes == {"signal": "15"}

    asyncio.run(scenario())


@pytest.mark.parametrize(("filters", "expected"), [
    ({}, True),
    ({"type": ["container"]}, True), ({"type": ["image"]}, False), ({"type": ["image", "container"]}, True),
    ({"event": ["start"]}, True), ({"event": ["stop"]}, False),
    ({"container": ["web"]}, True), ({"container": ["3f2a"]}, True), ({"container": ["db"]}, False),
    ({"image": ["busybox:1.36"]}, True), ({"image": ["busybox"]}, True), ({"image": ["alpine"]}, False),
    ({"label": ["a"]}, True), ({"label": ["a=1"]}, True), ({"label": ["a=2"]}, False),
    ({"label": ["a=1", "b"]}, False), ({"scope": ["local"]}, True), ({"scope": ["swarm"]}, False),
    ({"network": ["n"]}, False), ({"volume": ["v"]}, False),
])
def test_filters_on_a_container_event(filters: dict[str, list[str]], expected: bool) -> None:
    assert match(filters, CONTAINER) is expected


def test_image_filter_on_image_events_uses_id_and_name() -> None:
    assert match({"image": ["alpine"]}, IMAGE)
    assert match({"image": ["docker.io/library/alpine:3.19"]}, IMAGE)
    assert not match({"image": ["busybox"]}, IMAGE)
    assert not match({"container": ["web"]}, IMAGE)


def test_exec_actions_match_by_prefix() -> None:
    ev = Event("container", "exec_start: sh -c true", "c", {})
    assert match({"event": ["exec_start"]}, ev)
    assert not match({"event": ["start"]}, ev)


def test_unknown_filter_keys_are_refused() -> None:
    with pytest.raises(InvalidArgument, match="invalid filter 'colour'"):
        EventFilter(Filters.of(colour=["red"]))


def test_filters_json_both_forms() -> None:
    assert Filters.parse('{"type":{"container":true,"image":false}}').values("type") == {"container"}
    assert Filters.parse('{"label":["a=b","c"]}').values("label") == {"a=b", "c"}
    assert Filters.parse("").fields == {} and Filters.parse("null").fields == {}
    for bad in ("{", "[1]", '{"a": 1}'):
        with pytest.raises(InvalidArgument, match="invalid filter"):
            Filters.parse(bad)


def test_timestamps() -> None:
    assert parse_timestamp(None) is None and parse_timestamp("") is None
    assert parse_timestamp("0") == 0
    assert parse_timestamp("1700000000") == 1_700_000_000_000_000_000
    assert parse_timestamp("1700000000.5") == 1_700_000_000_500_000_000
    assert parse_timestamp("1700000000.000000001") == 1_700_000_000_000_000_001
    assert parse_timestamp("2023-11-14T22:13:20Z") == 1_700_000_000_000_000_000
    assert parse_timestamp("2023-11-14T23:13:20.25+01:00") == 1_700_000_000_250_000_000
    with pytest.raises(InvalidArgument, match="invalid value for until: 'soon'"):
        parse_timestamp("soon", "until")


def test_since_after_until_has_dockers_message() -> None:
    assert time_range("10", "20") == (10_000_000_000, 20_000_000_000)
    with pytest.raises(InvalidArgument, match=r"`since` time \(20\) cannot be after `until` time \(10\)"):
        time_range("20", "10")


def test_containerd_task_events_become_container_events() -> None:
    async def scenario() -> None:
        hub = EventHub()
        bridge = ContainerdEvents(SimpleNamespace(), hub)  # type: ignore[arg-type]
        task = SimpleNamespace
        await bridge.dispatch("/tasks/start", task(container_id="c1", pid=5))
        await bridge.dispatch("/tasks/exit", task(container_id="c1", id="c1", exit_status=3))
        await bridge.dispatch("/tasks/exit", task(container_id="c1", id="e1", exit_status=0))
        await bridge.dispatch("/tasks/oom", task(container_id="c1"))
        await bridge.dispatch("/tasks/paused", task(container_id="c1"))
        await bridge.dispatch("/tasks/resumed", task(container_id="c1"))
        await bridge.dispatch("/images/create", task(name="x"))  # images: the image service's own events
        got = [(e.action, dict(e.attributes)) for e in hub.past(0, None)]
        assert got == [("start", {}), ("die", {"exitCode": "3"}), ("exec_die", {"execID": "e1", "exitCode": "0"}),
                       ("oom", {}), ("pause", {}), ("unpause", {})]

        seen: list[Any] = []

        async def mine(topic: str, message: Any) -> None:
            seen.append((topic, message.container_id))

        bridge.on("/tasks/exit", mine)
        bridge.on("/tasks/start", None)
        await bridge.dispatch("/tasks/exit", task(container_id="c2", id="c2", exit_status=0))
        await bridge.dispatch("/tasks/start", task(container_id="c2", pid=1))
        assert seen == [("/tasks/exit", "c2")] and len(hub.past(0, None)) == 6

        def broken(topic: str, message: Any) -> None:
            raise RuntimeError("boom")

        bridge.on("/tasks/oom", broken)
        await bridge.dispatch("/tasks/oom", task(container_id="c2"))  # logged, not raised

    asyncio.run(scenario())
