"""The init's set-up sequence through the recording fake (no root), namespace plans, and
the pure parts of the lifecycle (error wording, hook state, start/delete preconditions)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from dockyard.errors import FailedPrecondition, InvalidArgument
from dockyard.runtime import channel, hooks, lifecycle, process, rootfs
from dockyard.runtime import linux as L
from dockyard.runtime import state as st
from dockyard.runtime.init import InitOptions, setup_container
from dockyard.runtime.namespaces import JOIN_ORDER, NamespacePlan
from dockyard.runtime.recording import RecordingSyscalls


class FakeChannel:
    """Records what the init sends; every recv answers ``{}`` (the parent's "continue")."""

    def __init__(self, log: list[tuple[object, ...]]) -> None:
        self.log = log  # shared with the syscalls, so the order of both is visible
        self.sent: list[dict[str, Any]] = []

    def send(self, msg: dict[str, Any]) -> None:
        self.sent.append(msg)
        self.log.append(("send", msg.get("type")))

    def recv(self, peer: str = "") -> dict[str, Any]:
        self.log.append(("recv", peer))
        return {"type": "continue"}

    def close(self) -> None:
        pass


CONFIG: dict[str, Any] = {
    "process": {"args": ["/bin/true"], "cwd": "/", "env": ["PATH=/bin", "HOME=/root"]},
    "root": {"path": "rootfs", "readonly": True},
    "hostname": "box",
    "mounts": [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "ro"]},
    ],
    "linux": {
        "namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "uts"}, {"type": "ipc"}],
        "sysctl": {"kernel.msgmax": "4096", "fs.mqueue.queues_max": "100"},
        "maskedPaths": ["/proc/kcore", "/no/such/path"],
        "readonlyPaths": ["/proc/sys"],
    },
}


@pytest.fixture
def sequence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[tuple[object, ...]]:
    """Run setup_container over the recording fake; return the calls and messages in order."""
    root = tmp_path / "rootfs"
    for sub in ("proc", "tmp", "dev", "bin"):
        (root / sub).mkdir(parents=True)
    sys = RecordingSyscalls()
    chan = FakeChannel(sys.calls)
    opts = InitOptions(
        rootfs=str(root), fifo_path=str(tmp_path / "fifo"), cgroup_paths={},
        container_id="c1", bundle=str(tmp_path),
    )
    plan = NamespacePlan(CONFIG["linux"]["namespaces"])
    # what would touch the real process or file system outside the recording fake
    monkeypatch.setattr(rootfs, "_open_dir", lambda path: os.open(str(tmp_path), os.O_RDONLY))
    monkeypatch.setattr(rootfs, "_fchdir", lambda fd: sys.calls.append(("fchdir", fd)))
    monkeypatch.setattr(process, "change_dir", lambda cwd: sys.calls.append(("change_dir", cwd)))
    monkeypatch.setattr(process, "lookup_executable", lambda name, env, cwd="/": name)
    monkeypatch.setattr(process, "apply_limits", lambda proc: sys.calls.append(("apply_limits",)))
    prepared = setup_container(sys, chan, CONFIG, opts, plan)  # type: ignore[arg-type]
    assert (prepared.path, prepared.args, prepared.cwd) == ("/bin/true", ["/bin/true"], "/")
    assert prepared.env == {"PATH": "/bin", "HOME": "/root"}
    return sys.calls


def first(calls: list[tuple[object, ...]], pred: Any) -> int:
    return next(i for i, c in enumerate(calls) if pred(c))


def last(calls: list[tuple[object, ...]], pred: Any) -> int:
    return max(i for i, c in enumerate(calls) if pred(c))


def test_rootfs_mounts_before_pivot_root(sequence: list[tuple[object, ...]]) -> None:
    pivot = first(sequence, lambda c: c[0] == "pivot_root")
    root_bind = first(sequence, lambda c: c[0] == "mount" and c[1] == c[2] and str(c[1]).endswith("/rootfs"))
    proc = first(sequence, lambda c: c[0] == "mount" and c[3] == "proc")
    assert root_bind < proc < pivot
    mounted_inside = [c for c in sequence[:pivot] if c[0] == "mount" and c[3] in ("proc", "tmpfs")]
    assert all(str(c[2]).startswith(str(sequence[root_bind][1])) for c in mounted_inside)


def test_hooks_message_before_pivot_root(sequence: list[tuple[object, ...]]) -> None:
    hooks_msg = sequence.index(("send", "hooks"))
    assert sequence[hooks_msg + 1][0] == "recv"  # waits for the parent's prestart hooks
    last_prepare_mount = last(sequence[:hooks_msg], lambda c: c[0] == "mount")
    assert last_prepare_mount < hooks_msg < first(sequence, lambda c: c[0] == "pivot_root")


