"""Fakes for the spec translation tests: a host with fixed facts, and container files.

Imported by the tests as ``tests.unit.engine.spec_fakes``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from dockyard.engine.spec import build_spec
from dockyard.engine.spec_host import DeviceNode, Host
from dockyard.errors import InvalidArgument

PASSWD = """\
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
alice:x:1000:1000:Alice:/home/alice:/bin/sh
bob:x:1001:1001::/home/bob:/bin/sh
# a comment
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
"""

GROUP = """\
root:x:0:
wheel:x:10:root,alice
alice:x:1000:
bob:x:1001:
staff:x:50:alice,bob
audio:x:29:bob
nogroup:x:65534:
"""

FILES = {"/etc/passwd": PASSWD, "/etc/group": GROUP}

HOST_DEVICES = [
    DeviceNode("/dev/null", "c", 1, 3, 0o666, 0, 0),
    DeviceNode("/dev/sda", "b", 8, 0, 0o660, 0, 6),
    DeviceNode("/dev/snd/timer", "c", 116, 33, 0o660, 0, 29),
]


def fake_devices(host_path: str, container_path: str) -> list[DeviceNode]:
    if host_path == "/dev/snd":
        return [DeviceNode(container_path + "/timer", "c", 116, 33, 0o660, 0, 29)]
    if host_path in ("/dev/sda", "/dev/fuse"):
        major, minor = (8, 0) if host_path == "/dev/sda" else (10, 229)
        return [DeviceNode(container_path, "b" if host_path == "/dev/sda" else "c", major, minor, 0o660, 0, 6)]
    raise InvalidArgument(
        f"error gathering device information while adding custom device {host_path!r}: not a device node")


class Recorder:
    """Records the bind sources the translation asked to prepare."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, bool]] = []

    def __call__(self, path: str, create: bool) -> None:
        self.calls.append((path, create))
        if path.startswith("/missing") and not create:
            raise InvalidArgument(f"bind source path does not exist: {path}")


def make_host(**overrides: Any) -> Host:
    base = Host(
        kernel=lambda: (6, 1),
        arch=lambda: "amd64",
        hostname=lambda: "dockerhost",
        cpu_count=lambda: 4,
        cap_last_cap=lambda: 40,
        sysctl_exists=lambda name: True,
        swap_limit=lambda: True,
        blkio_weight=lambda: True,
        apparmor=lambda: False,
        online_cpus=lambda: "0-3",
        online_mems=lambda: "0",
        devices_at=fake_devices,
        all_devices=lambda: list(HOST_DEVICES),
        namespace_path=lambda kind, ref: f"/proc/4242/ns/{kind}",
        shm_path=lambda ref: f"/var/lib/dockyard/containers/{ref}/mounts/shm",
        volume_source=lambda name, target, opts: f"/var/lib/dockyard/volumes/{name or 'anon'}/_data",
        prepare_bind=Recorder(),
    )
    return dataclasses.replace(base, **overrides)


CID = "0123456789abcdef" * 4
IMAGE = {"Cmd": ["sh"], "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]}


def spec_for(config: Mapping[str, Any] | None = None, host_config: Mapping[str, Any] | None = None,
             image: Mapping[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
    """build_spec with the fake host and files unless given."""
    kwargs.setdefault("host", make_host())
    kwargs.setdefault("container_files", FILES.get)
    kwargs.setdefault("container_id", CID)
    return build_spec(dict(config or {}), dict(host_config or {}),
                      IMAGE if image is None else image, **kwargs)
