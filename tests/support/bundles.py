"""OCI bundles for tests: a minimal runc-like config.json over a busybox rootfs.

``default_config()`` is close to what ``runc spec`` writes (terminal off, five namespaces,
the usual /proc /dev /sys mounts, masked and read-only paths, three capabilities). Tests
change it with ``deep_merge``: dicts merge key by key, anything else (lists included)
replaces, and ``None`` deletes the key.
"""

from __future__ import annotations

import copy
import itertools
import json
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
ROOTFS_SCRIPT = REPO / "scripts" / "busybox-rootfs.sh"
CGROUP_PARENT = "dockyard-test"
SESSION_ENV = "DOCKYARD_TEST_SESSION"

DEFAULT_CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
MASKED_PATHS = [
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/sys/firmware",
    "/proc/scsi",
]
READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]

# Not in the default config; add it with make_bundle(extra_mounts=[CGROUP_MOUNT]).
CGROUP_MOUNT: dict[str, Any] = {
    "destination": "/sys/fs/cgroup",
    "type": "cgroup",
    "source": "cgroup",
    "options": ["nosuid", "noexec", "nodev", "relatime", "ro"],
}
TMPFS_MOUNT: dict[str, Any] = {
    "destination": "/tmp",
    "type": "tmpfs",
    "source": "tmpfs",
    "options": ["nosuid", "nodev", "mode=1777"],
}


def default_mounts() -> list[dict[str, Any]]:
    return [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {
            "destination": "/dev",
            "type": "tmpfs",
            "source": "tmpfs",
            "options": ["nosuid", "strictatime", "mode=755", "size=65536k"],
        },
        {
            "destination": "/dev/pts",
            "type": "devpts",
            "source": "devpts",
            "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
        },
        {
            "destination": "/dev/shm",
            "type": "tmpfs",
            "source": "shm",
            "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
        },
        {
            "destination": "/dev/mqueue",
            "type": "mqueue",
            "source": "mqueue",
            "options": ["nosuid", "noexec", "nodev"],
        },
        {
            "destination": "/sys",
            "type": "sysfs",
            "source": "sysfs",
            "options": ["nosuid", "noexec", "nodev", "ro"],
        },
    ]


def default_config(args: Sequence[str] = ("true",)) -> dict[str, Any]:
    """A fresh minimal runc-like config (root.path and cgroupsPath filled in by make_bundle)."""
    return {
        "ociVersion": "1.0.2-dev",
        "process": {
            "terminal": False,
            "user": {"uid": 0, "gid": 0},
            "args": list(args),
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "cwd": "/",
            "capabilities": {
                "bounding": list(DEFAULT_CAPS),
                "effective": list(DEFAULT_CAPS),
                "permitted": list(DEFAULT_CAPS),
            },
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True,
        },
        "root": {"path": "rootfs", "readonly": True},
        "hostname": "dockyard",
        "mounts": default_mounts(),
        "linux": {
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
            "namespaces": [
                {"type": "pid"},
                {"type": "network"},
                {"type": "ipc"},
                {"type": "uts"},
                {"type": "mount"},
            ],
            "maskedPaths": list(MASKED_PATHS),
            "readonlyPaths": list(READONLY_PATHS),
        },
    }


def deep_merge(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``base`` with ``overrides`` applied: dicts merge, None deletes, rest replaces."""
    merged = copy.deepcopy(dict(base))
    for key, value in overrides.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def build_rootfs(dest: Path) -> Path:
    """Run scripts/busybox-rootfs.sh into ``dest``; returns ``dest``."""
    subprocess.run(["bash", str(ROOTFS_SCRIPT), str(dest)], check=True, capture_output=True)
    return dest


@dataclass
class Bundle:
    """A bundle directory with its config; ``id`` is the container id tests should use."""

    path: Path
    id: str
    config: dict[str, Any]
    rootfs: Path
    writable: bool = False
    io_dir: Path = field(init=False)

    def __post_init__(self) -> None:
        self.io_dir = self.path / "io"

    @property
    def cgroups_path(self) -> str:
        return str(self.config["linux"]["cgroupsPath"])

    def write(self) -> None:
        """(Re)write config.json from ``self.config``."""
        with open(self.path / "config.json", "w") as f:
            json.dump(self.config, f, indent=2)

    def update(self, **overrides: Any) -> None:
        """Deep-merge top-level config keys and rewrite config.json."""
        self.config = deep_merge(self.config, overrides)
        self.write()


class BundleFactory:
    """Makes bundles under ``base`` over a shared read-only rootfs (copied when writable)."""

    def __init__(self, base: Path, rootfs: Path, id_prefix: str, env: Sequence[str] = ()):
        self.base = base
        self.rootfs = rootfs
        self.id_prefix = id_prefix
        self.env = list(env)  # appended to process.env (the session marker)
        self._counter = itertools.count(1)

    def new_id(self) -> str:
        return f"{self.id_prefix}-{next(self._counter)}"

    def __call__(
        self,
        args: Sequence[str] = ("true",),
        overrides: Mapping[str, Any] | None = None,
        *,
        writable: bool = False,
        extra_mounts: Sequence[Mapping[str, Any]] = (),
        **config_keys: Any,
    ) -> Bundle:
        """A new bundle running ``args``.

        ``overrides`` and the keyword arguments are deep-merged into the default config
        (``make_bundle(["id"], process={"user": {"uid": 1000}})``). ``writable`` (or
        ``root.readonly`` false) copies the rootfs into the bundle instead of sharing it;
        ``extra_mounts`` are appended to ``mounts``.
        """
        cid = self.new_id()
        path = self.base / cid
        path.mkdir(parents=True)
        config = default_config(args)
        config["process"]["env"] = [*config["process"]["env"], *self.env]
        config["linux"]["cgroupsPath"] = f"/{CGROUP_PARENT}/{cid}"
        config = deep_merge(config, {**(overrides or {}), **config_keys})
        config["mounts"] = [*config.get("mounts", []), *map(dict, extra_mounts)]
        writable = writable or not config.get("root", {}).get("readonly", False)
        if writable:
            rootfs = path / "rootfs"
            shutil.copytree(self.rootfs, rootfs, symlinks=True)
            config.setdefault("root", {})["path"] = "rootfs"
        else:
            rootfs = self.rootfs
            config["root"]["path"] = str(rootfs)
        bundle = Bundle(path=path, id=cid, config=config, rootfs=rootfs, writable=writable)
        bundle.io_dir.mkdir()
        bundle.write()
        return bundle
