"""The event exchange (containerd's ``events/exchange``): services publish, subscribers
receive every envelope published after they subscribed that matches their filters.

A topic is a path of identifiers (``/images/create``). Filters use containerd's syntax
over the envelope: ``namespace``, ``topic`` and ``event.<field>`` (a field of the decoded
event, ``event.labels.<key>`` for its labels).

Each subscriber has its own bounded queue: a subscriber that stops reading loses events
(with a warning) rather than slowing the publishers down.
"""

from __future__ import annotations

import logging
import queue
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from functools import partial

from google.protobuf import any_pb2, symbol_database
from google.protobuf.message import DecodeError, Message

from dockyard.containerd.api.services.events.v1 import events_pb2
from dockyard.containerd.filters import Filter, parse_filters
from dockyard.containerd.server.convert import pack, timestamp
from dockyard.errors import FailedPrecondition, InvalidArgument

log = logging.getLogger("dockyard.containerd.events")

_TOPIC = re.compile(r"(/[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*)+")
QUEUE_SIZE = 1024


def validate_topic(topic: str) -> str:
    if not _TOPIC.fullmatch(topic):
        raise InvalidArgument(f"topic {topic!r}: must be a path of identifiers, like /images/create")
    return topic


def decode(event: any_pb2.Any) -> Message | None:
    """The message inside an event's Any, if its type is one this daemon knows."""
    name = event.type_url.rsplit("/", 1)[-1]
    try:
        cls = symbol_database.Default().GetSymbol(name)
    except KeyError:
        return None
    message: Message = cls()
    try:
        message.ParseFromString(event.value)
    except DecodeError:
        return None
    return message


def _message_field(message: Message, path: Sequence[str]) -> tuple[str, bool]:
    if not path:
        return "", False
    field = message.DESCRIPTOR.fields_by_name.get(path[0])
    if field is None:
        return "", False
    value = getattr(message, path[0])
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        if len(path) < 2:
            return "", bool(value)
        key = ".".join(path[1:])
        return (str(value[key]), True) if key in value else ("", False)
    if field.message_type is not None:
        return _message_field(value, path[1:]) if message.HasField(path[0]) else ("", False)
    if len(path) != 1 or field.is_repeated:
        return "", False
    if isinstance(value, bool):
        return ("true" if value else "false"), True
    text = str(value)
    return text, text != "" and text != "0"


def envelope_field(envelope: events_pb2.Envelope, path: Sequence[str]) -> tuple[str, bool]:
    """The filter adaptor of an envelope."""
    if not path:
        return "", False
    if path[0] == "namespace":
        return envelope.namespace, bool(envelope.namespace)
    if path[0] == "topic":
        return envelope.topic, bool(envelope.topic)
    if path[0] == "event":
        message = decode(envelope.event)
        return _message_field(message, path[1:]) if message is not None else ("", False)
    return "", False


class Subscription:
    """One subscriber's queue; iterate it to receive envelopes until it is closed."""

    def __init__(self, exchange: Exchange, flt: Filter) -> None:
        self._exchange = exchange
        self.filter = flt
        self.queue: queue.Queue[events_pb2.Envelope | None] = queue.Queue(QUEUE_SIZE)
        self.dropped = 0

    def offer(self, envelope: events_pb2.Envelope) -> None:
        if not self.filter.match(partial(envelope_field, envelope)):
            return
        try:
            self.queue.put_nowait(envelope)
        except queue.Full:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.warning("an event subscriber is not reading: %d events dropped", self.dropped)

    def get(self, timeout: float) -> events_pb2.Envelope | None:
        """The next envelope, or None after ``timeout`` seconds."""
        try:
            item = self.queue.get(timeout=timeout)
        except queue.Empty:
            return None
        if item is None:
            self.queue.put_nowait(None)  # stay closed for the next get
            raise EOFError
        return item

    def close(self) -> None:
        self._exchange.unsubscribe(self)
        try:
            self.queue.put_nowait(None)
        except queue.Full:
            pass


class Exchange:
    """Publish and subscribe, in this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: list[Subscription] = []
        self._closed = False

    def subscribe(self, filters: Sequence[str] = ()) -> Subscription:
        sub = Subscription(self, parse_filters(filters))
        with self._lock:
            if self._closed:
                raise FailedPrecondition("event exchange: closed")
            self._subscribers.append(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            if sub in self._subscribers:
                self._subscribers.remove(sub)

    def publish(self, namespace: str, topic: str, event: Message) -> None:
        """Publish ``event`` (a message of ``dockyard.containerd.api.events``)."""
        self.forward(events_pb2.Envelope(timestamp=timestamp(time.time()), namespace=namespace,
                                         topic=validate_topic(topic), event=pack(event)))

    def forward(self, envelope: events_pb2.Envelope) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        log.debug("event %s %s %s", envelope.namespace, envelope.topic, envelope.event.type_url)
        for sub in subscribers:
            sub.offer(envelope)

    def close(self) -> None:
        """End every subscription (their streams finish)."""
        with self._lock:
            self._closed = True
            subscribers, self._subscribers = self._subscribers, []
        for sub in subscribers:
            sub.close()

    def stream(self, sub: Subscription, is_active: Callable[[], bool]) -> Iterator[events_pb2.Envelope]:
        """The envelopes of ``sub`` until it is closed or ``is_active()`` turns false."""
        try:
            while is_active():
                try:
                    envelope = sub.get(timeout=0.5)
                except EOFError:
                    return
                if envelope is not None:
                    yield envelope
        finally:
            sub.close()
