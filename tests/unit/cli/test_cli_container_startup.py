"""The container commands' hot paths stay import-light too (``run --rm`` is the benchmark)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.unit.cli.test_cli_startup import HEAVY, loaded_modules

COMMANDS = [["run", "--rm", "-e", "A=1", "-v", "/a:/b", "-p", "80:80", "busybox", "true"], ["create", "busybox"],
            ["start", "-a", "x"], ["ps", "-a"], ["exec", "x", "true"], ["logs", "x"], ["stop", "x"], ["rm", "-f", "x"],
            ["inspect", "x"], ["wait", "x"], ["attach", "x"], ["run", "--help"]]


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_container_command_imports_no_heavy_module(tmp_path: Path, argv: list[str]) -> None:
    code = (f"from dockyard.cli.main import main; "
            f"main(['-H', 'unix://{tmp_path}/none.sock', *{argv!r}], io.StringIO(), io.StringIO())")
    assert not loaded_modules(code) & HEAVY
