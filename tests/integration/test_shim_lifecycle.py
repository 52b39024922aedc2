"""A task's life through the shim: exec, kill, pause/resume, pids, stats, waits from several
clients and after the fact, the events it publishes, and the errors of wrong states."""

from __future__ import annotations

import os
import time

import pytest
from tests.support.bundles import BundleFactory
from tests.support.runtimes import Runtime
from tests.support.shims import ShimLab, process_alive, subscribed

from dockyard.errors import AlreadyExists, FailedPrecondition, NotFound, NotImplementedYet

pytestmark = pytest.mark.root
pytest_plugins = ["tests.support.shim_fixtures"]

SLEEPER = ["sleep", "600"]


def process_spec(*args: str, terminal: bool = False) -> dict[str, object]:
    return {"args": list(args), "cwd": "/", "env": ["PATH=/bin"], "user": {"uid": 0, "gid": 0},
            "terminal": terminal}  # fmt: skip


def test_exec_has_its_own_exit_code_and_stdio(
    runtime: Runtime, make_bundle: BundleFactory, shims: ShimLab
) -> None:
    shim = shims.start(make_bundle(SLEEPER), runtime)
    shims.run(shim)
    fifos = shims.fifos_for(shim, "exec1")
    shim.call("exec", exec_id="exec1", spec=process_spec("sh", "-c", "echo from exec; exit 7"), **fifos.args())
    assert shim.call("state", exec_id="exec1")["status"] == "created"
    pid = shim.call("start", exec_id="exec1")["pid"]
    result = shim.call("wait", exec_id="exec1")
    assert (result["pid"], result["exit_status"]) == (pid, 7)
    assert fifos.read("stdout") == b"from exec\n"
    assert shim.call("state")["status"] == "running"  # the init is not affected
    with pytest.raises(AlreadyExists):
        shim.call("exec", exec_id="exec1", spec=process_spec("true"))
    assert shim.call("delete", exec_id="exec1")["exit_status"] == 7
    with pytest.raises(NotFound):
        shim.call("state", exec_id="exec1")


def test_exec_with_a_terminal(dockyard_runc: Runtime, make_bundle: BundleFactory, shims: ShimLab) -> None:
    shim = shims.start(make_bundle(SLEEPER), dockyard_runc)
    shims.run(shim)
    fifos = shims.fifos_for(shim, "t1")
    shim.call("exec", exec_id="t1", spec=process_spec("sh", "-c", "tty; stty size", terminal=True),
              terminal=True, stdout=fifos.args()["stdout"])  # fmt: skip
    shim.call("start", exec_id="t1")
    shim.call("resize_pty", exec_id="t1", width=90, height=30)  # may come after stty: just must work
    assert shim.call("wait", exec_id="t1")["exit_status"] == 0
    assert fifos.read("stdout").startswith(b"/dev/pts/")


TRAPPER = ["sh", "-c", "trap 'exit 42' TERM; while :; do sleep 0.05; done"]


# PID 1 of a PID namespace gets only the signals it handles: SIGTERM reaches the shell's trap
@pytest.mark.parametrize(("signal", "status"), [("SIGTERM", 42), (9, 137)])
def test_kill(runtime: Runtime, make_bundle: BundleFactory, shims: ShimLab, signal: object, status: int) -> None:
    shim = shims.start(make_bundle(TRAPPER), runtime)
    pid = shims.run(shim)
    shim.call("kill", signal=signal)
    assert shim.call("wait")["exit_status"] == status
    assert not process_alive(pid)
    with pytest.raises(NotFound, match="already finished"):
        shim.call("kill", signal=9)


def test_kill_an_exec_then_all(runtime: Runtime, make_bundle: BundleFactory, shims: ShimLab) -> None:
    shim = shims.start(make_bundle(SLEEPER), runtime)
    shims.run(shim)
    shim.call("exec", exec_id="e", spec=process_spec("sleep", "600"))
    shim.call("start", exec_id="e")
    shim.call("kill", exec_id="e", signal="TERM")  # not PID 1: SIGTERM kills it
    assert shim.call("wait", exec_id="e")["exit_status"] == 143
    assert shim.call("state")["status"] == "running"
    shim.call("kill", signal=9, all=True)
    assert shim.call("wait")["exit_status"] == 137


def test_pause_resume_pids_stats(runtime: Runtime, make_bundle: BundleFactory, shims: ShimLab) -> None:
    shim = shims.start(make_bundle(SLEEPER), runtime)
    pid = shims.run(shim)
    shim.call("exec", exec_id="side", spec=process_spec("sleep", "600"))
    side = shim.call("start", exec_id="side")["pid"]
    processes = shim.call("pids")["processes"]
    assert {(p["pid"], p["exec_id"]) for p in processes} == {(pid, ""), (side, "side")}
    stats = shim.call("stats")["stats"]
    assert stats["pids"]["current"] == 2
    assert stats["memory"]["usage"]["usage"] > 0
    shim.call("pause")
    assert shim.call("state")["status"] == "paused"
    with open(f"/proc/{pid}/status") as f:
        assert "State:\tD" in f.read() or _frozen(pid)
    with pytest.raises(FailedPrecondition):
        shim.call("delete")
    shim.call("resume")
    assert shim.call("state")["status"] == "running"
    shim.call("update", resources={"pids": {"limit": 50}})
    assert shim.call("stats")["stats"]["pids"]["limit"] == 50


