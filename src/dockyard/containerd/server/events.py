"""The events service: Publish, Forward and Subscribe over the :class:`~.exchange.Exchange`."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
from google.protobuf import empty_pb2

from dockyard.containerd.api.services.events.v1 import events_pb2, events_pb2_grpc
from dockyard.containerd.metadata.validation import validate_identifier
from dockyard.containerd.server import call
from dockyard.containerd.server.exchange import Exchange, validate_topic
from dockyard.errors import InvalidArgument


class EventsService(events_pb2_grpc.EventsServicer):  # type: ignore[misc]
    def __init__(self, exchange: Exchange) -> None:
        self.exchange = exchange

    def Publish(self, request: events_pb2.PublishRequest, context: grpc.ServicerContext) -> empty_pb2.Empty:
        namespace = call.namespace(context)
        if not request.HasField("event"):
            raise InvalidArgument("publish: event must be set")
        envelope = events_pb2.Envelope(namespace=namespace, topic=validate_topic(request.topic), event=request.event)
        envelope.timestamp.GetCurrentTime()
        self.exchange.forward(envelope)
        return empty_pb2.Empty()

    def Forward(self, request: events_pb2.ForwardRequest, context: grpc.ServicerContext) -> empty_pb2.Empty:
        envelope = request.envelope
        validate_identifier(envelope.namespace, "envelope.namespace")
        validate_topic(envelope.topic)
        if not envelope.HasField("event"):
            raise InvalidArgument("forward: envelope.event must be set")
        self.exchange.forward(envelope)
        return empty_pb2.Empty()

    def Subscribe(self, request: events_pb2.SubscribeRequest,
                  context: grpc.ServicerContext) -> Iterator[events_pb2.Envelope]:
        sub = self.exchange.subscribe(list(request.filters))
        # the headers go out once the subscription exists: a client that waits for them
        # (stream.initial_metadata()) misses nothing published afterwards
        context.send_initial_metadata(())
        yield from self.exchange.stream(sub, is_active=context.is_active)
