"""Linux capabilities of the container process: names, masks and the prctl/capset sequence.

``process.capabilities`` of config.json names five sets (bounding, effective, permitted,
inheritable, ambient). A name dockyard does not know, or one the running kernel does not
know (its number is above ``/proc/sys/kernel/cap_last_cap``), is ignored and reported, as
runc does ("ignoring unknown or unavailable capabilities"), so one config works everywhere.

The order in the container's init process (capabilities(7), prctl(2)) is::

    apply_bounding(sys, sets.bounding)   # needs CAP_SETPCAP: while still uid 0
    keep_caps(sys)                       # PR_SET_KEEPCAPS=1: permitted survives setuid
    setgroups / setgid / setuid          # the caller's user change
    clear_keep_caps(sys)                 # PR_SET_KEEPCAPS=0
    apply_sets(sys, sets.effective, sets.permitted, sets.inheritable)   # capset
    apply_ambient(sys, sets.ambient)     # needs each cap in permitted and inheritable

:func:`apply_all` runs that sequence around a callback that changes the user.
"""

from __future__ import annotations

from dockyard.errors import Internal, InvalidArgument, PermissionDenied
from dockyard.runtime import linux

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from dockyard.runtime.syscalls import Syscalls

# capabilities(7), include/uapi/linux/capability.h
CAPABILITIES: dict[str, int] = {
    "CAP_CHOWN": 0,
    "CAP_DAC_OVERRIDE": 1,
    "CAP_DAC_READ_SEARCH": 2,
    "CAP_FOWNER": 3,
    "CAP_FSETID": 4,
    "CAP_KILL": 5,
    "CAP_SETGID": 6,
    "CAP_SETUID": 7,
    "CAP_SETPCAP": 8,
    "CAP_LINUX_IMMUTABLE": 9,
    "CAP_NET_BIND_SERVICE": 10,
    "CAP_NET_BROADCAST": 11,
    "CAP_NET_ADMIN": 12,
    "CAP_NET_RAW": 13,
    "CAP_IPC_LOCK": 14,
    "CAP_IPC_OWNER": 15,
    "CAP_SYS_MODULE": 16,
    "CAP_SYS_RAWIO": 17,
    "CAP_SYS_CHROOT": 18,
    "CAP_SYS_PTRACE": 19,
    "CAP_SYS_PACCT": 20,
    "CAP_SYS_ADMIN": 21,
    "CAP_SYS_BOOT": 22,
    "CAP_SYS_NICE": 23,
    "CAP_SYS_RESOURCE": 24,
    "CAP_SYS_TIME": 25,
    "CAP_SYS_TTY_CONFIG": 26,
    "CAP_MKNOD": 27,
    "CAP_LEASE": 28,
    "CAP_AUDIT_WRITE": 29,
    "CAP_AUDIT_CONTROL": 30,
    "CAP_SETFCAP": 31,
    "CAP_MAC_OVERRIDE": 32,
    "CAP_MAC_ADMIN": 33,
    "CAP_SYSLOG": 34,
    "CAP_WAKE_ALARM": 35,
    "CAP_BLOCK_SUSPEND": 36,
    "CAP_AUDIT_READ": 37,
    "CAP_PERFMON": 38,
    "CAP_BPF": 39,
    "CAP_CHECKPOINT_RESTORE": 40,
}
NAMES: dict[int, str] = {number: name for name, number in CAPABILITIES.items()}
MAX_KNOWN = max(NAMES)
SET_NAMES = ("bounding", "effective", "permitted", "inheritable", "ambient")

CAP_LAST_CAP_PATH = "/proc/sys/kernel/cap_last_cap"


def last_cap(path: str = CAP_LAST_CAP_PATH) -> int:
    """The highest capability number the running kernel knows (dockyard's own if unreadable)."""
    try:
        with open(path, "rb") as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return MAX_KNOWN


def number(name: str) -> int:
    """The number of capability ``name``; InvalidArgument naming it when unknown."""
    try:
        return CAPABILITIES[name]
    except KeyError:
        raise InvalidArgument(f"unknown capability {name!r}") from None


def mask(names: Iterable[str], last: int | None = None) -> int:
    """The bit mask of ``names``; names numbered above ``last`` (the kernel's) are left out."""
    result = 0
    for name in names:
        cap = number(name)
        if last is None or cap <= last:
            result |= 1 << cap
    return result


def names_of(bits: int) -> list[str]:
    """The names of the capabilities set in ``bits``, by number."""
    return [NAMES[cap] for cap in sorted(NAMES) if bits >> cap & 1]


def full_mask(last: int) -> int:
    """Every capability from 0 to ``last``."""
    return (1 << (last + 1)) - 1


class CapSets:
    """The five masks of ``process.capabilities`` plus the names left out (``ignored``)."""

    __slots__ = ("ambient", "bounding", "effective", "ignored", "inheritable", "last", "permitted")

    def __init__(
        self,
        bounding: int = 0,
        effective: int = 0,
        permitted: int = 0,
        inheritable: int = 0,
        ambient: int = 0,
        ignored: list[str] | None = None,
        last: int = MAX_KNOWN,
    ) -> None:
        self.bounding = bounding
        self.effective = effective
        self.permitted = permitted
        self.inheritable = inheritable
        self.ambient = ambient
        self.ignored = ignored or []
        self.last = last

    def __repr__(self) -> str:
        parts = [f"{s}={getattr(self, s):#x}" for s in SET_NAMES]
        return f"CapSets({', '.join(parts)}, ignored={self.ignored})"