def _frozen(pid: int) -> bool:
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            if "freezer" in controllers.split(","):
                with open(f"/sys/fs/cgroup/freezer{path}/freezer.state") as state:
                    return state.read().strip() == "FROZEN"
    return False


def test_waits_from_two_clients_and_after_the_exit(
    runtime: Runtime, make_bundle: BundleFactory, shims: ShimLab
) -> None:
    shim = shims.start(make_bundle(["sh", "-c", "read x; exit 9"]), runtime)
    shims.run(shim)
    first, second = shim.client(), shim.client()
    try:
        rid1 = first.send("wait")
        rid2 = second.send("wait")
        assert first.call("state")["status"] == "running"  # a pending wait blocks nothing
        shim.fifos.write_stdin(b"go\n")
        one = first.response(rid1)
        two = second.response(rid2)
        assert one == two and one["exit_status"] == 9
    finally:
        first.close()
        second.close()
    late = shim.client()  # connects after the exit: the shim kept it
    try:
        assert late.call("wait") == one
        assert late.call("state")["exit_status"] == 9
    finally:
        late.close()


def test_events_in_order_and_replayed(runtime: Runtime, make_bundle: BundleFactory, shims: ShimLab) -> None:
    shim = shims.start(make_bundle(SLEEPER), runtime)
    with subscribed(shim) as events:
        pid = shims.run(shim)
        shim.call("exec", exec_id="x", spec=process_spec("true"))
        shim.call("start", exec_id="x")
        shim.call("wait", exec_id="x")
        shim.call("pause")
        shim.call("resume")
        shim.call("kill", signal=9)
        shim.call("wait")
        shim.call("delete")
        seen = [events.event(timeout=10) for _ in range(9)]
    topics = [e["topic"] for e in seen]
    assert topics == ["/tasks/create", "/tasks/start", "/tasks/exec-added", "/tasks/exec-started",
                      "/tasks/exit", "/tasks/paused", "/tasks/resumed", "/tasks/exit", "/tasks/delete"]  # fmt: skip
    assert [e["seq"] for e in seen] == list(range(1, 10))
    exit_event = seen[7]["event"]
    assert (exit_event["container_id"], exit_event["id"], exit_event["pid"], exit_event["exit_status"]) == (
        shim.id, shim.id, pid, 137)
    assert seen[4]["event"]["id"] == "x" and seen[4]["event"]["exit_status"] == 0
    assert all(e["namespace"] == "default" for e in seen)
    with subscribed(shim, since=6) as late:  # a daemon that was away asks for what it missed
        replayed = [late.event(timeout=10)["seq"] for _ in range(3)]
    assert replayed == [7, 8, 9]


def test_wrong_states_and_unknown_ops(runtime: Runtime, make_bundle: BundleFactory, shims: ShimLab) -> None:
    shim = shims.start(make_bundle(SLEEPER), runtime)
    with pytest.raises(NotFound):
        shim.call("state")
    with pytest.raises(NotImplementedYet):
        shim.call("frobnicate")
    shims.run(shim)
    with pytest.raises(AlreadyExists):
        shim.call("create")
    with pytest.raises(FailedPrecondition):
        shim.call("start")
    with pytest.raises(FailedPrecondition):
        shim.call("delete")
    with pytest.raises(FailedPrecondition):
        shim.call("shutdown")
    shim.call("kill", signal=9)
    shim.call("wait")
    with pytest.raises(FailedPrecondition):
        shim.call("exec", exec_id="late", spec=process_spec("true"))
    shim.call("delete")
    with pytest.raises(NotFound):
        shim.call("wait")


def test_delete_a_created_task(runtime: Runtime, make_bundle: BundleFactory, shims: ShimLab) -> None:
    shim = shims.start(make_bundle(SLEEPER), runtime)
    pid = shim.call("create", **shim.fifos.args())["pid"]
    assert shim.call("state")["status"] == "created"
    assert shim.call("delete")["exit_status"] == 137
    assert not process_alive(pid)
    assert runtime.state(shim.id).returncode != 0


def test_shutdown_removes_the_shims_files(runtime: Runtime, make_bundle: BundleFactory, shims: ShimLab) -> None:
    shim = shims.start(make_bundle(["true"]), runtime)
    shims.run(shim)
    shim.call("wait")
    shim.call("delete")
    shim.call("shutdown")
    deadline = time.monotonic() + 10
    while shim.alive():
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert sorted(os.listdir(shim.config.state_dir)) == ["io"]


def test_oom_event(dockyard_runc: Runtime, make_bundle: BundleFactory, shims: ShimLab) -> None:
    hog = ["sh", "-c", "a=0123456789abcdef; while :; do a=$a$a; done"]
    limit = 16 << 20
    bundle = make_bundle(hog, linux={"resources": {"memory": {"limit": limit, "swap": limit}}})
    shim = shims.start(bundle, dockyard_runc)
    with subscribed(shim) as events:
        shims.run(shim)
        assert shim.call("wait")["exit_status"] == 137
        topics = []
        while "/tasks/oom" not in topics:
            topics.append(events.event(timeout=10)["topic"])
    assert "/tasks/exit" in topics or events.event(timeout=10)["topic"] == "/tasks/exit"
