"""The engine's container service driven by the real docker CLI 28 (and docker-py): run both
ways, exit codes, logs, stop/kill/restart/pause/rename, inspect, ps, top, stats, restart
policies, --rm, log rotation, OOM, attach with stdin and a TTY.

One engine serves the module (``engine`` with the busybox image imported); after each test
no container may be left, nor their fifos, log dirs or snapshots; the engine's own check at
the end of the module finds no process or mount left. Live restore (a dockyardd killed
with SIGKILL while containers run) uses engines of its own: test_engine_containers_restore.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.engine import DOCKER, RunningEngine, wait_for

pytest_plugins = ["tests.support.engine_fixtures"]
pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(not os.access(DOCKER, os.X_OK), reason=f"{DOCKER} (docker CLI 28) is not installed"),
]

TICKER = "i=0; while true; do echo tick $i; echo err $i >&2; i=$((i+1)); sleep 0.1; done"
TERM_EXITS = 'trap "exit 143" TERM; while true; do sleep 0.1; done'
IGNORES_TERM = 'trap "" TERM; while true; do sleep 0.1; done'


def snapshots(engine: RunningEngine) -> list[str]:
    out = engine.ctr("-n", "dockyard", "snapshots", "ls").stdout.splitlines()[1:]
    return [line.split()[0] for line in out if line.strip() and not line.startswith("sha256:")]


def created_since(engine: RunningEngine, since: float) -> list[str]:
    """IDs of the containers created since ``since`` (from the engine's events)."""
    until = f"{time.time() + 0.1:.9f}"
    time.sleep(0.15)
    out = engine.docker("events", "--since", f"{since:.9f}", "--until", until, "--filter", "type=container",
                        "--filter", "event=create", "--format", "{{.Actor.ID}}").stdout
    return out.split()


def cgroups_of(ids: list[str]) -> list[str]:
    """Cgroup directories (any hierarchy) named after one of ``ids``."""
    wanted = set(ids)
    found = []
    for parent in Path("/sys/fs/cgroup").glob("*/dockyard"):
        found += [str(p) for p in parent.iterdir() if p.name in wanted]
    found += [str(p) for p in Path("/sys/fs/cgroup").glob("dockyard/*") if p.name in wanted]
    return found


@pytest.fixture
def docker(engine: RunningEngine, engine_busybox: str) -> Iterator[RunningEngine]:
    """The engine; at the end every container is gone, with its files, fifos, snapshot and cgroups."""
    since = time.time()
    yield engine
    assert cgroups_of(created_since(engine, since)) == []
    left = engine.docker("ps", "-aq", "--no-trunc").stdout.split()
    if left:
        engine.docker("rm", "-f", *left, check=False)
    assert not left, f"containers left: {left}"
    for directory in (engine.data_root / "containers", engine.exec_root / "containers"):
        assert not directory.exists() or list(directory.iterdir()) == [], list(directory.iterdir())
    assert snapshots(engine) == []
    assert engine.ctr("-n", "dockyard", "containers", "ls", "-q").stdout.split() == []
    log = engine.log_path.read_text(errors="replace")
    assert "Traceback" not in log and "container job failed" not in log, log[-4000:]


def inspect(engine: RunningEngine, name: str) -> dict[str, object]:
    doc = json.loads(engine.docker("inspect", name).stdout)
    assert isinstance(doc, list) and len(doc) == 1
    item = doc[0]
    assert isinstance(item, dict)
    return item


def state(engine: RunningEngine, name: str) -> dict[str, object]:
    value = inspect(engine, name)["State"]
    assert isinstance(value, dict)
    return value


# -- docker run ------------------------------------------------------------------------------------
def test_run_rm_prints_and_is_gone(docker: RunningEngine) -> None:
    run = docker.docker("run", "--rm", "busybox", "echo", "hi")
    assert run.stdout == "hi\n" and run.stderr == ""
    assert docker.docker("ps", "-aq").stdout == ""


@pytest.mark.parametrize(("argv", "code", "text"), [
    (["true"], 0, ""),
    (["sh", "-c", "exit 3"], 3, ""),
    (["nope"], 127, 'exec: "nope": executable file not found in $PATH'),
    (["/etc/passwd"], 126, "permission denied"),
])
def test_run_exit_codes(docker: RunningEngine, argv: list[str], code: int, text: str) -> None:
    run = docker.docker("run", "--rm", "busybox", *argv, check=False)
    assert run.returncode == code, run.stderr
    assert text in run.stderr
    if code >= 126:
        assert "failed to create task for container" in run.stderr
        assert '{"message"' not in run.stderr  # the CLI read the message out of the JSON


def test_run_without_rm_keeps_the_exit(docker: RunningEngine) -> None:
    run = docker.docker("run", "--name", "keep", "busybox", "sh", "-c", "echo out; echo err >&2; exit 2",
                        check=False)
    assert (run.returncode, run.stdout, run.stderr) == (2, "out\n", "err\n")
    st = state(docker, "keep")
    assert (st["Status"], st["ExitCode"], st["Running"]) == ("exited", 2, False)
    assert docker.docker("ps", "-a", "--format", "{{.Names}} {{.Status}}").stdout.startswith("keep Exited (2) ")
    failed = docker.docker("run", "--name", "broken", "busybox", "nope", check=False)
    assert failed.returncode == 127
    broken = state(docker, "broken")
    assert broken["Status"] == "created" and broken["ExitCode"] == 127
    assert "executable file not found" in str(broken["Error"])
    docker.docker("rm", "keep", "broken")


def test_run_piped_stdin(docker: RunningEngine) -> None:
    proc = subprocess.run([DOCKER, "run", "-i", "--rm", "busybox", "cat"], input="piped\nline 2\n",
                          capture_output=True, text=True, timeout=60, env=docker.docker_env(), check=False)
    assert (proc.returncode, proc.stdout) == (0, "piped\nline 2\n"), proc.stderr


def test_run_with_a_tty(docker: RunningEngine) -> None:
    if shutil.which("script") is None:
        pytest.skip("script (util-linux) is not installed")
    proc = subprocess.run(["script", "-qec", "docker run --rm -t busybox sh -c 'tty; exit 4'", "/dev/null"],
                          capture_output=True, text=True, timeout=60, env=docker.docker_env(),
                          stdin=subprocess.DEVNULL, check=False)
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert "/dev/pts/0" in proc.stdout


def test_name_conflict(docker: RunningEngine) -> None:
    cid = docker.docker("create", "--name", "taken", "busybox", "true").stdout.strip()
    again = docker.docker("run", "--name", "taken", "busybox", "true", check=False)
    assert again.returncode == 125
    assert (f'Conflict. The container name "/taken" is already in use by container "{cid}". You have to remove '
            "(or rename) that container to be able to reuse that name.") in again.stderr
    bad = docker.docker("create", "--name", "a b", "busybox", "true", check=False)
    assert "Invalid container name (a b), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed" in bad.stderr
    missing = docker.docker("create", "nosuchimage:1", check=False)
    assert missing.returncode != 0
    docker.docker("rm", "taken")


# -- detached containers ---------------------------------------------------------------------------
def test_detached_ps_logs_stop_rm(docker: RunningEngine) -> None:
    cid = docker.docker("run", "-d", "--name", "ticker", "busybox", "sh", "-c", TICKER).stdout.strip()
    assert len(cid) == 64
    rows = docker.docker("ps", "--format", "{{.ID}} {{.Names}} {{.Status}} {{.Command}}").stdout.splitlines()
    assert len(rows) == 1 and rows[0].startswith(f"{cid[:12]} ticker Up ")
    wait_for(lambda: "tick 5" in docker.docker("logs", "ticker").stdout, what="5 ticks")
    logs = docker.docker("logs", "ticker")
    assert logs.stdout.startswith("tick 0\ntick 1\n") and logs.stderr.startswith("err 0\nerr 1\n")
    tail = docker.docker("logs", "--tail", "2", "ticker")
    assert len(tail.stdout.splitlines()) + len(tail.stderr.splitlines()) == 2
    stamped = docker.docker("logs", "-t", "--tail", "1", "ticker")
    line = (stamped.stdout + stamped.stderr).strip()
    assert line[:4].isdigit() and line[10] == "T" and "Z " in line
    proc = docker.docker_popen("logs", "-f", "--tail", "0", "ticker")
    try:
        time.sleep(1.0)
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert "tick" in out and not out.startswith("tick 0\n")
    docker.docker("stop", "-t", "10", "ticker")
    st = state(docker, "ticker")
    assert st["Status"] == "exited" and st["ExitCode"] == 137  # sh as PID 1 ignores SIGTERM
    docker.docker("rm", "ticker")


def test_logs_follow_ends_when_the_container_stops(docker: RunningEngine) -> None:
    docker.docker("run", "-d", "--name", "short", "busybox", "sh", "-c", "echo one; sleep 1; echo two")
    follow = docker.docker("logs", "-f", "short", timeout=20)
    assert follow.stdout == "one\ntwo\n"
    docker.docker("rm", "short")


def test_stop_signal_and_timeout(docker: RunningEngine) -> None:
    docker.docker("run", "-d", "--name", "polite", "busybox", "sh", "-c", TERM_EXITS)
    started = time.monotonic()
    docker.docker("stop", "polite")
    assert time.monotonic() - started < 5
    assert state(docker, "polite")["ExitCode"] == 143
    docker.docker("run", "-d", "--name", "stubborn", "busybox", "sh", "-c", IGNORES_TERM)
    started = time.monotonic()
    docker.docker("stop", "-t", "1", "stubborn")
    assert 0.9 < time.monotonic() - started < 8
    assert state(docker, "stubborn")["ExitCode"] == 137
    docker.docker("rm", "polite", "stubborn")


def test_create_start_wait(docker: RunningEngine) -> None:
    cid = docker.docker("create", "--name", "cw", "busybox", "sh", "-c", "echo created; exit 5").stdout.strip()
    assert state(docker, "cw")["Status"] == "created"
    assert docker.docker("ps", "-a", "--format", "{{.Status}}").stdout.strip() == "Created"
    assert docker.docker("start", "cw").stdout.strip() == "cw"
    assert docker.docker("wait", "cw").stdout.strip() == "5"
    assert docker.docker("logs", "cw").stdout == "created\n"
    again = docker.docker("start", "-a", "cw", check=False)
    assert (again.returncode, again.stdout) == (5, "created\n")
    running = docker.docker("rm", cid[:12])
    assert running.stdout.strip() == cid[:12]


def test_remove_running_needs_force(docker: RunningEngine) -> None:
    docker.docker("run", "-d", "--name", "busy", "busybox", "sleep", "1000")
    refused = docker.docker("rm", "busy", check=False)
    assert refused.returncode == 1
    assert 'cannot remove container "/busy": container is running: stop the container before removing or ' \
           "force remove" in refused.stderr
    docker.docker("rm", "-f", "busy")
    gone = docker.docker("inspect", "busy", check=False)
    assert gone.returncode == 1 and "No such object: busy" in gone.stderr


def test_inspect_fields(docker: RunningEngine) -> None:
    cid = docker.docker("run", "-d", "--name", "insp", "-e", "A=b", "-l", "k=v", "-w", "/tmp", "busybox",
                        "sleep", "1000").stdout.strip()
    doc = inspect(docker, "insp")
    assert doc["Id"] == cid and doc["Name"] == "/insp" and doc["Path"] == "sleep" and doc["Args"] == ["1000"]
    st = doc["State"]
    assert isinstance(st, dict)
    assert st["Status"] == "running" and st["Running"] is True and st["Pid"] > 0 and st["OOMKilled"] is False
    assert str(doc["Image"]).startswith("sha256:") and doc["Driver"] == "overlayfs" and doc["Platform"] == "linux"
    assert str(doc["LogPath"]).endswith(f"{cid}-json.log") and doc["RestartCount"] == 0
    config = doc["Config"]
    assert isinstance(config, dict)
    assert config["Image"] == "busybox" and "A=b" in config["Env"] and config["Labels"] == {"k": "v"}
    assert config["WorkingDir"] == "/tmp" and config["Hostname"] == cid[:12] and config["Cmd"] == ["sleep", "1000"]
    host = doc["HostConfig"]
    assert isinstance(host, dict)
    assert host["LogConfig"] == {"Type": "json-file", "Config": {"max-file": "3", "max-size": "10m"}}
    assert host["RestartPolicy"] == {"Name": "no", "MaximumRetryCount": 0}
    fmt = docker.docker("inspect", "-f", "{{.State.Status}} {{.Config.Image}} {{.HostConfig.NetworkMode}}", "insp")
    assert fmt.stdout.strip() == "running busybox bridge"
    docker.docker("rm", "-f", "insp")


def test_kill_with_a_signal(docker: RunningEngine) -> None:
    docker.docker("run", "-d", "--name", "hup", "busybox", "sh", "-c",
                  'trap "exit 7" HUP; while true; do sleep 0.1; done')
    docker.docker("kill", "-s", "HUP", "hup")
    assert docker.docker("wait", "hup").stdout.strip() == "7"
    not_running = docker.docker("kill", "hup", check=False)
    assert not_running.returncode == 1 and "is not running" in not_running.stderr
    docker.docker("rm", "hup")


def test_pause_unpause_rename_restart(docker: RunningEngine) -> None:
    docker.docker("run", "-d", "--name", "p1", "busybox", "sh", "-c", TERM_EXITS)
    docker.docker("pause", "p1")
    assert docker.docker("ps", "--format", "{{.Status}}").stdout.strip().endswith("(Paused)")
    assert state(docker, "p1")["Status"] == "paused"
    docker.docker("unpause", "p1")
    assert state(docker, "p1")["Status"] == "running"
    docker.docker("rename", "p1", "p2")
    assert docker.docker("ps", "--format", "{{.Names}}").stdout.strip() == "p2"
    first_pid = state(docker, "p2")["Pid"]
    docker.docker("restart", "p2")
    after = state(docker, "p2")
    assert after["Running"] is True and after["Pid"] != first_pid
    docker.docker("rm", "-f", "p2")


def test_top_and_stats(docker: RunningEngine) -> None:
    docker.docker("run", "-d", "--name", "tops", "busybox", "sleep", "1000")
    top = docker.docker("top", "tops").stdout.splitlines()
    assert top[0].split()[:3] == ["UID", "PID", "PPID"]
    assert any(line.endswith("sleep 1000") for line in top[1:])
    stats = docker.docker("stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}} {{.MemUsage}}", "tops")
    name, pids, usage = stats.stdout.split(None, 2)
    assert name == "tops" and pids == "1" and "/" in usage
    docker.docker("rm", "-f", "tops")


def test_restart_policy_on_failure(docker: RunningEngine) -> None:
    docker.docker("run", "-d", "--name", "flaky", "--restart", "on-failure:2", "busybox", "sh", "-c",
                  "echo run; exit 1")
    wait_for(lambda: state(docker, "flaky")["Status"] == "exited" and
             inspect(docker, "flaky")["RestartCount"] == 2, timeout=20, what="two restarts")
    time.sleep(0.5)
    assert inspect(docker, "flaky")["RestartCount"] == 2
    assert docker.docker("logs", "flaky").stdout == "run\nrun\nrun\n"
    conflict = docker.docker("run", "--rm", "--restart", "always", "busybox", "true", check=False)
    assert conflict.returncode != 0
    docker.docker("rm", "flaky")


def test_restart_always_survives_kill_but_not_stop(docker: RunningEngine) -> None:
    docker.docker("run", "-d", "--name", "always", "--restart", "always", "busybox", "sleep", "1000")
    pid = state(docker, "always")["Pid"]
    docker.docker("kill", "always")
    wait_for(lambda: state(docker, "always")["Running"] and state(docker, "always")["Pid"] != pid, what="restart")
    docker.docker("stop", "-t", "1", "always")
    time.sleep(0.5)
    assert state(docker, "always")["Status"] == "exited"
    docker.docker("rm", "always")


def test_log_rotation(docker: RunningEngine) -> None:
    docker.docker("run", "--name", "rot", "--log-opt", "max-size=1k", "--log-opt", "max-file=2", "busybox",
                  "sh", "-c", "i=0; while [ $i -lt 200 ]; do echo line-$i; i=$((i+1)); done")
    log_path = str(inspect(docker, "rot")["LogPath"])
    files = sorted(os.listdir(os.path.dirname(log_path)))
    assert [f for f in files if "json.log" in f] == [os.path.basename(log_path), os.path.basename(log_path) + ".1"]
    assert os.path.getsize(log_path) <= 1024 and os.path.getsize(log_path + ".1") <= 1024
    with open(log_path) as f:
        first = json.loads(f.readline())
    assert set(first) == {"log", "stream", "time"} and first["stream"] == "stdout"
    out = docker.docker("logs", "rot").stdout.splitlines()
    assert out[-1] == "line-199" and len(out) < 60
    docker.docker("rm", "rot")


def test_oom_killed(docker: RunningEngine) -> None:
    run = docker.docker("run", "--name", "hog", "--memory", "8m", "busybox", "sh", "-c",
                        "x=a; while true; do x=$x$x; done", check=False, timeout=120)
    assert run.returncode == 137, run.stderr
    st = state(docker, "hog")
    assert st["OOMKilled"] is True and st["ExitCode"] == 137
    docker.docker("rm", "hog")


def test_events_of_a_run(docker: RunningEngine) -> None:
    since = f"{time.time():.9f}"
    docker.docker("run", "--rm", "--name", "evt", "busybox", "true")
    until = f"{time.time() + 0.2:.9f}"
    time.sleep(0.3)
    out = docker.docker("events", "--since", since, "--until", until, "--filter", "container=evt",
                        "--format", "{{.Action}} {{.Actor.Attributes.name}}").stdout.splitlines()
    actions = [line.split()[0] for line in out]
    assert actions[:1] == ["create"] and "start" in actions and actions[-1] == "destroy"
    assert actions.count("start") == 1 and actions.count("die") == 1  # containerd's own events not doubled
    assert all(line.split()[1] == "evt" for line in out)


def test_ps_filters(docker: RunningEngine) -> None:
    docker.docker("run", "-d", "--name", "f-run", "-l", "tier=a", "busybox", "sleep", "1000")
    docker.docker("run", "--name", "f-exit", "-l", "tier=b", "busybox", "sh", "-c", "exit 4", check=False)

    def names(*args: str) -> list[str]:
        return sorted(docker.docker("ps", "-a", "--format", "{{.Names}}", *args).stdout.split())

    assert names() == ["f-exit", "f-run"]
    assert docker.docker("ps", "--format", "{{.Names}}").stdout.split() == ["f-run"]
    assert names("--filter", "label=tier=b") == ["f-exit"]
    assert names("--filter", "status=exited") == ["f-exit"]
    assert names("--filter", "exited=4") == ["f-exit"]
    assert names("--filter", "name=f-r") == ["f-run"]
    assert names("--filter", "ancestor=busybox") == ["f-exit", "f-run"]
    assert docker.docker("ps", "-aq", "-n", "1").stdout.count("\n") == 1
    pruned = docker.docker("container", "prune", "-f").stdout
    assert "Deleted Containers:" in pruned
    assert names() == ["f-run"]
    docker.docker("rm", "-f", "f-run")


def test_docker_py(docker: RunningEngine) -> None:
    client = docker.docker_py()
    try:
        assert client.containers.run("busybox", ["echo", "hello py"], remove=True) == b"hello py\n"
        box = client.containers.run("busybox", ["sh", "-c", "echo out; echo err >&2; sleep 30"], detach=True,
                                    name="pybox")
        wait_for(lambda: b"err" in box.logs(), what="docker-py logs")
        box.reload()
        assert box.status == "running" and box.name == "pybox"
        assert box.logs(stdout=True, stderr=False) == b"out\n"
        assert [c.name for c in client.containers.list()] == ["pybox"]
        assert [c.name for c in client.containers.list(all=True, filters={"name": "pybox"})] == ["pybox"]
        box.stop(timeout=1)
        assert box.wait() == {"StatusCode": 137, "Error": None}
        box.remove()
        made = client.containers.create("busybox", ["sh", "-c", "exit 4"])
        made.start()
        assert made.wait()["StatusCode"] == 4
        made.remove()
        import docker as docker_py

        with pytest.raises(docker_py.errors.ContainerError) as failed:
            client.containers.run("busybox", ["sh", "-c", "echo bad >&2; exit 2"], remove=True)
        assert failed.value.exit_status == 2
        with pytest.raises(docker_py.errors.NotFound):
            client.containers.get("nosuch")
        assert client.containers.list(all=True) == []
    finally:
        client.close()


def test_diff_export_update(docker: RunningEngine, tmp_path: Path) -> None:
    docker.docker("run", "-d", "--name", "fs", "--memory", "64m", "--restart", "on-failure:3", "busybox", "sh", "-c",
                  "echo x > /tmp/new; mkdir /root/d; echo y > /etc/passwd; sleep 1000")
    wait_for(lambda: "A /tmp/new" in docker.docker("diff", "fs").stdout, what="the container's changes")
    assert docker.docker("diff", "fs").stdout.splitlines() == [
        "C /etc", "C /etc/passwd", "C /root", "A /root/d", "C /tmp", "A /tmp/new"]
    tar = tmp_path / "fs.tar"
    docker.docker("export", "-o", str(tar), "fs")
    names = subprocess.run(["tar", "-tf", str(tar)], capture_output=True, text=True, check=True).stdout.split()
    assert "bin/busybox" in names and "tmp/new" in names and "etc/passwd" in names
    docker.docker("update", "--memory", "128m", "--memory-swap", "256m", "fs")
    host = inspect(docker, "fs")["HostConfig"]
    assert isinstance(host, dict) and host["Memory"] == 128 * 1024 * 1024
    assert host["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}  # untouched
    docker.docker("update", "--restart", "no", "fs")
    host = inspect(docker, "fs")["HostConfig"]
    assert isinstance(host, dict) and host["Memory"] == 128 * 1024 * 1024 and host["RestartPolicy"]["Name"] == "no"
    cid = str(inspect(docker, "fs")["Id"])
    limits = list(Path("/sys/fs/cgroup").glob(f"memory/dockyard/{cid}/memory.limit_in_bytes"))
    if limits:
        assert limits[0].read_text().strip() == str(128 * 1024 * 1024)
    docker.docker("rm", "-f", "fs")


def test_attach_and_detach_keys(docker: RunningEngine) -> None:
    if shutil.which("script") is None:
        pytest.skip("script (util-linux) is not installed")
    docker.docker("run", "-d", "-it", "--name", "tt", "busybox", "sh")
    feed = "sleep 1; printf 'echo hello-from-attach\\n'; sleep 1; printf '\\020\\021'"
    proc = subprocess.run(["sh", "-c", f"({feed}) | script -qec 'docker attach tt' /dev/null"],
                          capture_output=True, text=True, timeout=60, env=docker.docker_env(), check=False)
    assert "hello-from-attach" in proc.stdout and "read escape sequence" in proc.stdout, proc.stdout + proc.stderr
    assert state(docker, "tt")["Running"] is True  # detached, not stopped
    docker.docker("rm", "-f", "tt")


def test_attach_websocket_and_df(docker: RunningEngine) -> None:
    import asyncio

    import aiohttp

    docker.docker("run", "-d", "-i", "--name", "wsc", "busybox", "cat")

    async def talk() -> bytes:
        connector = aiohttp.UnixConnector(path=str(docker.socket))
        async with aiohttp.ClientSession(connector=connector) as session, session.ws_connect(
                "http://localhost/v1.47/containers/wsc/attach/ws?stream=1&stdin=1&stdout=1&stderr=1") as ws:
            await ws.send_bytes(b"hello ws\n")
            message = await ws.receive(timeout=10)
            return bytes(message.data)

    assert asyncio.run(talk()) == b"hello ws\n"
    df = docker.docker("system", "df", "--format", "{{.Type}} {{.TotalCount}} {{.Active}}").stdout.splitlines()
    assert "Containers 1 1" in df
    docker.docker("rm", "-f", "wsc")


def test_init_runs_as_pid_1_and_forwards_signals(docker: RunningEngine) -> None:
    info = docker.docker("info", "--format", "{{.InitBinary}} {{.InitCommit.ID}}").stdout.split()
    assert info == ["docker-init", "0.19.0"]
    ps = docker.docker("run", "--rm", "--init", "busybox", "ps", "-o", "pid,args").stdout
    assert "1 /sbin/docker-init -- ps -o pid,args" in ps, ps
    # sleep as PID 1 ignores SIGTERM (stop waits for the SIGKILL); under the init it dies of it
    docker.docker("run", "-d", "--init", "--name", "inited", "busybox", "sleep", "100")
    started = time.monotonic()
    docker.docker("stop", "-t", "20", "inited")
    assert time.monotonic() - started < 10
    assert state(docker, "inited")["ExitCode"] == 143
    assert inspect(docker, "inited")["HostConfig"]["Init"] is True  # type: ignore[index]
    docker.docker("rm", "inited")


def test_health_checks(docker: RunningEngine) -> None:
    since = time.time()
    docker.docker("run", "-d", "--name", "hc", "--health-cmd", "test -f /tmp/ok", "--health-interval", "300ms",
                  "--health-retries", "2", "busybox", "sh", "-c", "sleep 1.5; touch /tmp/ok; sleep 100")
    assert "health: starting" in docker.docker("ps", "--format", "{{.Status}}").stdout
    wait_for(lambda: (state(docker, "hc").get("Health") or {}).get("Status") == "unhealthy", 10, "unhealthy")
    wait_for(lambda: (state(docker, "hc").get("Health") or {}).get("Status") == "healthy", 10, "healthy")
    health = state(docker, "hc")["Health"]
    assert isinstance(health, dict) and health["FailingStreak"] == 0 and health["Log"][-1]["ExitCode"] == 0
    assert docker.docker("ps", "-q", "--filter", "health=healthy").stdout.split() != []
    assert docker.docker("ps", "-q", "--filter", "health=none").stdout.split() == []
    events = docker.docker("events", "--since", f"{since:.3f}", "--until", f"{time.time():.3f}", "--filter",
                           "event=health_status", "--format", "{{.Action}}").stdout.split("\n")
    assert "health_status: unhealthy" in events and "health_status: healthy" in events
    docker.docker("stop", "-t", "1", "hc")
    assert state(docker, "hc")["Health"]["Status"] == "unhealthy"  # type: ignore[index]  # as dockerd says

    docker.docker("run", "-d", "--name", "slow", "--health-cmd", "sleep 5", "--health-interval", "200ms",
                  "--health-timeout", "300ms", "busybox", "sleep", "100")
    wait_for(lambda: bool((state(docker, "slow").get("Health") or {}).get("Log")), 10, "a probe")
    probe = state(docker, "slow")["Health"]["Log"][0]  # type: ignore[index]
    assert probe["ExitCode"] == -1 and probe["Output"] == "Health check exceeded timeout (300ms)"
    docker.docker("rm", "-f", "hc", "slow")
