"""Capabilities applied for real in a forked child that changes user and execs (root only)."""

from __future__ import annotations

import os

import pytest

from dockyard.runtime import capabilities as caps
from dockyard.runtime.syscalls import LinuxSyscalls

pytestmark = pytest.mark.root


def child_status(config: dict[str, list[str]], uid: int, exec_probe: bool) -> dict[str, int]:
    """Fork; apply ``config`` around a change to ``uid``; return the Cap* lines of the child."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            os.close(r)
            sets = caps.from_config(config)

            def change_user() -> None:
                os.setgroups([])
                os.setgid(uid)
                os.setuid(uid)

            caps.apply_all(LinuxSyscalls(), sets, change_user)
            if exec_probe:
                os.dup2(w, 1)
                os.execv("/bin/grep", ["grep", "^Cap", "/proc/self/status"])
            with open("/proc/self/status") as status:
                os.write(w, "".join(x for x in status if x.startswith("Cap")).encode())
        except BaseException as exc:
            os.write(w, f"error {type(exc).__name__}: {exc}".encode())
        os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        text = f.read().decode()
    os.waitpid(pid, 0)
    assert not text.startswith("error"), text
    return {k: int(v, 16) for k, v in (line.split(":\t") for line in text.splitlines())}


CONFIG = {
    "bounding": ["CAP_CHOWN", "CAP_NET_BIND_SERVICE"],
    "effective": ["CAP_CHOWN", "CAP_NET_BIND_SERVICE"],
    "permitted": ["CAP_CHOWN", "CAP_NET_BIND_SERVICE"],
    "inheritable": ["CAP_NET_BIND_SERVICE"],
    "ambient": ["CAP_NET_BIND_SERVICE"],
}


def test_sets_after_user_change() -> None:
    got = child_status(CONFIG, 65534, exec_probe=False)
    assert got == {
        "CapInh": 0x400, "CapPrm": 0x401, "CapEff": 0x401, "CapBnd": 0x401, "CapAmb": 0x400
    }


def test_ambient_survives_exec_as_non_root() -> None:
    got = child_status(CONFIG, 65534, exec_probe=True)
    assert got == {
        "CapInh": 0x400, "CapPrm": 0x400, "CapEff": 0x400, "CapBnd": 0x401, "CapAmb": 0x400
    }


def test_root_keeps_listed_sets_through_exec() -> None:
    config = dict(CONFIG, ambient=[])
    got = child_status(config, 0, exec_probe=True)
    # root: execve recomputes permitted/effective from the bounding set
    assert got["CapBnd"] == 0x401 and got["CapEff"] == 0x401 and got["CapAmb"] == 0
