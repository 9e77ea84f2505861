"""The code base stays ruff-clean and ruff-formatted: the one style check everyone runs."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHECKED = ["losslab", "tests", "packaging"]


def _ruff() -> str:
    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (pip install -e '.[test]' brings it)")
    return ruff


def test_ruff_is_clean():
    result = subprocess.run([_ruff(), "check", *CHECKED], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_applied():
    result = subprocess.run(
        [_ruff(), "format", "--check", *CHECKED], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, (
        "run `ruff format losslab tests packaging`:\n" + result.stdout + result.stderr
    )


def test_package_imports_with_this_python():
    subprocess.run([sys.executable, "-c", "import losslab, losslab.cli"], cwd=ROOT, check=True)
