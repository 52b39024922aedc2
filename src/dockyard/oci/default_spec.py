"""The starter ``config.json`` that ``runc spec`` (or ``runc spec --rootless``) writes."""

from __future__ import annotations

import os

from dockyard.oci.runtime_spec import OCI_VERSION

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def default_spec(
    rootless: bool = False, uid: int | None = None, gid: int | None = None
) -> dict[str, Any]:
    """The document ``runc spec`` writes; ``rootless`` as ``runc spec --rootless``.

    The rootless mappings map container root to ``uid``/``gid`` (default: the effective
    ids of this process), as runc maps them to its caller.
    """
    caps = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    nodev = ["nosuid", "noexec", "nodev"]
    devpts = ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]
    if rootless:
        sysfs = {"destination": "/sys", "type": "none", "source": "/sys",
                 "options": ["rbind", *nodev, "ro"]}
    else:
        devpts.append("gid=5")
        sysfs = {"destination": "/sys", "type": "sysfs", "source": "sysfs",
                 "options": [*nodev, "ro"]}
    linux: dict[str, Any] = {}
    namespaces = ["pid", "network", "ipc", "uts", "mount"]
    if rootless:
        host_uid = os.geteuid() if uid is None else uid
        host_gid = os.getegid() if gid is None else gid
        linux["uidMappings"] = [{"containerID": 0, "hostID": host_uid, "size": 1}]
        linux["gidMappings"] = [{"containerID": 0, "hostID": host_gid, "size": 1}]
        namespaces = ["pid", "ipc", "uts", "mount", "user"]
    else:
        linux["resources"] = {"devices": [{"allow": False, "access": "rwm"}]}
    linux["namespaces"] = [{"type": t} for t in namespaces]
    linux["maskedPaths"] = [
        "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
        "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
        "/proc/scsi",
    ]
    linux["readonlyPaths"] = [
        "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
    ]
    return {
        "ociVersion": OCI_VERSION,
        "process": {
            "terminal": True,
            "user": {"uid": 0, "gid": 0},
            "args": ["sh"],
            "env": [
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "TERM=xterm",
            ],
            "cwd": "/",
            "capabilities": {
                name: list(caps) for name in ("bounding", "effective", "permitted", "ambient")
            },
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True,
        },
        "root": {"path": "rootfs", "readonly": True},
        "hostname": "runc",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": devpts},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": [*nodev, "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": list(nodev)},
            sysfs,
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
             "options": [*nodev, "relatime", "ro"]},
        ],
        "linux": linux,
    }
