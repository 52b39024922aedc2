"""Check the import layering of ARCHITECTURE.md over src/dockyard.

A module imports only from its own layer or the layers above it in LAYERS; ``errors`` (and
the bare ``dockyard`` package) are for all and themselves import no layer. Every ``.py`` file
is parsed with ``ast``, so imports inside functions, under ``if TYPE_CHECKING:``, relative
imports and ``importlib.import_module("dockyard...")`` with a literal (or f-string) prefix
all count.

Usage: ``python tools/check_layers.py [PACKAGE_DIR]`` (default: src/dockyard next to this
file). Prints ``path:line: dockyard.X imports dockyard.Y (layer rule: ...)`` per violation
and exits 1 if there is any, 0 otherwise.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "dockyard"
LAYERS: tuple[str, ...] = ("oci", "runtime", "shim", "containerd", "engine", "cli")
COMMON: frozenset[str] = frozenset({"errors"})

# Rank of the common modules: they may import only other common modules.
_COMMON_RANK = -1


@dataclass(frozen=True)
class Violation:
    """One import that breaks the layer rule."""

    path: Path
    line: int
    importer: str
    imported: str
    reason: str

    def format(self) -> str:
        if self.imported == "-":
            return f"{self.path}:{self.line}: {self.importer} is in no layer ({self.reason})"
        return f"{self.path}:{self.line}: {self.importer} imports {self.imported} ({self.reason})"


def module_name(package_dir: Path, path: Path) -> str:
    """Dotted module name of ``path`` (a file under ``package_dir``)."""
    rel = path.relative_to(package_dir).with_suffix("")
    parts = [package_dir.name, *rel.parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def rank(module: str) -> int | None:
    """Position of ``module``'s layer in LAYERS, _COMMON_RANK for common, None if unknown.

    ``module`` is a dotted name inside PACKAGE (``dockyard`` itself is common).
    """
    parts = module.split(".")
    if len(parts) == 1:
        return _COMMON_RANK
    top = parts[1]
    if top in COMMON:
        return _COMMON_RANK
    if top in LAYERS:
        return LAYERS.index(top)
    return None


def _allowed(importer_rank: int) -> str:
    if importer_rank == _COMMON_RANK:
        return "common modules import no layer"
    layer = LAYERS[importer_rank]
    names = ", ".join(LAYERS[: importer_rank + 1])
    return f"layer rule: {layer} may import {names} and errors"


def _resolve_relative(importer: str, is_package: bool, level: int, module: str | None) -> str:
    base = importer.split(".")
    if not is_package:
        base = base[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    if module:
        base = [*base, *module.split(".")]
    return ".".join(base)


def _literal_prefix(node: ast.expr) -> str | None:
    """The known leading text of a string literal or f-string, else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr) and node.values:
        first = node.values[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            # Only the complete dotted components are known.
            return first.value.rsplit(".", 1)[0] if "." in first.value else None
    return None


def _is_import_module_call(node: ast.Call) -> bool:
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr == "import_module"
    if isinstance(func, ast.Name):
        return func.id in ("import_module", "__import__")
    return False


def imports(tree: ast.AST, importer: str, is_package: bool) -> Iterator[tuple[int, str]]:
    """Yield ``(line, module)`` for every import of a PACKAGE module in ``tree``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                target = _resolve_relative(importer, is_package, node.level, node.module)
            else:
                target = node.module or ""
            if target == PACKAGE:
                # ``from dockyard import runtime`` imports dockyard.runtime.
                for alias in node.names:
                    yield node.lineno, f"{PACKAGE}.{alias.name}"
            else:
                yield node.lineno, target
        elif isinstance(node, ast.Call) and _is_import_module_call(node) and node.args:
            prefix = _literal_prefix(node.args[0])
            if prefix is not None:
                yield node.lineno, prefix


def check_file(package_dir: Path, path: Path) -> list[Violation]:
    """Violations of the layer rule in one file."""
    importer = module_name(package_dir, path)
    is_package = path.name == "__init__.py"
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except SyntaxError as exc:
        return [Violation(path, exc.lineno or 1, importer, "?", f"syntax error: {exc.msg}")]
    own = rank(importer)
    if own is None:
        layers = ", ".join(LAYERS)
        return [Violation(path, 1, importer, "-", f"layer rule: layers are {layers}, errors")]
    found: list[Violation] = []
    for line, target in imports(tree, importer, is_package):
        if target != PACKAGE and not target.startswith(PACKAGE + "."):
            continue
        other = rank(target)
        if other is None:
            found.append(Violation(path, line, importer, target, "layer rule: not in a layer"))
        elif other > own:
            found.append(Violation(path, line, importer, target, _allowed(own)))
    return found


def check_tree(package_dir: Path) -> list[Violation]:
    """Violations in every ``.py`` file under ``package_dir`` (a ``dockyard`` package dir)."""
    found: list[Violation] = []
    for path in sorted(package_dir.rglob("*.py")):
        found.extend(check_file(package_dir, path))
    return found


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) > 1 or (args and args[0] in ("-h", "--help")):
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        print("usage: check_layers.py [PACKAGE_DIR]", file=sys.stderr)
        return 2
    default = Path(__file__).resolve().parent.parent / "src" / PACKAGE
    package_dir = Path(args[0]) if args else default
    if package_dir.is_absolute() and package_dir.is_relative_to(Path.cwd()):
        package_dir = package_dir.relative_to(Path.cwd())
    if not (package_dir / "__init__.py").is_file():
        print(f"check_layers: {package_dir}: not a package directory", file=sys.stderr)
        return 2
    violations = check_tree(package_dir)
    for violation in violations:
        print(violation.format())
    if violations:
        print(f"check_layers: {len(violations)} violation(s)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
