"""The architecture is checked, not only described: import contracts (pyproject's [tool.importlinter])
and strict types on the core (pyproject's [tool.mypy]). ARCHITECTURE.md is the map they keep true."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept():
    pytest.importorskip("importlinter", reason="pip install -e '.[test]' brings import-linter")
    # lint-imports' own entry point, run with this Python (the console script may not be on PATH)
    run = "import sys; from importlinter.cli import lint_imports_command as c; sys.exit(c(['--no-cache']))"
    result = subprocess.run([sys.executable, "-c", run], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_core_is_strictly_typed():
    pytest.importorskip("mypy", reason="pip install -e '.[test]' brings mypy")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "--config-file", "pyproject.toml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
