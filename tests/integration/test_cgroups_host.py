"""cgroups on the real kernel: the Manager, the cgroup verbs, and runc side by side.

- the Manager alone: a ``sleep`` child in a fresh cgroup, limits written and read back,
  freeze/thaw, stats, kill_all, destroy (nothing left behind);
- our verbs (pause, resume, ps, events, update) on a hand-made container record, a real
  process in real cgroups, so they are tested whatever state ``create`` is in;
- the same verbs on real containers under the parametrized ``runtime`` (dockyard and runc);
  the dockyard side is skipped while ``dockyard-runc run`` cannot start a container yet;
- ``stats()`` read from a runc container's cgroups has the shape of ``runc events --stats``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.support.bundles import BundleFactory
from tests.support.runtimes import Runtime

from dockyard.runtime.cgroups import Manager, manager_from_state, open_manager
from dockyard.runtime.state import StateStore, now_rfc3339, process_start_time

pytestmark = pytest.mark.root

HYBRID = os.path.isdir("/sys/fs/cgroup/memory")


def read(directory: str, name: str) -> str:
    return Path(directory, name).read_text().strip()


def leftovers(mgr: Manager) -> list[str]:
    state = mgr.to_state()
    dirs = set(state.get("paths", {}).values()) | {state.get("unified") or ""}
    return sorted(d for d in dirs if d and os.path.exists(d))


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    child = subprocess.Popen(["sleep", "100"])
    yield child
    child.kill()
    child.wait()


@pytest.fixture
def host_manager(session_token: str) -> Iterator[Manager]:
    mgr = open_manager("", f"dyk-cgtest-{session_token}-{os.getpid()}")
    mgr.create()
    yield mgr
    mgr.kill_all(signal.SIGKILL)
    mgr.destroy()
    assert leftovers(mgr) == []


def test_manager_lifecycle(host_manager: Manager, sleeper: subprocess.Popen[bytes]) -> None:
    mgr = host_manager
    mgr.apply(sleeper.pid)
    own = Path(f"/proc/{sleeper.pid}/cgroup").read_text()
    name = os.path.basename(mgr.to_state().get("unified") or mgr.to_state()["paths"]["memory"])
    assert all(line.endswith("/" + name) for line in own.splitlines()), own
    mgr.set({
        "memory": {"limit": 64 << 20, "reservation": 32 << 20},
        "pids": {"limit": 32},
        "cpu": {"shares": 512, "quota": 20000, "period": 100000},
    })
    state = mgr.to_state()
    if state["version"] == 1:
        paths = state["paths"]
        assert read(paths["memory"], "memory.limit_in_bytes") == str(64 << 20)
        assert read(paths["memory"], "memory.soft_limit_in_bytes") == str(32 << 20)
        assert read(paths["pids"], "pids.max") == "32"
        assert read(paths["cpu"], "cpu.shares") == "512"
        assert read(paths["cpu"], "cpu.cfs_quota_us") == "20000"
    else:
        assert read(state["unified"], "memory.max") == str(64 << 20)
        assert read(state["unified"], "pids.max") == "32"
        assert read(state["unified"], "cpu.max") == "20000 100000"
    assert mgr.pids() == [sleeper.pid]

    mgr.freeze()
    assert mgr.frozen()
    time.sleep(0.05)
    assert Path(f"/proc/{sleeper.pid}/stat").read_text().split(") ")[1][0] in "DS"
    mgr.thaw()
    assert not mgr.frozen()

    data = mgr.stats()
    assert data["memory"]["usage"]["limit"] == 64 << 20
    assert data["pids"] == {"current": 1, "limit": 32}
    assert set(data) == {"cpu", "cpuset", "memory", "pids", "blkio", "hugetlb", "intel_rdt",
                         "network_interfaces"}
    assert mgr.oom_kill_count() == 0

    mgr.kill_all(signal.SIGKILL)
    assert sleeper.wait(5) == -signal.SIGKILL
    mgr.destroy()
    assert leftovers(mgr) == []
    mgr.destroy()  # idempotent


def test_kernel_refusal_is_invalid_argument(host_manager: Manager) -> None:
    from dockyard.errors import InvalidArgument

    with pytest.raises(InvalidArgument, match=r"cpu\.cpus"):
        host_manager.set({"cpu": {"cpus": "4095"}})
    if host_manager.to_state()["version"] == 1:
        host_manager.set({"memory": {"limit": 64 << 20, "swap": 64 << 20}})
        with pytest.raises(InvalidArgument, match=r"memory\.limit"):
            host_manager.set({"memory": {"limit": 128 << 20}})  # above memory+swap
        host_manager.set({"memory": {"limit": 128 << 20, "swap": 256 << 20}})  # ordered right


@pytest.mark.skipif(not HYBRID, reason="v1 cpuset trap only")
def test_nested_cpuset_is_filled(session_token: str, sleeper: subprocess.Popen[bytes]) -> None:
    outer = f"/dockyard-test/{session_token}-cg{os.getpid()}"
    mgr = open_manager(f"{outer}/inner", "ignored")
    mgr.create()
    try:
        mgr.apply(sleeper.pid)  # ENOSPC if cpuset.cpus/mems were left empty
        assert read(mgr.to_state()["paths"]["cpuset"], "cpuset.cpus")
    finally:
        mgr.kill_all(signal.SIGKILL)
        sleeper.wait()
        mgr.destroy()
        state = mgr.to_state()
        for directory in {*state["paths"].values(), state["unified"]} - {""}:
            for d in (os.path.dirname(directory), os.path.dirname(os.path.dirname(directory))):
                try:
                    os.rmdir(d)
                except OSError:
                    pass
    assert leftovers(mgr) == []


# -- our verbs on a hand-made container -----------------------------------------------------------

class FakeContainer:
    def __init__(self, root: Path, cid: str, mgr: Manager, child: subprocess.Popen[bytes]) -> None:
        self.root = root
        self.id = cid
        self.mgr = mgr
        self.child = child

    def cli(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "dockyard.runtime.cli", "--root", str(self.root), *args]
        return subprocess.run(argv, capture_output=True, text=True, input=input, timeout=60,
                              check=False)

    def state(self) -> dict[str, Any]:
        return StateStore(str(self.root)).load(self.id).data


@pytest.fixture
def fake_container(tmp_path: Path, session_token: str) -> Iterator[FakeContainer]:
    cid = f"dyk-verbs-{session_token}-{os.getpid()}"
    mgr = open_manager("", cid)
    mgr.create()
    child = subprocess.Popen(["sleep", "100"])
    try:
        mgr.apply(child.pid)
        root = tmp_path / "root"
        StateStore(str(root)).reserve(cid, {
            "bundle": str(tmp_path), "rootfs": str(tmp_path), "created": now_rfc3339(),
            "config": {"ociVersion": "1.0.2-dev", "linux": {"resources": {"pids": {"limit": 99}}}},
            "complete": True, "pid": child.pid, "pid_start": process_start_time(child.pid),
            "cgroup": mgr.to_state(),
        })
        yield FakeContainer(root, cid, mgr, child)
    finally:
        child.kill()
        child.wait()
        mgr.kill_all(signal.SIGKILL)
        mgr.destroy()
    assert leftovers(mgr) == []


def test_verbs_on_fake_container(fake_container: FakeContainer) -> None:
    c = fake_container
    proc = c.cli("resume", c.id)
    assert (proc.returncode, "container not paused" in proc.stderr) == (1, True), proc.stderr
    assert c.cli("pause", c.id).returncode == 0
    assert c.mgr.frozen()
    proc = c.cli("pause", c.id)
    assert (proc.returncode, "container not running" in proc.stderr) == (1, True), proc.stderr
    assert c.cli("resume", c.id).returncode == 0
    assert not c.mgr.frozen()

    proc = c.cli("ps", "--format", "json", c.id)
    assert json.loads(proc.stdout) == [c.child.pid], proc.stderr
    proc = c.cli("ps", c.id)
    lines = proc.stdout.splitlines()
    assert lines[0].split()[:2] == ["UID", "PID"] and len(lines) == 2, proc.stdout
    assert lines[1].split()[1] == str(c.child.pid)
    proc = c.cli("ps", c.id, "-o", "pid,comm")
    assert proc.stdout.split() == ["PID", "COMMAND", str(c.child.pid), "sleep"], proc.stderr

    proc = c.cli("events", "--stats", c.id)
    event = json.loads(proc.stdout)
    assert (event["type"], event["id"]) == ("stats", c.id)
    assert event["data"]["pids"]["current"] == 1

    proc = c.cli("update", "--memory", "64M", "--pids-limit", "20", "--cpu-share", "256", c.id)
    assert proc.returncode == 0, proc.stderr
    stats = c.mgr.stats()
    assert stats["memory"]["usage"]["limit"] == 64 << 20
    assert stats["pids"]["limit"] == 20
    resources = c.state()["config"]["linux"]["resources"]
    assert resources["memory"] == {"limit": 64 << 20}
    assert resources["pids"] == {"limit": 20}
    assert resources["cpu"] == {"shares": 256}
    proc = c.cli("update", "-r", "-", c.id, input='{"pids": {"limit": 30}}')
    assert proc.returncode == 0, proc.stderr
    assert c.mgr.stats()["pids"]["limit"] == 30
    proc = c.cli("update", "--memory", "12Q", c.id)
    assert proc.returncode == 1 and "invalid value for memory" in proc.stderr

    events = subprocess.Popen(
        [sys.executable, "-m", "dockyard.runtime.cli", "--root", str(c.root), "events",
         "--interval", "200ms", c.id],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert events.stdout is not None
        first = json.loads(events.stdout.readline())
        assert first["type"] == "stats"
        c.child.kill()
        c.child.wait()
        assert events.wait(10) == 0  # the container stopped: the stream ends
    finally:
        events.kill()
        events.wait()
    proc = c.cli("events", "--stats", c.id)
    assert proc.returncode == 1 and f"container with id {c.id} is not running" in proc.stderr


# -- the verbs on real containers, dockyard and runc -----------------------------------------------

def start_sleeper(runtime: Runtime, make_bundle: BundleFactory) -> str:
    bundle = make_bundle(["sleep", "100"])
    proc = runtime.run(bundle.id, bundle, detach=True)
    if proc.returncode != 0 and runtime.name == "dockyard":
        pytest.skip(f"dockyard-runc cannot run a container yet: {proc.stderr.strip()[:200]}")
    assert proc.returncode == 0, proc.stderr
    return bundle.id


def test_pause_resume_ps_update(runtime: Runtime, make_bundle: BundleFactory) -> None:
    cid = start_sleeper(runtime, make_bundle)
    pid = runtime.state_json(cid)["pid"]
    assert runtime.pause(cid).returncode == 0
    assert runtime.state_json(cid)["status"] == "paused"
    proc = runtime.pause(cid)
    assert proc.returncode == 1 and "container not running" in proc.stderr
    assert json.loads(runtime.ps(cid).stdout) == [pid]
    assert runtime.resume(cid).returncode == 0
    assert runtime.state_json(cid)["status"] == "running"
    proc = runtime.resume(cid)
    assert proc.returncode == 1 and "container not paused" in proc.stderr
    proc = runtime.update(cid, "--memory", "48M", "--pids-limit", "17")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(runtime.events_stats(cid).stdout)["data"]
    assert data["memory"]["usage"]["limit"] == 48 << 20
    assert data["pids"] == {"current": 1, "limit": 17}
    assert runtime.kill(cid, "KILL").returncode == 0


def shape(value: Any) -> Any:
    """The structure of a JSON value: dict keys and list-ness, not the numbers."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items() if k != "raw"}
    if isinstance(value, list):
        return "list"
    return type(value).__name__


