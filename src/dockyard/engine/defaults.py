"""Docker's defaults for a Linux container, as the OCI spec pieces dockerd starts from.

Facts from Docker's documentation and the Engine API reference (dockerd 20.10 to 28):

* the 14 capabilities a container keeps by default (``docker run --help``, "Runtime
  privilege and Linux capabilities"); their CapEff mask is ``0x00000000a80425fb``;
* the mounts every container gets: /proc, a tmpfs /dev, /dev/pts, a read-only /sys and
  /sys/fs/cgroup, /dev/mqueue and a /dev/shm tmpfs of ``ShmSize`` (64 MiB by default);
* the paths masked (hidden) and made read-only under /proc and /sys (Docker 28's list,
  as ``docker inspect`` shows in ``HostConfig.MaskedPaths``/``ReadonlyPaths``);
* the device cgroup: deny everything, then allow /dev/null, zero, urandom, random, tty
  and console, and deny /dev/fuse (the OCI runtime adds its own defaults after these:
  /dev/full, the pts slaves, /dev/ptmx, /dev/net/tun);
* the default ``PATH`` and /dev/shm size. There are no default rlimits: the container
  inherits the runtime's, as with dockerd without ``--default-ulimit``.

Every function returns fresh objects, so a spec can be changed without touching these.
"""

from __future__ import annotations

from typing import Any

DEFAULT_CAPABILITIES: tuple[str, ...] = (
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
)

MASKED_PATHS: tuple[str, ...] = (
    "/proc/asound",
    "/proc/acpi",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
)

READONLY_PATHS: tuple[str, ...] = (
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
)

DEFAULT_PATH_ENV = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEFAULT_SHM_SIZE = 64 * 1024 * 1024
DEFAULT_CGROUP_PARENT = "/dockyard"
# The namespaces a container gets unless a mode says otherwise, in Docker's order.
DEFAULT_NAMESPACES: tuple[str, ...] = ("mount", "network", "uts", "pid", "ipc")
# Where ``HostConfig.Init`` puts the init binary, as dockerd does.
INIT_PATH_IN_CONTAINER = "/sbin/docker-init"
# The CFS period that ``NanoCpus`` is expressed against (100 ms, in microseconds).
NANO_CPUS_PERIOD = 100_000

# Mounts whose options a read-only rootfs leaves alone (they stay writable).
WRITABLE_WITH_READONLY_ROOTFS: frozenset[str] = frozenset(
    ("/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue")
)

_NOSUID_NOEXEC_NODEV = ("nosuid", "noexec", "nodev")


def default_capabilities() -> list[str]:
    """The capability names a container keeps unless CapAdd/CapDrop/Privileged change them."""
    return list(DEFAULT_CAPABILITIES)


def masked_paths() -> list[str]:
    """The paths hidden from a non-privileged container."""
    return list(MASKED_PATHS)


def readonly_paths() -> list[str]:
    """The paths a non-privileged container sees read-only."""
    return list(READONLY_PATHS)


def shm_mount(shm_size: int = DEFAULT_SHM_SIZE) -> dict[str, Any]:
    """The container's private /dev/shm: a tmpfs of ``shm_size`` bytes."""
    return {
        "destination": "/dev/shm",
        "type": "tmpfs",
        "source": "shm",
        "options": [*_NOSUID_NOEXEC_NODEV, "mode=1777", f"size={shm_size}"],
    }


def default_mounts(shm_size: int = DEFAULT_SHM_SIZE) -> list[dict[str, Any]]:
    """The mounts every container starts with, /dev/shm sized ``shm_size`` bytes."""
    return [
        {"destination": "/proc", "type": "proc", "source": "proc",
         "options": list(_NOSUID_NOEXEC_NODEV)},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs",
         "options": [*_NOSUID_NOEXEC_NODEV, "ro"]},
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
         "options": ["ro", *_NOSUID_NOEXEC_NODEV]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
         "options": list(_NOSUID_NOEXEC_NODEV)},
        shm_mount(shm_size),
    ]


def _char_rule(allow: bool, major: int, minor: int) -> dict[str, Any]:
    return {"allow": allow, "type": "c", "major": major, "minor": minor, "access": "rwm"}


def default_device_rules() -> list[dict[str, Any]]:
    """``linux.resources.devices`` of a non-privileged container."""
    return [
        {"allow": False, "access": "rwm"},
        _char_rule(True, 1, 5),  # /dev/zero
        _char_rule(True, 1, 3),  # /dev/null
        _char_rule(True, 1, 9),  # /dev/urandom
        _char_rule(True, 1, 8),  # /dev/random
        _char_rule(True, 5, 0),  # /dev/tty
        _char_rule(True, 5, 1),  # /dev/console
        _char_rule(False, 10, 229),  # /dev/fuse
    ]


def privileged_device_rules() -> list[dict[str, Any]]:
    """``linux.resources.devices`` of a privileged container: every device, rwm."""
    return [{"allow": True, "access": "rwm"}]
