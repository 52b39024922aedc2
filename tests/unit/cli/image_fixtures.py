"""Fixtures of the image and system command tests: the image engine, a frozen clock, a runner.

Load with ``pytest_plugins = ["tests.unit.cli.image_fixtures"]`` and mark the module with
``pytestmark = pytest.mark.usefixtures("frozen_clock")``: the clock stands at 2026-11-28T13:00:00Z
in UTC, so relative times ("2 years ago") are fixed.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterator

import pytest
from tests.unit.cli import image_engine
from tests.unit.cli.fake_engine import FakeEngine, Result

from dockyard.cli.main import main

NOW = image_engine.FROZEN_NOW


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    monkeypatch.setattr(time, "time", lambda: NOW)
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def image_daemon(engine: FakeEngine) -> FakeEngine:
    return image_engine.install(engine)


@pytest.fixture
def dy(image_daemon: FakeEngine, tmp_path: object) -> Callable[..., Result]:
    """``dy("images", "-q")`` runs dockyard on the image engine with its own config dir."""
    config = str(tmp_path)

    def go(*argv: str, stdin: str = "", out: io.StringIO | None = None, inp: io.StringIO | None = None) -> Result:
        from dockyard.cli import command

        out = out if out is not None else io.StringIO()
        err = io.StringIO()
        original = command.Cli.__init__

        def init(self: command.Cli, *args: object, **kwargs: object) -> None:
            original(self, *args, **kwargs)  # type: ignore[arg-type]
            self.inp = inp if inp is not None else io.StringIO(stdin)

        command.Cli.__init__ = init  # type: ignore[method-assign]
        try:
            status = main(["-H", image_daemon.host, "--config", config, *argv], out, err)
        finally:
            command.Cli.__init__ = original  # type: ignore[method-assign]
        return Result(status, out.getvalue(), err.getvalue())
    go.config = config  # type: ignore[attr-defined]
    return go
