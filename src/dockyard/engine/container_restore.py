"""What the engine finds again when it starts (live restore).

Containers keep running while dockyardd is away: their shims hold the fifos (output waits
in them, up to the pipe's size) and their exits are kept by containerd until the task is
deleted. :func:`restore` reads the store, then containerd's tasks, and for each container:

- a task that runs (or is paused): its state is taken from the task, the output copy to
  the log is started again;
- a task that stopped meanwhile: handled as an exit now (exit code, ``die``, restart
  policy, ``--rm``);
- no task although the record says running: stopped with exit code 255, as dockerd
  records a container whose task is gone;
- a removal that was interrupted is finished.

Then restart policies are applied to the stopped ones, as dockerd does at start:
``always``; ``unless-stopped`` unless the user stopped it; ``on-failure`` after a failure
with retries left. The caller subscribes to containerd's events first, so no exit falls
between the listing and the subscription. When that subscription is lost and made again
(dockyard-containerd restarted), :func:`reconcile` handles the exits published meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from dockyard.containerd.api.types.task import task_pb2
from dockyard.engine import container_config as cc
from dockyard.engine import container_volumes
from dockyard.engine.container_model import PAUSED, RUNNING
from dockyard.errors import DockyardError, Unavailable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.engine.containers import ContainerService, Live

log = logging.getLogger("dockyard.engine.containers")

LOST_EXIT_CODE = 255
ALIVE = (task_pb2.RUNNING, task_pb2.PAUSED, task_pb2.PAUSING, task_pb2.CREATED)


def _restart_on_boot(live: Live) -> bool:
    c = live.container
    if not c.has_started or c.state.running:
        return False
    return cc.restarts(c.host_config, c.state.exit_code, c.restart_count, c.manually_stopped)


async def restore(service: ContainerService) -> None:
    service.load()
    tasks = {t.container_id: t for t in await service.sv.list_tasks()}
    for live in list(service.live.values()):
        try:
            await _restore_one(service, live, tasks.get(live.id))
        except DockyardError as exc:  # one container's trouble does not keep the engine down
            log.error("container %s: restoring it: %s", live.id, exc)
    if service.volumes is not None:
        service.volumes.sweep()
    for live in list(service.live.values()):
        if not live.removed and _restart_on_boot(live):
            try:
                await service.lifecycle.run(live)
            except DockyardError as exc:
                log.error("container %s: restart at engine start: %s", live.id, exc)


async def _restore_one(service: ContainerService, live: Live, task: Any) -> None:
    c = live.container
    if c.state.removing:
        await service.destroy(live)
        return
    if task is not None:
        container_volumes.restored(service, c)
    if task is not None and task.status in ALIVE:
        async with live.lock:
            live.task_pid = int(task.pid) or -1
            live.exited.clear()
            paused = task.status in (task_pb2.PAUSED, task_pb2.PAUSING)
            if not c.state.running:
                c.state.set_running(int(task.pid), time.time_ns())
            c.state.pid, c.state.paused, c.state.restarting = int(task.pid), paused, False
            c.state.status = PAUSED if paused else RUNNING
            service.health.start(live)
            service.save(c)
            live.io.start_copying(("stdout",) if c.tty else ("stdout", "stderr"))
        log.info("container %s: running (pid %d), found again", c.id, task.pid)
    elif task is not None:
        live.task_pid = int(task.pid) or -1
        exited = task.exited_at.seconds * 1_000_000_000 + task.exited_at.nanos
        await service.lifecycle.handle_exit(live, int(task.pid), int(task.exit_status), exited or time.time_ns())
    elif c.state.running:
        c.state.set_stopped(LOST_EXIT_CODE, time.time_ns())
        service.save(c)
        service.publish(c, "die", exitCode=str(LOST_EXIT_CODE))


async def reconcile(service: ContainerService) -> None:
    """After containerd's event stream was lost and found again: the exits it published
    meanwhile are handled from the tasks' states."""
    tasks = {t.container_id: t for t in await service.sv.list_tasks()}
    for live in list(service.live.values()):
        if not live.task_pid or live.removed:
            continue
        task = tasks.get(live.id)
        if task is not None and task.status in ALIVE:
            continue
        if task is None:
            await service.lifecycle.handle_exit(live, 0, LOST_EXIT_CODE, time.time_ns())
        else:
            exited = task.exited_at.seconds * 1_000_000_000 + task.exited_at.nanos
            await service.lifecycle.handle_exit(live, int(task.pid), int(task.exit_status), exited or time.time_ns())


async def follow_resubscriptions(service: ContainerService, interval: float = 0.5) -> None:
    """Reconcile each time the engine subscribes to containerd's events again."""
    subscribed = service.ctx.containerd_events.subscribed
    while True:
        while subscribed.is_set():
            await asyncio.sleep(interval)
        await subscribed.wait()
        try:
            await reconcile(service)
        except Unavailable as exc:  # subscribed before the daemon answers calls: the next round will do
            log.debug("reconciling containers after containerd's events came back: %s", exc)
        except DockyardError as exc:
            log.warning("reconciling containers after containerd's events came back: %s", exc)
