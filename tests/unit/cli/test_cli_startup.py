"""Start-up is a feature: the CLI's hot paths load only the standard library's basics."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[3] / "src")
HEAVY = {"asyncio", "aiohttp", "grpc", "rich", "json", "re", "http", "email", "ssl", "argparse", "typing",
         "socket", "datetime", "subprocess", "threading", "logging", "dataclasses", "enum", "inspect",
         "urllib", "os", "google", "zstandard", "requests"}


def loaded_modules(code: str) -> set[str]:
    script = (f"import sys; sys.path.insert(0, {SRC!r}); import io\n{code}\n"
              "print(' '.join(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-IS", "-c", script], capture_output=True, text=True, check=True).stdout
    return {name.split(".")[0] for name in out.split()}


@pytest.mark.parametrize("argv", [["--version"], ["version", "--help"], ["--help"]])
def test_frame_imports_no_heavy_module(argv: list[str]) -> None:
    modules = loaded_modules(f"from dockyard.cli.main import main; main({argv!r}, io.StringIO(), io.StringIO())")
    assert not modules & HEAVY


def test_version_command_imports_no_heavy_module(tmp_path: Path) -> None:
    code = (f"from dockyard.cli.main import main; "
            f"main(['-H', 'unix://{tmp_path}/none.sock', 'version'], io.StringIO(), io.StringIO())")
    assert not loaded_modules(code) & HEAVY
