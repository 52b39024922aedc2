"""Running containers: start, stop, kill, restart, pause, wait, and what happens at an exit.

A start makes the stdio fifos, creates containerd's task on the snapshot's mounts, opens
the engine's readers (:class:`~dockyard.engine.container_io.ContainerIO`) and starts the
task. A runtime failure becomes Docker's error: ``failed to create task for container:
<the runtime's text>``, 400 with exit code 127 (not found) or 126 (permission denied)
recorded in the state, else 500 and 128 — the docker CLI maps the text to its own exit
status. With ``AutoRemove`` the failed container is removed, as dockerd does.

The engine owns containerd's task topics for its containers (:meth:`Lifecycle.take_events`):
``/tasks/exit`` -> :meth:`Lifecycle.handle_exit` (drain the output, delete the task, record
the exit and OOM, ``die``, wake the waiters, then restart by policy or remove with
``--rm``), ``/tasks/oom`` -> ``oom``; start, pause and resume are published by the calls
themselves. Tasks that are not Docker containers (``ctr -n dockyard run``) keep the
default translation.

Restart policies follow dockerd's restart manager: ``always``; ``unless-stopped`` unless
the user stopped it; ``on-failure[:N]`` for a non-zero exit, at most N times. The delay
starts at 100 ms and doubles up to a minute, back to 100 ms after a run of 10 s. A
``docker stop`` (or rm, restart) cancels the pending restart.
"""

from __future__ import annotations

import asyncio
import logging
import signal as signals
import time
from typing import Any

from dockyard.containerd.api.services.tasks.v1 import tasks_pb2
from dockyard.containerd.api.types import mount_pb2
from dockyard.engine import container_config as cc
from dockyard.engine import container_rootfs as rootfs
from dockyard.engine import container_volumes, network_containers
from dockyard.engine.container_model import EXITED, PAUSED, RUNNING, Container, parse_time
from dockyard.engine.ctrd_events import TopicHandler, default_handlers
from dockyard.errors import DockyardError, FailedPrecondition, Internal, InvalidArgument, NotFound

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.engine.containers import ContainerService, Live

log = logging.getLogger("dockyard.engine.containers")

FIRST_DELAY = 0.1
MAX_DELAY = 60.0
RESET_AFTER = 10.0
KILL_WAIT = 30.0
EXIT_NOT_FOUND, EXIT_EACCES, EXIT_UNKNOWN = 127, 126, 128


class NotModified(DockyardError):
    """Start of a running container, stop of a stopped one: HTTP 304, no body."""

    http_status = 304

    def __init__(self) -> None:
        super().__init__("not modified")


def start_error(cmd: str, exc: DockyardError) -> tuple[DockyardError, int]:
    """dockerd's translateContainerdStartErr: the API error and the exit code to record."""
    text = f"failed to create task for container: {exc.message}"
    lower = text.lower()
    if cmd.lower() in lower and any(s in lower for s in ("executable file not found", "no such file or directory")):
        return InvalidArgument(text), EXIT_NOT_FOUND
    if "permission denied" in lower:
        return InvalidArgument(text), EXIT_EACCES
    if "not a directory" in lower:
        return InvalidArgument(text + ": Are you trying to mount a directory onto a file (or vice-versa)? Check "
                               "if the specified host path exists and is the expected type"), EXIT_NOT_FOUND
    return Internal(text), EXIT_UNKNOWN


