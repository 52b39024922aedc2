"""A container's life as ``state`` reports it, and the verbs that act on a live container.

Differential: each test runs under dockyard-runc and runc (the ``runtime`` fixture) and
checks facts runc 1.1.5 shows on this host; the ``exitStatus`` field is dockyard's own.
Terminals are driven from the test, either through a pty (``pty.fork``: the runtime's
stdin is a terminal) or through a ``--console-socket`` server that receives the master.
"""

from __future__ import annotations

import contextlib
import json
import os
import pty
import select
import signal
import socket
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from tests.support.bundles import CGROUP_MOUNT, Bundle, BundleFactory
from tests.support.runtimes import Runtime

pytestmark = pytest.mark.root

SLEEPER = ["sleep", "600"]
# PID 1 of a PID namespace only gets the signals it handles: trap TERM, poll in short sleeps
TERM_TRAP = ["sh", "-c", "trap 'exit 7' TERM; while true; do sleep 0.05; done"]


# -- helpers ---------------------------------------------------------------------------------


def status_of(runtime: Runtime, cid: str) -> str:
    return str(runtime.state_json(cid)["status"])


def wait_status(runtime: Runtime, cid: str, wanted: str, timeout: float = 10.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while True:
        doc = runtime.state_json(cid)
        if doc["status"] == wanted:
            return doc
        assert time.monotonic() < deadline, f"{runtime.name}: {cid} still {doc['status']}, not {wanted}"
        time.sleep(0.02)


def created(runtime: Runtime, bundle: Bundle, *flags: str) -> str:
    proc = runtime.create(bundle.id, bundle, *flags)
    assert proc.returncode == 0, f"{runtime.name} create: {proc.stderr.strip()}"
    return bundle.id


def running(runtime: Runtime, bundle: Bundle) -> str:
    cid = created(runtime, bundle)
    proc = runtime.start(cid)
    assert proc.returncode == 0, f"{runtime.name} start: {proc.stderr.strip()}"
    return cid


def host_cgroup_dir(pid: int, controller: str) -> Path:
    """The host directory of ``pid``'s cgroup in a v1 hierarchy."""
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            if controller in controllers.split(","):
                return Path("/sys/fs/cgroup") / controller / path.lstrip("/")
    raise AssertionError(f"pid {pid} has no {controller} cgroup")


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


# -- states ------------------------------------------------------------------------------------


def test_state_transitions(runtime: Runtime, make_bundle: BundleFactory) -> None:
    bundle = make_bundle(SLEEPER)
    cid = created(runtime, bundle)
    doc = runtime.state_json(cid)
    assert (doc["id"], doc["status"], doc["bundle"]) == (cid, "created", str(bundle.path))
    pid = int(doc["pid"])
    assert pid > 0 and alive(pid)
    assert "exitStatus" not in doc

    assert runtime.start(cid).returncode == 0
    assert status_of(runtime, cid) == "running"
    assert runtime.state_json(cid)["pid"] == pid

    assert runtime.pause(cid).returncode == 0
    assert status_of(runtime, cid) == "paused"
    freezer = host_cgroup_dir(pid, "freezer") / "freezer.state"
    assert freezer.read_text().strip() == "FROZEN"

    assert runtime.resume(cid).returncode == 0
    assert status_of(runtime, cid) == "running"
    assert freezer.read_text().strip() == "THAWED"

    assert runtime.kill(cid, "KILL").returncode == 0
    doc = wait_status(runtime, cid, "stopped")
    assert doc["pid"] == 0

    proc = runtime.delete(cid)
    assert proc.returncode == 0, proc.stderr
    proc = runtime.state(cid)
    assert proc.returncode != 0
    assert "container does not exist" in proc.stderr
    assert not (runtime.root / cid).exists()


def test_stopped_after_process_exits(runtime: Runtime, make_bundle: BundleFactory) -> None:
    cid = running(runtime, make_bundle(["true"]))
    assert wait_status(runtime, cid, "stopped")["pid"] == 0
    assert runtime.delete(cid).returncode == 0


def test_delete_created_container(runtime: Runtime, make_bundle: BundleFactory) -> None:
    bundle = make_bundle(SLEEPER)
    cid = created(runtime, bundle)
    pid = int(runtime.state_json(cid)["pid"])
    proc = runtime.delete(cid)
    assert proc.returncode == 0, proc.stderr
    deadline = time.monotonic() + 5
    while alive(pid):
        assert time.monotonic() < deadline, "delete left the created container's init running"
        time.sleep(0.02)


@pytest.mark.parametrize("status", [0, 3])
def test_exit_status_in_state(dockyard_runc: Runtime, make_bundle: BundleFactory, status: int) -> None:
    """dockyard adds ``exitStatus`` to a stopped container's state when it knows it."""
    bundle = make_bundle(["sh", "-c", f"exit {status}"])
    proc = dockyard_runc.run(bundle.id, bundle, "--keep")
    assert proc.returncode == status, proc.stderr
    doc = dockyard_runc.state_json(bundle.id)
    assert (doc["status"], doc["pid"], doc.get("exitStatus")) == ("stopped", 0, status)
    assert dockyard_runc.delete(bundle.id).returncode == 0


# -- list ----------------------------------------------------------------------------------------


def test_list(runtime: Runtime, make_bundle: BundleFactory) -> None:
    bundle = make_bundle(SLEEPER)
    cid = created(runtime, bundle)
    pid = runtime.state_json(cid)["pid"]
    proc = runtime.list("table")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]
    row = next(line.split() for line in lines[1:] if line.split()[0] == cid)
    assert row[1:4] == [str(pid), "created", str(bundle.path)]
    assert row[5] == "root"

    proc = runtime.list("json")
    assert proc.returncode == 0, proc.stderr
    entries = {e["id"]: e for e in json.loads(proc.stdout)}
    entry = entries[cid]
    assert (entry["pid"], entry["status"], entry["bundle"], entry["owner"]) == (
        pid, "created", str(bundle.path), "root"
    )
    assert entry["created"].endswith("Z")
    assert runtime.start(cid).returncode == 0
    assert {e["id"]: e for e in json.loads(runtime.list("json").stdout)}[cid]["status"] == "running"


