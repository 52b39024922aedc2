"""The engine's event hub: every module publishes Docker events here; ``GET /events``
replays recent ones and streams new ones.

    hub.publish("container", "start", container_id, {"name": "web", "image": "busybox"})

An :class:`Event` is Docker's ``events.Message`` (``Type``, ``Action``, ``Actor``, ``scope``,
``time``, ``timeNano``, and for containers and images the older ``status``/``id``/``from``).
The hub keeps the last :data:`RING_SIZE` events (``since``/``until`` read them) and hands
each new one to every subscriber whose filter matches. ``publish`` runs on the event loop;
threads use ``publish_threadsafe``. A subscriber that falls :data:`QUEUE_SIZE` events
behind is dropped (its stream ends) rather than let the daemon's memory grow.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dockyard.errors import InvalidArgument

log = logging.getLogger("dockyard.engine.events")

RING_SIZE = 1024
QUEUE_SIZE = 1024
TYPES = ("builder", "config", "container", "daemon", "image", "network", "node", "plugin", "secret", "service",
         "volume")


@dataclass(frozen=True)
class Event:
    type: str
    action: str
    actor_id: str
    attributes: Mapping[str, str] = field(default_factory=dict)
    time_nano: int = 0
    scope: str = "local"

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {}
        if self.type == "container":
            doc.update(status=self.action, id=self.actor_id, **({"from": self.attributes["image"]}
                                                                  if "image" in self.attributes else {}))
        elif self.type == "image":
            doc.update(status=self.action, id=self.actor_id)
        doc.update(Type=self.type, Action=self.action, Actor={"ID": self.actor_id, "Attributes": dict(self.attributes)},
                   scope=self.scope, time=self.time_nano // 1_000_000_000, timeNano=self.time_nano)
        return doc


Match = Callable[[Event], bool]


def _everything(event: Event) -> bool:
    return True


class Subscription:
    """New events that ``match``, in order; :meth:`next` returns None once the stream ended
    (the hub closed, or this subscriber fell too far behind)."""

    def __init__(self, hub: EventHub, match: Match) -> None:
        self.hub = hub
        self.match = match
        self.queue: asyncio.Queue[Event | None] = asyncio.Queue(QUEUE_SIZE + 1)
        self.closed = False

    def _offer(self, event: Event) -> None:
        if self.closed:
            return
        if self.queue.qsize() >= QUEUE_SIZE:
            log.warning("an events subscriber fell %d events behind: ending its stream", QUEUE_SIZE)
            self._end()
            return
        self.queue.put_nowait(event)

    def _end(self) -> None:
        if not self.closed:
            self.closed = True
            self.queue.put_nowait(None)

    async def next(self) -> Event | None:
        return await self.queue.get()

    def close(self) -> None:
        self.hub.unsubscribe(self)


class EventHub:
    def __init__(self, ring_size: int = RING_SIZE, clock: Callable[[], int] = time.time_ns) -> None:
        self._ring: deque[Event] = deque(maxlen=ring_size)
        self._subscribers: list[Subscription] = []
        self._clock = clock
        self._loop: asyncio.AbstractEventLoop | None = None
        self.closed = False

    @property
    def listeners(self) -> int:
        """How many streams are open (``NEventsListener`` of /info)."""
        return len(self._subscribers)

    def publish(self, type: str, action: str, actor_id: str,
                attributes: Mapping[str, str] | None = None, scope: str = "local") -> Event:
        """Record and deliver one event, stamped now (call on the event loop)."""
        if type not in TYPES:
            raise InvalidArgument(f"event type {type!r}: must be one of {', '.join(TYPES)}")
        now = self._clock()
        if self._ring and now <= self._ring[-1].time_nano:
            now = self._ring[-1].time_nano + 1  # strictly increasing: since/until are exact
        event = Event(type, action, actor_id, dict(attributes or {}), now, scope)
        self._ring.append(event)
        for sub in list(self._subscribers):
            if sub.match(event):
                sub._offer(event)
        return event

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """The loop ``publish_threadsafe`` hands events to (set by the engine at start)."""
        self._loop = loop

    def publish_threadsafe(self, type: str, action: str, actor_id: str,
                           attributes: Mapping[str, str] | None = None) -> None:
        """``publish`` from another thread (a gRPC stream reader, an executor job)."""
        if self._loop is None:
            raise RuntimeError("EventHub.publish_threadsafe before bind()")
        self._loop.call_soon_threadsafe(self.publish, type, action, actor_id, attributes)

    def past(self, since_nano: int | None, until_nano: int | None, match: Match = _everything) -> list[Event]:
        """Recorded events with ``since <= timeNano <= until`` (either bound may be None)."""
        return [e for e in self._ring
                if (since_nano is None or e.time_nano >= since_nano)
                and (until_nano is None or e.time_nano <= until_nano) and match(e)]

    def subscribe(self, match: Match = _everything) -> Subscription:
        """A stream of the events published from now on that ``match``."""
        sub = Subscription(self, match)
        if self.closed:
            sub._end()
        else:
            self._subscribers.append(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        if sub in self._subscribers:
            self._subscribers.remove(sub)
        sub._end()

    def close(self) -> None:
        """End every stream (the daemon is stopping)."""
        self.closed = True
        for sub in list(self._subscribers):
            self.unsubscribe(sub)
