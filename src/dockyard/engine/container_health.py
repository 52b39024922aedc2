"""Health checks (``HEALTHCHECK``, ``--health-cmd``...), as dockerd runs them.

A container whose merged config has a ``Healthcheck`` with a command (``["CMD", ...]`` or
``["CMD-SHELL", "cmd"]``, run through the image's ``Shell`` or ``/bin/sh -c``) gets a
monitor while it runs: every ``Interval`` (30 s by default; ``StartInterval`` during the
``StartPeriod``) the command runs as an exec in the container, for at most ``Timeout``
(30 s; then it is killed and the probe fails with "Health check exceeded timeout"). A
zero exit is healthy and resets the failing streak; a failure during the start period
does not count; ``Retries`` (3) failures in a row make it unhealthy. ``State.Health``
keeps the status, the streak and the last five probes (4 KiB of output each); every
change of status is a ``health_status: <status>`` event. At start the status is
``starting``; when the monitor stops (the container stopped) it is ``unhealthy``, as
dockerd says it "for compatibility reasons". ``Test: ["NONE"]`` turns an image's check off.

:func:`merge_healthcheck` is dockerd's merge of the container's check with the image's:
the container's fields win, its zero fields (and an empty ``Test``) take the image's.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from dockyard.engine.build.buildflags import format_duration
from dockyard.engine.container_model import format_time
from dockyard.errors import DockyardError, InvalidArgument

if TYPE_CHECKING:
    from dockyard.engine.containers import ContainerService, Live

log = logging.getLogger("dockyard.engine.containers")

SECOND = 1_000_000_000
DEFAULT_INTERVAL = 30 * SECOND
DEFAULT_TIMEOUT = 30 * SECOND
DEFAULT_RETRIES = 3
MIN_INTERVAL = SECOND // 1000  # dockerd refuses durations below 1 ms
MAX_LOG = 5
MAX_OUTPUT = 4096

STARTING, HEALTHY, UNHEALTHY, NO_HEALTHCHECK = "starting", "healthy", "unhealthy", "none"
_FIELDS = ("Interval", "Timeout", "StartPeriod", "StartInterval")


def check_healthcheck(value: Any) -> None:
    """Config.Healthcheck of a create request; InvalidArgument naming the bad field."""
    if value is None:
        return
    if not isinstance(value, dict):
        raise InvalidArgument("Config.Healthcheck: must be an object")
    test = value.get("Test")
    if test is not None and (not isinstance(test, list) or not all(isinstance(t, str) for t in test)):
        raise InvalidArgument("Config.Healthcheck.Test: must be a list of strings")
    if test and test[0] not in ("NONE", "CMD", "CMD-SHELL"):
        raise InvalidArgument(f"Config.Healthcheck.Test: unknown type {test[0]!r} (NONE, CMD or CMD-SHELL)")
    for name in _FIELDS:
        number = value.get(name) or 0
        if not isinstance(number, int) or isinstance(number, bool):
            raise InvalidArgument(f"Config.Healthcheck.{name}: must be an integer of nanoseconds")
        if number and number < MIN_INTERVAL:
            raise InvalidArgument(f"Config.Healthcheck.{name}: {name} in Healthcheck cannot be less than 1ms")
    retries = value.get("Retries") or 0
    if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
        raise InvalidArgument("Config.Healthcheck.Retries: Retries in Healthcheck cannot be negative")


def merge_healthcheck(container: Mapping[str, Any] | None, image: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The check a container runs: its own, with the image's for what it leaves zero."""
    if not container:
        return dict(image) if image else None
    merged = dict(container)
    if image:
        if not merged.get("Test"):
            merged["Test"] = image.get("Test")
        for name in (*_FIELDS, "Retries"):
            if not merged.get(name) and image.get(name):
                merged[name] = image[name]
    return merged


def probe_command(check: Mapping[str, Any] | None, shell: list[str] | None) -> list[str] | None:
    """The argv of a probe; None when there is no check (none, or ``NONE``)."""
    test = list((check or {}).get("Test") or [])
    if not test or test[0] == "NONE":
        return None
    if test[0] == "CMD":
        return test[1:] or None
    if test[0] == "CMD-SHELL":
        return [*(shell or ["/bin/sh", "-c"]), " ".join(test[1:])]
    return None


