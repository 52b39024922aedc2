"""``process.rlimits`` and ``process.oomScoreAdj``: resource limits of the container process.

Limits are set with prlimit(2) through Python's ``resource`` module (a C extension that
costs ~0.3 ms to import). Raising a hard limit above the current one needs
CAP_SYS_RESOURCE, and so does a negative oom_score_adj: both must happen before the
capabilities are dropped. Hosts (or outer containers) without CAP_SYS_RESOURCE refuse them;
the error then says so instead of a bare EPERM/EACCES.
"""

from __future__ import annotations

import os

from dockyard.errors import Internal, InvalidArgument, PermissionDenied

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# setrlimit(2), include/uapi/asm-generic/resource.h
RLIMITS: dict[str, int] = {
    "RLIMIT_CPU": 0,
    "RLIMIT_FSIZE": 1,
    "RLIMIT_DATA": 2,
    "RLIMIT_STACK": 3,
    "RLIMIT_CORE": 4,
    "RLIMIT_RSS": 5,
    "RLIMIT_NPROC": 6,
    "RLIMIT_NOFILE": 7,
    "RLIMIT_MEMLOCK": 8,
    "RLIMIT_AS": 9,
    "RLIMIT_LOCKS": 10,
    "RLIMIT_SIGPENDING": 11,
    "RLIMIT_MSGQUEUE": 12,
    "RLIMIT_NICE": 13,
    "RLIMIT_RTPRIO": 14,
    "RLIMIT_RTTIME": 15,
}
RLIM_INFINITY = (1 << 64) - 1
_NO_CAP = "CAP_SYS_RESOURCE missing"


def _signed(value: int) -> int:
    """The rlim_t bits as the signed C long the ``resource`` module takes (-1 = infinity)."""
    return value - (1 << 64) if value >= 1 << 63 else value


def _unsigned(value: int) -> int:
    return value & RLIM_INFINITY


def _show(value: int) -> str:
    return "unlimited" if value == RLIM_INFINITY else str(value)


def parse(rlimits: object, what: str = "process.rlimits") -> list[tuple[str, int, int, int]]:
    """Validate ``process.rlimits``: ``[(type, resource, soft, hard)]`` in the given order.

    As runc: a type may repeat (each entry is applied in order, so the last wins) and a
    missing (or null) ``soft`` or ``hard`` is 0.
    """
    if rlimits is None:
        return []
    if not isinstance(rlimits, list):
        raise InvalidArgument(f"{what}: must be a list")
    result = []
    for i, entry in enumerate(rlimits):
        w = f"{what}[{i}]"
        if not isinstance(entry, dict):
            raise InvalidArgument(f"{w}: must be an object")
        kind = entry.get("type")
        if not isinstance(kind, str) or kind not in RLIMITS:
            raise InvalidArgument(f"{w}.type: unknown rlimit type {kind!r}")
        limits = []
        for key in ("soft", "hard"):
            value = entry.get(key)
            if value is None:
                value = 0
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= RLIM_INFINITY:
                raise InvalidArgument(f"{w}.{key}: must be an integer from 0 to {RLIM_INFINITY}")
            limits.append(value)
        soft, hard = limits
        if soft > hard:
            raise InvalidArgument(f"{w}: {kind} soft limit {soft} is above the hard limit {hard}")
        result.append((kind, RLIMITS[kind], soft, hard))
    return result


def current(resource_id: int, pid: int = 0) -> tuple[int, int]:
    """The (soft, hard) limits of ``pid`` (0: the calling process) as unsigned values."""
    import resource

    soft, hard = resource.prlimit(pid, resource_id)
    return _unsigned(soft), _unsigned(hard)


def set_limit(kind: str, soft: int, hard: int, pid: int = 0) -> None:
    """prlimit(2) one limit; EPERM becomes PermissionDenied saying why."""
    import resource

    res = RLIMITS[kind]
    try:
        resource.prlimit(pid, res, (_signed(soft), _signed(hard)))
    except OSError as exc:
        what = f"setrlimit {kind} soft={_show(soft)} hard={_show(hard)}"
        if exc.errno == 1:  # EPERM
            raise PermissionDenied(f"{what}: operation not permitted ({_why(kind, hard, pid)})") from None
        raise Internal(f"{what}: {exc.strerror or exc}") from None
    except ValueError as exc:  # the resource module's own range check
        raise InvalidArgument(f"setrlimit {kind} soft={soft} hard={hard}: {exc}") from None


def _why(kind: str, hard: int, pid: int) -> str:
    if kind == "RLIMIT_NOFILE":
        try:
            with open("/proc/sys/fs/nr_open", "rb") as f:
                nr_open = int(f.read())
        except (OSError, ValueError):
            nr_open = 0
        if nr_open and hard > nr_open:
            return f"the hard limit is above fs.nr_open={nr_open}"
    try:
        old_hard = current(RLIMITS[kind], pid)[1]
    except OSError:
        old_hard = RLIM_INFINITY
    if hard > old_hard:
        return f"the host denies raising a hard limit: {_NO_CAP}; the current hard limit is {_show(old_hard)}"
    return "the host denies it"


def apply(rlimits: list[dict[str, Any]], pid: int = 0) -> None:
    """Set every limit of ``process.rlimits`` on ``pid`` (0: the calling process), in order."""
    for kind, _res, soft, hard in parse(rlimits):
        set_limit(kind, soft, hard, pid)


def apply_oom_score_adj(value: int, pid: int | str = "self") -> None:
    """Write ``process.oomScoreAdj`` (-1000..1000) to /proc/<pid>/oom_score_adj."""
    if isinstance(value, bool) or not isinstance(value, int) or not -1000 <= value <= 1000:
        raise InvalidArgument(f"process.oomScoreAdj: {value!r} is not an integer from -1000 to 1000")
    path = f"/proc/{pid}/oom_score_adj"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
        try:
            os.write(fd, str(value).encode())
        finally:
            os.close(fd)
    except OSError as exc:
        what = f"write {path} {value}"
        if exc.errno in (1, 13):  # EPERM, EACCES
            raise PermissionDenied(
                f"{what}: permission denied (the host denies lowering oom_score_adj: {_NO_CAP})"
            ) from None
        raise Internal(f"{what}: {exc.strerror or exc}") from None