def from_config(caps: object, last: int | None = None, what: str = "process.capabilities") -> CapSets:
    """Resolve ``process.capabilities`` (a dict of name lists, or None for no capabilities).

    Names dockyard does not know and names above the kernel's last capability are left
    out and listed in ``ignored``, sorted by name as runc lists them; the caller warns
    (:func:`ignored_warning`). Only a malformed document raises InvalidArgument.
    """
    if last is None:
        last = last_cap()
    sets = CapSets(last=last)
    if caps is None:
        return sets
    if not isinstance(caps, dict):
        raise InvalidArgument(f"{what}: must be an object")
    ignored: set[str] = set()
    for set_name in SET_NAMES:
        names = caps.get(set_name)
        if names is None:
            continue
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise InvalidArgument(f"{what}.{set_name}: must be a list of capability names")
        usable = []
        for name in names:
            if CAPABILITIES.get(name, last + 1) > last:
                ignored.add(name)
            else:
                usable.append(name)
        setattr(sets, set_name, mask(usable, last))
    sets.ignored = sorted(ignored)
    return sets


def ignored_warning(sets: CapSets) -> str | None:
    """runc's warning for the names ``from_config`` left out, or None when there are none."""
    if not sets.ignored:
        return None
    return f"ignoring unknown or unavailable capabilities: [{' '.join(sets.ignored)}]"


def _error(exc: OSError, what: str) -> Exception:
    if exc.errno in (1, 13):  # EPERM, EACCES
        return PermissionDenied(f"{what}: {exc.strerror or exc}")
    return Internal(f"{what}: {exc.strerror or exc}")


def apply_bounding(sys: Syscalls, bounding: int, last: int | None = None) -> None:
    """Drop from the bounding set every capability up to ``last`` that is not in ``bounding``.

    Needs CAP_SETPCAP in the effective set, so it runs before the user change.
    """
    if last is None:
        last = last_cap()
    for cap in range(last + 1):
        if bounding >> cap & 1:
            continue
        try:
            sys.prctl(linux.PR_CAPBSET_DROP, cap)
        except OSError as exc:
            if exc.errno == 22:  # EINVAL: the kernel does not know this capability
                continue
            raise _error(exc, f"prctl(PR_CAPBSET_DROP, {NAMES.get(cap, cap)})") from None


def keep_caps(sys: Syscalls) -> None:
    """PR_SET_KEEPCAPS=1: keep the permitted set across a setuid from 0 to another uid."""
    try:
        sys.prctl(linux.PR_SET_KEEPCAPS, 1)
    except OSError as exc:
        raise _error(exc, "prctl(PR_SET_KEEPCAPS, 1)") from None


def clear_keep_caps(sys: Syscalls) -> None:
    """PR_SET_KEEPCAPS=0 once the user change is done (execve clears it anyway)."""
    try:
        sys.prctl(linux.PR_SET_KEEPCAPS, 0)
    except OSError as exc:
        raise _error(exc, "prctl(PR_SET_KEEPCAPS, 0)") from None


def apply_sets(sys: Syscalls, effective: int, permitted: int, inheritable: int) -> None:
    """capset(2) the effective, permitted and inheritable sets of the calling thread."""
    try:
        sys.capset(effective, permitted, inheritable)
    except OSError as exc:
        raise _error(
            exc,
            f"capset effective={effective:#x} permitted={permitted:#x} "
            f"inheritable={inheritable:#x}",
        ) from None


def apply_ambient(sys: Syscalls, ambient: int, last: int | None = None) -> None:
    """Clear the ambient set, then raise each capability of ``ambient``.

    The kernel refuses (EPERM) a capability that is not in both permitted and inheritable;
    like runc, such a capability is left out silently (runc's own `spec` lists ambient
    capabilities without inheritable ones, and its containers run with CapAmb 0).
    """
    if last is None:
        last = last_cap()
    try:
        sys.prctl(linux.PR_CAP_AMBIENT, linux.PR_CAP_AMBIENT_CLEAR_ALL)
    except OSError as exc:
        raise _error(exc, "prctl(PR_CAP_AMBIENT_CLEAR_ALL)") from None
    for cap in range(last + 1):
        if not ambient >> cap & 1:
            continue
        try:
            sys.prctl(linux.PR_CAP_AMBIENT, linux.PR_CAP_AMBIENT_RAISE, cap)
        except OSError as exc:
            if exc.errno == 1:
                continue
            raise _error(exc, f"raise ambient capability {NAMES.get(cap, str(cap))}") from None


def apply_all(sys: Syscalls, sets: CapSets, change_user: Callable[[], None] | None = None) -> None:
    """The whole sequence: bounding, keep-caps, ``change_user()``, capset, ambient."""
    apply_bounding(sys, sets.bounding, sets.last)
    if change_user is not None:
        keep_caps(sys)
        change_user()
        clear_keep_caps(sys)
    apply_sets(sys, sets.effective, sets.permitted, sets.inheritable)
    apply_ambient(sys, sets.ambient, sets.last)