class Lifecycle:
    def __init__(self, service: ContainerService) -> None:
        self.service = service
        self.sv = service.sv
        self._jobs: set[asyncio.Task[Any]] = set()
        self._defaults: dict[str, TopicHandler] = default_handlers(service.hub)
        self.closing = False

    # -- containerd's events -------------------------------------------------------------------
    def take_events(self) -> None:
        bridge = self.service.ctx.containerd_events
        bridge.on("/tasks/exit", self.on_task_exit)
        bridge.on("/tasks/oom", self.on_task_oom)
        for topic in ("/tasks/start", "/tasks/paused", "/tasks/resumed"):
            bridge.on(topic, self._unless_ours(topic))

    def _unless_ours(self, topic: str) -> TopicHandler:
        def handle(name: str, message: Any) -> Any:
            if message.container_id not in self.service.live:
                return self._defaults[topic](name, message)
            return None
        return handle

    def follow_resubscriptions(self) -> None:
        from dockyard.engine.container_restore import follow_resubscriptions

        self.spawn(follow_resubscriptions(self.service))

    def spawn(self, coro: Any) -> None:
        job = asyncio.get_running_loop().create_task(coro)
        self._jobs.add(job)
        job.add_done_callback(self._job_done)

    def _job_done(self, job: asyncio.Task[Any]) -> None:
        self._jobs.discard(job)
        if not job.cancelled() and job.exception() is not None:
            log.error("container job failed", exc_info=job.exception())

    def on_task_exit(self, topic: str, message: Any) -> Any:
        live = self.service.live.get(message.container_id)
        if (live is not None and message.id and message.id != message.container_id
                and self.service.execs.on_exit(live, message.id, int(message.exit_status))):
            return None
        if live is None or (message.id and message.id != message.container_id):
            return self._defaults[topic](topic, message)
        exited = message.exited_at.seconds * 1_000_000_000 + message.exited_at.nanos
        self.spawn(self.handle_exit(live, int(message.pid), int(message.exit_status), exited or time.time_ns()))
        return None

    def on_task_oom(self, topic: str, message: Any) -> Any:
        live = self.service.live.get(message.container_id)
        if live is None:
            return self._defaults[topic](topic, message)
        live.oom = True
        self.service.publish(live.container, "oom")
        return None

    # -- start -----------------------------------------------------------------------------------
    async def start(self, live: Live) -> None:
        """``docker start``: NotModified when it runs already."""
        c = live.container
        if c.state.paused:
            raise FailedPrecondition("cannot start a paused container, try unpause instead")
        if c.state.running and not c.state.restarting:
            raise NotModified()
        if c.state.removing or live.removed:
            raise FailedPrecondition("container is marked for removal and cannot be started")
        if c.state.dead:
            raise FailedPrecondition("cannot start a container which is dead")
        self.cancel_restart(live)
        c.manually_stopped = False
        c.restart_count = 0
        live.restart_delay = 0.0
        await self.run(live)

    async def run(self, live: Live) -> None:
        async with live.lock:
            if live.task_pid or live.removed:
                return
            await self._run(live)

    async def _run(self, live: Live) -> None:
        c = live.container
        live.stop_requested = False
        stdin, stdout, stderr = live.io.make_fifos(bool(c.config.get("OpenStdin")))
        mounts = await rootfs.mounts(self.sv, c.snapshot_key or c.id)
        request = tasks_pb2.CreateTaskRequest(
            container_id=c.id, stdin=stdin, stdout=stdout, stderr="" if c.tty else stderr, terminal=c.tty,
            rootfs=[mount_pb2.Mount(type=m.type, source=m.source, options=m.options) for m in mounts])
        await container_volumes.setup(self.service, c)
        try:  # its own errors as they are ("network x not found"), not as a task's
            await network_containers.setup(self.service.ctx, live)
        except BaseException:
            container_volumes.teardown(self.service, c)
            if c.host_config.get("AutoRemove"):  # run --rm waits for the removal
                self.spawn(self.service.destroy(live))
            raise
        try:
            reply = await self.sv.unary(self.sv.tasks.Create, request)
            live.task_pid = int(reply.pid) or -1
            live.exited.clear()
            live.io.start_copying(("stdout",) if c.tty else ("stdout", "stderr"))
            await self.sv.unary(self.sv.tasks.Start, tasks_pb2.StartRequest(container_id=c.id))
        except DockyardError as exc:
            if live.task_pid:
                live.io.finish()
                await self._delete(c.id)
                live.task_pid = 0
                live.exited.set()
            container_volumes.teardown(self.service, c)
            await network_containers.teardown(self.service.ctx, c.id)
            error, code = start_error(c.path, exc)
            c.state.error = error.message
            c.state.exit_code = code
            if c.state.restarting:
                c.state.set_stopped(code, time.time_ns(), error.message)
            self.service.save(c)
            if c.host_config.get("AutoRemove"):
                self.spawn(self.service.destroy(live))
            raise error from None
        c.state.set_running(live.task_pid, time.time_ns())
        c.has_started = True
        self.service.health.start(live)
        self.service.save(c)
        self.service.publish(c, "start")

    # -- exits -----------------------------------------------------------------------------------
    async def handle_exit(self, live: Live, pid: int, status: int, exited_ns: int) -> None:
        restart = False
        async with live.lock:
            if not live.task_pid or (pid and live.task_pid > 0 and pid != live.task_pid):
                return
            c = live.container
            live.io.finish()
            self.service.execs.container_exited(c.id)
            self.service.health.stop(live)
            await self._delete(c.id)
            live.task_pid = 0
            container_volumes.teardown(self.service, c)
            await network_containers.teardown(self.service.ctx, c.id)
            started = parse_time(c.state.started_at)
            ran = max(0.0, (exited_ns - started) / 1e9) if started else 0.0
            restart = not self.closing and self._should_restart(live, status, ran)
            if restart:
                c.restart_count += 1
                c.state.set_restarting(status, exited_ns)
            else:
                c.state.set_stopped(status, exited_ns)
            c.state.oom_killed = live.oom
            live.oom = False
            self.service.save(c)
            self.service.publish(c, "die", exitCode=str(status), execDuration=str(int(ran)))
            live.exited.set()
            self.resolve_waiters(live, restarting=restart)
            live.io.end_streams()
        if restart:
            self._schedule_restart(live, ran)
        elif c.host_config.get("AutoRemove") and not live.removed:
            await self.service.destroy(live)

    def _should_restart(self, live: Live, status: int, ran: float) -> bool:
        c = live.container
        if live.stop_requested or live.removed:
            return False
        return cc.restarts(c.host_config, status, c.restart_count, c.manually_stopped)

    def _schedule_restart(self, live: Live, ran: float) -> None:
        if ran >= RESET_AFTER or live.restart_delay == 0:
            live.restart_delay = FIRST_DELAY
        else:
            live.restart_delay = min(MAX_DELAY, live.restart_delay * 2)
        loop = asyncio.get_running_loop()
        live.restart_timer = loop.call_later(live.restart_delay, lambda: self.spawn(self._policy_restart(live)))

    async def _policy_restart(self, live: Live) -> None:
        live.restart_timer = None
        if live.removed or live.stop_requested or self.closing:
            return
        try:
            await self.run(live)
        except DockyardError as exc:
            log.warning("container %s: restart failed: %s", live.id, exc)

    async def _settle_restart(self, live: Live) -> bool:
        """For a stop, kill or removal: a policy restart that is creating the task already
        (under the lock) finishes first, one still waiting is cancelled. Whether a task runs
        now (then signal it)."""
        if live.lock.locked():
            async with live.lock:
                pass
        if live.task_pid:
            return True
        self.cancel_restart(live)
        return False

    def cancel_restart(self, live: Live) -> None:
        if live.restart_timer is not None:
            live.restart_timer.cancel()
            live.restart_timer = None
        c = live.container
        if c.state.restarting and not live.task_pid:
            c.state.restarting = False
            c.state.running = False
            c.state.status = EXITED
            self.service.save(c)
            self.resolve_waiters(live)

    async def _delete(self, cid: str) -> None:
        try:
            await self.sv.unary(self.sv.tasks.Delete, tasks_pb2.DeleteTaskRequest(container_id=cid))
        except NotFound:
            pass

    async def delete_task(self, live: Live) -> None:
        """The container is being removed: no task may be left (a created or stopped one)."""
        await self._delete(live.id)
        live.task_pid = 0
        await network_containers.teardown(self.service.ctx, live.id)

    # -- waiting -----------------------------------------------------------------------------------
    def result(self, c: Container) -> dict[str, Any]:
        return {"StatusCode": c.state.exit_code, "Error": {"Message": c.state.error} if c.state.error else None}

    async def wait(self, live: Live, condition: str) -> dict[str, Any]:
        c = live.container
        if condition not in ("", "not-running", "next-exit", "removed"):
            raise InvalidArgument(f"invalid condition: \"{condition}\"")
        condition = condition or "not-running"
        if condition == "not-running" and not c.state.running:
            return self.result(c)
        if condition == "removed" and live.removed:
            return self.result(c)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        entry = (condition, future)
        live.waiters.append(entry)
        try:
            return await future
        finally:
            if entry in live.waiters:
                live.waiters.remove(entry)

    def resolve_waiters(self, live: Live, removed: bool = False, restarting: bool = False) -> None:
        result = self.result(live.container)
        for condition, future in list(live.waiters):
            due = (condition == "next-exit" or (condition == "not-running" and not restarting)
                   or (condition == "removed" and removed) or removed)
            if due and not future.done():
                future.set_result(result)

    async def _wait_exited(self, live: Live, timeout: float | None) -> bool:
        if live.exited.is_set():
            return True
        try:
            await asyncio.wait_for(live.exited.wait(), timeout)
        except TimeoutError:
            return False
        return True

    # -- signals -----------------------------------------------------------------------------------
    async def _signal(self, live: Live, number: int) -> None:
        self.service.publish(live.container, "kill", signal=str(number))
        try:
            await self.sv.unary(self.sv.tasks.Kill, tasks_pb2.KillRequest(container_id=live.id, signal=number))
        except NotFound:
            pass  # exited meanwhile

    async def kill(self, live: Live, signal_text: str) -> None:
        c = live.container
        number = cc.parse_signal(signal_text) if signal_text else int(signals.SIGKILL)
        if not c.state.running:
            raise FailedPrecondition(f"Cannot kill container: {c.id}: Container {c.id} is not running")
        if c.state.restarting and not live.task_pid:
            live.stop_requested = True
            if not await self._settle_restart(live):
                return
        c.manually_stopped = True
        self.service.save(c)
        await self._signal(live, number)

    async def stop(self, live: Live, timeout: int | None, signal_text: str = "") -> None:
        """``docker stop``: NotModified when it is not running."""
        c = live.container
        if not c.state.running:
            raise NotModified()
        live.stop_requested = True
        c.manually_stopped = True
        self.service.save(c)
        if c.state.restarting and not live.task_pid and not await self._settle_restart(live):
            self.service.publish(c, "stop")
            return
        number = cc.parse_signal(signal_text) if signal_text else cc.stop_signal(c.config)
        wait = cc.stop_timeout(c.config) if timeout is None else timeout
        await self._signal(live, number)
        if c.state.paused:
            await self._resume_quietly(live)
        if not await self._wait_exited(live, None if wait < 0 else float(wait)):
            await self._signal(live, int(signals.SIGKILL))
            if not await self._wait_exited(live, KILL_WAIT):
                raise Internal(f"container {c.id} did not exit within {KILL_WAIT:.0f} seconds of SIGKILL")
        self.service.publish(c, "stop")

    async def stop_for_shutdown(self, live: Live) -> None:
        """The engine stops without live restore (``live-restore: false``): the container is
        stopped as ``docker stop`` would, but not as stopped by hand, so that its restart
        policy starts it again with the engine (never raises)."""
        c = live.container
        if not c.state.running:
            return
        live.stop_requested = True
        try:
            if c.state.restarting and not live.task_pid and not await self._settle_restart(live):
                return
            await self._signal(live, cc.stop_signal(c.config))
            if c.state.paused:
                await self._resume_quietly(live)
            wait = cc.stop_timeout(c.config)
            if not await self._wait_exited(live, None if wait < 0 else float(wait)):
                await self._signal(live, int(signals.SIGKILL))
                await self._wait_exited(live, KILL_WAIT)
        except Exception:
            log.exception("stopping container %s at shutdown", c.id)

    async def restart(self, live: Live, timeout: int | None, signal_text: str = "") -> None:
        c = live.container
        if c.state.running:
            try:
                await self.stop(live, timeout, signal_text)
            except NotModified:
                pass
        c.manually_stopped = False
        live.restart_delay = 0.0
        await self.run(live)
        self.service.publish(c, "restart")

    async def kill_for_removal(self, live: Live) -> None:
        live.stop_requested = True
        if await self._settle_restart(live):
            try:
                await self.sv.unary(self.sv.tasks.Kill, tasks_pb2.KillRequest(
                    container_id=live.id, signal=int(signals.SIGKILL), all=True))
            except NotFound:
                pass
            if live.container.state.paused:
                await self._resume_quietly(live)
            if not await self._wait_exited(live, KILL_WAIT):
                raise Internal(f"could not kill container {live.id}")

    async def _resume_quietly(self, live: Live) -> None:
        try:
            await self.sv.unary(self.sv.tasks.Resume, tasks_pb2.ResumeTaskRequest(container_id=live.id))
        except DockyardError:
            pass
        live.container.state.paused = False

    # -- pause ---------------------------------------------------------------------------------------
    async def pause(self, live: Live) -> None:
        c = live.container
        if not c.state.running or not live.task_pid:
            raise FailedPrecondition(f"Container {c.id} is not running")
        if c.state.paused:
            raise FailedPrecondition(f"Container {c.id} is already paused")
        await self.sv.unary(self.sv.tasks.Pause, tasks_pb2.PauseTaskRequest(container_id=c.id))
        c.state.paused, c.state.status = True, PAUSED
        self.service.save(c)
        self.service.publish(c, "pause")

    async def unpause(self, live: Live) -> None:
        c = live.container
        if not c.state.paused:
            raise FailedPrecondition(f"Container {c.id} is not paused")
        await self.sv.unary(self.sv.tasks.Resume, tasks_pb2.ResumeTaskRequest(container_id=c.id))
        c.state.paused, c.state.status = False, RUNNING
        self.service.save(c)
        self.service.publish(c, "unpause")

    # -- terminal and stdin -----------------------------------------------------------------------------
    async def resize(self, live: Live, height: int, width: int) -> None:
        if not live.task_pid:
            raise FailedPrecondition(f"Container {live.id} is not running")
        if live.container.tty:  # no terminal: nothing to resize (Docker answers 200 too)
            await self.sv.unary(self.sv.tasks.ResizePty, tasks_pb2.ResizePtyRequest(
                container_id=live.id, width=width, height=height))
        self.service.publish(live.container, "resize", height=str(height), width=str(width))

    async def close_stdin(self, live: Live) -> None:
        live.io.close_stdin()
        if live.task_pid:
            try:
                await self.sv.unary(self.sv.tasks.CloseIO, tasks_pb2.CloseIORequest(container_id=live.id, stdin=True))
            except DockyardError as exc:
                log.debug("container %s: CloseIO: %s", live.id, exc)

    def close(self) -> None:
        self.closing = True
        for live in self.service.live.values():
            if live.restart_timer is not None:
                live.restart_timer.cancel()
                live.restart_timer = None
        for job in list(self._jobs):
            job.cancel()
