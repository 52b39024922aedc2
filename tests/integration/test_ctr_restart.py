"""Containers outlive their daemon, and a shim that dies leaves a stopped task, not a hang:
Debian's ``ctr`` against a ``dockyard-containerd`` of the test's own, killed with SIGKILL
and started again on the same directory, and against shims killed under it.

Each test has its own daemon (``own``: started on a fresh base, restarted by the test,
stopped by PID at the end, started again first if the test left it dead so its tasks can
be deleted) and a namespace of its own (``own_space``, torn down as in test_ctr_tasks.py:
tasks killed and deleted, then no bundle, mount, shim, process or cgroup may be left).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from tests.support.ctrd import CTR, DaemonDirs, RunningDaemon, shut_down, stop_daemon
from tests.support.ctrtasks import ProcRef, Space, container_cgroups, open_space, watching

pytest_plugins = ["tests.support.ctr_fixtures"]

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(shutil.which(CTR) is None, reason="ctr is not installed (apt-get install containerd)"),
    pytest.mark.skipif(not Path("/bin/busybox").exists(), reason="busybox-static is not installed"),
]


@dataclass
class OwnDaemon(DaemonDirs):
    """A daemon of the test's own on ``base``, through its restarts (an ``Engine``)."""

    started: list[RunningDaemon] = field(default_factory=list)

    @property
    def current(self) -> RunningDaemon:
        return self.started[-1]

    def start(self) -> RunningDaemon:
        self.started.append(RunningDaemon.start(self.base))
        return self.current

    def running(self) -> bool:
        return bool(self.started) and self.current.process.poll() is None

    def kill9(self) -> None:
        """SIGKILL by PID: no cleanup at all."""
        os.kill(self.current.process.pid, signal.SIGKILL)
        self.current.process.wait(10)

    def ctr(self, *args: str, check: bool = True, timeout: float = 120.0,
            input: str | None = None) -> subprocess.CompletedProcess[str]:
        return self.current.ctr(*args, check=check, timeout=timeout, input=input)

    def log(self) -> str:
        return "\n---- restarted ----\n".join(d.log() for d in self.started)


@pytest.fixture
def own(tmp_path: Path) -> Iterator[OwnDaemon]:
    daemon = OwnDaemon(tmp_path / "d")
    daemon.start()
    try:
        yield daemon
    finally:
        problems = shut_down(daemon.base, [one for one in daemon.started if one.process.poll() is None])
        assert not problems, "\n".join(problems)


@pytest.fixture
def own_space(request: pytest.FixtureRequest, own: OwnDaemon, session_token: str,
              busybox_archive: Path) -> Iterator[Space]:
    with open_space(own, request, session_token, busybox_archive) as made:
        yield made
        if not own.running():  # the test ended with the daemon dead: its tasks need one
            own.start()


def container_info(space: Space, cid: str) -> dict[str, object]:
    info: dict[str, object] = json.loads(space.ctr("containers", "info", cid).stdout)
    return info


def test_tasks_outlive_a_killed_daemon(own: OwnDaemon, own_space: Space) -> None:
    sp = own_space
    sp.run("long", "sleep", "1000", options=("-d", "--label", "role=long"))
    sp.run("short", "sh", "-c", "sleep 2; exit 5", options=("-d",))
    tasks = sp.tasks()
    assert {cid: status for cid, (_, status) in tasks.items()} == {"long": "RUNNING", "short": "RUNNING"}
    inits = {cid: ProcRef.of(pid) for cid, (pid, _) in tasks.items()}
    shims = {cid: ProcRef.of(sp.shim_pid(cid)) for cid in tasks}
    infos = {cid: container_info(sp, cid) for cid in tasks}
    images = sp.ctr("images", "ls").stdout
    containers = sp.ctr("containers", "ls").stdout

    own.kill9()
    assert all(ref.alive() for ref in [*inits.values(), *shims.values()]), "a container died with the daemon"
    assert inits["short"].wait_gone(15), "the short one did not end while the daemon was away"
    assert inits["long"].alive()

    own.start()
    assert sp.tasks() == {"long": (inits["long"].pid, "RUNNING"), "short": (inits["short"].pid, "STOPPED")}
    # what the stores knew is intact
    assert sp.ctr("images", "ls").stdout == images
    assert sp.ctr("containers", "ls").stdout == containers
    assert {cid: container_info(sp, cid) for cid in tasks} == infos

    # the exit that happened while no daemon listened was kept by the shim
    deleted = sp.ctr("tasks", "delete", "short")
    assert "exit code 5" in deleted.stderr, deleted.stderr
    assert not sp.bundle("short").exists()
    assert shims["short"].wait_gone(10)

    # the running one is served as before: exec, events, kill
    ran = sp.ctr("tasks", "exec", "--exec-id", "after", "long", "sh", "-c", "echo still here; exit 6", check=False)
    assert (ran.returncode, ran.stdout) == (6, "still here\n"), ran.stderr
    with watching(own, sp.token) as watcher:
        sp.ctr("tasks", "kill", "-s", "SIGKILL", "long")
        assert sp.wait_status("long", "STOPPED") == inits["long"].pid
        sp.ctr("tasks", "delete", "long")
        watcher.wait_for(lambda _: "/tasks/delete" in [e.topic for e in watcher.task_events(sp.name, "long")])
        events = watcher.task_events(sp.name, "long")
    assert [(e.topic, e.payload.get("exit_status")) for e in events] == [
        ("/tasks/exit", 137), ("/tasks/delete", 137)], events
    assert shims["long"].wait_gone(10) and inits["long"].wait_gone(10)
    sp.ctr("containers", "rm", "long", "short")
    assert sp.containers() == []


