"""Offline guarantee: workshops have no network, so nothing in LossLab may reach for one: no fonts,
icons, data, telemetry or update checks.

The self-test (window, training through the worker thread, exports) and `losslab run` run in a
subprocess in which every way Python opens a socket or resolves a name raises, and every attempt is
recorded: they must pass, and nothing may even have tried (an attempt that code caught and ignored
still fails the test). The frozen bundle is checked in a network namespace with no network at all
(tests/test_packaging.py).
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "losslab"

# Installed before LossLab is imported. socket.socket and _socket.socket are both replaced, so a
# module that imports either name later still gets the refusing one.
NO_NETWORK = r"""
import _socket, socket, sys

ATTEMPTS = []
CHECKING_THE_GUARD = [True]

def _refuse(what):
    def refused(*args, **kwargs):
        ATTEMPTS.append(what)
        if not CHECKING_THE_GUARD[0]:
            print(f"NETWORK ATTEMPT: {what}{args[:2]!r}", file=sys.__stderr__, flush=True)
        raise OSError(f"network access is refused in this test ({what})")
    return refused

class RefusedSocket(socket.socket):
    def __init__(self, *args, **kwargs):
        _refuse("socket.socket")(*args, **kwargs)

for module in (socket, _socket):
    module.socket = RefusedSocket
    for name in ("create_connection", "create_server", "getaddrinfo", "gethostbyname", "gethostbyname_ex",
                 "gethostbyaddr", "getnameinfo", "socketpair", "fromfd"):
        if hasattr(module, name):
            setattr(module, name, _refuse(f"socket.{name}"))

# Prove the guard works before trusting a pass.
try:
    socket.create_connection(("example.org", 80), timeout=1)
except OSError:
    ATTEMPTS.clear()
else:
    sys.exit("the network guard did not refuse a connection")
try:
    socket.socket(socket.AF_INET, socket.SOCK_STREAM)
except OSError:
    ATTEMPTS.clear()
else:
    sys.exit("the network guard did not refuse a socket")
CHECKING_THE_GUARD[0] = False

from losslab.cli import main

code = main(sys.argv[1:])
assert "PySide6.QtNetwork" not in sys.modules, "Qt's network module was loaded"
if ATTEMPTS:
    print(f"LossLab tried to use the network: {ATTEMPTS}", file=sys.__stderr__, flush=True)
    sys.exit(99)
sys.exit(code)
"""


def run_offline(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.update(HOME=str(tmp_path / "home"), XDG_CONFIG_HOME=str(tmp_path / "home" / ".config"))
    (tmp_path / "home").mkdir(exist_ok=True)
    return subprocess.run(
        [sys.executable, "-c", NO_NETWORK, *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )


def test_self_test_passes_with_the_network_refused(tmp_path):
    result = run_offline(["--self-test"], tmp_path)
    assert "NETWORK ATTEMPT" not in result.stderr, result.stderr
    assert result.returncode == 0, result.stdout + result.stderr
    assert "self-test passed" in result.stdout


def test_headless_run_passes_with_the_network_refused(tmp_path):
    from losslab.core.resources import list_examples

    example = list_examples()[0]
    out = tmp_path / "out"
    result = run_offline(["run", str(example), "--epochs", "1", "--out", str(out), "--quiet"], tmp_path)
    assert "NETWORK ATTEMPT" not in result.stderr, result.stderr
    assert result.returncode == 0, result.stdout + result.stderr
    assert (out / "history.csv").is_file() and (out / "weights.pt").is_file()


NETWORK_MODULES = (
    "socket",
    "ssl",
    "http",
    "urllib",
    "ftplib",
    "smtplib",
    "requests",
    "httpx",
    "urllib3",
    "aiohttp",
    "webbrowser",
    "xmlrpc",
    "PySide6.QtNetwork",
    "PySide6.QtWebEngineCore",
)


def test_no_losslab_module_imports_a_network_module():
    """The runtime check above only sees the paths the self-test takes; this sees every module."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for name in names:
                if any(name == m or name.startswith(m + ".") for m in NETWORK_MODULES):
                    offenders.append(f"{path.relative_to(ROOT)}: {name}")
    assert not offenders, offenders
