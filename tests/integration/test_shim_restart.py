"""Restart safety: a container outlives whoever started its shim (a daemon killed with -9,
the launcher that forked the shim), the shim keeps what happened meanwhile, and a shim
that dies is seen at once (refused socket, ended connection) and cleaned up after."""

from __future__ import annotations

import os
import signal
import time

import pytest
from tests.support.bundles import BundleFactory
from tests.support.runtimes import Runtime
from tests.support.shims import ShimLab, process_alive, wait_gone

from dockyard.errors import FailedPrecondition, Unavailable
from dockyard.shim import statefile
from dockyard.shim.cleanup import cleanup

pytestmark = pytest.mark.root
pytest_plugins = ["tests.support.shim_fixtures"]

TICKER = ["sh", "-c", "trap 'exit 42' TERM; while :; do echo tick; sleep 0.1; done"]


def parent_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def test_kill_9_of_the_daemon(runtime: Runtime, make_bundle: BundleFactory, shims: ShimLab) -> None:
    shim, harness, pid = shims.harness(make_bundle(TICKER), runtime)
    harness.send_signal(signal.SIGKILL)
    harness.wait()
    time.sleep(0.3)
    assert shim.alive() and process_alive(pid), "the container died with the harness"
    assert parent_of(pid) == shim.pid  # still the shim's child: it will be reaped and reported
    shim.fifos.open_readers()  # a restarted daemon opens the fifos again: the output goes on
    assert b"tick\n" in shim.fifos.read("stdout", until=b"tick\n")
    with shim.client() as client:  # reconnect
        info = client.call("connect")
        assert (info["pid"], info["status"], info["shim_pid"]) == (pid, "running", shim.pid)
        assert client.call("state")["status"] == "running"
        fifos = shims.fifos_for(shim, "after")
        spec = {"args": ["sh", "-c", "echo still here; exit 2"], "cwd": "/", "env": ["PATH=/bin"]}
        client.call("exec", exec_id="after", spec=spec, stdout=fifos.args()["stdout"])
        client.call("start", exec_id="after")
        assert client.call("wait", exec_id="after")["exit_status"] == 2
        assert fifos.read("stdout") == b"still here\n"
        client.call("kill", signal="TERM")
        assert client.call("wait")["exit_status"] == 42
        client.call("delete")


def test_exit_while_no_daemon_is_connected(runtime: Runtime, make_bundle: BundleFactory, shims: ShimLab) -> None:
    shim, harness, pid = shims.harness(make_bundle(["sh", "-c", "sleep 0.5; exit 6"]), runtime)
    harness.kill()
    harness.wait()
    assert wait_gone(pid)
    time.sleep(0.1)
    state = statefile.load(shim.config.path("shim.json"))  # also on disk, for a dead shim's sake
    assert state.init is not None and state.init.exit_status == 6
    with shim.client() as client:
        assert client.call("wait")["exit_status"] == 6
        assert [e["topic"] for e in _replay(client)][-1] == "/tasks/exit"


def _replay(client: object) -> list[dict[str, object]]:
    from dockyard.shim.client import ShimClient

    assert isinstance(client, ShimClient)
    last = client.subscribe(since=0)
    return [client.event(timeout=10) for _ in range(last)]


def test_kill_9_of_the_shim(runtime: Runtime, make_bundle: BundleFactory, shims: ShimLab) -> None:
    """Our choice, as containerd's: a container whose shim died is killed by the cleanup
    (nobody would reap it, keep its exit status or own its stdio any more)."""
    shim = shims.start(make_bundle(["sleep", "600"]), runtime)
    pid = shims.run(shim)
    waiter = shim.client()
    rid = waiter.send("wait")
    os.kill(shim.pid, signal.SIGKILL)
    assert wait_gone(shim.pid)
    with pytest.raises(Unavailable):  # a pending wait ends, never hangs
        waiter.response(rid, timeout=10)
    waiter.close()
    with pytest.raises(Unavailable, match="not running"):  # the socket refuses
        shim.client()
    assert process_alive(pid), "the container is killed by the cleanup, not by the shim's death"
    state = statefile.load(shim.config.path("shim.json"))
    assert state.init is not None and (state.init.pid, state.init.status) == (pid, "running")
    result = cleanup(shim.config.state_dir)
    assert (result["pid"], result["exit_status"]) == (pid, 137)
    assert wait_gone(pid)
    assert runtime.state(shim.id).returncode != 0
    assert statefile.load(shim.config.path("shim.json")).status == "dead"
    assert not os.path.exists(shim.config.socket)


def test_cleanup_keeps_an_exit_the_shim_recorded(
    runtime: Runtime, make_bundle: BundleFactory, shims: ShimLab
) -> None:
    shim = shims.start(make_bundle(["sh", "-c", "exit 5"]), runtime)
    shims.run(shim)
    assert shim.call("wait")["exit_status"] == 5
    os.kill(shim.pid, signal.SIGKILL)
    assert wait_gone(shim.pid)
    assert cleanup(shim.config.state_dir)["exit_status"] == 5


def test_cleanup_refuses_a_live_shim(dockyard_runc: Runtime, make_bundle: BundleFactory, shims: ShimLab) -> None:
    shim = shims.start(make_bundle(["true"]), dockyard_runc)
    with pytest.raises(FailedPrecondition):
        cleanup(shim.config.state_dir)


def test_shims_outlive_their_launcher(runtime: Runtime, make_bundle: BundleFactory, shims: ShimLab) -> None:
    launcher = shims.launcher()
    first = shims.start(make_bundle(["sleep", "600"]), runtime, launcher=launcher)
    second = shims.start(make_bundle(["sh", "-c", "exit 8"]), runtime, launcher=launcher)
    pid = shims.run(first)
    shims.run(second)
    assert parent_of(first.pid) != launcher.pid
    os.kill(launcher.pid, signal.SIGKILL)
    launcher.proc.wait()
    assert second.call("wait")["exit_status"] == 8
    assert first.call("state")["status"] == "running" and process_alive(pid)
    spec = {"args": ["true"], "cwd": "/", "env": ["PATH=/bin"]}
    first.call("exec", exec_id="x", spec=spec)
    first.call("start", exec_id="x")
    assert first.call("wait", exec_id="x")["exit_status"] == 0
    replacement = shims.launcher()  # a restarted daemon starts a new launcher
    third = shims.start(make_bundle(["true"]), runtime, launcher=replacement)
    shims.run(third)
    assert third.call("wait")["exit_status"] == 0