# -- kill, delete, start --------------------------------------------------------------------------


@pytest.mark.parametrize("sig", ["KILL", "9", "SIGKILL"])
def test_kill_sigkill(runtime: Runtime, make_bundle: BundleFactory, sig: str) -> None:
    cid = running(runtime, make_bundle(SLEEPER))
    proc = runtime.kill(cid, sig)
    assert proc.returncode == 0, proc.stderr
    wait_status(runtime, cid, "stopped")


@pytest.mark.parametrize("sig", [None, "TERM", "SIGTERM", "15"])
def test_kill_sigterm(runtime: Runtime, make_bundle: BundleFactory, sig: str | None) -> None:
    cid = running(runtime, make_bundle(TERM_TRAP))
    proc = runtime.call("kill", cid) if sig is None else runtime.kill(cid, sig)
    assert proc.returncode == 0, proc.stderr
    wait_status(runtime, cid, "stopped")


def test_kill_all(runtime: Runtime, make_bundle: BundleFactory) -> None:
    cid = running(runtime, make_bundle(["sh", "-c", "sleep 600 & sleep 600 & wait"]))
    pids = wait_pids(runtime, cid, 3)
    proc = runtime.kill(cid, "KILL", all_processes=True)
    assert proc.returncode == 0, proc.stderr
    wait_status(runtime, cid, "stopped")
    deadline = time.monotonic() + 5
    while any(alive(p) for p in pids):
        assert time.monotonic() < deadline, f"still alive: {[p for p in pids if alive(p)]}"
        time.sleep(0.02)


def test_kill_stopped_fails(runtime: Runtime, make_bundle: BundleFactory) -> None:
    cid = running(runtime, make_bundle(["true"]))
    wait_status(runtime, cid, "stopped")
    proc = runtime.kill(cid, "KILL")
    assert proc.returncode != 0
    assert "container not running" in proc.stderr


