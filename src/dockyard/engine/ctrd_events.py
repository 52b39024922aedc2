"""containerd's events, republished as Docker events on the :class:`~.events.EventHub`.

:class:`ContainerdEvents` follows ``Subscribe`` for the engine's namespace (resubscribing
when dockyard-containerd restarts: what it published meanwhile is lost) and hands each
event to the handler of its topic. The defaults translate what only the supervisor knows,
a task's life, into container events (``Actor.ID`` = the container id)::

    /tasks/start   -> start        /tasks/exit  -> die (exitCode), exec_die (execID, exitCode)
    /tasks/oom     -> oom          /tasks/paused -> pause        /tasks/resumed -> unpause

Images, containers and everything the engine does itself are published by the engine's
own services, which know Docker's meaning (a pull is not a tag). A service that owns a
topic replaces the default, or silences it with ``None``::

    bridge.on("/tasks/exit", container_service.on_task_exit)   # sync or async
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from google.protobuf.message import Message

from dockyard.containerd.api.events import task_pb2  # noqa: F401  (registers the task event types)
from dockyard.containerd.server.exchange import decode
from dockyard.engine.events import EventHub
from dockyard.engine.supervisor import Supervisor
from dockyard.errors import DockyardError

log = logging.getLogger("dockyard.engine.events")

TopicHandler = Callable[[str, Any], Awaitable[None] | None]
RETRY_SECONDS = 1.0


def default_handlers(hub: EventHub) -> dict[str, TopicHandler]:
    def simple(action: str) -> TopicHandler:
        def handle(topic: str, message: Any) -> None:
            hub.publish("container", action, message.container_id)
        return handle

    def exited(topic: str, message: Any) -> None:
        code = str(message.exit_status)
        if message.id and message.id != message.container_id:
            hub.publish("container", "exec_die", message.container_id, {"execID": message.id, "exitCode": code})
        else:
            hub.publish("container", "die", message.container_id, {"exitCode": code})

    return {"/tasks/start": simple("start"), "/tasks/exit": exited, "/tasks/oom": simple("oom"),
            "/tasks/paused": simple("pause"), "/tasks/resumed": simple("unpause")}


class ContainerdEvents:
    def __init__(self, supervisor: Supervisor, hub: EventHub) -> None:
        self.supervisor = supervisor
        self.hub = hub
        self.handlers: dict[str, TopicHandler] = default_handlers(hub)
        self._task: asyncio.Task[None] | None = None
        self.subscribed = asyncio.Event()

    def on(self, topic: str, handler: TopicHandler | None) -> None:
        """``handler`` for ``topic`` from now on (None: ignore the topic)."""
        if handler is None:
            self.handlers.pop(topic, None)
        else:
            self.handlers[topic] = handler

    async def dispatch(self, topic: str, message: Message | None) -> None:
        handler = self.handlers.get(topic)
        if handler is None or message is None:
            return
        try:
            result = handler(topic, message)
            if inspect.isawaitable(result):
                await result
        except Exception:
            log.exception("containerd event %s: the handler failed", topic)

    async def _follow(self) -> None:
        while True:
            try:
                async for envelope in self.supervisor.subscribe(ready=self.subscribed):
                    await self.dispatch(envelope.topic, decode(envelope.event))
                log.debug("containerd's event stream ended; resubscribing")
            except DockyardError as exc:
                log.debug("containerd's event stream: %s; resubscribing in %.0fs", exc, RETRY_SECONDS)
            self.subscribed.clear()
            await asyncio.sleep(RETRY_SECONDS)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._follow(), name="containerd-events")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
