"""Suite-wide test setup: the ``root`` and ``runc`` markers skip with a reason."""

from __future__ import annotations

import os
import shutil

import pytest


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("root") is not None and os.geteuid() != 0:
        pytest.skip("needs root (namespaces, mounts, cgroups)")
    if item.get_closest_marker("runc") is not None and shutil.which("runc") is None:
        pytest.skip("runc is not installed (apt-get install runc)")
