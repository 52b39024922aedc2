"""The README's main-job command: ``scripts/quickstart.sh`` starts the engine and runs
``echo hello`` through the whole stack, then leaves nothing behind."""

from __future__ import annotations

import glob
import subprocess
from pathlib import Path

import pytest
from tests.support import hostcheck
from tests.support.engine import processes_mentioning

pytestmark = pytest.mark.root

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "quickstart.sh"


def test_quickstart_runs_hello_through_the_engine() -> None:
    before = set(glob.glob("/tmp/dockyard-quickstart.*"))
    proc = subprocess.run([str(SCRIPT)], capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert "hello" in lines, proc.stdout
    assert lines[-1].startswith("quickstart/busybox   latest "), proc.stdout
    assert set(glob.glob("/tmp/dockyard-quickstart.*")) == before
    assert processes_mentioning("/tmp/dockyard-quickstart.") == []
    assert [m for m in hostcheck.mounts_under(Path("/tmp")) if "/dockyard-quickstart." in m] == []
