"""``events``: a container's resource statistics and OOM notifications as JSON lines.

``--stats`` prints one ``{"type":"stats","id":...,"data":{...}}`` and exits. Without it,
a stats event is printed every ``--interval`` and an ``{"type":"oom","id":...}`` event
whenever the kernel reports an OOM in the container, until the container stops (or its
cgroup is removed).
"""

from __future__ import annotations

import os
import sys
import time

from dockyard.errors import DockyardError, FailedPrecondition, InvalidArgument
from dockyard.oci import jsonio
from dockyard.runtime import flags as fl
from dockyard.runtime import state as st
from dockyard.runtime.cmdutil import load, require_args

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from dockyard.runtime.cgroups import Manager
    from dockyard.runtime.context import Context

SUMMARY = "display container events such as OOM notifications, cpu, memory, and IO usage statistics"
USAGE = "[command options] <container-id>"
FLAGS = [
    fl.Flag("interval", fl.STR, "5s", help="set the stats collection interval (default: 5s)"),
    fl.Flag("stats", help="display the container's stats then exit"),
]

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
# how often, at most, the loop looks whether the container is still running
_CHECK_EVERY = 0.5


def parse_duration(text: str) -> float:
    """A Go duration (``5s``, ``1m30s``, ``250ms``, ``1.5h``) in seconds."""
    s = text.strip()
    if s in ("0", "+0", "-0"):
        return 0.0
    sign = 1.0
    if s and s[0] in "+-":
        sign = -1.0 if s[0] == "-" else 1.0
        s = s[1:]
    if not s:
        raise InvalidArgument(f"invalid duration {text!r}")
    total = 0.0
    i = 0
    while i < len(s):
        j = i
        while j < len(s) and (s[j].isdigit() or s[j] == "."):
            j += 1
        if j == i:
            raise InvalidArgument(f"invalid duration {text!r}")
        number = s[i:j]
        k = j
        while k < len(s) and not (s[k].isdigit() or s[k] == "."):
            k += 1
        unit = s[j:k]
        if unit not in _UNITS:
            raise InvalidArgument(f"invalid duration {text!r}: unknown unit {unit!r}")
        try:
            total += float(number) * _UNITS[unit]
        except ValueError:
            raise InvalidArgument(f"invalid duration {text!r}") from None
        i = k
    return sign * total


def _emit(event: dict[str, Any]) -> None:
    sys.stdout.write(jsonio.dumps(event) + "\n")
    sys.stdout.flush()


def run(ctx: Context, opts: fl.Parsed) -> int:
    from dockyard.runtime.cgroups import manager_from_state

    require_args(opts, "events", exactly=1)
    interval = parse_duration(opts.str("interval"))
    if interval <= 0:
        raise InvalidArgument("duration interval must be greater than 0")
    state = load(ctx, opts, "events")
    if state.status() == st.STOPPED:
        raise FailedPrecondition(f"container with id {state.id} is not running")
    manager = manager_from_state(state.cgroup)
    if opts.bool("stats"):
        _emit({"type": "stats", "id": state.id, "data": manager.stats()})
        return 0
    stream(ctx, state, manager, interval)
    return 0


def stream(ctx: Context, state: st.ContainerState, manager: Manager, interval: float) -> None:
    """Print stats every ``interval`` seconds and OOM events as they come, until stopped."""
    import select

    efd = manager.oom_eventfd()
    last_ooms = manager.oom_kill_count()
    next_stats = time.monotonic() + interval
    try:
        while True:
            now = time.monotonic()
            timeout = max(0.0, min(next_stats - now, _CHECK_EVERY))
            if efd is not None:
                ready, _, _ = select.select([efd], [], [], timeout)
                if ready:
                    os.read(efd, 8)
                    if not manager.exists():
                        return
                    _emit({"type": "oom", "id": state.id})
            else:
                time.sleep(timeout)
                count = manager.oom_kill_count()
                if count > last_ooms:
                    for _ in range(count - last_ooms):
                        _emit({"type": "oom", "id": state.id})
                    last_ooms = count
            if not manager.exists() or state.status() == st.STOPPED:
                return
            if time.monotonic() >= next_stats:
                next_stats += interval
                try:
                    _emit({"type": "stats", "id": state.id, "data": manager.stats()})
                except DockyardError as exc:
                    ctx.log.error(str(exc))
    finally:
        if efd is not None:
            os.close(efd)