def test_waits_for_cgroup_limits_before_building_the_root(sequence: list[tuple[object, ...]]) -> None:
    """The runtime writes limits and device rules after ``go``, while the init enters its
    namespaces; the init builds nothing (mknod meets the device rules) before they are in."""
    cgroups_msg = sequence.index(("send", "cgroups"))
    assert sequence[cgroups_msg + 1][0] == "recv"
    assert cgroups_msg < first(sequence, lambda c: c[0] in ("mount", "mknod"))


def test_hostname_after_pivot_root(sequence: list[tuple[object, ...]]) -> None:
    assert ("sethostname", "box") in sequence
    assert first(sequence, lambda c: c[0] == "pivot_root") < sequence.index(("sethostname", "box"))


def test_sysctl_before_readonly_remounts(sequence: list[tuple[object, ...]]) -> None:
    writes = [c for c in sequence if c[0] == "write_file"]
    assert writes == [
        ("write_file", "/proc/sys/kernel/msgmax", "4096"),
        ("write_file", "/proc/sys/fs/mqueue/queues_max", "100"),
    ]
    last_sysctl = last(sequence, lambda c: c[0] == "write_file")
    remounts = [
        i for i, c in enumerate(sequence)
        if c[0] == "mount" and isinstance(c[4], int) and c[4] & L.MS_REMOUNT and c[4] & L.MS_RDONLY
    ]
    targets = {sequence[i][2] for i in remounts}
    assert {"/", "/proc/sys", "/tmp"} <= targets
    assert last_sysctl < min(remounts)
    assert first(sequence, lambda c: c[0] == "pivot_root") < last_sysctl


def test_masked_and_readonly_paths_after_root_readonly(sequence: list[tuple[object, ...]]) -> None:
    root_ro = first(sequence, lambda c: c[0] == "mount" and c[2] == "/" and isinstance(c[4], int)
                    and c[4] & L.MS_REMOUNT and c[4] & L.MS_RDONLY)
    proc_sys = first(sequence, lambda c: c[0] == "mount" and c[2] == "/proc/sys")
    assert root_ro < proc_sys
    if os.path.exists("/proc/kcore"):
        kcore = sequence.index(("mount", "/dev/null", "/proc/kcore", None, L.MS_BIND, None))
        assert proc_sys < kcore
    assert not [c for c in sequence if c[0] == "mount" and c[2] == "/no/such/path"]


def test_process_resolved_last(sequence: list[tuple[object, ...]]) -> None:
    names = [c[0] for c in sequence]
    assert names[-2:] == ["change_dir", "apply_limits"]
    assert names.index("join_session_keyring") < names.index("mount")
    assert ("join_session_keyring", "_ses.c1") in sequence


def test_no_hostname_without_uts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sys = RecordingSyscalls()
    chan = FakeChannel(sys.calls)
    config = {"process": {"args": ["x"], "env": ["HOME=/"]}, "hostname": "box",
              "linux": {"namespaces": [{"type": "pid"}]}}
    opts = InitOptions(rootfs=str(tmp_path), fifo_path="", cgroup_paths={}, container_id="c", no_new_keyring=True)
    monkeypatch.setattr(process, "change_dir", lambda cwd: None)
    monkeypatch.setattr(process, "lookup_executable", lambda name, env, cwd="/": "/x")
    monkeypatch.setattr(process, "apply_limits", lambda proc: None)
    setup_container(sys, chan, config, opts, NamespacePlan(config["linux"]["namespaces"]))  # type: ignore[arg-type]
    # no mount namespace: no mounts, no pivot_root, a chroot after the hooks; no uts: no hostname
    assert sys.calls == [
        ("send", "cgroups"), ("recv", "runtime"),
        ("send", "hooks"), ("recv", "runtime"), ("chroot", str(tmp_path)), ("chdir", "/"),
    ]


def test_sysctl_error_names_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sys = RecordingSyscalls(fail={"write_file": OSError(2, "No such file or directory")})
    config = {"process": {"args": ["x"]}, "linux": {"namespaces": [], "sysctl": {"net.nope": "1"}}}
    opts = InitOptions(rootfs=str(tmp_path), fifo_path="", cgroup_paths={}, no_new_keyring=True)
    with pytest.raises(OSError, match=r"sysctl net.nope=1: No such file or directory") as info:
        setup_container(sys, FakeChannel(sys.calls), config, opts, NamespacePlan([]))  # type: ignore[arg-type]
    assert channel.describe(info.value) == "sysctl net.nope=1: No such file or directory"


# -- NamespacePlan -----------------------------------------------------------------------------------


