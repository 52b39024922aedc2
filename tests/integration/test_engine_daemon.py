"""``dockyardd``, the engine skeleton, driven by the real docker CLI 28 and docker-py:
version, info, ps, events (past and live, from containerd's task events), system df,
version negotiation, one daemon per socket, a clean stop (its dockyard-containerd too),
and --containerd with a supervisor of its own.

One engine serves the module (``engine``); tests that start and stop their own use
``dockyardd(base)``, which fails when anything is left behind.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import socket
import stat
import subprocess
import time
from pathlib import Path

import pytest
from tests.support.ctrd import dockyard_containerd
from tests.support.engine import DOCKER, RunningEngine, dockyardd, engine_argv, pid_alive, stop_engine
from tests.support.engine_tls import make_tls
from tests.support.images import save_busybox_archive

import dockyard

pytest_plugins = ["tests.support.engine_fixtures"]
pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(not os.access(DOCKER, os.X_OK), reason=f"{DOCKER} (docker CLI 28) is not installed"),
]


def read_lines(proc: subprocess.Popen[str], count: int, timeout: float = 20.0) -> list[str]:
    """``count`` lines of a running process's stdout (fewer if it times out); reads the raw
    fd, so nothing waits in a Python buffer that select() cannot see."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    data = b""
    deadline = time.monotonic() + timeout
    while data.count(b"\n") < count and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            data += chunk
    return data.decode().splitlines()[:count]


