"""Shim fixtures (load with ``pytest_plugins = ["tests.support.shim_fixtures"]``).

- ``shims``: a :class:`tests.support.shims.ShimLab` for the test; every shim it started is
  killed, deleted and shut down at teardown (before the runtimes' own cleanup and the
  host-leak check, which then also finds a shim left alive by its session marker).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.support.shims import ShimLab

_numbers = itertools.count(1)


@pytest.fixture
def shims(_test_env: Any, work_dir: Path, session_token: str) -> Iterator[ShimLab]:
    base = work_dir / "shims" / str(next(_numbers))
    base.mkdir(parents=True, exist_ok=True)
    lab = ShimLab(base, session_token)
    yield lab
    problems = lab.teardown()
    if problems:
        pytest.fail("shim cleanup failed:\n" + "\n".join(problems), pytrace=False)
