"""The installers' contents: packaging/ (PyInstaller spec, torch hook, bundle filter, build script).

The fast tests check the pieces; ``test_frozen_bundle`` (marked slow) builds dist/LossLab/ into a
temporary folder and runs the frozen app's ``--self-test`` and a headless ``run`` in it.

It runs by default: on the 2-core CI machine the build takes about 3-4 minutes (about 2.5 min of
CPU: PyInstaller imports every torch module to list them) and the frozen self-test under 30 s, inside
the ~8 minutes we allow one test. It is skipped only where PyInstaller is not installed
(``pip install -e ".[package]"``) or with ``-m "not slow"``.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGING = ROOT / "packaging"
SPEC = PACKAGING / "losslab.spec"


def load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bundle_filter = load("losslab_bundle_filter", PACKAGING / "bundle_filter.py")
build_script = load("losslab_build_script", PACKAGING / "build.py")


def spec_excludes() -> list[str]:
    """The EXCLUDES list of losslab.spec (evaluated on its own: it is literals and one generator)."""
    tree = ast.parse(SPEC.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "EXCLUDES" for t in node.targets):
            namespace: dict = {}
            exec(compile(ast.Module([node], []), str(SPEC), "exec"), namespace)
            return namespace["EXCLUDES"]
    raise AssertionError("losslab.spec has no EXCLUDES list")


# -- the bundle filter ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("dest", "dropped"),
    [
        ("PySide6/Qt/plugins/platforms/libqxcb.so", False),
        ("PySide6/Qt/plugins/platforms/libqwayland.so", False),
        ("PySide6/Qt/plugins/platforms/libqoffscreen.so", False),
        ("PySide6/plugins/platforms/qwindows.dll", False),
        ("PySide6/Qt/plugins/imageformats/libqsvg.so", False),
        ("PySide6/Qt/plugins/platformthemes/libqxdgdesktopportal.so", False),
        ("PySide6/Qt/plugins/platforms/libqeglfs.so", True),
        ("PySide6/Qt/plugins/platforms/libqvnc.so", True),
        ("PySide6/Qt/plugins/platformthemes/libqgtk3.so", True),
        ("PySide6/Qt/plugins/imageformats/libqjpeg.so", True),
        ("PySide6/Qt/plugins/generic/libqevdevmouseplugin.so", True),
        ("PySide6/Qt/plugins/egldeviceintegrations/libqeglfs-x11-integration.so", True),
        ("PySide6/plugins/imageformats/qjpeg.dll", True),
        ("torch/lib/libtorch_cpu.so", False),
        ("libqjpeg.so", False),  # not in a plugins folder: not a Qt plugin
    ],
)
def test_dropped_plugins(dest, dropped):
    assert bundle_filter.is_dropped_plugin(dest) is dropped


def test_prune_keeps_what_is_linked_and_drops_the_rest():
    entries = [
        ("PySide6/QtGui.abi3.so", "/s/QtGui.abi3.so", "EXTENSION"),
        ("PySide6/Qt/plugins/platforms/libqxcb.so", "/s/libqxcb.so", "BINARY"),
        ("PySide6/Qt/lib/libQt6Gui.so.6", "/s/libQt6Gui.so.6", "BINARY"),
        ("PySide6/Qt/lib/libQt6XcbQpa.so.6", "/s/libQt6XcbQpa.so.6", "BINARY"),
        ("PySide6/Qt/lib/libQt6Network.so.6", "/s/libQt6Network.so.6", "BINARY"),
        ("libxcb-cursor.so.0", "/s/libxcb-cursor.so.0", "BINARY"),
        ("libcairo.so.2", "/s/libcairo.so.2", "BINARY"),
        ("libpython3.11.so.1.0", "/s/libpython3.11.so.1.0", "BINARY"),
    ]
    links = {
        "/s/QtGui.abi3.so": ["libQt6Gui.so.6"],
        "/s/libqxcb.so": ["libQt6XcbQpa.so.6"],
        "/s/libQt6XcbQpa.so.6": ["libxcb-cursor.so.0", "libQt6Gui.so.6"],
    }
    kept = bundle_filter.prune_unlinked(entries, lambda src: links.get(src, []))
    names = {Path(dest).name for dest, _, _ in kept}
    assert names == {
        "QtGui.abi3.so",
        "libqxcb.so",
        "libQt6Gui.so.6",
        "libQt6XcbQpa.so.6",
        "libxcb-cursor.so.0",
        "libpython3.11.so.1.0",
    }


def test_prune_drops_links_to_dropped_libraries():
    binaries = [
        ("PySide6/Qt/plugins/platforms/libqvnc.so", "/s/libqvnc.so", "BINARY"),
        ("PySide6/Qt/lib/libQt6Network.so.6", "/s/libQt6Network.so.6", "BINARY"),
        ("PySide6/Qt/lib/libQt6Core.so.6", "/s/libQt6Core.so.6", "BINARY"),
        ("PySide6/QtCore.abi3.so", "/s/QtCore.abi3.so", "EXTENSION"),
    ]
    datas = [
        ("libQt6Network.so.6", "PySide6/Qt/lib/libQt6Network.so.6", "SYMLINK"),
        ("libQt6Core.so.6", "PySide6/Qt/lib/libQt6Core.so.6", "SYMLINK"),
        ("losslab/resources/examples/a.losslab", "/s/a.losslab", "DATA"),
    ]
    links = {"/s/QtCore.abi3.so": ["libQt6Core.so.6"], "/s/libqvnc.so": ["libQt6Network.so.6"]}
    _, kept_data, dropped = bundle_filter.prune(binaries, datas, needed=lambda s: links.get(s, []))
    assert "PySide6/Qt/plugins/platforms/libqvnc.so" in dropped
    if sys.platform.startswith("linux"):
        assert "libQt6Network.so.6" in dropped and "PySide6/Qt/lib/libQt6Network.so.6" in dropped
        assert [d for d, _, _ in kept_data] == ["losslab/resources/examples/a.losslab", "libQt6Core.so.6"]


# -- the spec ---------------------------------------------------------------------------------------
# Excluded although imported here: whoever imports them carries on without them (the frozen
# self-test in test_frozen_bundle proves it).
OPTIONAL_IMPORTS = {
    "PySide6.QtTest": "pyqtgraph imports it when present, for a test helper",
    "ssl": "urllib, http.client and asyncio import it inside try/except ImportError",
    "_ssl": "imported by ssl",
    "_distutils_hack": "setuptools' .pth file loads it at interpreter start in a checkout, not LossLab",
}


def test_spec_excludes_nothing_the_app_imports(tmp_path):
    """Everything the window, a training run and the exports import must stay in the bundle."""
    code = (
        "import json, sys\n"
        "from losslab.cli import main\n"
        f"assert main(['run', {str(first_example())!r}, '--epochs', '1', '--out', 'out', '--quiet']) == 0\n"
        "assert main(['--self-test']) == 0\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240
    )
    assert result.returncode == 0, result.stdout + result.stderr
    loaded = set(json.loads(result.stdout.strip().splitlines()[-1]))
    excludes = spec_excludes()
    clashes = sorted(
        m for m in loaded for x in excludes if (m == x or m.startswith(x + ".")) and m not in OPTIONAL_IMPORTS
    )
    assert not clashes, f"losslab.spec excludes modules LossLab imports: {clashes}"


def first_example() -> Path:
    from losslab.core.resources import list_examples

    return list_examples()[0]


def test_spec_bundles_every_resource_inside_the_package():
    text = SPEC.read_text(encoding="utf-8")
    assert 'Path("losslab", "resources"' in text  # the same place the wheel puts them
    assert "console=False" in text and "exclude_binaries=True" in text  # windowed, one folder


def test_entry_point_handles_a_missing_console(tmp_path):
    """Windowed mode: no stdout/stderr. The entry script must give LossLab usable streams."""
    code = (
        "import runpy, sys\n"
        "sys.stdout = sys.stderr = None\n"
        f"sys.argv = ['LossLab', 'run', {str(first_example())!r}, '--epochs', '1', '--out', 'out']\n"
        f"runpy.run_path({str(PACKAGING / 'losslab_main.py')!r}, run_name='__main__')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=240
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "history.csv").is_file()


def test_folder_size_and_biggest_parts(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "x.bin").write_bytes(b"1" * 300)
    (tmp_path / "c.bin").write_bytes(b"1" * 100)
    assert build_script.folder_size(tmp_path) == 400
    assert build_script.biggest_parts(tmp_path, depth=1) == [(300, "a/b"), (100, "c.bin")]


# -- the frozen bundle ------------------------------------------------------------------------------
def pyinstaller_missing() -> bool:
    return importlib.util.find_spec("PyInstaller") is None


def no_network_prefix() -> list[str]:
    """`unshare -rn` runs a command in a network namespace with no network at all, where it works."""
    if sys.platform.startswith("linux") and shutil.which("unshare"):
        probe = subprocess.run(["unshare", "-rn", "true"], capture_output=True)
        if probe.returncode == 0:
            return ["unshare", "-rn"]
    return []


@pytest.mark.slow
@pytest.mark.skipif(pyinstaller_missing(), reason="PyInstaller is not installed: pip install -e '.[package]'")
def test_frozen_bundle(tmp_path_factory):
    import torch

    if torch.version.cuda is not None:
        pytest.skip("the bundle is built from the CPU build of torch; this torch is a CUDA build")
    tmp = tmp_path_factory.mktemp("frozen")
    dist, work = tmp / "dist", tmp / "work"
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, str(PACKAGING / "build.py"), "--dist", str(dist), "--work", str(work), "--quiet"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    build_seconds = time.perf_counter() - start
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
    folder = dist / "LossLab"
    exe = build_script.executable(dist)
    size_mib = build_script.folder_size(folder) / 2**20
    internal = folder / "_internal"

    # What is in it, and what is not.
    assert (internal / "losslab" / "resources" / "examples").is_dir()
    shipped = sorted(p.name for p in (ROOT / "resources" / "examples").glob("*.losslab"))
    assert sorted(p.name for p in (internal / "losslab" / "resources" / "examples").iterdir()) == shipped
    assert not (internal / "torch" / "test").exists(), "torch's C++ test binaries are in the bundle"
    assert sorted(p.name for p in (internal / "torch" / "bin").iterdir()) == ["torch_shm_manager"]
    assert not list(internal.glob("**/include/torch")), "torch's C++ headers are in the bundle"
    for unwanted in (
        "tkinter",
        "matplotlib",
        "IPython",
        "scipy",
        "PySide6/QtNetwork.abi3.so",
        "PySide6/QtQml.abi3.so",
        "PySide6/Qt/plugins/platformthemes/libqgtk3.so",
    ):
        assert not list(internal.glob(unwanted + "*")), f"{unwanted} is in the bundle"
    dangling = [p for p in internal.iterdir() if p.is_symlink() and not p.exists()]
    assert not dangling, dangling
    assert size_mib < 700, f"the bundle grew to {size_mib:.0f} MiB"

    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    home = tmp / "home"
    home.mkdir()
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"))
    offline = no_network_prefix()  # the frozen app must also pass with no network at all

    start = time.perf_counter()
    selftest = subprocess.run(
        [*offline, str(exe), "--self-test"], cwd=tmp, env=env, capture_output=True, text=True, timeout=240
    )
    selftest_seconds = time.perf_counter() - start
    assert selftest.returncode == 0, selftest.stdout + selftest.stderr
    assert "frozen bundle" in selftest.stdout and "self-test passed" in selftest.stdout
    assert str(internal / "losslab" / "resources") in selftest.stdout

    out = tmp / "run-out"
    example = internal / "losslab" / "resources" / "examples" / shipped[0]
    run = subprocess.run(
        [*offline, str(exe), "run", str(example), "--epochs", "1", "--out", str(out)],
        cwd=tmp,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert (out / "history.csv").is_file() and (out / "weights.pt").is_file()

    summary = (
        f"frozen LossLab: built in {build_seconds:.0f} s, {size_mib:.0f} MiB, "
        f"self-test {selftest_seconds:.1f} s{' (in a namespace with no network)' if offline else ''}"
    )
    print(summary)
    (tmp / "summary.txt").write_text(summary + "\n" + result.stdout[-3000:], encoding="utf-8")