def stop_process(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_docker_version_shows_our_server(engine: RunningEngine) -> None:
    out = engine.docker("version").stdout
    server = out.split("Server:", 1)[1]
    assert f"Version:          {dockyard.__version__}" in server
    assert "API version:      1.47 (minimum version 1.24)" in server
    assert "Go version:       python3." in server
    assert "containerd:" in server
    assert engine.docker("version", "--format", "{{.Server.APIVersion}}").stdout.strip() == "1.47"
    assert "(downgraded from 1.50)" in out  # docker 28 negotiated down to our version


def test_docker_info_lists_runtimes(engine: RunningEngine) -> None:
    proc = engine.docker("info")
    out = proc.stdout
    runtimes_line = next(line for line in out.splitlines() if line.strip().startswith("Runtimes:"))
    names = runtimes_line.split(":", 1)[1].split()
    assert "dockyard-runc" in names
    if shutil.which("runc"):
        assert "runc" in names
    if shutil.which("crun"):
        assert "crun" in names
    assert " Default Runtime: dockyard-runc" in out
    assert " Storage Driver: overlayfs" in out and " Logging Driver: json-file" in out
    assert " Cgroup Driver: cgroupfs" in out and " Swarm: inactive" in out
    assert f" Docker Root Dir: {engine.data_root}" in out
    assert " Live Restore Enabled: true" in out
    assert "ERROR" not in proc.stderr
    assert engine.docker("info", "--format", "{{.DefaultRuntime}} {{.OSType}}").stdout.strip() == \
        "dockyard-runc linux"


def test_docker_ps_is_an_empty_table(engine: RunningEngine) -> None:
    out = engine.docker("ps").stdout
    assert out.split() == ["CONTAINER", "ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]
    assert engine.docker("ps", "-a", "-q").stdout == ""


def test_docker_system_df_counts_the_image(engine: RunningEngine, engine_busybox: str) -> None:
    out = engine.docker("system", "df").stdout
    rows = {line.split("  ")[0].strip(): line.split() for line in out.splitlines()[1:]}
    assert rows["Images"][1:3] == ["1", "0"]
    assert rows["Containers"][1] == "0" and rows["Local Volumes"][2] == "0"
    verbose = engine.docker("system", "df", "-v").stdout
    assert "busybox      latest" in verbose
    data = json.loads(engine.docker("system", "df", "--format", "{{json .}}").stdout.splitlines()[0])
    assert data["Type"] == "Images" and data["TotalCount"] == "1"


def test_docker_events_past_and_live(engine: RunningEngine, engine_busybox: str) -> None:
    watcher = engine.docker_popen("events", "--format", "{{json .}}", "--filter", "type=container")
    try:
        time.sleep(0.5)  # the stream is open
        cid = "evt1"
        run = engine.ctr("-n", "dockyard", "run", "--rm", engine_busybox, cid, "sh", "-c", "exit 3", check=False)
        assert run.returncode == 3, run.stderr
        live = [json.loads(line) for line in read_lines(watcher, 2)]
    finally:
        stop_process(watcher)
    assert [(e["Action"], e["Actor"]["ID"]) for e in live] == [("start", cid), ("die", cid)]
    assert live[1]["Actor"]["Attributes"]["exitCode"] == "3"
    assert live[1]["status"] == "die" and live[1]["id"] == cid and live[1]["scope"] == "local"

    until = str(int(time.time()) + 1)
    time.sleep(1.1)  # --until in the past: docker events answers what it has and returns
    past = engine.docker("events", "--since", "0", "--until", until, "--format", "{{json .}}", timeout=30)
    actions = [(e["Type"], e["Action"], e["Actor"]["ID"]) for e in map(json.loads, past.stdout.splitlines())]
    assert ("container", "start", cid) in actions and ("container", "die", cid) in actions
    only_die = engine.docker("events", "--since", "0", "--until", until, "--filter", "event=die",
                             "--filter", f"container={cid}", "--format", "{{.Action}}")
    assert only_die.stdout.split() == ["die"]
    plain = engine.docker("events", "--since", "0", "--until", until).stdout
    assert f"container die {cid} (exitCode=3)" in plain


def test_old_api_version_gets_400(engine: RunningEngine) -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    proc = subprocess.run(["curl", "-s", "-i", "--unix-socket", str(engine.socket), "http://localhost/v1.12/info"],
                          capture_output=True, text=True, timeout=30, check=True)
    head, _, body = proc.stdout.partition("\n\n")  # text mode: \r\n read as \n
    assert head.startswith("HTTP/1.1 400")
    assert "Api-Version: 1.47" in head
    assert json.loads(body) == {"message": "client version 1.12 is too old. Minimum supported API version is "
                                           "1.24, please upgrade your client to a newer version"}
    too_old = subprocess.run([DOCKER, "version"], capture_output=True, text=True, timeout=30,
                             env={**engine.docker_env(), "DOCKER_API_VERSION": "1.12"}, check=False)
    assert too_old.returncode != 0 and "client version 1.12 is too old" in too_old.stderr
    status, _, body = engine.request("GET", "/v1.47/no/such/route")
    assert (status, json.loads(body)) == (404, {"message": "page not found"})


def test_socket_mode_and_ping(engine: RunningEngine) -> None:
    st = engine.socket.stat()
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o660
    status, headers, _ = engine.request("HEAD", "/_ping")
    assert status == 200 and headers["api-version"] == "1.47" and headers["builder-version"] == "1"


def test_a_second_dockyardd_on_the_socket_refuses(engine: RunningEngine, tmp_path: Path) -> None:
    other = tmp_path / "other"
    proc = subprocess.run([*engine.process.args[:3], "-H", engine.host, "--data-root", str(other / "data"),
                           "--exec-root", str(other / "exec")],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"dockyardd: {engine.socket}: another dockyardd")
    assert not (other / "exec" / "containerd").exists()  # it refused before starting anything
    assert engine.docker("version", "--format", "{{.Server.Version}}").stdout.strip() == dockyard.__version__


def test_docker_py_version_info_events_df(engine: RunningEngine) -> None:
    client = engine.docker_py()
    try:
        assert client.ping() is True
        version = client.version()
        assert version["ApiVersion"] == "1.47" and version["Version"] == dockyard.__version__
        info = client.info()
        assert info["DefaultRuntime"] == "dockyard-runc" and "dockyard-runc" in info["Runtimes"]
        assert client.containers.list(all=True) == []
        df = client.df()
        assert df["Volumes"] == [] and df["Containers"] == []
        now = time.time()
        events = list(client.events(since=0, until=now, decode=True))
        assert all("Type" in e for e in events)
    finally:
        client.close()


def test_stop_leaves_nothing_behind(tmp_path_factory: pytest.TempPathFactory) -> None:
    base = tmp_path_factory.mktemp("engine-stop")
    engine = RunningEngine.start(base)
    ctrd_pid = engine.containerd_pid()
    assert ctrd_pid and engine.address.is_socket()
    assert engine.docker("info", "--format", "{{.ID}}").stdout.strip()
    problems = stop_engine(engine)
    assert not problems, "\n".join(problems)
    assert "dockyard-containerd (pid" in engine.log() and "dockyardd stopped" in engine.log()
    # the next start keeps the engine's ID
    engine_id = (engine.data_root / "engine-id").read_text().strip()
    with dockyardd(base) as again:
        assert again.docker("info", "--format", "{{.ID}}").stdout.strip() == engine_id


def test_with_a_running_dockyard_containerd(tmp_path_factory: pytest.TempPathFactory) -> None:
    with dockyard_containerd(tmp_path_factory.mktemp("own-ctrd")) as ctrd:
        with dockyardd(tmp_path_factory.mktemp("engine-ext"), "--containerd", str(ctrd.address)) as engine:
            assert engine.containerd_pid() == 0  # it started none
            out = engine.docker("info", "--format", "{{.ContainerdCommit.ID}}").stdout.strip()
            assert out.startswith("dockyard-")
        assert ctrd.process.poll() is None  # not ours to stop
        assert ctrd.ctr("version").returncode == 0


def _events_seen(engine: RunningEngine, cid: str) -> list[str]:
    until = f"{time.time() + 0.2:.9f}"
    time.sleep(0.3)
    out = engine.docker("events", "--since", "0", "--until", until, "--filter", f"container={cid}",
                        "--format", "{{.Action}}").stdout
    return out.split()


def test_a_crashed_dockyard_containerd_is_started_again(tmp_path_factory: pytest.TempPathFactory) -> None:
    archive, _ = save_busybox_archive(tmp_path_factory.mktemp("crash-image"))
    with dockyardd(tmp_path_factory.mktemp("engine-crash")) as engine:
        first = engine.containerd_pid()
        os.kill(first, signal.SIGKILL)
        engine.wait_containerd(other_than=first)
        engine.ctr("-n", "dockyard", "images", "import", str(archive))
        # the engine follows the new daemon's events once it has subscribed again
        for n in range(40):
            cid = f"again{n}"
            engine.ctr("-n", "dockyard", "run", "--rm", "docker.io/library/busybox:latest", cid, "true")
            if _events_seen(engine, cid) == ["start", "die"]:
                break
        else:
            raise AssertionError(f"no events after the restart:\n{engine.log()}")
        assert "exited (status -9): starting it again" in engine.log_path.read_text()


def test_a_killed_dockyardd_leaves_its_containerd_to_the_next_one(tmp_path_factory: pytest.TempPathFactory) -> None:
    base = tmp_path_factory.mktemp("engine-kill")
    engine = RunningEngine.start(base)
    ctrd_pid = engine.containerd_pid()
    os.kill(engine.process.pid, signal.SIGKILL)
    engine.process.wait()
    assert pid_alive(ctrd_pid)  # its own process group: it outlives the engine, as containers do
    with dockyardd(base) as again:  # the stale socket is taken over, the supervisor adopted
        assert again.containerd_pid() == ctrd_pid
        assert f"dockyard-containerd (pid {ctrd_pid}) is still running: using it" in again.log_path.read_text()
        assert again.docker("info", "--format", "{{.Containers}}").stdout.strip() == "0"
    assert not pid_alive(ctrd_pid)  # and stopped with it (dockyardd() checked the rest)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_tcp_only_with_mutual_tls(tmp_path_factory: pytest.TempPathFactory) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    tls = make_tls(tmp_path_factory.mktemp("tls"))
    port = _free_port()
    tcp = f"tcp://127.0.0.1:{port}"
    base = tmp_path_factory.mktemp("engine-tls")
    refused = subprocess.run([*engine_argv(), "-H", tcp, "--data-root", str(base / "data"), "--exec-root",
                              str(base / "exec")], capture_output=True, text=True, timeout=60, check=False)
    assert refused.returncode == 1 and "served only with TLS and client verification" in refused.stderr
    with dockyardd(base, "-H", tcp, "--tlsverify", "--tlscacert", str(tls.ca), "--tlscert", str(tls.server_cert),
                   "--tlskey", str(tls.server_key)) as engine:
        env = {**engine.docker_env(), "DOCKER_HOST": tcp, "DOCKER_TLS_VERIFY": "1",
               "DOCKER_CERT_PATH": str(tls.client_dir)}
        ok = subprocess.run([DOCKER, "version", "--format", "{{.Server.APIVersion}}"], capture_output=True,
                            text=True, timeout=60, env=env, check=False)
        assert (ok.returncode, ok.stdout.strip()) == (0, "1.47"), ok.stderr
        anonymous = subprocess.run(["curl", "-s", "-k", f"https://127.0.0.1:{port}/_ping"], capture_output=True,
                                   text=True, timeout=60, check=False)
        assert anonymous.returncode != 0 and anonymous.stdout != "OK"  # no client certificate: no answer
        plain = subprocess.run(["curl", "-s", f"http://127.0.0.1:{port}/_ping"], capture_output=True, text=True,
                               timeout=60, check=False)
        assert plain.stdout != "OK"
        # a hijacked attach (stdin in, output out, then the exit status) over the TLS connection
        archive, _ = save_busybox_archive(base / "image")
        engine.ctr("-n", "dockyard", "images", "import", str(archive))
        attached = subprocess.run([DOCKER, "run", "--rm", "-i", "busybox", "sh", "-c", "cat; exit 4"],
                                  input="over tls\n", capture_output=True, text=True, timeout=60, env=env, check=False)
        assert (attached.returncode, attached.stdout) == (4, "over tls\n"), attached.stderr
        saved = subprocess.run([DOCKER, "save", "busybox"], capture_output=True, timeout=60, env=env, check=False)
        local = subprocess.run([DOCKER, "save", "busybox"], capture_output=True, timeout=60, env=engine.docker_env(),
                               check=True)
        assert saved.returncode == 0 and len(saved.stdout) == len(local.stdout) > 1_000_000
