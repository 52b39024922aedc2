"""The shim end to end without root: a real detached shim drives a stand-in runtime
(tests/support/fake_runtime.py) whose "container" is a plain process. Covers the server,
the reaper, waits, events, the state file, shutdown, the launcher and the dead-shim cleanup."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.shims import Fifos, process_alive, wait_gone

from dockyard.errors import FailedPrecondition, Internal, InvalidArgument, NotFound, Unavailable
from dockyard.shim import sockets, statefile
from dockyard.shim.cleanup import cleanup
from dockyard.shim.client import Launcher, ShimClient, start_shim
from dockyard.shim.config import ShimConfig

FAKE = str(Path(__file__).resolve().parents[1] / "support" / "fake_runtime.py")


class Lab:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.count = 0
        self.pids: list[tuple[int, ShimConfig]] = []

    def shim(self, *args: str, launcher: Launcher | None = None) -> tuple[ShimConfig, int, Fifos]:
        self.count += 1
        bundle = self.tmp / f"bundle{self.count}"
        bundle.mkdir()
        (bundle / "config.json").write_text(json.dumps({"process": {"args": list(args)}}))
        config = ShimConfig(
            f"c{self.count}", str(bundle), str(self.tmp / f"state{self.count}"),
            runtime=sys.executable, runtime_args=[FAKE], runtime_root=str(self.tmp / "root"),
        )  # fmt: skip
        pid = launcher.spawn(config) if launcher else start_shim(config)
        self.pids.append((pid, config))
        return config, pid, Fifos(Path(config.state_dir) / "io")

    def finish(self) -> None:
        for pid, config in self.pids:
            if process_alive(pid):
                try:
                    with ShimClient(config.socket, timeout=10) as client:
                        client.call("kill", signal=9)
                except Exception:
                    pass
                os.kill(pid, signal.SIGKILL)
                wait_gone(pid)


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    lab = Lab(tmp_path)
    yield lab
    lab.finish()


def test_lifecycle(lab: Lab) -> None:
    config, shim_pid, fifos = lab.shim("sh", "-c", "echo out; echo err >&2; exit 3")
    with ShimClient(config.socket, timeout=10) as client:
        client.subscribe()
        info = client.call("connect")
        assert (info["shim_pid"], info["pid"], info["status"]) == (shim_pid, 0, "")
        pid = client.call("create", **fifos.args())["pid"]
        assert client.call("state")["status"] == "created"
        assert client.call("start") == {"pid": pid}
        result = client.call("wait")
        assert (result["pid"], result["exit_status"]) == (pid, 3)
        assert fifos.read("stdout") == b"out\n" and fifos.read("stderr") == b"err\n"
        on_disk = statefile.load(config.path("shim.json"))
        assert on_disk.shim_pid == shim_pid and on_disk.init is not None and on_disk.init.exit_status == 3
        assert client.call("delete")["exit_status"] == 3
        topics = [client.event(timeout=5)["topic"] for _ in range(4)]
        assert topics == ["/tasks/create", "/tasks/start", "/tasks/exit", "/tasks/delete"]
        client.call("shutdown")
    assert wait_gone(shim_pid)
    assert sorted(os.listdir(config.state_dir)) == ["io"]


def test_create_failure_text(lab: Lab) -> None:
    config, _, fifos = lab.shim("fail", "now")
    with ShimClient(config.socket, timeout=10) as client:
        with pytest.raises(Internal, match=r"OCI runtime create failed: fake: cannot run \['now'\]"):
            client.call("create", **fifos.args())
        with pytest.raises(NotFound):
            client.call("state")


def test_exec_pids_pause_and_errors(lab: Lab) -> None:
    config, _, fifos = lab.shim("sleep", "60")
    with ShimClient(config.socket, timeout=10) as client:
        pid = client.call("create", **fifos.args())["pid"]
        client.call("start")
        client.call("exec", exec_id="e", spec={"args": ["sleep", "60"]})
        epid = client.call("start", exec_id="e")["pid"]
        processes = {(p["pid"], p["exec_id"]) for p in client.call("pids")["processes"]}
        assert processes == {(pid, ""), (epid, "e")}
        client.call("pause")
        assert client.call("state")["status"] == "paused"
        client.call("resume")
        client.call("update", resources={"pids": {"limit": 3}})
        assert isinstance(client.call("stats")["stats"], dict)
        with pytest.raises(FailedPrecondition):
            client.call("delete", exec_id="e")
        with pytest.raises(InvalidArgument):
            client.call("kill", signal="SIGNOPE")
        client.call("kill", exec_id="e", signal=15)
        assert client.call("wait", exec_id="e")["exit_status"] == 143
        with pytest.raises(NotFound):
            client.call("kill", exec_id="e", signal=9)
        client.call("kill", signal=9)
        assert client.call("wait")["exit_status"] == 137


def test_bad_lines_on_the_wire(lab: Lab) -> None:
    config, _, _ = lab.shim("true")
    sock = sockets.connect(config.socket, timeout=10)
    try:
        sock.sendall(b'not json\n{"id": 5, "op": 7}\n{"id": 6, "op": "ping"}\n')
        data = b""
        while data.count(b"\n") < 3:
            data += sock.recv(65536)
        first, second, third = (json.loads(line) for line in data.splitlines())
        assert first["id"] is None and first["error"]["code"] == "INVALID_ARGUMENT"
        assert second["id"] == 5 and second["error"]["code"] == "INVALID_ARGUMENT"
        assert third["id"] == 6 and third["result"]["container_id"] == config.container_id
        sock.sendall(b"x" * (2 << 20) + b'\n{"id": 7, "op": "ping"}\n')  # past the line limit
        data = b""
        while data.count(b"\n") < 2:
            data += sock.recv(65536)
        too_long, after = (json.loads(line) for line in data.splitlines())
        assert too_long["error"] == {"code": "INVALID_ARGUMENT", "message": "message longer than 1048576 bytes"}
        assert after["id"] == 7 and "result" in after  # the connection goes on
    finally:
        sock.close()


def test_dead_shim_and_cleanup(lab: Lab) -> None:
    config, shim_pid, fifos = lab.shim("sleep", "60")
    with ShimClient(config.socket, timeout=10) as client:
        pid = client.call("create", **fifos.args())["pid"]
        client.call("start")
    os.kill(shim_pid, signal.SIGKILL)
    assert wait_gone(shim_pid)
    with pytest.raises(Unavailable):
        ShimClient(config.socket, timeout=5)
    assert process_alive(pid)
    result = cleanup(config.state_dir)
    assert (result["pid"], result["exit_status"]) == (pid, 137)
    assert abs(result["exited_at"] - time.time_ns()) < 60e9
    assert wait_gone(pid)


def test_launcher(lab: Lab, tmp_path: Path) -> None:
    launcher = Launcher(str(tmp_path / "launcher.sock"))
    try:
        config, shim_pid, fifos = lab.shim("sh", "-c", "exit 4", launcher=launcher)
        with open(f"/proc/{shim_pid}/stat") as f:
            assert int(f.read().rsplit(")", 1)[1].split()[1]) != launcher.pid  # detached
        with ShimClient(config.socket, timeout=10) as client:
            client.call("create", **fifos.args())
            client.call("start")
            assert client.call("wait")["exit_status"] == 4
        # a bad config is the caller's error, said so
        with pytest.raises(InvalidArgument), ShimClient(str(tmp_path / "launcher.sock"), timeout=5) as conn:
            conn.response(conn.send("spawn", config={"container_id": ""}))
    finally:
        launcher.stop()
    assert launcher.proc.returncode == 0 and not (tmp_path / "launcher.sock").exists()
    assert process_alive(shim_pid)  # the shim does not depend on the launcher
