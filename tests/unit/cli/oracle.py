"""The real ``docker`` CLI as an oracle: run it against a fake engine and keep what it printed.

``docker_run(host, argv)`` runs ``/usr/local/bin/docker`` (or the one on PATH) with
``DOCKER_HOST`` pointing at the fake engine and a config directory of its own; with
``tty=True`` its stdout is a pseudo-terminal of ``cols`` columns, as for a user watching a
pull. Tests compare ``dockyard``'s output with it byte for byte and skip when docker is not
installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

import pytest
from tests.unit.cli.fake_engine import Result

DOCKER = shutil.which("docker") or ("/usr/local/bin/docker" if os.path.exists("/usr/local/bin/docker") else None)
needs_docker = pytest.mark.skipif(DOCKER is None, reason="the docker CLI is not installed")


def _env(host: str, config_dir: str | None, extra: dict[str, str] | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    env.update({"DOCKER_HOST": host, "DOCKER_CONFIG": config_dir or "/nonexistent", "TZ": "UTC", "NO_COLOR": "1"})
    env.update(extra or {})
    return env


def docker_run(host: str, argv: list[str], stdin: bytes = b"", config_dir: str | None = None,
               env: dict[str, str] | None = None, tty: bool = False, cols: int = 120) -> Result:
    """Run ``docker argv`` against ``host``; stdout on a pty of ``cols`` columns when ``tty``."""
    assert DOCKER is not None
    if not tty:
        proc = subprocess.run([DOCKER, *argv], input=stdin, env=_env(host, config_dir, env), capture_output=True,
                              timeout=60)
        return Result(proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace"))
    return _run_on_pty([DOCKER, *argv], _env(host, config_dir, env), cols)


def _run_on_pty(argv: list[str], env: dict[str, str], cols: int) -> Result:
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, cols, 0, 0))
    attrs = termios.tcgetattr(slave)
    attrs[1] &= ~termios.ONLCR  # keep "\n" as it was written
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=slave, stderr=err, env=env)
        os.close(slave)
        chunks = []
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the other side is closed
                break
            if not data:
                break
            chunks.append(data)
        os.close(master)
        status = proc.wait(timeout=60)
        err.seek(0)
        return Result(status, b"".join(chunks).decode("utf-8", "replace"), err.read().decode("utf-8", "replace"))
