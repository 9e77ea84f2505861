"""Build the LossLab bundle: dist/LossLab/ (one folder, windowed), then optionally self-test it.

    python packaging/build.py                  # -> dist/LossLab/LossLab (LossLab.exe on Windows)
    python packaging/build.py --self-test      # ...and run `LossLab --self-test` from the bundle
    python packaging/build.py --dist D --work W

Needs `pip install pyinstaller` (or `pip install -e ".[package]"`) and the CPU build of torch: a
CUDA build would put several GB of CUDA libraries in the bundle, so it is refused. Prints the build
time, the bundle size and its biggest parts. packaging/README.md turns the folder into installers.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SPEC = HERE / "losslab.spec"


def executable(dist: Path) -> Path:
    """The LossLab program inside a built bundle folder."""
    folder = dist / "LossLab"
    if sys.platform == "win32":
        return folder / "LossLab.exe"
    return folder / "LossLab"


def folder_size(path: Path) -> int:
    total = 0
    for p in path.rglob("*"):
        if p.is_file() and not p.is_symlink():
            total += p.stat().st_size
    return total


def biggest_parts(folder: Path, depth: int = 2, top: int = 12) -> list[tuple[int, str]]:
    """Sizes of the folders (and files) ``depth`` levels down, biggest first."""
    sizes: dict[str, int] = {}
    for p in folder.rglob("*"):
        if p.is_file() and not p.is_symlink():
            rel = p.relative_to(folder).parts
            key = "/".join(rel[: depth + 1]) if len(rel) > depth else "/".join(rel)
            sizes[key] = sizes.get(key, 0) + p.stat().st_size
    return sorted(((s, k) for k, s in sizes.items()), reverse=True)[:top]


def check_build_environment() -> None:
    try:
        import PyInstaller  # noqa: F401
    except ImportError:
        sys.exit("build.py: PyInstaller is not installed: pip install pyinstaller")
    import torch

    if torch.version.cuda is not None or getattr(torch.version, "hip", None):
        sys.exit(
            f"build.py: torch {torch.__version__} is a GPU build; the bundle needs the CPU build "
            "(pip install torch --index-url https://download.pytorch.org/whl/cpu)"
        )


def build(dist: Path, work: Path, quiet: bool = False) -> tuple[float, int]:
    """Run PyInstaller on the spec; returns (seconds, bundle bytes)."""
    check_build_environment()
    start = time.perf_counter()
    cmd = [
        sys.executable,
        "-m",
        "PyInstaller",
        "--noconfirm",
        "--clean",
        "--distpath",
        str(dist),
        "--workpath",
        str(work),
        "--log-level",
        "WARN" if quiet else "INFO",
        str(SPEC),
    ]
    print("build.py:", " ".join(cmd), flush=True)
    subprocess.run(cmd, cwd=ROOT, check=True)
    seconds = time.perf_counter() - start
    return seconds, folder_size(dist / "LossLab")


def self_test(dist: Path, timeout: float = 180.0) -> int:
    exe = executable(dist)
    env = dict(os.environ)
    print(f"build.py: {exe} --self-test", flush=True)
    return subprocess.run([str(exe), "--self-test"], env=env, timeout=timeout).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="output folder (default: dist)")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "pyinstaller", help="scratch folder")
    parser.add_argument("--self-test", action="store_true", help="run the built app's --self-test")
    parser.add_argument("--quiet", action="store_true", help="PyInstaller prints warnings only")
    args = parser.parse_args(argv)

    seconds, size = build(args.dist.resolve(), args.work.resolve(), args.quiet)
    folder = args.dist.resolve() / "LossLab"
    print(f"build.py: built {folder} in {seconds:.0f} s; {size / 2**20:,.0f} MiB", flush=True)
    for part_size, name in biggest_parts(folder):
        print(f"  {part_size / 2**20:8.1f} MiB  {name}")
    if args.self_test:
        rc = self_test(args.dist.resolve())
        print(f"build.py: self-test exit code {rc}")
        return rc
    return 0


if __name__ == "__main__":
    sys.exit(main())
