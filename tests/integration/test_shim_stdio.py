"""The shim owns a container's stdio: the client's fifos (stdout captured, stdin copied in
until ``close_io``) or a pty relayed to them, with resize; and it passes exit codes and the
runtime's own error text through. Run with dockyard-runc and runc (and crun once)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.bundles import SESSION_ENV, BundleFactory
from tests.support.runtimes import Runtime
from tests.support.shims import ShimLab

from dockyard.errors import DockyardError

pytestmark = pytest.mark.root
pytest_plugins = ["tests.support.shim_fixtures"]


def test_echo_through_fifos_and_exit_code(runtime: Runtime, make_bundle: BundleFactory, shims: ShimLab) -> None:
    shim = shims.start(make_bundle(["sh", "-c", "echo hi; echo oops >&2; exit 3"]), runtime)
    pid = shims.run(shim)
    result = shim.call("wait")
    assert (result["pid"], result["exit_status"]) == (pid, 3)
    assert result["exited_at"] > 0
    assert shim.fifos.read("stdout") == b"hi\n"
    assert shim.fifos.read("stderr") == b"oops\n"
    deleted = shim.call("delete")
    assert (deleted["pid"], deleted["exit_status"], deleted["exited_at"]) == (pid, 3, result["exited_at"])


def test_stdin_to_cat_until_close_io(runtime: Runtime, make_bundle: BundleFactory, shims: ShimLab) -> None:
    shim = shims.start(make_bundle(["cat"]), runtime)
    shims.run(shim)
    shim.fifos.write_stdin(b"first line\n", close=False)
    assert shim.fifos.read("stdout", until=b"first line\n") == b"first line\n"
    shim.fifos.write_stdin(b"second\n")  # and the client closes its end
    assert shim.call("state")["status"] == "running"  # the shim still holds stdin open
    shim.call("close_io")
    assert shim.call("wait")["exit_status"] == 0
    assert shim.fifos.read("stdout") == b"first line\nsecond\n"


def test_close_io_without_input(runtime: Runtime, make_bundle: BundleFactory, shims: ShimLab) -> None:
    shim = shims.start(make_bundle(["sh", "-c", "wc -c; exit 4"]), runtime)
    shims.run(shim)
    shim.call("close_io")
    assert shim.call("wait")["exit_status"] == 4
    assert shim.fifos.read("stdout").strip() == b"0"


def test_pty_session_and_resize(runtime: Runtime, make_bundle: BundleFactory, shims: ShimLab) -> None:
    script = "tty; read line; stty size; echo got $line; exit 5"
    bundle = make_bundle(["sh", "-c", script], process={"terminal": True})
    shim = shims.start(bundle, runtime)
    shims.run(shim, terminal=True, stderr="")
    assert b"/dev/pts/0" in shim.fifos.read("stdout", until=b"/dev/pts/0")
    assert not list(Path("/tmp").glob(f"dockyard-pty-{shim.pid}-*"))  # the console socket is gone
    shim.call("resize_pty", width=123, height=45)
    shim.fifos.write_stdin(b"hello\n", close=False)
    assert shim.call("wait")["exit_status"] == 5
    out = shim.fifos.read("stdout").replace(b"\r\n", b"\n")
    assert out.splitlines()[-2:] == [b"45 123", b"got hello"], out


def test_runtime_error_text_reaches_the_client(
    runtime: Runtime, make_bundle: BundleFactory, shims: ShimLab
) -> None:
    shim = shims.start(make_bundle(["no-such-command-here"]), runtime)
    with pytest.raises(DockyardError) as info:
        shims.run(shim)
    assert "no-such-command-here" in str(info.value)
    assert str(info.value).startswith("OCI runtime create failed: ")
    assert shim.call("connect")["pid"] == 0  # no task was left behind
    assert runtime.state(shim.id).returncode != 0


def test_terminal_output_without_stdin(dockyard_runc: Runtime, make_bundle: BundleFactory, shims: ShimLab) -> None:
    bundle = make_bundle(["sh", "-c", "seq 1 2000; exit 0"], process={"terminal": True})
    shim = shims.start(bundle, dockyard_runc)
    shims.run(shim, terminal=True, stdin="", stderr="")
    assert shim.call("wait")["exit_status"] == 0
    lines = shim.fifos.read("stdout").replace(b"\r\n", b"\n").splitlines()
    assert lines[0] == b"1" and lines[-1] == b"2000" and len(lines) == 2000


CRUN_WRAPPER = """#!/bin/sh
# crun refuses this host's hybrid cgroup layout (a controller on the cgroup2 mount): run it
# where /sys/fs/cgroup/unified is unmounted (as bench/runtime_lifecycle.py does)
exec unshare -m sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null; exec "$0" "$@"' {crun} "$@"
"""


@pytest.fixture
def crun(_test_env: object, work_dir: Path, session_token: str) -> Iterator[Runtime]:
    """crun, the third runtime the shim may drive (its own root; deleted at teardown)."""
    found = shutil.which("crun")
    if found is None or shutil.which("unshare") is None:
        pytest.skip("crun (or unshare) is not installed")
    root = work_dir / "root-crun"
    root.mkdir(exist_ok=True)
    wrapper = work_dir / "crun-wrapper"
    wrapper.write_text(CRUN_WRAPPER.format(crun=found))
    wrapper.chmod(0o755)
    runner = Runtime("crun", [str(wrapper)], root, env={SESSION_ENV: session_token})
    yield runner
    errors = runner.cleanup()
    assert not errors, errors


def test_crun_fifos_and_pty(crun: Runtime, make_bundle: BundleFactory, shims: ShimLab) -> None:
    shim = shims.start(make_bundle(["sh", "-c", "echo via crun; exit 3"]), crun)
    shims.run(shim)
    assert shim.call("wait")["exit_status"] == 3
    assert shim.fifos.read("stdout") == b"via crun\n"
    bundle = make_bundle(["sh", "-c", "tty; stty size"], process={"terminal": True})
    tty_shim = shims.start(bundle, crun)
    shims.run(tty_shim, terminal=True, stdin="", stderr="")
    assert tty_shim.call("wait")["exit_status"] == 0
    assert tty_shim.fifos.read("stdout").startswith(b"/dev/pts/0")