def test_plan_flags_and_joins(tmp_path: Path) -> None:
    net = tmp_path / "net"
    net.touch()
    plan = NamespacePlan([
        {"type": "pid"}, {"type": "network", "path": str(net)}, {"type": "mount"},
        {"type": "user"}, {"type": "uts"}, {"type": "ipc"}, {"type": "cgroup"},
    ])
    assert plan.new("pid") and plan.has("network") and not plan.new("network")
    expected = L.CLONE_NEWPID | L.CLONE_NEWNS | L.CLONE_NEWUTS | L.CLONE_NEWIPC | L.CLONE_NEWCGROUP
    assert plan.unshare_flags() == expected  # user is excluded: it is unshared on its own
    assert plan.unshare_flags(exclude=("user", "cgroup")) == expected & ~L.CLONE_NEWCGROUP
    assert plan.unshare_flags(exclude=()) == expected | L.CLONE_NEWUSER
    fds = plan.open_joins()
    try:
        assert [kind for kind, _ in fds] == ["network"]
    finally:
        for _, fd in fds:
            os.close(fd)


def test_plan_join_order(tmp_path: Path) -> None:
    kinds = ["mount", "pid", "network", "uts", "ipc", "user", "cgroup"]
    namespaces = []
    for kind in kinds:
        (tmp_path / kind).touch()
        namespaces.append({"type": kind, "path": str(tmp_path / kind)})
    plan = NamespacePlan(namespaces)
    assert plan.unshare_flags(exclude=()) == 0
    fds = plan.open_joins()
    try:
        order = [kind for kind, _ in fds]
    finally:
        for _, fd in fds:
            os.close(fd)
    assert order == [k for k in JOIN_ORDER if k in kinds]
    assert order[0] == "user" and order[-1] == "mount"


def test_plan_rejects_unknown_type() -> None:
    with pytest.raises(InvalidArgument, match="unknown type 'foo'"):
        NamespacePlan([{"type": "foo"}])


def test_plan_missing_join_path(tmp_path: Path) -> None:
    plan = NamespacePlan([{"type": "uts", "path": str(tmp_path / "x")}, {"type": "user", "path": "/proc/self/ns/user"}])
    with pytest.raises(Exception, match=r"namespace uts path .*: no such file"):
        plan.open_joins()


def test_join_uses_setns_and_closes(tmp_path: Path) -> None:
    from dockyard.runtime.namespaces import join

    sys = RecordingSyscalls()
    fd = os.open(str(tmp_path), os.O_RDONLY)
    join(sys, [("uts", fd)])
    assert sys.calls == [("setns", fd, L.CLONE_NEWUTS)]
    with pytest.raises(OSError):
        os.fstat(fd)


# -- lifecycle: preconditions and error wording, without processes --------------------------------


class FakeState(st.ContainerState):
    def __init__(self, tmp_path: Path, status: str) -> None:
        super().__init__(str(tmp_path), {"id": "c1", "pid": 0, "bundle": "/b", "config": {}})
        self._status = status

    def status(self) -> str:
        return self._status


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (st.RUNNING, "cannot start an already running container"),
        (st.STOPPED, "cannot start a container that has stopped"),
        (st.PAUSED, "cannot start a paused container"),
        (st.CREATING, "cannot start a container in the creating state"),
    ],
)
def test_start_preconditions(tmp_path: Path, status: str, message: str) -> None:
    with pytest.raises(FailedPrecondition, match=message):
        lifecycle.start(None, FakeState(tmp_path, status))  # type: ignore[arg-type]


@pytest.mark.parametrize("status", [st.RUNNING, st.PAUSED])
def test_delete_without_force_refuses(tmp_path: Path, status: str) -> None:
    with pytest.raises(FailedPrecondition, match=f"cannot delete container c1 that is not stopped: {status}"):
        lifecycle.delete(None, FakeState(tmp_path, status))  # type: ignore[arg-type]


@pytest.mark.parametrize("status", [st.STOPPED, st.CREATING])
def test_signal_needs_a_live_init(tmp_path: Path, status: str) -> None:
    with pytest.raises(FailedPrecondition, match="container not running"):
        lifecycle.signal(FakeState(tmp_path, status), 15)


def test_hook_failure_names_phase_and_index(tmp_path: Path) -> None:
    config = {"hooks": {"prestart": [
        {"path": "/bin/sh", "args": ["sh", "-c", "cat >/dev/null"]},
        {"path": "/bin/sh", "args": ["sh", "-c", "echo bad thing >&2; exit 4"]},
    ]}}
    with pytest.raises(Exception, match=r"error running prestart hook #1: /bin/sh: exit status 4: bad thing"):
        hooks.run_hooks(config, "prestart", {"id": "c1"})


def test_hook_timeout_message() -> None:
    config = {"hooks": {"createRuntime": [{"path": "/bin/sleep", "args": ["sleep", "5"], "timeout": 1}]}}
    message = r"error running createRuntime hook #0: /bin/sleep: hook ran past specified timeout of 1\.0s"
    with pytest.raises(Exception, match=message):
        hooks.run_hooks(config, "createRuntime", {"id": "c1"})


def test_write_pid_file(tmp_path: Path) -> None:
    lifecycle.write_pid_file(str(tmp_path / "pid"), 1234)
    assert (tmp_path / "pid").read_text() == "1234"
    assert os.listdir(tmp_path) == ["pid"]