def new_health() -> dict[str, Any]:
    return {"Status": STARTING, "FailingStreak": 0, "Log": []}


def record(health: dict[str, Any], result: dict[str, Any], retries: int, in_start_period: bool) -> bool:
    """Add a probe's result; whether the status changed."""
    before = health.get("Status")
    health["Log"] = [*(health.get("Log") or []), result][-MAX_LOG:]
    if result["ExitCode"] == 0:
        health["FailingStreak"] = 0
        health["Status"] = HEALTHY
    elif not in_start_period:
        health["FailingStreak"] = int(health.get("FailingStreak") or 0) + 1
        if health["FailingStreak"] >= retries:
            health["Status"] = UNHEALTHY
    return bool(health["Status"] != before)


class HealthMonitor:
    """The probes of the running containers that have a check."""

    def __init__(self, service: ContainerService) -> None:
        self.service = service
        self.tasks: dict[str, asyncio.Task[None]] = {}

    def start(self, live: Live) -> None:
        """The container runs now: its status is ``starting`` and the probes begin."""
        c = live.container
        command = probe_command(c.config.get("Healthcheck"), c.config.get("Shell"))
        self.stop(live, final=False)
        if command is None:
            return
        c.state.health = new_health()
        self.tasks[c.id] = asyncio.get_running_loop().create_task(self._loop(live, command),
                                                                  name=f"health-{c.id[:12]}")

    def stop(self, live: Live, final: bool = True) -> None:
        """No more probes; with ``final`` (the container stopped) the status is unhealthy."""
        task = self.tasks.pop(live.id, None)
        if task is not None:
            task.cancel()
        health = live.container.state.health
        if final and health is not None:
            health["Status"] = UNHEALTHY

    def close(self) -> None:
        for task in self.tasks.values():
            task.cancel()
        self.tasks.clear()

    async def _loop(self, live: Live, command: list[str]) -> None:
        check = live.container.config.get("Healthcheck") or {}
        interval = int(check.get("Interval") or DEFAULT_INTERVAL)
        timeout = int(check.get("Timeout") or DEFAULT_TIMEOUT)
        start_period = int(check.get("StartPeriod") or 0)
        start_interval = int(check.get("StartInterval") or 0) or interval
        retries = int(check.get("Retries") or DEFAULT_RETRIES)
        began = time.monotonic_ns()
        while True:
            in_start = time.monotonic_ns() - began < start_period
            await asyncio.sleep((start_interval if in_start else interval) / SECOND)
            c = live.container
            if not c.state.running or c.state.paused or c.state.health is None:
                continue
            result = await self._probe(live, command, timeout)
            in_start = time.monotonic_ns() - began < start_period
            if c.state.health is None or not c.state.running:
                return
            if record(c.state.health, result, retries, in_start):
                self.service.publish(c, f"health_status: {c.state.health['Status']}")
            self.service.save(c)

    async def _probe(self, live: Live, command: list[str], timeout_ns: int) -> dict[str, Any]:
        execs = self.service.execs
        start = time.time_ns()
        output = bytearray()
        try:
            eid = execs.create(live, {"Cmd": command, "AttachStdout": True, "AttachStderr": True})
            e = execs.get(eid)
            queue = e.io.attach()
            try:
                await execs.start(e)

                async def drain() -> None:
                    while (item := await queue.get()) is not None:
                        output.extend(item[1])
                    await e.done.wait()

                try:
                    await asyncio.wait_for(drain(), timeout_ns / SECOND)
                except TimeoutError:
                    await execs.kill(e)
                    return {"Start": format_time(start), "End": format_time(time.time_ns()), "ExitCode": -1,
                            "Output": f"Health check exceeded timeout ({format_duration(timeout_ns)})"}
            finally:
                e.io.detach(queue)
            code = e.exit_code if e.exit_code is not None else -1
        except DockyardError as exc:
            code, output = -1, bytearray(exc.message.encode())
        return {"Start": format_time(start), "End": format_time(time.time_ns()), "ExitCode": code,
                "Output": bytes(output[:MAX_OUTPUT]).decode(errors="replace")}

