"""containerd drives dockyard-runc: its runc shim (containerd-shim-runc-v2) creates,
starts, execs into, pauses, kills and deletes containers with ``--runc-binary`` set to
dockyard-runc, exactly as it does with runc (the same ``ctr`` commands, side by side).

A private containerd runs for the module with its own root, state and socket in a
temporary directory; containers use ``ctr run --rootfs`` (no image needed) and a cgroup
under the tests' own parent, so nothing outside the test's directories is touched.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.bundles import CGROUP_PARENT
from tests.support.real_containerd import private_containerd
from tests.support.runtimes import dockyard_argv, runc_argv

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(shutil.which("containerd") is None or shutil.which("ctr") is None,
                       reason="containerd and ctr are not installed"),
]


class Ctr:
    """``ctr`` against the private containerd, with a chosen runc-compatible binary."""

    def __init__(self, socket: Path, rootfs: Path, runtime: str, token: str) -> None:
        self.socket = socket
        self.rootfs = rootfs
        self.runtime = runtime
        self.token = token
        self.count = 0

    def __call__(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["ctr", "--address", str(self.socket), *args], capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL, check=False)

    def new_id(self) -> str:
        self.count += 1
        return f"{self.token}-ctr-{self.count}"

    def run_args(self, cid: str, *extra: str) -> list[str]:
        return ["run", "--env", "PATH=/bin", "--runc-binary", self.runtime,
                "--cgroup", f"/{CGROUP_PARENT}/{cid}", *extra, "--rootfs", str(self.rootfs), cid]

    def remove(self, cid: str) -> None:
        self("task", "kill", "-s", "KILL", cid)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self("task", "delete", cid).returncode != 0:
            if "not found" in self("task", "ls").stdout or cid not in self("task", "ls").stdout:
                break
            time.sleep(0.05)
        self("container", "delete", cid)


@pytest.fixture(scope="module")
def containerd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    with private_containerd(tmp_path_factory.mktemp("containerd")) as running:
        yield running.address


@pytest.fixture(params=["dockyard", "runc"])
def ctr(request: pytest.FixtureRequest, containerd: Path, busybox_rootfs: Path, session_token: str) -> Ctr:
    if request.param == "runc":
        argv = runc_argv()
        if argv is None:
            pytest.skip("runc is not installed")
    else:
        argv = dockyard_argv()
        if len(argv) != 1:
            pytest.skip("containerd needs dockyard-runc as a single executable")
    return Ctr(containerd, busybox_rootfs, argv[0], session_token)


def test_run_in_the_foreground(ctr: Ctr) -> None:
    cid = ctr.new_id()
    proc = ctr(*ctr.run_args(cid, "--rm"), "sh", "-c", "echo hello; id -u; exit 3")
    assert proc.returncode == 3, proc.stderr
    assert proc.stdout == "hello\n0\n"


def test_detached_task_exec_pause_kill(ctr: Ctr) -> None:
    cid = ctr.new_id()
    proc = ctr(*ctr.run_args(cid, "-d"), "sleep", "600")
    assert proc.returncode == 0, proc.stderr
    try:
        assert "RUNNING" in ctr("task", "ls").stdout
        exec_proc = ctr("task", "exec", "--exec-id", "e1", cid, "sh", "-c", "echo in-exec; exit 4")
        assert exec_proc.returncode == 4, exec_proc.stderr
        assert exec_proc.stdout == "in-exec\n"
        assert ctr("task", "pause", cid).returncode == 0
        assert any(cid in line and "PAUSED" in line for line in ctr("task", "ls").stdout.splitlines())
        assert ctr("task", "resume", cid).returncode == 0
        pids = ctr("task", "ps", cid)
        assert pids.returncode == 0 and len(pids.stdout.splitlines()) == 2, pids.stdout
        assert ctr("task", "kill", "-s", "KILL", cid).returncode == 0
        deadline = time.monotonic() + 10
        while not any(cid in line and "STOPPED" in line for line in ctr("task", "ls").stdout.splitlines()):
            assert time.monotonic() < deadline, ctr("task", "ls").stdout
            time.sleep(0.05)
        assert ctr("task", "delete", cid).returncode == 0
    finally:
        ctr.remove(cid)


def test_create_failure_reaches_the_client(ctr: Ctr) -> None:
    cid = ctr.new_id()
    proc = ctr(*ctr.run_args(cid, "--rm"), "no-such-command")
    assert proc.returncode != 0
    assert 'exec: "no-such-command": executable file not found in $PATH' in proc.stderr
    ctr("container", "delete", cid)