def test_delete_running_needs_force(runtime: Runtime, make_bundle: BundleFactory) -> None:
    cid = running(runtime, make_bundle(SLEEPER))
    pid = int(runtime.state_json(cid)["pid"])
    proc = runtime.delete(cid)
    assert proc.returncode != 0
    assert f"cannot delete container {cid} that is not stopped: running" in proc.stderr
    assert status_of(runtime, cid) == "running"
    proc = runtime.delete(cid, force=True)
    assert proc.returncode == 0, proc.stderr
    assert not alive(pid)
    assert "container does not exist" in runtime.state(cid).stderr


def test_start_twice_fails(runtime: Runtime, make_bundle: BundleFactory) -> None:
    cid = running(runtime, make_bundle(SLEEPER))
    proc = runtime.start(cid)
    assert proc.returncode != 0
    assert "cannot start an already running container" in proc.stderr
    assert status_of(runtime, cid) == "running"


def test_start_stopped_fails(runtime: Runtime, make_bundle: BundleFactory) -> None:
    cid = running(runtime, make_bundle(["true"]))
    wait_status(runtime, cid, "stopped")
    proc = runtime.start(cid)
    assert proc.returncode != 0
    assert "cannot start a container that has stopped" in proc.stderr


# -- exec ----------------------------------------------------------------------------------------


@pytest.fixture
def sleeper(runtime: Runtime, make_bundle: BundleFactory) -> Bundle:
    bundle = make_bundle(SLEEPER, extra_mounts=[CGROUP_MOUNT])
    running(runtime, bundle)
    return bundle


def test_exec_env(runtime: Runtime, sleeper: Bundle) -> None:
    proc = runtime.exec(sleeper.id, "sh", "-c", "echo $X", flags=["-e", "X=1"])
    assert (proc.returncode, proc.stdout) == (0, "1\n"), proc.stderr


def test_exec_cwd(runtime: Runtime, sleeper: Bundle) -> None:
    proc = runtime.exec(sleeper.id, "pwd", flags=["--cwd", "/dev/shm"])
    assert (proc.returncode, proc.stdout) == (0, "/dev/shm\n"), proc.stderr


def test_exec_user(runtime: Runtime, sleeper: Bundle) -> None:
    proc = runtime.exec(sleeper.id, "id", flags=["-u", "1000:1000"])
    assert (proc.returncode, proc.stdout) == (0, "uid=1000 gid=1000\n"), proc.stderr


@pytest.mark.parametrize("status", [0, 1, 42])
def test_exec_exit_status(runtime: Runtime, sleeper: Bundle, status: int) -> None:
    proc = runtime.exec(sleeper.id, "sh", "-c", f"exit {status}")
    assert proc.returncode == status, proc.stderr


def test_exec_not_found(runtime: Runtime, sleeper: Bundle) -> None:
    proc = runtime.exec(sleeper.id, "no-such-cmd")
    assert proc.returncode != 0
    assert "executable file not found in $PATH" in proc.stderr
    assert status_of(runtime, sleeper.id) == "running"


def test_exec_detached_pid_file(runtime: Runtime, sleeper: Bundle) -> None:
    pid_file = sleeper.path / "exec.pid"
    proc = runtime.exec(
        sleeper.id, "sleep", "600", flags=["--pid-file", str(pid_file)], detach=True, io_dir=sleeper.io_dir
    )
    assert proc.returncode == 0, proc.stderr
    pid = int(pid_file.read_text())
    assert alive(pid)
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        assert f.read().split(b"\0")[:2] == [b"sleep", b"600"]
    assert pid in pids_of(runtime, sleeper.id)
    assert runtime.kill(sleeper.id, "KILL", all_processes=True).returncode == 0
    wait_status(runtime, sleeper.id, "stopped")


