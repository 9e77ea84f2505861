"""On a desktop without Qt's xcb libraries, `losslab` says which packages to install instead of aborting."""

from __future__ import annotations

import ctypes
import sys

import pytest

from losslab.gui import display_check

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="xcb is Linux's")


def _xcb_desktop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    monkeypatch.setenv("DISPLAY", ":0")


def test_a_missing_library_names_its_package_and_the_apt_line(monkeypatch: pytest.MonkeyPatch) -> None:
    _xcb_desktop(monkeypatch)
    real = ctypes.CDLL

    def cdll(name: str, *args: object, **kwargs: object) -> object:
        if name == "libxcb-cursor.so.0":
            raise OSError(f"{name}: cannot open shared object file")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(display_check.ctypes, "CDLL", cdll)
    problem = display_check.display_problem()
    assert problem is not None
    assert "missing: libxcb-cursor0" in problem
    assert display_check.APT_LINE in problem and "libxcb-cursor0" in display_check.APT_LINE


def test_the_window_entry_point_prints_it_and_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _xcb_desktop(monkeypatch)
    monkeypatch.setattr(display_check, "missing_packages", lambda: ["libxcb-cursor0", "libxcb-xkb1"])
    from losslab.gui.app import main

    assert main([]) == 2
    err = capsys.readouterr().err
    assert err.startswith("losslab: the window needs system libraries")
    assert "sudo apt install libxcb-cursor0" in err


def test_no_display_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    monkeypatch.delenv("DISPLAY", raising=False)
    problem = display_check.display_problem()
    assert problem is not None and "no display" in problem and "losslab run" in problem


def test_offscreen_and_wayland_are_not_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert display_check.display_problem() is None
    monkeypatch.delenv("QT_QPA_PLATFORM")
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    assert display_check.display_problem() is None


def test_the_readme_gives_the_same_apt_line() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert display_check.APT_LINE in readme
