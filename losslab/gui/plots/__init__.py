"""Live plots and the views (tabs) built from them; they draw events and never touch torch.

The tabs (view_api.View, registered in views.py): training_view (Training: the three plots below),
loss_inspector, samples_view, gradient_view, landscape_view, lr_finder_view.

- :class:`LossView` (loss_plot): per-step and per-epoch loss with smoothing, log scale, hover readout
- :class:`MetricPlot` (metric_plot): the task's headline metric per epoch
- :class:`TaskView` (task_view): the data with the model's current predictions over it; its modes
  and worker-thread view function in task_modes, its data layer in task_points, its per-sample
  overlays in task_overlays
- helpers: buffers (growing series, EMA), ranges (sticky axis ranges), band_fill, batch_spread,
  loss_histogram, sample_table
- colours for the light and dark schemes: losslab.gui.theme (shared with the panels)
"""

from losslab.gui import export as _export  # noqa: F401  (installs the SVG export fix for right-click Export…)
from losslab.gui.plots.loss_plot import LossView, loss_plot_redraw_seconds
from losslab.gui.plots.metric_plot import MetricPlot
from losslab.gui.plots.task_view import TaskView
from losslab.gui.theme import apply_plot_theme, palette_colors, system_prefers_dark

__all__ = [
    "LossView",
    "MetricPlot",
    "TaskView",
    "apply_plot_theme",
    "loss_plot_redraw_seconds",
    "palette_colors",
    "system_prefers_dark",
]
