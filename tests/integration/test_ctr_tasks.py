"""Debian's ``ctr`` (containerd 1.6) running containers on ``dockyard-containerd``: the
tasks service, the shims behind it and what they leave on the host (nothing).

One daemon runs for the module (``ctrd``); each test works in a namespace of its own with
the busybox test image imported, and every task it started is killed and deleted at the
end, then its bundles, mounts, runtime state, shims, processes and cgroups must be gone
(tests/support/ctrtasks.py). Tests over ``any_space`` run the same ``ctr`` commands against
a private containerd 1.6 too, where the two should behave alike (output, exit codes, pty
bytes, error text, events). A killed daemon and a dead shim: test_ctr_restart.py.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.ctrd import CTR, RunningDaemon
from tests.support.ctrtasks import (
    Event,
    ProcRef,
    Space,
    container_cgroups,
    mounts_left,
    open_space,
    run_in_pty,
    set_window_size,
    watching,
)
from tests.support.real_containerd import Containerd, private_containerd
from tests.support.runtimes import dockyard_argv

pytest_plugins = ["tests.support.ctr_fixtures"]

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(shutil.which(CTR) is None, reason="ctr is not installed (apt-get install containerd)"),
    pytest.mark.skipif(not Path("/bin/busybox").exists(), reason="busybox-static is not installed"),
]


@pytest.fixture(scope="module")
def containerd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Containerd | None]:
    """A private containerd 1.6 (None when it is not installed)."""
    if shutil.which("containerd") is None:
        yield None
        return
    with private_containerd(tmp_path_factory.mktemp("containerd")) as running:
        yield running


@pytest.fixture(params=["dockyard", "containerd"])
def any_space(request: pytest.FixtureRequest, ctrd: RunningDaemon, containerd: Containerd | None,
              session_token: str, busybox_archive: Path) -> Iterator[Space]:
    """A namespace on dockyard-containerd, then the same on containerd 1.6."""
    if request.param == "containerd" and containerd is None:
        pytest.skip("containerd is not installed")
    engine = ctrd if request.param == "dockyard" else containerd
    assert engine is not None
    with open_space(engine, request, session_token, busybox_archive) as made:
        yield made


def metric_rows(text: str) -> dict[str, str]:
    """``ctr tasks metrics``: the METRIC/VALUE table."""
    rows: dict[str, str] = {}
    table = False
    for line in text.splitlines():
        fields = line.split(None, 1)
        if fields[:1] == ["METRIC"]:
            table = True
        elif table and len(fields) == 2:
            rows[fields[0]] = fields[1].strip()
    return rows


def runc_list(root: Path) -> dict[str, tuple[int, str]]:
    """``runc --root ROOT list``: id -> (pid, status)."""
    proc = subprocess.run(["runc", "--root", str(root), "list", "--format", "json"], capture_output=True,
                          text=True, check=True, timeout=30)
    return {c["id"]: (c["pid"], c["status"]) for c in json.loads(proc.stdout) or []}


# -- foreground runs ----------------------------------------------------------------------------
def test_run_prints_and_passes_the_exit_code(any_space: Space) -> None:
    hi = any_space.run("hi", "echo", "hi", options=("--rm",))
    assert (hi.returncode, hi.stdout) == (0, "hi\n"), hi.stderr
    seven = any_space.run("seven", "sh", "-c", "exit 7", options=("--rm",), check=False)
    assert seven.returncode == 7, seven.stderr
    assert any_space.tasks() == {} and any_space.containers() == []


def test_piped_stdin_of_an_exec_ends_through_close_io(any_space: Space) -> None:
    """``ctr tasks exec`` calls CloseIO when its stdin ends; the process then sees EOF (the
    shim keeps its own writer on the fifo until then, as containerd's does, so ``ctr run``
    with piped stdin keeps the process's stdin open, under containerd too)."""
    any_space.run("reader", "sleep", "1000", options=("-d",))
    cat = any_space.ctr("tasks", "exec", "--exec-id", "cat", "reader", "cat", input="piped\nline2\n", timeout=30)
    assert cat.stdout == "piped\nline2\n", cat.stderr
    count = any_space.ctr("tasks", "exec", "--exec-id", "count", "reader", "sh", "-c", "cat | busybox wc -c",
                          input="x" * 300_000, timeout=30)
    assert count.stdout.strip() == "300000", count.stderr


# the window size reaches the container's pty after the task started (ctr resizes it once it
# runs, with containerd too): wait for it rather than race it. busybox's ``stty size`` exits 0
# even when it finds no size (it prints an error), hence the test of its output.
TTY_SCRIPT = ('busybox tty; n=0; while s=$(busybox stty size 2>/dev/null); [ -z "$s" ]; do n=$((n+1)); '
              '[ $n -lt 200 ] || exit 9; sleep 0.05; done; echo "$s"; exit 4')


def test_run_with_a_terminal(any_space: Space) -> None:
    argv = any_space.argv(*any_space.run_args("tty", "sh", "-c", TTY_SCRIPT, options=("-t", "--rm")))
    out, status = run_in_pty(argv, rows=40, cols=100)
    assert status == 4, out
    # no stray byte before the output: the container's terminal echoes only what ctr sends it
    assert re.fullmatch(rb"/dev/pts/\d+\r\r\n40 100\r\r\n", out), out


RESIZE_SCRIPT = (TTY_SCRIPT.replace("exit 4", "") +
                 'while [ "$(busybox stty size)" = "$s" ]; do n=$((n+1)); [ $n -lt 400 ] || exit 9; sleep 0.05; '
                 'done; busybox stty size; exit 5')


def test_a_terminal_resized_while_the_task_runs(any_space: Space) -> None:
    """The client's terminal changes size: ctr gets SIGWINCH and resizes the task's pty."""
    resized: list[bool] = []

    def resize_once(out: bytes, master: int) -> None:
        if b"40 100" in out and not resized:
            set_window_size(master, 50, 120)
            resized.append(True)

    argv = any_space.argv(*any_space.run_args("resize", "sh", "-c", RESIZE_SCRIPT, options=("-t", "--rm")))
    out, status = run_in_pty(argv, rows=40, cols=100, on_output=resize_once)
    assert status == 5, out
    assert re.fullmatch(rb"/dev/pts/\d+\r\r\n40 100\r\r\n50 120\r\r\n", out), out


@pytest.mark.skipif(shutil.which("script") is None, reason="script (util-linux) is not installed")
def test_run_under_script_echoes_its_eof_like_containerd(any_space: Space) -> None:
    """``script`` with stdin at EOF sends the terminal's EOF character; ctr forwards it to the
    container's stdin, whose terminal echoes it as ``^@``. containerd prints the same bytes,
    so the ``^@`` is not a dockyard bug."""
    argv = any_space.argv(*any_space.run_args("script", "sh", "-c", "sleep 0.5; busybox tty; exit 3",
                                              options=("-t", "--rm")))
    proc = subprocess.run(["script", "-qec", shlex.join(argv), "/dev/null"], capture_output=True,
                          stdin=subprocess.DEVNULL, timeout=60, check=False)
    assert proc.returncode == 3, proc
    assert re.fullmatch(rb"\^@/dev/pts/\d+\r\r\n", proc.stdout), proc.stdout


# -- a detached task, step by step --------------------------------------------------------------
def test_a_detached_task_from_run_to_delete(space: Space, ctrd: RunningDaemon) -> None:
    cid = "life"
    space.run(cid, "sleep", "1000", options=("-d",))
    pid, status = space.tasks()[cid]
    assert status == "RUNNING" and pid > 0
    init = ProcRef.of(pid)
    assert init.cmdline() == ["sleep", "1000"]
    bundle = space.bundle(cid)
    saved = space.shim_state(cid)
    assert [(p["exec_id"], p["pid"], p["status"]) for p in saved["processes"]] == [("", pid, "running")]
    shim = ProcRef.of(saved["shim_pid"])
    assert shim.alive()
    assert (bundle / "rootfs" / "bin" / "busybox").is_file()  # the snapshot, mounted in the bundle

    ran = space.ctr("tasks", "exec", "--exec-id", "x", cid, "sh", "-c", "echo in; exit 3", check=False)
    assert (ran.returncode, ran.stdout) == (3, "in\n"), ran.stderr

    rows = [line.split() for line in space.ctr("tasks", "ps", cid).stdout.splitlines()]
    assert rows[0] == ["PID", "INFO"] and rows[1:] == [[str(pid), "-"]]

    metrics = metric_rows(space.ctr("tasks", "metrics", cid).stdout)
    memory = [k for k in metrics if k.startswith("memory.usage")]
    assert memory and int(metrics[memory[0]]) > 0, metrics
    assert int(metrics["pids.current"]) == 1, metrics

    space.ctr("tasks", "pause", cid)
    assert space.tasks()[cid] == (pid, "PAUSED")
    space.ctr("tasks", "resume", cid)
    assert space.tasks()[cid] == (pid, "RUNNING")

    space.ctr("tasks", "kill", cid)  # SIGTERM: sleep as PID 1 has no handler, so it is ignored
    time.sleep(1)
    assert space.tasks()[cid] == (pid, "RUNNING") and init.alive()
    space.ctr("tasks", "kill", "-s", "SIGKILL", cid)
    assert space.wait_status(cid, "STOPPED") == pid
    deleted = space.ctr("tasks", "delete", cid)
    assert "exit code 137" in deleted.stderr, deleted.stderr
    assert cid not in space.tasks()
    space.ctr("containers", "rm", cid)
    assert space.containers() == []

    assert not bundle.exists()
    assert mounts_left(ctrd.base) == []
    assert shim.wait_gone(10), f"shim {shim.pid} still runs: {shim.cmdline()}"
    assert init.wait_gone(10)
    assert container_cgroups(space.name, cid) == []
    assert list(space.runtime_root("dockyard-runc").iterdir()) == []


def test_exec_with_a_terminal_and_exec_errors(space: Space) -> None:
    space.run("host", "sleep", "1000", options=("-d",))
    out, status = run_in_pty(space.argv("tasks", "exec", "-t", "--exec-id", "t", "host", "sh", "-c",
                                        TTY_SCRIPT), rows=40, cols=100)
    assert status == 4, out
    assert re.fullmatch(rb"/dev/pts/\d+\r\r\n40 100\r\r\n", out), out
    missing = space.ctr("tasks", "exec", "--exec-id", "m", "host", "nope", check=False)
    assert missing.returncode != 0
    assert 'exec: "nope": executable file not found in $PATH' in missing.stderr, missing.stderr
    nothing = space.ctr("tasks", "exec", "--exec-id", "n", "no-such-task", "true", check=False)
    assert nothing.returncode != 0 and "not found" in nothing.stderr
    # the failed exec left nothing behind: the task still has its init alone
    pid = space.tasks()["host"][0]
    rows = [line.split() for line in space.ctr("tasks", "ps", "host").stdout.splitlines()]
    assert rows[1:] == [[str(pid), "-"]]


# -- which runtime runs the container -------------------------------------------------------------
@pytest.mark.runc
def test_runc_binary_and_the_default_runtime(space: Space) -> None:
    space.run("by-runc", "sleep", "1000",
              options=("-d", "--runtime", "io.containerd.runc.v2", "--runc-binary", "runc"))
    space.run("by-default", "sleep", "1000", options=("-d",))
    tasks = space.tasks()
    runc_root = space.runtime_root("runc")
    ours = space.runtime_root("dockyard-runc")
    # runc knows the first container (and only it), dockyard-runc the second
    assert runc_list(runc_root) == {"by-runc": (tasks["by-runc"][0], "running")}
    assert sorted(p.name for p in ours.iterdir()) == ["by-default"]
    state = subprocess.run([*dockyard_argv(), "--root", str(ours), "state", "by-default"], capture_output=True,
                           text=True, check=True, timeout=30)
    assert (json.loads(state.stdout)["pid"], json.loads(state.stdout)["status"]) == (
        tasks["by-default"][0], "running")
    assert space.shim_state("by-runc")["config"]["runtime"] == "runc"
    assert Path(space.shim_state("by-default")["config"]["runtime"]).name == "dockyard-runc"

    ran = space.ctr("tasks", "exec", "--exec-id", "x", "by-runc", "sh", "-c", "echo under runc; exit 2",
                    check=False)
    assert (ran.returncode, ran.stdout) == (2, "under runc\n"), ran.stderr
    for cid in ("by-runc", "by-default"):
        space.ctr("tasks", "kill", "-s", "SIGKILL", cid)
        space.wait_status(cid, "STOPPED")
        space.ctr("tasks", "delete", cid)
        space.ctr("containers", "rm", cid)
    assert runc_list(runc_root) == {}
    assert list(ours.iterdir()) == []


# -- failures ---------------------------------------------------------------------------------------
def test_a_runtime_failure_reaches_the_client(any_space: Space) -> None:
    failed = any_space.run("broken", "nope", check=False)
    assert failed.returncode != 0
    assert 'exec: "nope": executable file not found in $PATH' in failed.stderr, failed.stderr
    assert "broken" not in any_space.tasks()
    assert not any_space.bundle("broken").exists()
    assert container_cgroups(any_space.name, "broken") == []
    assert any_space.containers() == ["broken"]
    any_space.ctr("containers", "rm", "broken")
    # the id is free again
    again = any_space.run("broken", "true", options=("--rm",))
    assert again.returncode == 0


def test_task_calls_on_what_is_not_there(space: Space) -> None:
    for args in (("tasks", "kill", "ghost"), ("tasks", "delete", "ghost"), ("tasks", "pause", "ghost"),
                 ("tasks", "ps", "ghost")):
        proc = space.ctr(*args, check=False, timeout=20)
        assert proc.returncode != 0 and "not found" in proc.stderr, (args, proc.stderr)
    space.ctr("containers", "create", "docker.io/library/busybox:latest", "no-task")
    proc = space.ctr("tasks", "kill", "no-task", check=False, timeout=20)
    assert proc.returncode != 0 and "not found" in proc.stderr
    space.run("twice", "sleep", "1000", options=("-d",))
    # a second task for the same container, a container removed under its task
    again = space.ctr("tasks", "start", "twice", check=False, timeout=20)
    assert again.returncode != 0 and "already exists" in again.stderr, again.stderr
    busy = space.ctr("containers", "rm", "twice", check=False, timeout=20)
    assert busy.returncode != 0 and "twice" in space.containers(), busy.stderr
    running = space.ctr("tasks", "delete", "twice", check=False, timeout=20)
    assert running.returncode != 0 and space.tasks()["twice"][1] == "RUNNING", running.stderr


# -- events -------------------------------------------------------------------------------------------
def _topics(events: list[Event]) -> list[str]:
    return [e.topic for e in events]


RUNS = 10


def test_events_of_runs(any_space: Space) -> None:
    """Every run shows create, start, exit and delete, once each (ten runs: a lost event shows)."""
    with watching(any_space.engine, any_space.token) as watcher:
        for n in range(RUNS):
            cid = f"ev{n}"
            proc = any_space.run(cid, "sh", "-c", f"exit {n + 1}", options=("--rm",), check=False)
            assert proc.returncode == n + 1, proc.stderr
        watcher.wait_for(lambda events: any(
            e.topic == "/tasks/delete" and e.payload.get("container_id") == f"ev{RUNS - 1}" for e in events))
        time.sleep(0.5)  # anything late (a duplicate) shows too
        seen = {f"ev{n}": watcher.task_events(any_space.name, f"ev{n}") for n in range(RUNS)}
    for n in range(RUNS):
        cid = f"ev{n}"
        events = seen[cid]
        assert _topics(events) == ["/tasks/create", "/tasks/start", "/tasks/exit", "/tasks/delete"], (
            cid, events)
        create, start, exit_, delete = (e.payload for e in events)
        assert start["pid"] == exit_["pid"] == delete["pid"] == create["pid"] > 0
        assert exit_["id"] == cid
        assert exit_["exit_status"] == delete["exit_status"] == n + 1
        assert create["bundle"] == str(any_space.bundle(cid))
        assert create["io"]["stdout"].endswith(f"{cid}-stdout")


def test_events_of_exec_pause_kill(any_space: Space) -> None:
    sp = any_space
    with watching(sp.engine, sp.token) as watcher:
        sp.run("busy", "sleep", "1000", options=("-d",))
        ran = sp.ctr("tasks", "exec", "--exec-id", "x", "busy", "sh", "-c", "exit 2", check=False)
        assert ran.returncode == 2, ran.stderr
        sp.ctr("tasks", "pause", "busy")
        sp.ctr("tasks", "resume", "busy")
        sp.ctr("tasks", "kill", "-s", "SIGKILL", "busy")
        sp.wait_status("busy", "STOPPED")
        sp.ctr("tasks", "delete", "busy")
        watcher.wait_for(lambda events: "/tasks/delete" in _topics(watcher.task_events(sp.name, "busy")))
        time.sleep(0.5)
        events = watcher.task_events(sp.name, "busy")
    sp.ctr("containers", "rm", "busy")
    # as containerd: an exec's delete publishes nothing, the init's does
    assert _topics(events) == ["/tasks/create", "/tasks/start", "/tasks/exec-added", "/tasks/exec-started",
                               "/tasks/exit", "/tasks/paused", "/tasks/resumed", "/tasks/exit",
                               "/tasks/delete"], events
    init = events[0].payload["pid"]
    assert events[2].payload == {"container_id": "busy", "exec_id": "x"}
    assert events[3].payload["exec_id"] == "x" and events[3].payload["pid"] not in (0, init)
    assert (events[4].payload["id"], events[4].payload["exit_status"]) == ("x", 2)
    assert (events[7].payload["id"], events[7].payload["pid"], events[7].payload["exit_status"]) == (
        "busy", init, 137)
    assert (events[8].payload["pid"], events[8].payload["exit_status"]) == (init, 137)
