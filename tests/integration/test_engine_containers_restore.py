"""Live restore: containers keep running while dockyardd is killed (SIGKILL) and restarted;
the new engine finds them running (same process), copies their output on into the log,
records the exits that happened meanwhile (and removes the ``--rm`` ones), and applies
restart policies at start. Then a graceful stop of the engine leaves them running too.
"""

from __future__ import annotations

import json
import os
import signal
import time

import pytest
from tests.support.engine import DOCKER, RunningEngine, dockyardd, pid_alive
from tests.support.images import save_busybox_archive

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(not os.access(DOCKER, os.X_OK), reason=f"{DOCKER} (docker CLI 28) is not installed"),
]

TICKER = "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.1; done"


def state(engine: RunningEngine, name: str) -> dict[str, object]:
    doc = json.loads(engine.docker("inspect", name).stdout)[0]
    assert isinstance(doc["State"], dict)
    return doc["State"]


def test_containers_outlive_a_killed_engine(tmp_path_factory: pytest.TempPathFactory) -> None:
    base = tmp_path_factory.mktemp("restore")
    archive, _ = save_busybox_archive(tmp_path_factory.mktemp("restore-image"))
    first = RunningEngine.start(base)
    try:
        first.ctr("-n", "dockyard", "images", "import", str(archive))
        first.docker("run", "-d", "--name", "ticker", "busybox", "sh", "-c", TICKER)
        # ends after the kill below even on a loaded machine (each start also wires its network)
        first.docker("run", "-d", "--name", "ends", "busybox", "sh", "-c", "sleep 3; exit 9")
        first.docker("run", "-d", "--rm", "--name", "gone", "busybox", "sleep", "1")
        first.docker("run", "-d", "--name", "phoenix", "--restart", "always", "busybox", "sleep", "1000")
        pid = state(first, "ticker")["Pid"]
        phoenix = state(first, "phoenix")["Pid"]
        assert isinstance(pid, int) and isinstance(phoenix, int)
        time.sleep(0.5)
    finally:
        os.kill(first.process.pid, signal.SIGKILL)
        first.process.wait()
    os.kill(phoenix, signal.SIGKILL)  # dies while no engine watches: restarted by its policy at start
    time.sleep(4)
    assert pid_alive(pid)
    second = RunningEngine.start(base)
    try:
        check_restored(second, pid, phoenix)
    finally:
        assert second.stop() == 0, second.log()  # a graceful stop leaves the containers running too
    assert pid_alive(pid)
    with dockyardd(base) as engine:
        assert state(engine, "ticker")["Pid"] == pid
        engine.docker("rm", "-f", "ticker", "ends", "phoenix")
        assert engine.docker("ps", "-aq").stdout == ""
    assert not pid_alive(pid)


def check_restored(engine: RunningEngine, pid: int, phoenix: int) -> None:
    assert engine.docker("images", "-q").stdout.strip()
    st = state(engine, "ticker")
    assert st["Running"] is True and st["Pid"] == pid
    ends = state(engine, "ends")
    assert (ends["Status"], ends["ExitCode"]) == ("exited", 9)
    assert engine.docker("ps", "-a", "--filter", "name=gone", "-q").stdout == ""
    deadline = time.monotonic() + 10
    while not (state(engine, "phoenix")["Running"] and state(engine, "phoenix")["Pid"] != phoenix):
        assert time.monotonic() < deadline, "phoenix was not restarted"
        time.sleep(0.1)
    count = len(engine.docker("logs", "ticker").stdout.splitlines())
    time.sleep(0.6)
    lines = engine.docker("logs", "ticker").stdout.splitlines()
    assert len(lines) > count and lines == [f"tick {n}" for n in range(len(lines))]  # nothing lost
    events = engine.docker("events", "--since", "0", "--until", f"{time.time():.3f}", "--filter",
                           "container=ends", "--format", "{{.Action}}").stdout.split()
    assert "die" in events


def test_exits_while_containerd_restarts(tmp_path_factory: pytest.TempPathFactory) -> None:
    """An exit published while the engine's dockyard-containerd was down and restarted is not
    lost: the engine reconciles once it follows the new daemon's events."""
    archive, _ = save_busybox_archive(tmp_path_factory.mktemp("reconcile-image"))
    with dockyardd(tmp_path_factory.mktemp("reconcile")) as engine:
        engine.ctr("-n", "dockyard", "images", "import", str(archive))
        engine.docker("run", "-d", "--name", "quick", "busybox", "sh", "-c", "sleep 1; exit 6")
        first = engine.containerd_pid()
        os.kill(first, signal.SIGKILL)
        engine.wait_containerd(other_than=first)
        deadline = time.monotonic() + 20
        while state(engine, "quick")["Status"] != "exited":
            assert time.monotonic() < deadline, f"the exit was lost:\n{engine.log()}"
            time.sleep(0.2)
        assert state(engine, "quick")["ExitCode"] == 6
        engine.docker("rm", "quick")


def test_without_live_restore_the_engine_stops_its_containers(tmp_path_factory: pytest.TempPathFactory) -> None:
    """``live-restore: false`` (dockerd's default): a graceful stop of the engine stops the
    containers (stop signal, then SIGKILL after their timeout); at the next start their
    restart policies apply, as after a host reboot."""
    base = tmp_path_factory.mktemp("nolive")
    archive, _ = save_busybox_archive(tmp_path_factory.mktemp("nolive-image"))
    (base / "daemon.json").write_text('{"live-restore": false}')
    first = RunningEngine.start(base, "--config-file", str(base / "daemon.json"))
    try:
        first.ctr("-n", "dockyard", "images", "import", str(archive))
        first.docker("run", "-d", "--name", "plain", "busybox", "sh", "-c",
                     "trap 'exit 3' TERM; while true; do sleep 0.1; done")
        first.docker("run", "-d", "--name", "phoenix", "--restart", "always", "--stop-timeout", "1", "busybox",
                     "sleep", "1000")
        first.docker("run", "-d", "--name", "deaf", "--stop-timeout", "1", "busybox", "sh", "-c",
                     "trap '' TERM; while true; do sleep 0.1; done")
        pids = [state(first, name)["Pid"] for name in ("plain", "phoenix", "deaf")]
    finally:
        assert first.stop() == 0, first.log()
    assert not any(pid_alive(pid) for pid in pids if isinstance(pid, int))
    with dockyardd(base, "--live-restore=false") as engine:
        plain, deaf = state(engine, "plain"), state(engine, "deaf")
        assert (plain["Status"], plain["ExitCode"]) == ("exited", 3)  # its stop signal reached it
        assert (deaf["Status"], deaf["ExitCode"]) == ("exited", 137)
        deadline = time.monotonic() + 10
        while not state(engine, "phoenix")["Running"]:
            assert time.monotonic() < deadline, "phoenix was not started again by its policy"
            time.sleep(0.1)
        engine.docker("rm", "-f", "plain", "phoenix", "deaf")
