"""LossLab finds the files it ships (examples, icons, lessons) in all three layouts it runs from:
a source checkout, an installed wheel, and a PyInstaller bundle (simulated here; the real frozen
build is tests/test_packaging.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from losslab.core.errors import LossLabError
from losslab.core.resources import examples_dir, list_examples, resource_dir, resource_path

ROOT = Path(__file__).resolve().parents[1]
RESOURCES = ROOT / "resources"

# Run in a subprocess from another folder: where are the resources, and do the examples load?
PROBE = """
import json, sys
sys.path.insert(0, sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1] else None
import losslab
from losslab.core.experiment import load_experiment
from losslab.core.resources import list_examples, resource_dir
examples = list_examples()
for path in examples:
    load_experiment(path)
print(json.dumps({"package": losslab.__file__, "resources": str(resource_dir()),
                  "examples": [p.name for p in examples]}))
"""


def shipped_files() -> list[str]:
    """Files under resources/ that LossLab reads at run time (all but the README's screenshot)."""
    return sorted(
        p.relative_to(RESOURCES).as_posix()
        for p in RESOURCES.rglob("*")
        if p.is_file() and not p.name.startswith("screenshot") and "__pycache__" not in p.parts
    )


def probe(python: str | Path, cwd: Path, path_entry: str = "", env: dict[str, str] | None = None) -> dict:
    result = subprocess.run(
        [str(python), "-c", PROBE, path_entry], cwd=cwd, capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


# -- source checkout ----------------------------------------------------------------------------
def test_checkout_finds_the_top_level_resources_folder():
    assert resource_dir() == RESOURCES
    assert examples_dir() == RESOURCES / "examples"
    assert list_examples(), "resources/examples holds no .losslab files"
    assert [p.name for p in list_examples()] == sorted(p.name for p in RESOURCES.glob("examples/*.losslab"))


def test_every_shipped_example_loads():
    from losslab.core.experiment import load_experiment

    for path in list_examples():
        load_experiment(path)


def test_resource_path_names_a_missing_file():
    assert resource_path("examples") == RESOURCES / "examples"
    with pytest.raises(LossLabError, match=r"no_such_icon\.png"):
        resource_path("icons", "no_such_icon.png")


def test_checkout_is_found_from_another_working_directory(tmp_path):
    found = probe(sys.executable, tmp_path)
    assert Path(found["resources"]) == RESOURCES
    assert found["examples"]


# -- wheel ----------------------------------------------------------------------------------------
def test_pyproject_lists_every_package():
    """Packages are listed in pyproject.toml (so resources/ can ship as losslab/resources): a new one
    under losslab/ must be added there, or the wheel and the installers would miss it."""
    from setuptools import find_packages

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    found = set(find_packages(str(ROOT), include=["losslab", "losslab.*"]))
    missing = sorted(found - listed)
    assert not missing, f"add {missing} to [tool.setuptools] packages in pyproject.toml"
    assert config["tool"]["setuptools"]["package-dir"]["losslab.resources"] == "resources"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built from a copy of this checkout (so a build never races other work in the tree)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    shutil.copytree(ROOT / "losslab", src / "losslab", ignore=ignore)
    shutil.copytree(RESOURCES, src / "resources", ignore=ignore)
    out = tmp / "dist"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-w",
            str(out),
            str(src),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (path,) = out.glob("losslab-*.whl")
    return path


def test_wheel_contains_every_resource(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [f for f in shipped_files() if f"losslab/resources/{f}" not in names]
    assert not missing, f"not in the wheel: {missing}"
    assert not [n for n in names if n.startswith("losslab/resources/screenshot")]
    assert not [n for n in names if n.startswith(("resources/", "tests/", "packaging/"))]


def test_unpacked_wheel_finds_resources_inside_the_package(wheel, tmp_path):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    found = probe(sys.executable, cwd, str(site))
    assert Path(found["package"]).is_relative_to(site), "the probe imported another copy of losslab"
    assert Path(found["resources"]) == site / "losslab" / "resources"
    assert found["examples"] == [p.name for p in list_examples()]


def test_wheel_installed_in_a_venv_finds_resources(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)],
        check=True,
        timeout=120,
    )
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    result = subprocess.run(
        [str(python), "-m", "pip", "install", "--no-deps", "--no-index", "--no-compile", "-q", str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    found = probe(python, tmp_path)
    package = Path(found["package"]).parent
    assert package.is_relative_to(venv), f"imported {package}, not the venv's copy"
    assert Path(found["resources"]) == package / "resources"
    assert found["examples"] == [p.name for p in list_examples()]


# -- frozen bundle (layout simulated; tests/test_packaging.py builds the real one) ---------------
def test_frozen_layout_finds_resources_inside_the_bundle(tmp_path):
    bundle = tmp_path / "LossLab" / "_internal"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "losslab", bundle / "losslab", ignore=ignore)
    shutil.copytree(RESOURCES / "examples", bundle / "losslab" / "resources" / "examples")
    code = f"import sys; sys.frozen = True; sys._MEIPASS = {str(bundle)!r}\n" + PROBE
    result = subprocess.run(
        [sys.executable, "-c", code, str(bundle)], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert Path(found["resources"]) == bundle / "losslab" / "resources"
    assert found["examples"] == [p.name for p in list_examples()]
