"""cgroup v2 backend against a fake cgroup2 tree in tmp_path (no root needed).

The fake kernel: ``mkdir`` gives the new directory the interface files plus the files of
the controllers enabled in the parent's ``cgroup.subtree_control``; writes to
``cgroup.subtree_control`` add/remove controllers as the kernel does; writes are recorded.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from dockyard.errors import InvalidArgument, NotImplementedYet, Unavailable
from dockyard.runtime.cgroups import fs, manager_from_state, open_manager
from dockyard.runtime.cgroups.v2 import V2Manager, blkio_weight_to_io, shares_to_weight

CONTROLLER_FILES = {
    "cpu": ["cpu.weight", "cpu.max", "cpu.max.burst", "cpu.idle"],
    "cpuset": ["cpuset.cpus", "cpuset.mems"],
    "memory": ["memory.max", "memory.high", "memory.low", "memory.swap.max", "memory.current",
               "memory.swap.current", "memory.stat", "memory.events", "memory.peak"],
    "pids": ["pids.max", "pids.current"],
    "io": ["io.weight", "io.max", "io.stat"],
    "hugetlb": ["hugetlb.2MB.max", "hugetlb.2MB.current", "hugetlb.2MB.events"],
}
CORE = ["cgroup.procs", "cgroup.controllers", "cgroup.subtree_control", "cgroup.freeze",
        "cgroup.events", "cgroup.kill", "cpu.stat"]
DEFAULTS = {"cpu.max": "max 100000", "memory.max": "max", "memory.swap.max": "max",
            "pids.max": "max", "cgroup.freeze": "0", "cgroup.events": "populated 0\nfrozen 0\n"}


class FakeKernel:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.writes: list[tuple[str, str, str]] = []


@pytest.fixture
def kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeKernel:
    root = tmp_path / "sysfs-cgroup"
    root.mkdir()
    for name in CORE:
        (root / name).write_text("")
    (root / "cgroup.controllers").write_text(" ".join(CONTROLLER_FILES) + "\n")
    own = root / "user.slice"
    (tmp_path / "mountinfo").write_text(
        f"30 23 0:26 / {root} rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
        "35 31 0:32 / /proc rw - proc proc rw\n"
    )
    (tmp_path / "cgroup").write_text("0::/user.slice\n")
    k = FakeKernel(root)
    real_mkdir = os.mkdir
    real_rmdir = os.rmdir
    real_write = fs.write

    def populate(path: Path) -> None:
        parent = path.parent
        enabled = (parent / "cgroup.subtree_control").read_text().split()
        for name in CORE:
            (path / name).write_text(DEFAULTS.get(name, ""))
        (path / "cgroup.controllers").write_text(" ".join(enabled) + "\n")
        for ctrl in enabled:
            for name in CONTROLLER_FILES[ctrl]:
                (path / name).write_text(DEFAULTS.get(name, ""))

    def mkdir(path: str | os.PathLike[str], mode: int = 0o777) -> None:
        real_mkdir(path, mode)
        if str(path).startswith(str(root)):
            populate(Path(path))

    def rmdir(path: str | os.PathLike[str]) -> None:
        p = os.fspath(path)
        if p.startswith(str(root)) and os.path.isdir(p):
            for name in os.listdir(p):
                if os.path.isfile(os.path.join(p, name)):
                    os.unlink(os.path.join(p, name))
        real_rmdir(path)

    def write(directory: str, name: str, value: str | int, what: str) -> None:
        k.writes.append((os.path.relpath(directory, root), name, str(value)))
        if name == "cgroup.subtree_control":
            offered = Path(directory, "cgroup.controllers").read_text().split()
            current = Path(directory, name).read_text().split()
            text = str(value)
            if text[1:] not in offered:
                raise fs.os_error(OSError(2, "No such file or directory"), what, "write",
                                  os.path.join(directory, name), text)
            if text.startswith("+") and text[1:] not in current:
                current.append(text[1:])
            Path(directory, name).write_text(" ".join(current) + "\n")
            return
        real_write(directory, name, value, what)

    # the cgroup code calls them through ``posix`` (it does not import os, for speed)
    monkeypatch.setattr(fs.os, "mkdir", mkdir)
    monkeypatch.setattr(fs.os, "rmdir", rmdir)
    monkeypatch.setattr(fs, "write", write)
    mkdir(own)
    # our own cgroup offers everything (as if the root enabled it all for us)
    (root / "cgroup.subtree_control").write_text(" ".join(CONTROLLER_FILES) + "\n")
    (own / "cgroup.controllers").write_text(" ".join(CONTROLLER_FILES) + "\n")
    k.writes.clear()
    return k


def manager(tmp_path: Path, cgroups_path: str = "", cid: str = "c1") -> V2Manager:
    mgr = open_manager(
        cgroups_path, cid,
        mountinfo_path=str(tmp_path / "mountinfo"), self_cgroup_path=str(tmp_path / "cgroup"),
    )
    assert isinstance(mgr, V2Manager)
    return mgr


def created(tmp_path: Path, cgroups_path: str = "") -> V2Manager:
    mgr = manager(tmp_path, cgroups_path)
    mgr.create()
    return mgr


def read(mgr: V2Manager, name: str) -> str:
    return Path(mgr.unified, name).read_text()


def test_pure_v2_host_picks_v2_and_resolves_paths(tmp_path: Path, kernel: FakeKernel) -> None:
    assert manager(tmp_path).unified == f"{kernel.root}/user.slice/c1"
    assert manager(tmp_path, "box/x").unified == f"{kernel.root}/user.slice/box/x"
    assert manager(tmp_path, "/machine/x").unified == f"{kernel.root}/machine/x"


def test_create_enables_controllers_down_the_path(tmp_path: Path, kernel: FakeKernel) -> None:
    mgr = created(tmp_path, "/machine/box")
    enabled = [(d, v) for d, n, v in kernel.writes if n == "cgroup.subtree_control"]
    assert ("machine", "+memory") in enabled and ("machine", "+pids") in enabled
    assert not any(d == "machine/box" for d, _ in enabled)  # never in the leaf itself
    assert os.path.exists(os.path.join(mgr.unified, "memory.max"))
    mgr.apply(1234)
    assert read(mgr, "cgroup.procs") == "1234"
    mgr.destroy()
    mgr.destroy()
    assert not os.path.exists(mgr.unified)
    assert os.path.isdir(kernel.root / "machine")  # only the container's own cgroup goes


def test_memory_conversions(tmp_path: Path, kernel: FakeKernel) -> None:
    mgr = created(tmp_path)
    mgr.set({"memory": {"limit": 100 << 20, "reservation": 50 << 20, "swap": 300 << 20,
                        "swappiness": 60, "disableOOMKiller": True}})
    assert read(mgr, "memory.max") == str(100 << 20)
    assert read(mgr, "memory.low") == str(50 << 20)
    assert read(mgr, "memory.swap.max") == str(200 << 20)  # memory+swap minus memory
    mgr.set({"memory": {"swap": 150 << 20}})  # no limit given: the current memory.max counts
    assert read(mgr, "memory.swap.max") == str(50 << 20)
    mgr.set({"memory": {"limit": -1}})
    assert read(mgr, "memory.max") == "max"
    assert read(mgr, "memory.swap.max") == "max"
    with pytest.raises(InvalidArgument, match="must be at least"):
        mgr.set({"memory": {"limit": 100, "swap": 50}})
    with pytest.raises(InvalidArgument, match="without a memory limit"):
        mgr.set({"memory": {"swap": 50}})


def test_cpu_conversions(tmp_path: Path, kernel: FakeKernel) -> None:
    mgr = created(tmp_path)
    mgr.set({"cpu": {"shares": 1024, "quota": 50000, "period": 100000, "cpus": "0-1", "mems": "0"}})
    assert read(mgr, "cpu.weight") == "39"
    assert read(mgr, "cpu.max") == "50000 100000"
    assert read(mgr, "cpuset.cpus") == "0-1"
    mgr.set({"cpu": {"period": 20000}})
    assert read(mgr, "cpu.max") == "50000 20000"
    mgr.set({"cpu": {"quota": -1}})
    assert read(mgr, "cpu.max") == "max 20000"
    with pytest.raises(Unavailable, match="realtime"):
        mgr.set({"cpu": {"realtimeRuntime": 1000}})
    assert shares_to_weight(2) == 1
    assert shares_to_weight(262144) == 10000
    assert blkio_weight_to_io(10) == 1 and blkio_weight_to_io(1000) == 10000


def test_pids_io_hugetlb_unified(tmp_path: Path, kernel: FakeKernel) -> None:
    mgr = created(tmp_path)
    mgr.set({"pids": {"limit": 64}})
    assert read(mgr, "pids.max") == "64"
    kernel.writes.clear()
    mgr.set({"blockIO": {
        "weight": 500,
        "weightDevice": [{"major": 8, "minor": 0, "weight": 1000}],
        "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}],
        "throttleWriteIOPSDevice": [{"major": 8, "minor": 0, "rate": 0}],
    }})
    assert [(n, v) for _, n, v in kernel.writes] == [
        ("io.weight", "4950"), ("io.weight", "8:0 10000"),
        ("io.max", "8:0 rbps=1048576"), ("io.max", "8:0 wiops=max"),
    ]
    with pytest.raises(Unavailable, match="leaf"):
        mgr.set({"blockIO": {"leafWeight": 10}})
    mgr.set({"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}]})
    assert read(mgr, "hugetlb.2MB.max") == "4194304"
    mgr.set({"unified": {"memory.high": "1000000"}})
    assert read(mgr, "memory.high") == "1000000"
    with pytest.raises(Unavailable, match="network"):
        mgr.set({"network": {"classID": 1}})
    with pytest.raises(InvalidArgument, match="unified"):
        mgr.set({"unified": {"../escape": "1"}})


def test_devices_only_default_deny(tmp_path: Path, kernel: FakeKernel) -> None:
    mgr = created(tmp_path)
    mgr.set({"devices": [{"allow": False, "access": "rwm"}]})
    mgr.set({"devices": []})
    with pytest.raises(NotImplementedYet, match="eBPF"):
        mgr.set({"devices": [{"allow": False, "access": "rwm"},
                             {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"}]})


def test_missing_controller_is_unavailable(tmp_path: Path, kernel: FakeKernel) -> None:
    mgr = created(tmp_path)
    os.unlink(os.path.join(mgr.unified, "pids.max"))
    with pytest.raises(Unavailable, match=r"pids\.limit.*does not exist"):
        mgr.set({"pids": {"limit": 5}})


def test_freeze_thaw_and_kill(tmp_path: Path, kernel: FakeKernel) -> None:
    mgr = created(tmp_path)
    events = Path(mgr.unified, "cgroup.events")
    events.write_text("populated 1\nfrozen 1\n")  # the kernel reports frozen
    mgr.freeze()
    assert mgr.frozen()
    events.write_text("populated 1\nfrozen 0\n")
    mgr.thaw()
    assert not mgr.frozen()
    mgr.kill_all(9)
    assert read(mgr, "cgroup.kill") == "1"
    child = subprocess.Popen(["sleep", "30"])
    try:
        Path(mgr.unified, "cgroup.procs").write_text(f"{child.pid}\n")
        assert mgr.pids() == [child.pid]
        os.unlink(events)  # no events file: freeze does not wait
        mgr.kill_all(15)
        assert child.wait(5) == -15
    finally:
        child.kill()
        child.wait()


def test_stats(tmp_path: Path, kernel: FakeKernel) -> None:
    mgr = created(tmp_path)
    files = {
        "cpu.stat": "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 4\n"
                    "nr_throttled 1\nthrottled_usec 20\n",
        "memory.current": "4096",
        "memory.max": "8192",
        "memory.peak": "6000",
        "memory.swap.current": "100",
        "memory.swap.max": "max",
        "memory.stat": "file 12\nanon 4084\n",
        "memory.events": "low 0\nhigh 0\nmax 2\noom 1\noom_kill 1\n",
        "pids.current": "3",
        "pids.max": "64",
        "io.stat": "8:0 rbytes=4096 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n",
        "hugetlb.2MB.current": "0",
        "hugetlb.2MB.events": "max 0\n",
    }
    for name, value in files.items():
        Path(mgr.unified, name).write_text(value)
    data = mgr.stats()
    assert data["cpu"] == {
        "usage": {"total": 1500000, "kernel": 500000, "user": 1000000},
        "throttling": {"periods": 4, "throttled_periods": 1, "throttled_time": 20000},
    }
    mem = data["memory"]
    assert mem["cache"] == 12
    assert mem["usage"] == {"limit": 8192, "usage": 4096, "max": 6000, "failcnt": 2}
    assert mem["swap"] == {"limit": (1 << 64) - 1, "usage": 4196, "failcnt": 0}
    assert mem["raw"] == {"anon": 4084, "file": 12}
    assert data["pids"] == {"current": 3, "limit": 64}
    assert data["blkio"] == {
        "ioServiceBytesRecursive": [{"major": 8, "op": "Read", "value": 4096},
                                    {"major": 8, "op": "Write"}],
        "ioServicedRecursive": [{"major": 8, "op": "Read", "value": 1}, {"major": 8, "op": "Write"}],
    }
    assert data["hugetlb"] == {"2MB": {"failcnt": 0}}
    assert mgr.oom_kill_count() == 1


def test_state_round_trip(tmp_path: Path, kernel: FakeKernel) -> None:
    mgr = manager(tmp_path)
    state = mgr.to_state()
    assert state == {"version": 2, "unified": f"{kernel.root}/user.slice/c1"}
    again = manager_from_state(state)
    assert isinstance(again, V2Manager) and again.to_state() == state
