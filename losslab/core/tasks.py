"""The kinds of learning task a dataset poses; losses declare which of them they fit."""

from __future__ import annotations

REGRESSION = "regression"  # one real-valued target per sample, float32 shape (N,)
BINARY = "binary"  # two classes, float32 targets in {0, 1}, shape (N,)
MULTICLASS = "multiclass"  # k classes, int64 targets in [0, k), shape (N,)
GAN = "gan"  # no targets: a generator learns to imitate the data's distribution

TASKS: dict[str, str] = {
    REGRESSION: "Regression",
    BINARY: "Binary classification",
    MULTICLASS: "Multi-class classification",
    GAN: "Generative (GAN)",
}
