"""Many short lives in a row: create, start, wait until stopped, delete, and nothing stays.

dockyard-runc only (it is about dockyard's own bookkeeping). After the cycles the host must
show no new mounts, no cgroup directory of any of the containers, no process of the test
session and an empty state root; the autouse leak check then looks once more.
"""

from __future__ import annotations

import json
import time

import pytest
from tests.support import hostcheck
from tests.support.bundles import BundleFactory
from tests.support.runtimes import Runtime

pytestmark = pytest.mark.root

CYCLES = 200


def test_create_start_delete_cycles(
    dockyard_runc: Runtime, make_bundle: BundleFactory, session_token: str
) -> None:
    bundle = make_bundle(["true"])
    runtime = dockyard_runc
    mounts_before = hostcheck.mountinfo()
    children_before = hostcheck.live_children()  # session fixtures (a registry) may run
    for n in range(CYCLES):
        cid = f"{bundle.id}-c{n}"
        proc = runtime.create(cid, bundle)
        assert proc.returncode == 0, f"cycle {n}: create: {proc.stderr.strip()}"
        proc = runtime.start(cid)
        assert proc.returncode == 0, f"cycle {n}: start: {proc.stderr.strip()}"
        deadline = time.monotonic() + 10
        while True:
            proc = runtime.state(cid)
            assert proc.returncode == 0, f"cycle {n}: state: {proc.stderr.strip()}"
            if json.loads(proc.stdout)["status"] == "stopped":
                break
            assert time.monotonic() < deadline, f"cycle {n}: {cid} did not stop"
            time.sleep(0.005)
        proc = runtime.delete(cid)
        assert proc.returncode == 0, f"cycle {n}: delete: {proc.stderr.strip()}"

    assert sorted(map(hostcheck.mount_key, hostcheck.mountinfo())) == sorted(
        map(hostcheck.mount_key, mounts_before)
    )
    assert not [c for c in hostcheck.cgroup_dirs(session_token) if bundle.id in c]
    assert hostcheck.marked_processes(session_token) == {}
    assert hostcheck.live_children() == children_before
    assert list(runtime.root.iterdir()) == []
    runtime.ids.clear()  # all deleted already
