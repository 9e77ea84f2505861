"""Loss-plot redraw time at 1e3 .. 1e6 points, in a subprocess (it needs a QApplication of its own).

Uses ``loss_plot_redraw_seconds`` from the plot module: each repetition appends a batch of new
steps, calls ``redraw()`` and lets the event loop paint an 800x500 LossView once. Run as
``python -m losslab.bench.redraw RESULT.json REPEATS ROUNDS N1 N2 ...``: each size is measured
ROUNDS times (sizes taking turns) and the median of the rounds' medians reported.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

SIZES = (1_000, 10_000, 100_000, 1_000_000)


def main(argv: list[str]) -> int:
    from losslab.gui.app import create_app
    from losslab.gui.plots.loss_plot import loss_plot_redraw_seconds

    result_path, repeats, rounds = Path(argv[0]), int(argv[1]), int(argv[2])
    sizes = [int(n) for n in argv[3:]] or SIZES
    create_app()
    loss_plot_redraw_seconds(1_000, 3)  # first-paint costs (fonts, legend layout) are not a redraw
    # Sizes take turns, round after round, so a busy spell on the machine does not land on one size.
    medians: dict[int, list[float]] = {n: [] for n in sizes}
    for _ in range(rounds):
        for n in sizes:
            medians[n].append(loss_plot_redraw_seconds(n, repeats) * 1000.0)
    out = {str(n): statistics.median(ms) for n, ms in medians.items()}
    result_path.write_text(json.dumps(out), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
