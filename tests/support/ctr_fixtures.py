"""Fixtures for ``ctr`` driving tasks (load with ``pytest_plugins = ["tests.support.ctr_fixtures"]``).

- ``busybox_archive`` (session): a docker-archive of the busybox test image
  (tests/support/images.py), made with dockyard's ``docker_archive.save``.
- ``ctrd`` (module): one dockyard-containerd for the module (socket, root and state in a
  temporary directory); stopped by PID at the end, when it must exit 0, remove its socket
  and leave no mount under its directory.
- ``space``: a namespace of the test's own on ``ctrd`` with busybox imported; at the end
  every task is killed and deleted and nothing may be left (:meth:`Space.teardown`).

``open_space`` (tests/support/ctrtasks.py) makes such a namespace on any engine (a daemon of
the test's own, containerd).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.ctrd import RunningDaemon
from tests.support.ctrtasks import Space, mounts_left, open_space, stop_daemon
from tests.support.images import build_busybox_image

from dockyard.containerd.content import ContentStore
from dockyard.containerd.formats import docker_archive


@pytest.fixture(scope="session")
def busybox_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("busybox-archive")
    store = ContentStore(work / "content")
    image = build_busybox_image(store)
    path = work / "busybox.tar"
    with open(path, "wb") as out:
        docker_archive.save([("busybox:latest", image.manifest)], store, out)
    return path


@pytest.fixture(scope="module")
def ctrd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDaemon]:
    base = tmp_path_factory.mktemp("ctrd")
    running = RunningDaemon.start(base)
    try:
        yield running
    finally:
        problems = stop_daemon(running)
        left = mounts_left(base)
        if left:
            problems.append(f"mounts left under {base}: {left}")
        else:
            shutil.rmtree(base, ignore_errors=True)
        assert not problems, "\n".join(problems)


@pytest.fixture
def space(request: pytest.FixtureRequest, ctrd: RunningDaemon, session_token: str,
          busybox_archive: Path) -> Iterator[Space]:
    with open_space(ctrd, request, session_token, busybox_archive) as made:
        yield made
