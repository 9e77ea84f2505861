"""Regenerates the README screenshot: the window mid-training on an example.

    xvfb-run -a -s "-screen 0 1600x1000x24" python -m losslab.gui.screenshot resources/screenshot.png

Runs the real app (real window, real worker thread) with throw-away settings, grabs the window
after a few epochs of training (paused, so the frame is consistent), and exits.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("out", type=Path, help="PNG file to write")
    parser.add_argument("--example", default="05_moons_bce_logits", help="example name in resources/examples")
    parser.add_argument("--epochs", type=int, default=12, help="grab once this many epochs have run")
    parser.add_argument("--timeout", type=float, default=60.0, help="grab after this long at the latest (s)")
    parser.add_argument("--size", default="1500x920", help="window size WxH")
    parser.add_argument("--theme", choices=("system", "light", "dark"), default="system", help="View > Theme")
    parser.add_argument("--tab", default="", help="show this tab (its objectName, e.g. samplesView)")
    parser.add_argument("--dock", default="", help="raise this dock (its objectName, e.g. networkDock)")
    parser.add_argument("--lesson", default="", help="open this lesson (id or number) instead of --example")
    args = parser.parse_args(argv)

    from PySide6.QtCore import QSettings, QTimer

    from losslab.core.resources import examples_dir
    from losslab.gui.app import create_app
    from losslab.gui.main_window import MainWindow

    app = create_app()
    settings = QSettings(str(Path(tempfile.mkdtemp()) / "screenshot.ini"), QSettings.Format.IniFormat)
    settings.setValue("view/theme", args.theme)
    settings.setValue("lessons/welcomed", True)  # a returning user's window, not the first start page
    window = MainWindow(settings=settings)
    width, height = (int(v) for v in args.size.split("x"))
    window.resize(width, height)
    window.show()
    example = examples_dir() / f"{args.example}.losslab"
    if args.lesson:
        from losslab.core.lessons import find_lessons

        ui = window.lessons_ui
        lesson = find_lessons(ui.browser.lessons, [args.lesson])[0]
        if not ui.open_lesson(lesson):
            return 2
        ui.show_lessons()
        ui.browser.select(lesson.id)
    elif not window.open_file(example, as_example=True):
        return 2

    def show_parts() -> None:
        # Before training too: views that measure only while shown (probes) then have data to show.
        for i in range(window.views.count()):
            if args.tab and window.views.widget(i).objectName() == args.tab:
                window.views.setCurrentIndex(i)
        if args.dock in window.docks:
            window.docks[args.dock].raise_()
        app.processEvents()
        window.redraw()
        app.processEvents()

    def grab() -> None:
        show_parts()
        args.out.parent.mkdir(parents=True, exist_ok=True)
        window.grab().save(str(args.out))
        print(f"wrote {args.out}")
        window.state.mark_saved()  # nothing to ask about on close
        window.close()

    started = time.monotonic()

    def poll() -> None:
        trainer = window.trainer
        done = trainer is not None and trainer.epoch >= args.epochs
        if done or time.monotonic() - started > args.timeout:
            if window.controller.running and not window.controller.paused:
                window.toggle_pause()  # a still frame: the grab shows one consistent moment
            QTimer.singleShot(300, grab)
        else:
            QTimer.singleShot(50, poll)

    QTimer.singleShot(250, show_parts)
    QTimer.singleShot(300, window.train)
    QTimer.singleShot(400, poll)
    app.exec()
    return 0 if args.out.exists() else 1


if __name__ == "__main__":
    sys.exit(main())
