"""The layers hold: the import-linter contract, and no import hidden inside a function."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "moviemind_lite"
# The front ends may import lazily, so that a command starts fast; the core may not.
FRONT_ENDS = ("cli", "tui", "http")


def test_the_import_linter_contracts_are_kept() -> None:
    """The layers, and front ends reaching the store and the pipeline only through the app."""
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--no-cache"],
        capture_output=True,
        text=True,
        cwd=PACKAGE.parent,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 2 kept, 0 broken." in result.stdout


def hidden_imports(path: Path) -> list[str]:
    """Imports inside functions and ``TYPE_CHECKING`` blocks of one module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            found.append(f"{path.name}:{node.lineno}: TYPE_CHECKING imports")
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found += [
                f"{path.name}:{inner.lineno}: {ast.unparse(inner)}"
                for inner in ast.walk(node)
                if isinstance(inner, ast.Import | ast.ImportFrom)
            ]
    return found


def test_the_core_hides_no_dependency_in_a_function() -> None:
    core = [
        path
        for path in PACKAGE.rglob("*.py")
        if path.relative_to(PACKAGE).parts[0] not in FRONT_ENDS
    ]
    assert len(core) > 50
    assert [found for path in core for found in hidden_imports(path)] == []
