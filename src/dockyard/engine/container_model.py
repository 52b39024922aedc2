"""A Docker container as the engine records it: :class:`Container` and its :class:`State`.

The record is what ``docker inspect`` shows, kept as plain data: the merged ``Config``
(the image's defaults filled in, as dockerd merges them at create), the ``HostConfig``
(defaults filled in), the image's ID, the state machine's fields and the engine's own
bookkeeping (the runtime, the snapshot, whether the user stopped it). It round-trips
through JSON (:meth:`Container.to_doc` / :meth:`Container.from_doc`) for the store.

Times are Go's RFC 3339 with nanoseconds (``2024-01-02T03:04:05.123456789Z``), the zero
time being ``0001-01-01T00:00:00Z`` as dockerd prints it. :func:`status_text` is the
``Status`` column of ``docker ps`` ("Up 3 seconds", "Exited (0) 2 seconds ago").
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

ZERO_TIME = "0001-01-01T00:00:00Z"

# State.Status values (Docker's StateString)
CREATED, RUNNING, PAUSED, RESTARTING, REMOVING, EXITED, DEAD = (
    "created", "running", "paused", "restarting", "removing", "exited", "dead")
STATUSES = (CREATED, RUNNING, PAUSED, RESTARTING, REMOVING, EXITED, DEAD)


def format_time(ns: int) -> str:
    """Nanoseconds since the epoch as RFC 3339 (fraction trimmed, as Go's RFC3339Nano)."""
    if ns <= 0:
        return ZERO_TIME
    seconds, frac = divmod(ns, 1_000_000_000)
    base = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    fraction = f"{frac:09d}".rstrip("0")
    return f"{base}.{fraction}Z" if fraction else f"{base}Z"


def now_time() -> str:
    return format_time(time.time_ns())


def parse_time(text: str) -> int:
    """RFC 3339 (any fraction, ``Z`` or an offset) -> nanoseconds since the epoch (0 for zero)."""
    if not text or text.startswith("0001-01-01"):
        return 0
    head, dot, rest = text.partition(".")
    zone = "+00:00"
    frac = ""
    if dot:
        digits = ""
        for i, c in enumerate(rest):
            if not c.isdigit():
                zone = rest[i:]
                break
            digits += c
        frac = digits
    else:
        for sep in ("Z", "+", "-"):
            idx = head.find(sep, 19) if sep != "Z" else head.find("Z")
            if idx >= 0:
                head, zone = head[:idx], head[idx:]
                break
    if zone == "Z":
        zone = "+00:00"
    moment = datetime.fromisoformat(head + zone)
    return int(moment.timestamp()) * 1_000_000_000 + int((frac + "000000000")[:9] or 0)


def human_duration(seconds: float) -> str:
    """go-units' HumanDuration."""
    s = int(seconds)
    if s < 1:
        return "Less than a second"
    if s == 1:
        return "1 second"
    if s < 60:
        return f"{s} seconds"
    minutes = int(seconds / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = round(seconds / 3600)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds / 3600) // 24 // 365} years"


@dataclass
class State:
    status: str = CREATED
    running: bool = False
    paused: bool = False
    restarting: bool = False
    oom_killed: bool = False
    dead: bool = False
    removing: bool = False
    pid: int = 0
    exit_code: int = 0
    error: str = ""
    started_at: str = ZERO_TIME
    finished_at: str = ZERO_TIME
    health: dict[str, Any] | None = None  # State.Health of a container with a health check

    def to_api(self) -> dict[str, Any]:
        doc = {"Status": self.status, "Running": self.running, "Paused": self.paused,
               "Restarting": self.restarting, "OOMKilled": self.oom_killed, "Dead": self.dead, "Pid": self.pid,
               "ExitCode": self.exit_code, "Error": self.error, "StartedAt": self.started_at,
               "FinishedAt": self.finished_at}
        if self.health is not None:
            doc["Health"] = self.health
        return doc

    def set_running(self, pid: int, started_ns: int) -> None:
        self.status, self.running, self.paused, self.restarting = RUNNING, True, False, False
        self.pid, self.exit_code, self.error, self.oom_killed = pid, 0, "", False
        self.started_at = format_time(started_ns)

    def set_stopped(self, exit_code: int, finished_ns: int, error: str = "") -> None:
        self.status, self.running, self.paused, self.restarting = EXITED, False, False, False
        self.pid, self.exit_code, self.error = 0, exit_code, error
        # the shim's exit time may read a hair earlier than the engine's start time of a
        # process that ended at once: never before it started
        if self.started_at != ZERO_TIME:
            finished_ns = max(finished_ns, parse_time(self.started_at))
        self.finished_at = format_time(finished_ns)

    def set_restarting(self, exit_code: int, finished_ns: int) -> None:
        self.set_stopped(exit_code, finished_ns)
        self.status, self.restarting, self.running = RESTARTING, True, True


def status_text(state: State, now_ns: int | None = None) -> str:
    """Docker's ``State.String()``: the STATUS column of ``docker ps``."""
    now = time.time_ns() if now_ns is None else now_ns
    if state.running:
        if state.paused:
            return f"Up {human_duration((now - parse_time(state.started_at)) / 1e9)} (Paused)"
        if state.restarting:
            ago = human_duration((now - parse_time(state.finished_at)) / 1e9)
            return f"Restarting ({state.exit_code}) {ago} ago"
        up = f"Up {human_duration((now - parse_time(state.started_at)) / 1e9)}"
        if state.health:
            status = state.health.get("Status") or "starting"
            return f"{up} (health: starting)" if status == "starting" else f"{up} ({status})"
        return up
    if state.removing:
        return "Removal In Progress"
    if state.dead:
        return "Dead"
    if state.started_at == ZERO_TIME:
        return "Created"
    if state.finished_at == ZERO_TIME:
        return ""
    return f"Exited ({state.exit_code}) {human_duration((now - parse_time(state.finished_at)) / 1e9)} ago"


@dataclass
class Container:
    id: str
    name: str  # with its leading "/"
    created: str
    path: str
    args: list[str]
    config: dict[str, Any]
    host_config: dict[str, Any]
    image_id: str
    runtime: str  # the OCI runtime's name (HostConfig.Runtime or the daemon's default)
    log_path: str = ""
    state: State = field(default_factory=State)
    restart_count: int = 0
    manually_stopped: bool = False  # docker stop: unless-stopped and restart-on-boot honour it
    has_started: bool = False
    platform: str = "linux"
    driver: str = "overlayfs"
    snapshot_key: str = ""
    resolv_conf_path: str = ""
    hostname_path: str = ""
    hosts_path: str = ""
    spec_resources: dict[str, Any] = field(default_factory=dict)  # linux.resources of the stored spec
    mount_points: list[dict[str, Any]] = field(default_factory=list)  # volumes (and --volumes-from binds)

    @property
    def short_name(self) -> str:
        return self.name.lstrip("/")

    @property
    def tty(self) -> bool:
        return bool(self.config.get("Tty"))

    @property
    def labels(self) -> dict[str, str]:
        value = self.config.get("Labels")
        return dict(value) if isinstance(value, dict) else {}

    @property
    def image_name(self) -> str:
        return str(self.config.get("Image") or self.image_id)

    def to_doc(self) -> dict[str, Any]:
        """The record as JSON-ready data (shallow: the maps and lists are the container's own)."""
        doc = {name: getattr(self, name) for name in self.__dataclass_fields__}
        doc["state"] = dict(vars(self.state))
        return doc

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Container:
        doc = dict(doc)
        state = State(**doc.pop("state", {}))
        known = set(cls.__dataclass_fields__)
        return cls(state=state, **{k: v for k, v in doc.items() if k in known})

    def event_attributes(self, **extra: str) -> dict[str, str]:
        """Docker's container event attributes: the labels, image, name, then ``extra``."""
        return {**self.labels, "image": self.image_name, "name": self.short_name, **extra}
