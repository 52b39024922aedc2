"""Options of ``run``/``create``/``exec`` beyond the basics, side by side with runc:
signal forwarding in the foreground, --preserve-fds, --no-pivot, --no-new-keyring,
``exec --process``, --pid-file relative to the caller, and exec's --cap."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest
from tests.support.bundles import BundleFactory
from tests.support.runtimes import Runtime

pytestmark = pytest.mark.root

# PID 1 of a PID namespace only gets the signals it handles
TERM_TRAP = ["sh", "-c", "trap 'exit 7' TERM; echo ready; while true; do sleep 0.05; done"]


def test_foreground_run_forwards_sigterm(runtime: Runtime, make_bundle: BundleFactory) -> None:
    bundle = make_bundle(TERM_TRAP)
    proc = subprocess.Popen(
        runtime.command("run", "--bundle", str(bundle.path), bundle.id),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=runtime.env,
    )
    runtime.track(bundle.id)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "ready\n"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 7
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_preserve_fds(runtime: Runtime, make_bundle: BundleFactory, tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("from the host\n")
    bundle = make_bundle(["sh", "-c", "cat <&3"])
    command = " ".join(runtime.command("run", "--preserve-fds", "1", "--bundle", str(bundle.path), bundle.id))
    runtime.track(bundle.id)
    proc = subprocess.run(
        ["sh", "-c", f'exec 3<"{secret}"; exec {command}'],
        capture_output=True, text=True, env=runtime.env, timeout=30,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "from the host\n"


def test_without_preserve_fds_nothing_leaks(runtime: Runtime, make_bundle: BundleFactory) -> None:
    bundle = make_bundle(["sh", "-c", "ls /proc/self/fd | sort -n | tr '\\n' ' '"])
    proc = runtime.run(bundle.id, bundle)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["0", "1", "2", "3"]  # 3 is ls's own directory


@pytest.mark.parametrize("flag", ["--no-pivot", "--no-new-keyring"])
def test_run_flags(runtime: Runtime, make_bundle: BundleFactory, flag: str) -> None:
    bundle = make_bundle(["sh", "-c", "cat /proc/self/mountinfo | wc -l > /dev/null && echo ok"])
    proc = runtime.run(bundle.id, bundle, flag)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "ok\n"


def test_exec_process_file_and_caps(runtime: Runtime, make_bundle: BundleFactory, tmp_path: Path) -> None:
    bundle = make_bundle(["sleep", "600"])
    assert runtime.run(bundle.id, bundle, detach=True).returncode == 0
    process = {
        "terminal": False,
        "user": {"uid": 1000, "gid": 1000},
        "args": ["sh", "-c", "echo $GREETING; id -u; pwd"],
        "env": ["PATH=/bin:/usr/bin", "GREETING=hello"],
        "cwd": "/tmp",
    }
    spec = tmp_path / "process.json"
    spec.write_text(json.dumps(process))
    proc = runtime.exec(bundle.id, flags=["--process", str(spec)])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "hello\n1000\n/tmp\n"
    caps = runtime.exec(bundle.id, "sh", "-c", "grep CapBnd /proc/self/status", flags=["--cap", "CAP_SYS_ADMIN"])
    assert caps.returncode == 0, caps.stderr
    assert int(caps.stdout.split()[1], 16) & (1 << 21)  # CAP_SYS_ADMIN added to the bounding set


def test_pid_file_relative_to_the_caller(runtime: Runtime, make_bundle: BundleFactory, tmp_path: Path) -> None:
    bundle = make_bundle(["sleep", "600"])
    runtime.track(bundle.id)
    with open(tmp_path / "create.err", "w") as err:
        proc = subprocess.run(
            runtime.command("create", "--bundle", str(bundle.path), "--pid-file", "init.pid", bundle.id),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
            env=runtime.env, cwd=tmp_path, timeout=30,
        )
    assert proc.returncode == 0, (tmp_path / "create.err").read_text()
    pid = int((tmp_path / "init.pid").read_text())
    assert pid == runtime.state_json(bundle.id)["pid"]
    assert runtime.delete(bundle.id, force=True).returncode == 0


def test_exec_failures_exit_255(runtime: Runtime, make_bundle: BundleFactory) -> None:
    missing = runtime.exec("no-such-container", "true")
    assert missing.returncode == 255
    assert "exec failed: container does not exist" in missing.stderr
    bundle = make_bundle(["sleep", "600"])
    assert runtime.run(bundle.id, bundle, detach=True).returncode == 0
    not_found = runtime.exec(bundle.id, "no-such-command")
    assert not_found.returncode == 255
    assert 'unable to start container process: exec: \\"no-such-command\\": executable file not found' in (
        not_found.stderr
    )
    assert runtime.kill(bundle.id, "KILL").returncode == 0
    deadline = time.monotonic() + 10
    while runtime.state_json(bundle.id)["status"] != "stopped":
        assert time.monotonic() < deadline
    stopped = runtime.exec(bundle.id, "true")
    assert stopped.returncode == 255
    assert "exec failed: cannot exec in a stopped container" in stopped.stderr
