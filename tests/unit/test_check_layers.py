"""tools/check_layers.py: the import-layering check finds violations in a fake tree."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

TOOL = Path(__file__).resolve().parents[2] / "tools" / "check_layers.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_layers", TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["check_layers"] = module  # dataclasses look the module up by name
    spec.loader.exec_module(module)
    return module


check_layers = _load()


def make_tree(root: Path, files: dict[str, str]) -> Path:
    """Write a fake ``dockyard`` package under ``root``; returns the package dir."""
    pkg = root / "dockyard"
    for rel, text in {"__init__.py": "", "errors.py": "", **files}.items():
        path = pkg / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        for parent in path.relative_to(pkg).parents:
            init = pkg / parent / "__init__.py"
            if not init.exists():
                init.write_text("")
        path.write_text(textwrap.dedent(text))
    return pkg


def found(pkg: Path) -> list[tuple[str, int, str, str]]:
    return [
        (str(v.path.relative_to(pkg)), v.line, v.importer, v.imported)
        for v in check_layers.check_tree(pkg)
    ]


def test_clean_tree_has_no_violations(tmp_path: Path) -> None:
    pkg = make_tree(
        tmp_path,
        {
            "oci/spec.py": "from dockyard.errors import InvalidArgument\n",
            "runtime/cli.py": """\
                import dockyard.oci.spec
                from dockyard import errors
                from dockyard.oci import spec
                from ..oci import spec as s2
                from . import other
                """,
            "runtime/other.py": "",
            "cli/main.py": "import dockyard.engine\nimport dockyard.runtime.cli\nimport os\n",
            "engine/__init__.py": "from dockyard.containerd import x\n",
            "containerd/x.py": "from dockyard.shim import y\n",
            "shim/y.py": "from dockyard.runtime import cli\n",
        },
    )
    assert found(pkg) == []


def test_upward_imports_are_violations(tmp_path: Path) -> None:
    pkg = make_tree(
        tmp_path,
        {
            "oci/spec.py": "import os\nimport dockyard.runtime.cli\n",
            "runtime/cli.py": """\
                from __future__ import annotations
                TYPE_CHECKING = False
                if TYPE_CHECKING:
                    from dockyard.shim.main import Shim

                def later() -> None:
                    from dockyard import engine
                """,
            "runtime/cgroups/v1.py": "from ...containerd import store\n",
            "errors.py": "from dockyard.oci import spec\n",
        },
    )
    assert found(pkg) == [
        ("errors.py", 1, "dockyard.errors", "dockyard.oci"),
        ("oci/spec.py", 2, "dockyard.oci.spec", "dockyard.runtime.cli"),
        ("runtime/cgroups/v1.py", 1, "dockyard.runtime.cgroups.v1", "dockyard.containerd"),
        ("runtime/cli.py", 4, "dockyard.runtime.cli", "dockyard.shim.main"),
        ("runtime/cli.py", 7, "dockyard.runtime.cli", "dockyard.engine"),
    ]


def test_dynamic_import_module_with_literal_prefix(tmp_path: Path) -> None:
    pkg = make_tree(
        tmp_path,
        {
            "runtime/cli.py": """\
                import importlib
                def load(verb: str) -> object:
                    importlib.import_module(f"dockyard.runtime.cmd_{verb}")
                    return importlib.import_module("dockyard.cli.main")
                """,
        },
    )
    assert found(pkg) == [("runtime/cli.py", 4, "dockyard.runtime.cli", "dockyard.cli.main")]


def test_module_outside_the_layers_is_reported(tmp_path: Path) -> None:
    pkg = make_tree(tmp_path, {"helpers.py": "", "oci/a.py": "import dockyard.helpers\n"})
    assert found(pkg) == [
        ("helpers.py", 1, "dockyard.helpers", "-"),
        ("oci/a.py", 1, "dockyard.oci.a", "dockyard.helpers"),
    ]


@pytest.mark.parametrize("bad", [False, True])
def test_command_line_output_and_status(tmp_path: Path, bad: bool) -> None:
    imported = "dockyard.shim" if bad else "dockyard.oci"
    pkg = make_tree(tmp_path, {"runtime/state.py": f"\n\nimport {imported}\n"})
    proc = subprocess.run(
        [sys.executable, str(TOOL), str(pkg)], capture_output=True, text=True, check=False
    )
    if bad:
        assert proc.returncode == 1
        assert proc.stdout == (
            f"{pkg}/runtime/state.py:3: dockyard.runtime.state imports dockyard.shim "
            "(layer rule: runtime may import oci, runtime and errors)\n"
        )
    else:
        assert (proc.returncode, proc.stdout) == (0, "")


def test_syntax_error_is_reported(tmp_path: Path) -> None:
    pkg = make_tree(tmp_path, {"oci/broken.py": "def f(:\n"})
    [violation] = check_layers.check_tree(pkg)
    assert violation.line == 1 and "syntax error" in violation.reason
