"""Fixtures for ``ctr`` driving tasks (load with ``pytest_plugins = ["tests.support.ctr_fixtures"]``).

- ``busybox_archive`` (session): a docker-archive of the busybox test image
  (tests/support/images.py), made with dockyard's ``docker_archive.save``.
- ``ctrd`` (module): one dockyard-containerd for the module (socket, root and state in a
  temporary directory); stopped by PID at the end, when it must exit 0, remove its socket
  and leave no mount under its directory (``dockyard_containerd`` in tests/support/ctrd.py).
- ``space``: a namespace of the test's own on ``ctrd`` with busybox imported; at the end
  every task is killed and deleted and nothing may be left (:meth:`Space.teardown`).

``open_space`` (tests/support/ctrtasks.py) makes such a namespace on any engine (a daemon of
the test's own, containerd).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.ctrd import RunningDaemon, dockyard_containerd
from tests.support.ctrtasks import Space, open_space
from tests.support.images import save_busybox_archive


@pytest.fixture(scope="session")
def busybox_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path, _ = save_busybox_archive(tmp_path_factory.mktemp("busybox-archive"))
    return path


@pytest.fixture(scope="module")
def ctrd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDaemon]:
    with dockyard_containerd(tmp_path_factory.mktemp("ctrd")) as running:
        yield running


@pytest.fixture
def space(request: pytest.FixtureRequest, ctrd: RunningDaemon, session_token: str,
          busybox_archive: Path) -> Iterator[Space]:
    with open_space(ctrd, request, session_token, busybox_archive) as made:
        yield made