def test_exec_in_stopped_fails(runtime: Runtime, make_bundle: BundleFactory) -> None:
    cid = running(runtime, make_bundle(["true"]))
    wait_status(runtime, cid, "stopped")
    proc = runtime.exec(cid, "true")
    assert proc.returncode != 0
    assert "cannot exec in a stopped container" in proc.stderr


# -- terminals -------------------------------------------------------------------------------------


def run_in_pty(argv: Sequence[str], env: dict[str, str], timeout: float = 20.0) -> tuple[int, bytes]:
    """Run ``argv`` with a pty as its stdio; return (exit code, everything it wrote)."""
    pid, master = pty.fork()
    if pid == 0:  # child
        try:
            os.execve(argv[0], list(argv), env)
        finally:
            os._exit(127)
    output = b""
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                os.kill(pid, signal.SIGKILL)
                raise AssertionError(f"{argv} timed out; output so far: {output!r}")
            ready, _, _ = select.select([master], [], [], left)
            if not ready:
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the slave side is closed
                break
            if not data:
                break
            output += data
    finally:
        os.close(master)
        _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), output


TTY_SCRIPT = "tty; [ -t 0 ] && [ -t 1 ] && echo is-a-tty; exit 5"


def check_tty_output(output: bytes) -> None:
    assert lines_of(output)[-2:] == ["/dev/pts/0", "is-a-tty"], output


def test_exec_tty_foreground(runtime: Runtime, sleeper: Bundle) -> None:
    argv = runtime.command("exec", "-t", sleeper.id, "sh", "-c", TTY_SCRIPT)
    status, output = run_in_pty(argv, runtime.env)
    assert status == 5, output
    check_tty_output(output)


def test_run_tty_foreground(runtime: Runtime, make_bundle: BundleFactory) -> None:
    bundle = make_bundle(["sh", "-c", TTY_SCRIPT], {"process": {"terminal": True}})
    runtime.track(bundle.id)
    argv = runtime.command("run", "--bundle", str(bundle.path), bundle.id)
    status, output = run_in_pty(argv, runtime.env)
    assert status == 5, output
    check_tty_output(output)


def lines_of(output: bytes) -> list[str]:
    return output.decode(errors="replace").replace("\r\n", "\n").splitlines()


@contextlib.contextmanager
def console_socket(path: Path) -> Iterator[socket.socket]:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        server.bind(str(path))
        server.listen(1)
        server.settimeout(10)
        yield server
    finally:
        server.close()
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def receive_master(server: socket.socket) -> int:
    conn, _ = server.accept()
    with conn:
        conn.settimeout(10)
        _msg, fds, _flags, _addr = socket.recv_fds(conn, 4096, 1)
    assert len(fds) == 1, "the runtime sent no pty master"
    return fds[0]


def read_until_closed(master: int, timeout: float = 10.0) -> bytes:
    output = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if not ready:
            continue
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        output += data
    return output


def test_create_tty_console_socket(runtime: Runtime, make_bundle: BundleFactory) -> None:
    bundle = make_bundle(["sh", "-c", "tty; [ -t 0 ] && echo is-a-tty"], {"process": {"terminal": True}})
    with console_socket(bundle.path / "console.sock") as server:
        cid = created(runtime, bundle, "--console-socket", str(bundle.path / "console.sock"))
        master = receive_master(server)
    try:
        assert runtime.start(cid).returncode == 0
        output = read_until_closed(master)
    finally:
        os.close(master)
    assert lines_of(output) == ["/dev/console", "is-a-tty"] or lines_of(output)[-1] == "is-a-tty", output
    wait_status(runtime, cid, "stopped")


def test_exec_tty_console_socket(runtime: Runtime, sleeper: Bundle) -> None:
    sock = sleeper.path / "exec-console.sock"
    with console_socket(sock) as server:
        proc = runtime.exec(
            sleeper.id, "sh", "-c", "[ -t 0 ] && echo is-a-tty; echo done",
            flags=["-t", "--console-socket", str(sock)], detach=True, io_dir=sleeper.io_dir,
        )
        assert proc.returncode == 0, proc.stderr
        master = receive_master(server)
    try:
        output = read_until_closed(master)
    finally:
        os.close(master)
    assert lines_of(output)[-2:] == ["is-a-tty", "done"], output


