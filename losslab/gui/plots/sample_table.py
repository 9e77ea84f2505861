"""Every training sample as a table row: features, target, prediction, error, loss, gradient, and its
history over the epochs (core/sample_history.py): confidence, variability, cartography region and a
sparkline of its loss. Image data shows each sample as a thumbnail instead of hundreds of pixel values.

The model holds numpy arrays and formats only the cells the view asks for, so an update (at most ~10
times a second, from the per-sample probe) costs a sort and a repaint of the visible rows. Rows are
sorted by one column (the loss, worst first, unless the user clicks another header); when an update
reorders them, Qt's persistent indexes are moved with their samples, so a selection stays on the
samples selected, not on the row numbers.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QPointF, QRect, Qt
from PySide6.QtGui import QImage, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from losslab.core.data import Dataset
from losslab.core.per_sample import PerSampleLosses
from losslab.core.sample_history import REGIONS, SampleHistory
from losslab.core.tasks import MULTICLASS, REGRESSION
from losslab.gui.plots.image_tiles import display_images, grey_range

MAX_FEATURE_COLUMNS = 3
SPARK_POINTS = 48  # a sparkline shows at most this many epochs (evenly picked from those recorded)
THUMB_ROW_PX = 30  # row height for image data: a 28x28 image at about its own size
_LEFT = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
Index = QModelIndex | QPersistentModelIndex


def fmt(v: float) -> str:
    if not math.isfinite(v):
        return "–" if math.isnan(v) else ("∞" if v > 0 else "−∞")
    if abs(v) >= 1e4:
        return f"{v:,.0f}"
    return f"{v:.4g}"


class SampleTableModel(QAbstractTableModel):
    """Rows are training samples; ``sample_at(row)`` says which."""

    def __init__(self) -> None:
        super().__init__()
        self.dataset: Dataset | None = None
        self._columns: list[tuple[str, str]] = []  # (header, key)
        self._n = 0
        self._order = np.empty(0, dtype=np.int64)
        self._sort_key = "loss"
        self._descending = True
        self._values: dict[str, np.ndarray] = {}
        self._text: dict[str, list[str]] = {}
        self.step: int | None = None
        self.sparks = np.empty((0, 0), dtype=np.float32)  # (N, <= SPARK_POINTS) loss per recorded epoch
        self.history_epoch: int | None = None
        self.images = np.empty((0, 0, 0), dtype=np.uint8)  # (N, H, W) grey thumbnails of image data

    # -- data ---------------------------------------------------------------------------------
    def set_dataset(self, ds: Dataset | None) -> None:
        self.beginResetModel()
        self.dataset = ds
        self._values, self._text = {}, {}
        self.step = None
        self.sparks = np.empty((0, 0), dtype=np.float32)
        self.history_epoch = None
        self.images = np.empty((0, 0, 0), dtype=np.uint8)
        if ds is None:
            self._n, self._columns = 0, []
        else:
            n = ds.n_train
            self._n = n
            names = list(ds.feature_names) or [f"x{i + 1}" for i in range(ds.n_features)]
            x = ds.x_to_display(ds.x_train)
            # The loss first (rows are sorted by it) with its history over the epochs (the Cartography
            # tab's statistics and a sparkline), then what it is made of, then the sample itself.
            cols = [("sample", "sample")]
            if ds.image_shape is not None:  # the picture itself, next to its number
                self.images = _grey_bytes(display_images(ds, ds.x_train))
                cols.append(("image", "image"))
                self._values["image"] = np.arange(n, dtype=np.float64)
            cols += [
                ("loss", "loss"),
                ("loss over epochs", "spark"),
                ("region", "region"),
            ]
            cols.append(("|∂loss/∂output|", "grad"))
            self._text["region"] = [""] * n
            self._values["region"] = np.full(n, np.nan)
            self._values["sample"] = np.arange(n, dtype=np.float64)
            if ds.task == REGRESSION:
                cols += [("error ŷ − y", "error"), ("prediction ŷ", "pred")]
            elif ds.task == MULTICLASS:
                cols += [("error 1 − P(true)", "error"), ("predicted class", "pred")]
            else:
                cols += [("error 1 − P(true)", "error"), ("P(class 1)", "pred")]
            cols += [
                ("mean |error|" if ds.task == REGRESSION else "confidence", "conf"),
                ("variability", "var"),
            ]
            if np.any(ds.outliers_train):
                cols.append(("note", "note"))
                mark = "outlier" if ds.task == REGRESSION else "flipped label"
                self._text["note"] = [mark if o else "" for o in ds.outliers_train]
                self._values["note"] = np.asarray(ds.outliers_train, dtype=np.float64)
            target = ds.target_name or "y"
            cols.append((target if ds.task == REGRESSION else "label", "target"))
            if ds.task == REGRESSION:
                self._values["target"] = ds.y_to_display(ds.y_train).astype(np.float64)
            else:
                y = np.asarray(ds.y_train).astype(np.int64)
                self._values["target"] = y.astype(np.float64)
                self._text["target"] = [self._class_name(int(k)) for k in y]
            for i in range(0 if ds.image_shape else min(ds.n_features, MAX_FEATURE_COLUMNS)):
                cols.append((names[i], f"x{i}"))
                self._values[f"x{i}"] = x[:, i]
            for key in ("pred", "error", "loss", "grad", "spark", "conf", "var"):
                self._values[key] = np.full(n, np.nan)
            self._columns = cols
        self._order = np.arange(self._n)
        self._sort_now()
        self.endResetModel()

    def _class_name(self, k: int) -> str:
        names = self.dataset.class_names if self.dataset is not None else []
        return names[k] if k < len(names) else f"class {k}"

    def update(self, event: PerSampleLosses) -> bool:
        """Take a measurement; rows re-sort, selections follow their samples. False if it does not fit."""
        ds = self.dataset
        if ds is None or len(event.loss) != self._n:
            return False
        self.step = event.step
        self._values["loss"] = event.loss
        self._values["grad"] = event.grad
        pred = np.asarray(event.prediction, dtype=np.float64)
        y = np.asarray(ds.y_train)
        if ds.task == REGRESSION:
            self._values["pred"] = pred
            self._values["error"] = pred - self._values["target"]
        elif pred.ndim == 2:
            cls = pred.argmax(axis=1)
            self._values["pred"] = cls.astype(np.float64)
            best = pred.max(axis=1)
            names = [self._class_name(int(k)) for k in cls]
            self._text["pred"] = [f"{name} ({p:.2f})" for name, p in zip(names, best, strict=True)]
            self._values["error"] = 1.0 - pred[np.arange(len(pred)), y.astype(np.int64)]
        else:
            self._values["pred"] = pred
            self._values["error"] = np.where(y > 0.5, 1.0 - pred, pred)
        self._reorder()
        return True

    def update_history(self, history: SampleHistory) -> bool:
        """Take the samples' history over the epochs. False if it does not fit."""
        if self.dataset is None or history.n != self._n or history.count == 0:
            return False
        carto = history.cartography()
        self._values["conf"] = carto.confidence
        self._values["var"] = carto.variability
        self._values["region"] = carto.region.astype(np.float64)
        self._text["region"] = [REGIONS[int(r)] for r in carto.region]
        loss = history.loss
        pick = np.unique(np.linspace(0, loss.shape[1] - 1, min(SPARK_POINTS, loss.shape[1])).astype(np.int64))
        self.sparks = np.ascontiguousarray(loss[:, pick])
        self._values["spark"] = loss.mean(axis=1).astype(np.float64)  # sorts by the mean loss over epochs
        self.history_epoch = int(history.epochs[-1])
        self._reorder()
        return True

    def spark(self, row: int) -> np.ndarray:
        """The loss over the recorded epochs of the sample in ``row`` (empty before any)."""
        if self.sparks.shape[0] != self._n:
            return np.empty(0, dtype=np.float32)
        return self.sparks[self._order[row]]

    def image(self, row: int) -> np.ndarray | None:
        """The (H, W) uint8 thumbnail of the sample in ``row``; None for data that is no image."""
        return self.image_of(self.sample_at(row)) if self.images.size else None

    def image_of(self, sample: int) -> np.ndarray | None:
        return self.images[sample] if self.images.size else None

    def describe(self, sample: int) -> str:
        """'label circle · predicted square (0.91)': the sample's label and prediction, as the table."""
        parts = []
        target = self._text.get("target")
        if target is not None:
            parts.append(f"label {target[sample]}")
        pred = self._text.get("pred")
        if pred is not None:
            parts.append(f"predicted {pred[sample]}")
        elif math.isfinite(float(self._values.get("pred", np.full(self._n, np.nan))[sample])):
            parts.append(f"P(class 1) {fmt(float(self._values['pred'][sample]))}")
        return " · ".join(parts)

    def key_of(self, column: int) -> str:
        return self._columns[column][1]

    def _reorder(self) -> None:
        """Sort again, moving Qt's persistent indexes (the selection) along with their samples."""
        self.layoutAboutToBeChanged.emit()
        old = self.persistentIndexList()
        samples = [int(self._order[i.row()]) for i in old]
        self._sort_now()
        rows = np.empty(self._n, dtype=np.int64)
        rows[self._order] = np.arange(self._n)
        new = [self.index(int(rows[s]), i.column()) for s, i in zip(samples, old, strict=True)]
        self.changePersistentIndexList(old, new)
        self.layoutChanged.emit()

    def _sort_now(self) -> None:
        v = self._values.get(self._sort_key)
        if v is None or self._n == 0:
            self._order = np.arange(self._n)
            return
        key = np.where(np.isnan(v), -np.inf if self._descending else np.inf, v)
        order = np.argsort(-key if self._descending else key, kind="stable")
        self._order = order.astype(np.int64)

    # -- reading ------------------------------------------------------------------------------
    def sample_at(self, row: int) -> int:
        return int(self._order[row])

    def row_of(self, sample: int) -> int:
        return int(np.flatnonzero(self._order == sample)[0])

    def column_of(self, key: str) -> int:
        return next(i for i, (_, k) in enumerate(self._columns) if k == key)

    def value(self, row: int, key: str) -> float:
        return float(self._values[key][self._order[row]])

    def order(self) -> np.ndarray:
        return self._order.copy()

    # -- Qt model -----------------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._n

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._columns)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(self._columns):
            if role == Qt.ItemDataRole.DisplayRole:
                return self._columns[section][0]
            if role == Qt.ItemDataRole.ToolTipRole:
                return _HELP.get(self._columns[section][1], "")
        return None

    def cell(self, row: int, column: int) -> tuple[str, int]:
        """(text, alignment) of one cell."""
        key = self._columns[column][1]
        sample = self._order[row]
        text = self._text.get(key)
        if text is not None:
            return text[sample], _LEFT
        if key in ("spark", "image"):
            return "", _LEFT  # painted by CellDelegate
        v = float(self._values[key][sample])
        return (str(int(v)) if key == "sample" else fmt(v)), _RIGHT

    def sample_texts(self, column: int, limit: int = 200) -> set[str]:
        """Texts the column shows: all distinct labels of a text column, else a sample of values."""
        key = self._columns[column][1]
        if key in self._text:
            return set(self._text[key])
        step = max(1, self._n // limit)
        return {self.cell(r, column)[0] for r in range(0, self._n, step)}

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return self.cell(index.row(), index.column())[0]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return self.cell(index.row(), index.column())[1]
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(self._columns):
            return
        self._sort_key = self._columns[column][1]
        self._descending = order == Qt.SortOrder.DescendingOrder
        self._reorder()


_HELP = {
    "sample": "The sample's number in the training set",
    "image": "The training image (select a row to see it larger)",
    "target": "What the sample should be predicted as",
    "pred": "What the model predicts now",
    "error": "How wrong the prediction is, in the data's own terms",
    "loss": "How much the loss charges for it: what training sees",
    "grad": "How hard this sample pushes on the model's output: the size of the loss's slope there",
    "note": "Samples the dataset made unusual on purpose",
    "spark": "The sample's loss at each recorded epoch (scaled to its own range); sorts by its mean",
    "conf": "Mean over the epochs of P(true class), the model's confidence (regression: of |error| / std(y))",
    "var": "How much that changed from epoch to epoch (its standard deviation)",
    "region": "Dataset cartography: easy (learnt and kept), ambiguous (keeps changing), hard (kept wrong)",
}


class CellDelegate(QStyledItemDelegate):
    """Paints a cell with one call into Python instead of the ~10 data() calls (one per role) of the
    standard delegate. While training runs, every call from Qt's painting into Python has to win the
    GIL from the training thread, so fewer calls mean a faster table and a less disturbed training."""

    def __init__(self, model: SampleTableModel, parent: Any = None) -> None:
        super().__init__(parent)
        self.model = model

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        rect, pal = option.rect, option.palette
        if option.state & QStyle.StateFlag.State_Selected:
            painter.fillRect(rect, pal.highlight())
            painter.setPen(pal.highlightedText().color())
        else:
            if option.features & QStyleOptionViewItem.ViewItemFeature.Alternate:
                painter.fillRect(rect, pal.alternateBase())
            painter.setPen(pal.text().color())
        key = self.model.key_of(index.column())
        if key == "spark":
            self._paint_spark(painter, rect, self.model.spark(index.row()))
            return
        if key == "image":
            self._paint_image(painter, rect, self.model.image(index.row()))
            return
        text, align = self.model.cell(index.row(), index.column())
        painter.drawText(rect.adjusted(5, 0, -5, 0), align, text)

    @staticmethod
    def _paint_image(painter: QPainter, rect: Any, image: np.ndarray | None) -> None:
        """The thumbnail, square, centred, its pixels as blocks (no smoothing)."""
        if image is None:
            return
        h, w = image.shape
        side = max(min(rect.height() - 2, rect.width() - 4), 1)
        target = QRect(
            rect.left() + (rect.width() - side) // 2, rect.top() + (rect.height() - side) // 2, side, side
        )
        qimage = QImage(image.data, w, h, w, QImage.Format.Format_Grayscale8)  # image outlives the draw
        painter.drawImage(target, qimage)

    @staticmethod
    def _paint_spark(painter: QPainter, rect: Any, values: np.ndarray) -> None:
        v = values[np.isfinite(values)] if values.size else values
        if v.size == 0:
            return
        if v.size == 1:  # one epoch so far: a dot
            v = np.repeat(v, 2)
        lo, hi = float(v.min()), float(v.max())
        span = hi - lo if hi > lo else 1.0
        x0, w = rect.left() + 4, max(rect.width() - 8, 1)
        y0, h = rect.bottom() - 3, max(rect.height() - 6, 1)
        step = w / (len(v) - 1)
        pts = [QPointF(x0 + i * step, y0 - h * (float(y) - lo) / span) for i, y in enumerate(v)]
        pen = QPen(painter.pen().color(), 1.2)
        painter.setPen(pen)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.drawPolyline(QPolygonF(pts))
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)


def _grey_bytes(images: np.ndarray) -> np.ndarray:
    """(N, H, W) uint8 in one black..white range for the whole set, C-contiguous rows for QImage."""
    lo, hi = grey_range(images)
    scaled = np.clip((images - lo) / (hi - lo), 0.0, 1.0)
    return np.ascontiguousarray((scaled * 255).astype(np.uint8))