@pytest.mark.runc
@pytest.mark.skipif(not HYBRID, reason="compares v1 cgroup_paths from runc's state.json")
def test_stats_have_runcs_shape(runc: Runtime, make_bundle: BundleFactory) -> None:
    bundle = make_bundle(["sleep", "100"], linux={"resources": {"pids": {"limit": 40},
                                                               "memory": {"limit": 50 << 20}}})
    assert runc.run(bundle.id, bundle, detach=True).returncode == 0
    theirs = json.loads(runc.events_stats(bundle.id).stdout)["data"]
    paths = json.loads((runc.root / bundle.id / "state.json").read_text())["cgroup_paths"]
    ours = manager_from_state({
        "version": 1, "paths": {k: v for k, v in paths.items() if k}, "unified": paths.get("", ""),
    }).stats()
    # counters that may be zero one moment and not the next are omitted by both sides alike
    for doc in (ours, theirs):
        doc["cpu"]["throttling"] = {}
        doc["cpu"]["usage"].pop("total", None)
        for entry in doc["memory"].values():
            if isinstance(entry, dict):
                entry.pop("usage", None)
                entry.pop("max", None)
    assert shape(ours) == shape(theirs)
    assert set(ours["memory"]["raw"]) == set(theirs["memory"]["raw"])
    assert ours["pids"] == theirs["pids"] == {"current": 1, "limit": 40}
    assert ours["memory"]["usage"]["limit"] == theirs["memory"]["usage"]["limit"] == 50 << 20
    assert ours["cpuset"] == theirs["cpuset"]
    assert runc.kill(bundle.id, "KILL").returncode == 0


def test_events_reports_oom(fake_container: FakeContainer) -> None:
    c = fake_container
    c.mgr.set({"memory": {"limit": 16 << 20}})
    events = subprocess.Popen(
        [sys.executable, "-m", "dockyard.runtime.cli", "--root", str(c.root), "events",
         "--interval", "30s", c.id],
        stdout=subprocess.PIPE, text=True,
    )
    hog = subprocess.Popen(
        [sys.executable, "-c",
         "import time; time.sleep(0.5); x = bytearray(64 << 20); x[::4096] = b'x' * (len(x) // 4096)"]
    )
    try:
        c.mgr.apply(hog.pid)
        assert hog.wait(30) == -signal.SIGKILL
        assert events.stdout is not None
        assert json.loads(events.stdout.readline()) == {"type": "oom", "id": c.id}
        assert c.mgr.oom_kill_count() >= 1
    finally:
        hog.kill()
        hog.wait()
        events.kill()
        events.wait()