def test_terminal_without_console_socket_fails(runtime: Runtime, make_bundle: BundleFactory) -> None:
    bundle = make_bundle(["true"], {"process": {"terminal": True}})
    proc = runtime.create(bundle.id, bundle)
    assert proc.returncode != 0
    assert "cannot allocate tty if runc will detach without setting console socket" in proc.stderr


# -- pause, ps, events, update ----------------------------------------------------------------------


def test_pause_resume_loop(runtime: Runtime, make_bundle: BundleFactory) -> None:
    cid = running(runtime, make_bundle(["sh", "-c", "while true; do sleep 0.05; done"]))
    pid = int(runtime.state_json(cid)["pid"])
    freezer = host_cgroup_dir(pid, "freezer") / "freezer.state"
    for _ in range(2):
        assert runtime.pause(cid).returncode == 0
        assert freezer.read_text().strip() == "FROZEN"
        assert status_of(runtime, cid) == "paused"
        proc = runtime.exec(cid, "true")
        assert proc.returncode != 0
        assert "paused" in proc.stderr
        assert runtime.resume(cid).returncode == 0
        assert freezer.read_text().strip() == "THAWED"
        assert status_of(runtime, cid) == "running"
    proc = runtime.resume(cid)
    assert proc.returncode != 0
    assert "container not paused" in proc.stderr


def test_delete_force_paused(runtime: Runtime, make_bundle: BundleFactory) -> None:
    cid = running(runtime, make_bundle(SLEEPER))
    pid = int(runtime.state_json(cid)["pid"])
    assert runtime.pause(cid).returncode == 0
    proc = runtime.delete(cid)
    assert proc.returncode != 0
    assert "that is not stopped: paused" in proc.stderr
    assert runtime.delete(cid, force=True).returncode == 0
    assert not alive(pid)


def pids_of(runtime: Runtime, cid: str) -> list[int]:
    proc = runtime.ps(cid, "json")
    assert proc.returncode == 0, proc.stderr
    return list(json.loads(proc.stdout) or [])


def wait_pids(runtime: Runtime, cid: str, count: int) -> list[int]:
    deadline = time.monotonic() + 5
    while len(pids := pids_of(runtime, cid)) < count:
        assert time.monotonic() < deadline, f"only {pids}"
        time.sleep(0.02)
    return pids


def test_ps(runtime: Runtime, make_bundle: BundleFactory) -> None:
    cid = running(runtime, make_bundle(["sh", "-c", "sleep 600 & sleep 600 & wait"]))
    init = int(runtime.state_json(cid)["pid"])
    pids = wait_pids(runtime, cid, 3)
    assert init in pids
    assert len(pids) == 3
    proc = runtime.ps(cid, "table")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "PID" in lines[0].split()
    assert len(lines) == 4
    assert sum(line.split()[-2:] == ["sleep", "600"] for line in lines) == 2


def test_events_stats(runtime: Runtime, sleeper: Bundle) -> None:
    proc = runtime.events_stats(sleeper.id)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 1
    event = json.loads(lines[0])
    assert (event["type"], event["id"]) == ("stats", sleeper.id)
    data = event["data"]
    assert data["pids"]["current"] >= 1
    assert data["memory"]["usage"]["usage"] > 0


def test_update_pids_limit(runtime: Runtime, sleeper: Bundle) -> None:
    proc = runtime.update(sleeper.id, "--pids-limit", "20")
    assert proc.returncode == 0, proc.stderr
    proc = runtime.exec(sleeper.id, "cat", "/sys/fs/cgroup/pids/pids.max")
    assert (proc.returncode, proc.stdout) == (0, "20\n"), proc.stderr
    pid = int(runtime.state_json(sleeper.id)["pid"])
    assert (host_cgroup_dir(pid, "pids") / "pids.max").read_text() == "20\n"
