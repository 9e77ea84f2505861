"""The code base stays ruff-clean: the README's test command is the one check everyone runs."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_is_clean():
    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (pip install -e '.[test]' brings it)")
    result = subprocess.run([ruff, "check", "losslab", "tests", "packaging"], cwd=ROOT, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_package_imports_with_this_python():
    subprocess.run([sys.executable, "-c", "import losslab, losslab.cli"], cwd=ROOT, check=True)
