"""hooks.run_hooks: working directory and relative paths, and timeouts of 0 or less (as runc)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dockyard.errors import Internal
from dockyard.runtime import hooks


def test_hook_cwd_per_phase() -> None:
    """runc chdirs into the bundle for create/run; its init (createContainer) is in the rootfs."""
    config = {"root": {"path": "rootfs"}}
    state = {"id": "c1", "bundle": "/b"}
    cwd = {phase: hooks.hook_cwd(config, phase, state) for phase in hooks.PHASES}
    assert cwd == {
        "prestart": "/b",
        "createRuntime": "/b",
        "createContainer": "/b/rootfs",
        "startContainer": None,
        "poststart": "/b",
        "poststop": None,
    }
    assert hooks.hook_cwd({"root": {"path": "/abs/rootfs"}}, "createContainer", state) == "/abs/rootfs"
    assert hooks.hook_cwd(config, "createRuntime", {"id": "c1"}) is None


def test_relative_hook_path_runs_in_the_bundle(tmp_path: Path) -> None:
    hook = tmp_path / "hook.sh"
    hook.write_text("#!/bin/sh\necho ran > hook-ran\n")
    hook.chmod(0o755)
    config = {"hooks": {"createRuntime": [{"path": "hook.sh"}]}}
    hooks.run_hooks(config, "createRuntime", {"id": "c1", "bundle": str(tmp_path)})
    assert (tmp_path / "hook-ran").read_text() == "ran\n"


def test_missing_hook_cwd_is_an_error(tmp_path: Path) -> None:
    config = {"hooks": {"prestart": [{"path": "/bin/true"}]}}
    gone = str(tmp_path / "gone")
    with pytest.raises(Internal, match=rf"error running prestart hook #0: /bin/true: exit status 127: chdir {gone}"):
        hooks.run_hooks(config, "prestart", {"id": "c1", "bundle": gone})


@pytest.mark.parametrize(("timeout", "shown"), [(0, "0.0"), (-1, "-1.0")])
def test_timeout_0_or_less_fails(tmp_path: Path, timeout: int, shown: str) -> None:
    """runc: "error running hook #0: hook ran past specified timeout of 0.0s"."""
    marker = tmp_path / "ran"
    config = {"hooks": {"createRuntime": [
        {"path": "/bin/true", "timeout": timeout},
        {"path": "/bin/sh", "args": ["sh", "-c", f"touch {marker}"]},
    ]}}  # fmt: skip
    with pytest.raises(
        Internal,
        match=rf"error running createRuntime hook #0: /bin/true: hook ran past specified timeout of {shown}s",
    ):
        hooks.run_hooks(config, "createRuntime", {"id": "c1"})
    assert not marker.exists()  # the hooks after the failing one do not run


def test_no_timeout_waits() -> None:
    config = {"hooks": {"poststop": [{"path": "/bin/sh", "args": ["sh", "-c", "sleep 0.1"]}]}}
    hooks.run_hooks(config, "poststop", {"id": "c1"})
