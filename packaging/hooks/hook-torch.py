# A leaner replacement for pyinstaller-hooks-contrib's hook-torch (PyInstaller prefers hooks found
# on the spec's hookspath). The contrib hook collects every file in the torch package: that brings
# 86 MB of C++ test executables (torch/test), 52 MB of test binaries and protoc (torch/bin) and the
# test-only shared libraries, none of which a running LossLab ever opens. Everything torch imports
# at run time is kept: torch imports ~1,100 of its own modules (torch.distributed, torch._dynamo,
# torch.onnx, sympy...) just to train a small MLP, so Python modules are not trimmed beyond the
# test suites below. tests/test_packaging.py runs the frozen self-test and a headless run to check.
#
# Only the CPU build of torch is supported: packaging/build.py refuses a CUDA build (which would add
# several GB of CUDA libraries to the bundle).

from pathlib import Path

from PyInstaller.utils.hooks import (
    PY_DYLIB_PATTERNS,
    collect_data_files,
    collect_dynamic_libs,
    collect_submodules,
    get_package_paths,
)

# torch reads its own Python source at run time (inspect.getsource, TorchScript), so its modules
# are collected as .pyc in the archive *and* as .py files, as the contrib hook does. Tried without
# the .py files (41 MiB less): every training run fails in torch with "could not get source code".
module_collection_mode = "pyz+py"
warn_on_missing_hiddenimports = False

# Test suites and developer tools are not collected wholesale: they import test-only third-party
# packages (expecttest, hypothesis, tensorboard, ...). The few modules torch itself imports from
# them (torch.utils.checkpoint imports torch.testing._internal.logging_tensor, say) still come in
# through the normal import analysis.
EXCLUDED_PACKAGES = (
    "torch.testing._internal",
    "torch.utils.benchmark",
    "torch.utils.bottleneck",
    "torch.utils.tensorboard",
    "torch.utils.hipify",
    "torch.contrib",
)


def _wanted(name: str) -> bool:
    return not any(name == p or name.startswith(p + ".") for p in EXCLUDED_PACKAGES)


hiddenimports = collect_submodules("torch", filter=_wanted)

datas = collect_data_files(
    "torch",
    excludes=[
        "**/*.h",
        "**/*.hpp",
        "**/*.cuh",
        "**/*.lib",
        "**/*.cpp",
        "**/*.pyi",
        "**/*.cmake",
        "bin/**",  # C++ test executables and protoc (torch_shm_manager is added back below)
        "test/**",  # C++ unit-test executables
        "include/**",
        "share/**",
        "testing/_internal/**",
    ],
)

# `import torch` checks that torch/bin/torch_shm_manager exists (it serves shared-memory tensors
# between processes, which LossLab never uses, but torch refuses to import without it). 44 kB.
_torch_dir = Path(get_package_paths("torch")[1])
_shm_managers = [
    (str(_torch_dir / "bin" / name), "torch/bin")
    for name in ("torch_shm_manager", "torch_shm_manager.exe")
    if (_torch_dir / "bin" / name).is_file()
]

TEST_LIBRARIES = ("jitbackend_test", "torchbind_test", "backend_with_compiler", "aoti_custom_ops")
binaries = [
    (src, dest)
    for src, dest in collect_dynamic_libs("torch", search_patterns=[*PY_DYLIB_PATTERNS, "*.so.*"])
    if not any(t in src for t in TEST_LIBRARIES)
] + _shm_managers

# As in the contrib hook: symlinks from the top-level folder to torch/lib confuse torch on Linux.
bindepend_symlink_suppression = ["**/torch/lib/*.so*"]
