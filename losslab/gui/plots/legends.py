"""Legends that never cover the data: laid out under the plot, in the PlotItem's own grid.

A legend inside the view box hid the first epochs of the loss curve and the points in a corner of the
task view (on a 1280x720 window the legend is a third of the plot). Placed in the PlotItem's layout
below the bottom axis, it takes its own rows, and the view box shrinks to make room.
"""

from __future__ import annotations

from typing import Any

import pyqtgraph as pg

LEGEND_ROW = 4  # the PlotItem's grid: title 0, top axis 1, view 2, bottom axis 3
FIT_MARGIN = 24.0  # px kept free beside a legend's columns (its frame and the layout's margins)


def legend_below(plot_item: pg.PlotItem, columns: int = 2, **opts: Any) -> pg.LegendItem:
    """A legend in its own row under ``plot_item``'s bottom axis (``opts`` as for pg.LegendItem)."""
    # Tight spacing: on a 1280x720 screen two columns must fit a 280-px plot.
    opts = {"labelTextSize": "8pt", "horSpacing": 8, "verSpacing": -5, **opts}
    legend = pg.LegendItem(colCount=columns, **opts)
    # Across every column (axes, and the colour bar pyqtgraph puts in column 5): wide enough for
    # several legend columns, and never wider than the plot, which would push the colour bar out.
    plot_item.layout.addItem(legend, LEGEND_ROW, 0, 1, 6)
    plot_item.legend = legend  # where pyqtgraph's plot(name=...) looks for it
    return legend


def fit_columns(legend: pg.LegendItem, width: float, most: int = 3) -> int:
    """Lay ``legend`` out in as many columns (up to ``most``) as fit in ``width`` pixels: fewer rows
    leave the plot more height. Returns the count used."""
    for columns in range(most, 0, -1):
        if legend.columnCount != columns:
            legend.setColumnCount(columns)
        if columns == 1 or legend.layout.preferredWidth() <= width - FIT_MARGIN:
            return columns
    return 1
