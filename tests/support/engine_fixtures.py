"""Engine fixtures (load with ``pytest_plugins = ["tests.support.engine_fixtures"]``).

- ``engine``: one dockyardd for the module (its own data and exec roots, its own
  dockyard-containerd), checked to leave nothing behind when it stops.
- ``engine_busybox``: that engine with the busybox test image imported into its namespace
  (``dockyard``) through ``ctr images import``; the image's name.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.engine import RunningEngine, dockyardd
from tests.support.images import save_busybox_archive

BUSYBOX = "docker.io/library/busybox:latest"


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEngine]:
    with dockyardd(tmp_path_factory.mktemp("engine")) as running:
        yield running


@pytest.fixture(scope="module")
def engine_busybox(engine: RunningEngine, tmp_path_factory: pytest.TempPathFactory) -> str:
    archive: Path
    archive, _ = save_busybox_archive(tmp_path_factory.mktemp("engine-image"))
    engine.ctr("-n", "dockyard", "images", "import", str(archive))
    return BUSYBOX
