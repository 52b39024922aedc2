"""Bad bundles and bad arguments: both runtimes refuse them, and nothing is left behind.

Each failure must exit non-zero; dockyard's stderr must be ONE line that names the problem.
After every failure the state root has no entry for the id, there are no cgroup dirs, no
processes and no mounts of the container (checked here and by the autouse leak check).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from typing import Any

import pytest
from tests.support import hostcheck
from tests.support.bundles import Bundle, BundleFactory
from tests.support.runtimes import Runtime

pytestmark = pytest.mark.root


def assert_failed(runtime: Runtime, proc: subprocess.CompletedProcess[str], *needles: str) -> str:
    """Non-zero; the stderr message (one line for dockyard) contains every needle."""
    assert proc.returncode != 0, f"{runtime.name} succeeded: {proc.stdout!r}"
    text = proc.stderr.strip()
    if runtime.name == "dockyard":
        assert len(text.splitlines()) == 1, f"not one line:\n{text}"
    for needle in needles:
        assert needle in text, f"{needle!r} not in {text!r}"
    return text


def assert_nothing_left(runtime: Runtime, cid: str, session_token: str) -> None:
    assert not (runtime.root / cid).exists(), "state dir left"
    assert not [c for c in hostcheck.cgroup_dirs(session_token) if c.endswith("/" + cid)]
    assert not [m for m in (f[4] for f in hostcheck.mountinfo()) if cid in m]
    deadline = time.monotonic() + 2
    while hostcheck.marked_processes(session_token):
        assert time.monotonic() < deadline, f"left: {hostcheck.marked_processes(session_token)}"
        time.sleep(0.02)


def create_fails(
    runtime: Runtime, bundle: Bundle, session_token: str, *needles: str, cid: str | None = None
) -> str:
    cid = cid or bundle.id
    proc = runtime.create(cid, bundle)
    text = assert_failed(runtime, proc, *needles)
    assert_nothing_left(runtime, cid, session_token)
    return text


# -- the bundle ------------------------------------------------------------------------------------


def test_missing_config(runtime: Runtime, make_bundle: BundleFactory, session_token: str) -> None:
    bundle = make_bundle()
    (bundle.path / "config.json").unlink()
    create_fails(runtime, bundle, session_token, "config.json")


def test_malformed_json(runtime: Runtime, make_bundle: BundleFactory, session_token: str) -> None:
    bundle = make_bundle()
    (bundle.path / "config.json").write_text('{"ociVersion": "1.0.2", "process": {')
    create_fails(runtime, bundle, session_token)


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        pytest.param({"process": {"args": "true"}}, "args", id="args-not-a-list"),
        pytest.param({"linux": {"namespaces": [{"type": "foo"}]}}, "foo", id="namespace-foo"),
    ],
)
def test_bad_field(
    runtime: Runtime, make_bundle: BundleFactory, session_token: str, overrides: dict[str, Any], needle: str
) -> None:
    bundle = make_bundle(["true"], overrides)
    text = create_fails(runtime, bundle, session_token)
    if runtime.name == "dockyard":
        assert needle in text


def test_missing_rootfs(runtime: Runtime, make_bundle: BundleFactory, session_token: str) -> None:
    bundle = make_bundle(["true"])
    bundle.update(root={"path": "no-such-rootfs"})
    text = create_fails(runtime, bundle, session_token)
    if runtime.name == "dockyard":
        assert "no-such-rootfs" in text and "does not exist" in text


def test_missing_bundle_dir(runtime: Runtime, make_bundle: BundleFactory, session_token: str) -> None:
    bundle = make_bundle()
    shutil.rmtree(bundle.path)
    bundle.path.mkdir()
    bundle.io_dir.mkdir()
    gone = bundle.path / "gone"
    proc = runtime.call("create", "--bundle", str(gone), bundle.id, io_dir=bundle.io_dir)
    runtime.track(bundle.id)
    assert_failed(runtime, proc)
    assert_nothing_left(runtime, bundle.id, session_token)


def test_executable_not_found(runtime: Runtime, make_bundle: BundleFactory, session_token: str) -> None:
    bundle = make_bundle(["no-such-command"])
    create_fails(runtime, bundle, session_token, "executable file not found in $PATH", "no-such-command")


def test_invalid_sysctl(runtime: Runtime, make_bundle: BundleFactory, session_token: str) -> None:
    bundle = make_bundle(["true"], {"linux": {"sysctl": {"net.no.such.key": "1"}}})
    text = create_fails(runtime, bundle, session_token)
    if runtime.name == "dockyard":
        assert "net.no.such.key" in text


def test_prestart_hook_fails(runtime: Runtime, make_bundle: BundleFactory, session_token: str) -> None:
    hooks = {"prestart": [{"path": "/bin/sh", "args": ["sh", "-c", "echo nope >&2; exit 1"]}]}
    bundle = make_bundle(["true"], {"hooks": hooks})
    text = create_fails(runtime, bundle, session_token)
    if runtime.name == "dockyard":
        assert "prestart" in text


def test_invalid_id(runtime: Runtime, make_bundle: BundleFactory, session_token: str) -> None:
    bundle = make_bundle()
    text = create_fails(runtime, bundle, session_token, cid="bad:id")
    assert "invalid container id format" in text.lower()


# -- ids and names ---------------------------------------------------------------------------------


def test_duplicate_id(runtime: Runtime, make_bundle: BundleFactory) -> None:
    first = make_bundle(["sleep", "600"])
    assert runtime.create(first.id, first).returncode == 0
    pid = runtime.state_json(first.id)["pid"]
    second = make_bundle(["true"])
    proc = runtime.create(first.id, second)
    assert_failed(runtime, proc, "container with given ID already exists")
    doc = runtime.state_json(first.id)
    assert (doc["status"], doc["pid"], doc["bundle"]) == ("created", pid, str(first.path))
    assert runtime.start(first.id).returncode == 0
    assert runtime.state_json(first.id)["status"] == "running"
    assert runtime.delete(first.id, force=True).returncode == 0


@pytest.mark.parametrize("sig", ["FOO", "SIGNOPE", "65", "-1"])
def test_unknown_signal(runtime: Runtime, make_bundle: BundleFactory, sig: str) -> None:
    bundle = make_bundle(["sleep", "600"])
    assert runtime.create(bundle.id, bundle).returncode == 0
    proc = runtime.call("kill", bundle.id, sig)
    assert_failed(runtime, proc)
    assert runtime.state_json(bundle.id)["status"] == "created"


def test_unknown_container(runtime: Runtime, make_bundle: BundleFactory) -> None:
    for verb in ("start", "state", "kill", "pause", "resume", "ps"):
        proc = runtime.call(verb, "no-such-container")
        assert_failed(runtime, proc, "container does not exist")
    proc = runtime.call("delete", "no-such-container")
    assert_failed(runtime, proc, "container does not exist")
    assert runtime.call("delete", "--force", "no-such-container").returncode == 0


@pytest.mark.parametrize("name", ["with space", "ünïcödé", "quote'and\"double", "dollar$HOME"])
def test_odd_bundle_path(runtime: Runtime, make_bundle: BundleFactory, name: str) -> None:
    bundle = make_bundle(["sh", "-c", "echo ok"])
    odd = bundle.path.parent / f"{bundle.id} {name}"
    os.rename(bundle.path, odd)
    bundle.path = odd
    bundle.io_dir = odd / "io"
    proc = runtime.run(bundle.id, bundle)
    assert (proc.returncode, proc.stdout) == (0, "ok\n"), proc.stderr
    assert runtime.create(bundle.id, bundle).returncode == 0
    assert runtime.state_json(bundle.id)["bundle"] == str(odd)
    assert json.loads(runtime.list("json").stdout)[0]["bundle"] == str(odd)
    assert runtime.start(bundle.id).returncode == 0
    assert runtime.delete(bundle.id, force=True).returncode == 0
