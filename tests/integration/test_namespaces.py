"""Namespaces beyond the defaults: a user namespace with id mappings, and joining an
existing namespace by path; the same facts under dockyard-runc and runc."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from tests.support.bundles import BundleFactory
from tests.support.runtimes import Runtime

pytestmark = pytest.mark.root

Probe = Callable[..., str]

DEFAULT_NAMESPACES = [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount")]
MAPPING = [{"containerID": 0, "hostID": 100000, "size": 65536}]


def test_user_namespace_with_mappings(runtime: Runtime, probe: Probe) -> None:
    overrides: dict[str, Any] = {
        "linux": {
            "namespaces": [*DEFAULT_NAMESPACES, {"type": "user"}],
            "uidMappings": MAPPING,
            "gidMappings": MAPPING,
        }
    }
    out = probe(runtime, overrides, "id; cat /proc/self/uid_map /proc/self/gid_map; stat -c %u /")
    lines = [" ".join(line.split()) for line in out.splitlines()]
    assert lines == ["uid=0(root) gid=0(root)", "0 100000 65536", "0 100000 65536", "65534"]


def test_join_network_namespace_by_path(runtime: Runtime, make_bundle: BundleFactory, probe: Probe) -> None:
    holder = make_bundle(["sleep", "60"])
    proc = runtime.run(holder.id, holder, detach=True)
    assert proc.returncode == 0, proc.stderr
    try:
        pid = runtime.state_json(holder.id)["pid"]
        expected = os.readlink(f"/proc/{pid}/ns/net")
        namespaces = [
            ns if ns["type"] != "network" else {"type": "network", "path": f"/proc/{pid}/ns/net"}
            for ns in DEFAULT_NAMESPACES
        ]
        out = probe(runtime, {"linux": {"namespaces": namespaces}}, "readlink /proc/self/ns/net")
        assert out.strip() == expected
        assert expected != os.readlink("/proc/self/ns/net")
    finally:
        runtime.delete(holder.id, force=True)


def test_missing_namespace_path_fails_cleanly(runtime: Runtime, make_bundle: BundleFactory) -> None:
    namespaces = [
        ns if ns["type"] != "network" else {"type": "network", "path": "/proc/no-such/ns/net"}
        for ns in DEFAULT_NAMESPACES
    ]
    bundle = make_bundle(["true"], {"linux": {"namespaces": namespaces}})
    proc = runtime.run(bundle.id, bundle)
    assert proc.returncode != 0
    assert "/proc/no-such/ns/net" in proc.stderr
    assert bundle.id not in runtime.list("json").stdout