def test_a_graceful_stop_leaves_tasks_running_too(own: OwnDaemon, own_space: Space) -> None:
    sp = own_space
    sp.run("kept", "sleep", "1000", options=("-d",))
    pid = sp.tasks()["kept"][0]
    assert stop_daemon(own.current) == []
    assert ProcRef.of(pid).alive()
    own.start()
    assert sp.tasks() == {"kept": (pid, "RUNNING")}
    ran = sp.ctr("tasks", "exec", "--exec-id", "e", "kept", "echo", "served")
    assert ran.stdout == "served\n"


def test_a_graceful_stop_does_not_wait_for_an_attached_client(own: OwnDaemon, own_space: Space) -> None:
    """``ctr run`` (attached) holds a Wait on the daemon: SIGTERM still stops it at once, and
    the container keeps running."""
    sp = own_space
    client = subprocess.Popen(sp.argv(*sp.run_args("attached", "sleep", "1000")), stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        pid = sp.wait_status("attached", "RUNNING")
        sp.remember("attached")
        started = time.monotonic()
        assert stop_daemon(own.current) == []
        assert time.monotonic() - started < 4.0, "the daemon waited for the attached client's Wait"
        assert client.wait(20) != 0  # its Wait ended with the daemon
        assert ProcRef.of(pid).alive()
    finally:
        if client.poll() is None:
            client.kill()
            client.wait()
    own.start()
    assert sp.tasks() == {"attached": (pid, "RUNNING")}


def test_a_shim_that_dies(own: OwnDaemon, own_space: Space) -> None:
    sp = own_space
    sp.run("orphan", "sleep", "1000", options=("-d",))
    pid = sp.tasks()["orphan"][0]
    init = ProcRef.of(pid)
    shim = ProcRef.of(sp.shim_pid("orphan"))
    os.kill(shim.pid, signal.SIGKILL)
    assert shim.wait_gone(10)

    assert sp.wait_status("orphan", "STOPPED", timeout=10) == pid
    assert init.wait_gone(10), "the container outlived its shim"
    # calls on it fail at once, none hangs
    killed = sp.ctr("tasks", "kill", "orphan", check=False, timeout=20)
    assert killed.returncode != 0 and "shim died" in killed.stderr, killed.stderr
    execed = sp.ctr("tasks", "exec", "--exec-id", "x", "orphan", "true", check=False, timeout=20)
    assert execed.returncode != 0, execed
    deleted = sp.ctr("tasks", "delete", "orphan", timeout=20)
    assert "exit code 137" in deleted.stderr, deleted.stderr
    assert "orphan" not in sp.tasks()
    assert not sp.bundle("orphan").exists()
    assert container_cgroups(sp.name, "orphan") == []
    sp.ctr("containers", "rm", "orphan")


def test_a_shim_that_died_while_the_daemon_was_away(own: OwnDaemon, own_space: Space) -> None:
    sp = own_space
    sp.run("lost", "sleep", "1000", options=("-d",))
    sp.run("ended", "sh", "-c", "exit 3", options=("-d",))
    sp.wait_status("ended", "STOPPED")
    pid = sp.tasks()["lost"][0]
    init = ProcRef.of(pid)
    shims = {cid: ProcRef.of(sp.shim_pid(cid)) for cid in ("lost", "ended")}
    own.kill9()
    for shim in shims.values():
        os.kill(shim.pid, signal.SIGKILL)
        assert shim.wait_gone(10)

    own.start()  # finds both shims dead: the tasks are stopped, what had exited keeps its status
    assert sp.tasks() == {"lost": (pid, "STOPPED"), "ended": (sp.tasks()["ended"][0], "STOPPED")}
    assert init.wait_gone(10), "the container outlived its shim and the restart"
    assert "exit code 137" in sp.ctr("tasks", "delete", "lost").stderr
    assert "exit code 3" in sp.ctr("tasks", "delete", "ended").stderr
    for cid in ("lost", "ended"):
        assert not sp.bundle(cid).exists()
        assert container_cgroups(sp.name, cid) == []
    sp.ctr("containers", "rm", "lost", "ended")
