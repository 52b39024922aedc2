"""Fixtures of the CLI tests: a fake Engine API server and a way to run ``dockyard`` in-process."""

from __future__ import annotations

import io
import shutil
import tempfile
from collections.abc import Callable, Iterator

import pytest
from tests.unit.cli.fake_engine import VERSION, FakeEngine, Result

from dockyard.cli.main import main


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DOCKER_HOST", "DOCKER_API_VERSION", "DOCKER_CONFIG"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def short_dir() -> Iterator[str]:
    """A directory with a short path (a unix socket path must fit in 108 bytes)."""
    path = tempfile.mkdtemp(prefix="dycli")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def engine(short_dir: str) -> Iterator[FakeEngine]:
    with FakeEngine(f"{short_dir}/engine.sock") as fake:
        fake.json("GET", "/version", VERSION)
        yield fake


@pytest.fixture
def dockyard() -> Callable[..., Result]:
    """``dockyard("version", "--format", "x")`` runs the CLI in-process."""
    def run(*argv: str) -> Result:
        out, err = io.StringIO(), io.StringIO()
        status = main(list(argv), out, err)
        return Result(status, out.getvalue(), err.getvalue())
    return run
