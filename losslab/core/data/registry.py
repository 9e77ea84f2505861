"""The dataset registry: what each built-in dataset is, its parameters, and turning a config into a Dataset.

A dataset config is a flat dict: ``{"kind": <id>, <COMMON_PARAMS>..., <the spec's params>...}``.
The ``csv`` kind takes no generator params; instead it reads the string keys ``path`` (required;
relative paths must already be resolved by the caller), ``target_column`` (default: last column) and
``task`` (default: inferred; else "regression", "binary" or "multiclass"), ``features``, ``missing``
and ``sha256`` (see ``csv_import.validate_csv_keys``). ``n_samples`` is accepted
but ignored for ``csv``: the file decides how many samples there are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from losslab.core.data import classification, gan, images, regression, soft_labels
from losslab.core.data.csv_import import CSV_KEYS, read_csv_table, validate_csv_keys
from losslab.core.data.dataset import Dataset, build_dataset
from losslab.core.errors import LossLabError
from losslab.core.params import Param, validate_params
from losslab.core.tasks import BINARY, GAN, MULTICLASS, REGRESSION

FIELD = "dataset"
CSV_KIND = "csv"


@dataclass(frozen=True)
class DatasetSpec:
    id: str
    name: str
    task: str  # one of losslab.core.tasks; "" for csv, whose task is known only once the file is read
    description: str
    params: tuple[Param, ...]  # generator-specific; COMMON_PARAMS apply to every dataset as well
    # (rng, n_samples, **params) -> (X float64 (N, d), y, outlier mask bool (N,)) in display units
    generate: Callable[..., tuple[np.ndarray, np.ndarray, np.ndarray]]
    feature_names: tuple[str, ...]
    target_name: str
    default_n_samples: int = 500
    image: bool = False  # generates flattened square grey images (data/images.py builds the Dataset)


COMMON_PARAMS: tuple[Param, ...] = (
    Param("n_samples", "Samples", "int", 500, 10, 100_000, log=True, help="How many samples to generate."),
    Param(
        "val_fraction",
        "Validation fraction",
        "float",
        0.2,
        0.0,
        0.9,
        help="Share of the samples held out to measure generalization.",
    ),
    Param("seed", "Seed", "int", 0, 0, help="The same seed always gives the same data."),
    Param(
        "standardize",
        "Standardize",
        "bool",
        True,
        help="Scale features (and regression targets) to mean 0, std 1 using training statistics.",
    ),
)


def _noise(default: float, maximum: float, help: str) -> Param:
    return Param("noise", "Noise", "float", default, 0.0, maximum, help=help)


OUTLIER_FRACTION = Param(
    "outlier_fraction",
    "Outlier fraction",
    "float",
    0.0,
    0.0,
    0.5,
    help="Share of samples whose target is pushed far above the true value.",
)
LABEL_NOISE = Param(
    "label_noise", "Label noise", "float", 0.0, 0.0, 0.5, help="Share of samples given a wrong class."
)
IMBALANCE = Param(
    "imbalance",
    "Imbalance",
    "float",
    0.0,
    0.0,
    0.9,
    help="Share of class-1 samples dropped: class 1 is (1 - imbalance) times as common as class 0.",
)
TURNS = Param("turns", "Turns", "float", 1.0, 0.25, 3.0, help="How many times each arm winds around.")
XY = ("x1", "x2")


def _spec(
    id: str,
    name: str,
    task: str,
    description: str,
    params: tuple[Param, ...],
    generate: Callable[..., tuple[np.ndarray, np.ndarray, np.ndarray]],
    feature_names: tuple[str, ...] = XY,
    target_name: str = "class",
) -> DatasetSpec:
    return DatasetSpec(id, name, task, description, params, generate, feature_names, target_name)


def _read_csv_instead(*_: Any, **__: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    raise LossLabError("a csv dataset is read from its file; build it with make_dataset", f"{FIELD}.kind")


_SPECS = (
    _spec(
        "house_prices",
        "House prices",
        REGRESSION,
        "Price in dollars against floor area, the classic first regression. Add a few wildly overpriced "
        "houses to see a squared loss chase them while an absolute or Huber loss shrugs them off.",
        (_noise(1.0, 4.0, "Price scatter, in units of a $25,000 standard deviation."), OUTLIER_FRACTION),
        regression.house_prices,
        ("size (sq ft)",),
        "price ($)",
    ),
    _spec(
        "sine",
        "Sine wave",
        REGRESSION,
        "Two periods of a sine curve: a straight line cannot fit it, so the network has to bend.",
        (_noise(0.1, 1.0, "Standard deviation of the noise added to y."), OUTLIER_FRACTION),
        regression.sine,
        ("x",),
        "y",
    ),
    _spec(
        "plane",
        "Plane",
        REGRESSION,
        "y = 2·x1 − 3·x2 + 1 with noise: two inputs, one linear answer, handy for comparing losses on "
        "a problem every model can solve exactly.",
        (_noise(0.5, 5.0, "Standard deviation of the noise added to y."), OUTLIER_FRACTION),
        regression.plane,
        XY,
        "y",
    ),
    _spec(
        "moons",
        "Two moons",
        BINARY,
        "Two interleaving half circles that no straight line separates; flip labels or drop class-1 "
        "samples to watch the decision boundary react.",
        (_noise(0.1, 1.0, "Standard deviation of the jitter added to each point."), LABEL_NOISE, IMBALANCE),
        classification.moons,
    ),
    _spec(
        "circles",
        "Circles",
        BINARY,
        "One class in a ring around the other, so the boundary has to close on itself.",
        (
            _noise(0.05, 1.0, "Standard deviation of the jitter added to each point."),
            Param(
                "factor", "Inner radius", "float", 0.5, 0.1, 0.9, help="Inner circle radius; the outer is 1."
            ),
            LABEL_NOISE,
            IMBALANCE,
        ),
        classification.circles,
    ),
    _spec(
        "xor",
        "XOR",
        BINARY,
        "Opposite quadrants share a class: the textbook problem a single linear layer cannot learn.",
        (_noise(0.1, 1.0, "Standard deviation of the jitter added to each point."), LABEL_NOISE),
        classification.xor,
    ),
    _spec(
        "gaussians",
        "Two Gaussians",
        BINARY,
        "Two overlapping round clouds: the best possible boundary still misclassifies some points, which "
        "shows how a loss treats confident mistakes.",
        (
            _noise(1.0, 5.0, "Spread (standard deviation) of each cloud."),
            Param("separation", "Separation", "float", 3.0, 0.0, 10.0, help="Distance between the centres."),
            LABEL_NOISE,
            IMBALANCE,
        ),
        classification.gaussians,
    ),
    _spec(
        "spiral",
        "Spiral",
        BINARY,
        "Two arms winding around each other, a hard boundary that needs a deep enough network.",
        (_noise(0.05, 1.0, "Standard deviation of the jitter added to each point."), TURNS, LABEL_NOISE),
        classification.spiral,
    ),
    _spec(
        "spiral_k",
        "Spiral (k arms)",
        MULTICLASS,
        "A spiral with one arm per class, for comparing multi-class losses on a tangled boundary.",
        (
            Param("n_classes", "Classes", "int", 3, 3, 10, help="Number of arms, one per class."),
            _noise(0.05, 1.0, "Standard deviation of the jitter added to each point."),
            TURNS,
            LABEL_NOISE,
        ),
        classification.spiral_k,
    ),
    _spec(
        "blobs",
        "Blobs",
        MULTICLASS,
        "k round clusters on a circle: an easy multi-class problem whose overlap the spread controls.",
        (
            Param("n_classes", "Classes", "int", 4, 2, 10, help="Number of clusters, one per class."),
            Param("spread", "Spread", "float", 0.5, 0.0, 3.0, help="Standard deviation of each cluster."),
            LABEL_NOISE,
        ),
        classification.blobs,
    ),
    _spec(
        "annotators",
        "Annotated blobs (soft labels)",
        MULTICLASS,
        "Overlapping clusters that several annotators labelled; near a boundary they disagree. The hard "
        "label is the first annotator's class, the soft label the share choosing each class: KL "
        "divergence trains on the shares, every other loss on the hard labels. Compare calibration (ECE).",
        (
            Param("n_classes", "Classes", "int", 3, 2, 10, help="Number of clusters, one per class."),
            Param("spread", "Spread", "float", 1.5, 0.1, 3.0, help="Standard deviation of each cluster."),
            Param("annotators", "Annotators", "int", 5, 1, 100, help="Labels collected per point."),
        ),
        soft_labels.annotated,
    ),
    _spec(
        "gan_ring",
        "Ring of Gaussians",
        GAN,
        "Eight tight clusters on a circle, the usual GAN toy target: a generator that collapses onto a "
        "few of them is easy to spot.",
        (_noise(0.05, 0.5, "Standard deviation of each cluster."),),
        gan.gan_ring,
        XY,
        "",
    ),
    _spec(
        "gan_1d",
        "Bimodal 1-D",
        GAN,
        "An equal mix of two bell curves at −2 and +2: the simplest distribution a generator can get "
        "half right.",
        (_noise(0.3, 2.0, "Standard deviation of each bell curve."),),
        gan.gan_1d,
        ("x",),
        "",
    ),
    _spec(
        "gan_shapes",
        "Shapes (GAN images)",
        GAN,
        "Small grey images of circles, squares, triangles and crosses for a generator to imitate: "
        "watch blurry blobs sharpen into outlines, or collapse onto one kind of shape.",
        (
            Param("image_size", "Image size", "int", 12, 8, 20, help="Width and height in pixels."),
            _noise(0.05, 0.5, "Standard deviation of the noise added to each pixel (shapes are 1)."),
        ),
        gan.gan_shapes,
        (),
        "",
    ),
    _spec(
        CSV_KIND,
        "CSV file",
        "",
        "Your own data from a CSV file with a header row: feature columns (numbers, or texts such as a "
        "city, one-hot encoded) and one target column.",
        (),
        _read_csv_instead,
        (),
        "",
    ),
)

IMAGE_SIZE = Param("image_size", "Image size", "int", 28, 8, 64, help="Width and height in pixels.")
IMAGE_NOISE = _noise(
    0.1, 1.0, "Standard deviation of the noise added to each pixel (shapes are 1, background 0)."
)
_IMAGE_SPECS = (
    DatasetSpec(
        "shapes",
        "Shapes (images)",
        MULTICLASS,
        "Small grey images of a circle, square, triangle or cross at a random place, size and angle: "
        "a first image classifier, where convolutions and pooling earn their keep.",
        (
            IMAGE_SIZE,
            IMAGE_NOISE,
            Param("n_classes", "Classes", "int", 4, 2, 4, help="How many of the four shapes to use."),
        ),
        images.shapes,
        (),
        "shape",
        1000,
        image=True,
    ),
    DatasetSpec(
        "shape_masks",
        "Shape masks (segmentation)",
        BINARY,
        "The same shapes with a per-pixel mask to predict: one foreground class whose share of the "
        "pixels you set, so a rare foreground shows what Dice and IoU do that pixel-wise BCE does not.",
        (
            IMAGE_SIZE,
            IMAGE_NOISE,
            Param(
                "foreground",
                "Foreground share",
                "float",
                0.05,
                0.01,
                0.5,
                help="Average share of the pixels that belong to a shape; small values: imbalanced classes.",
            ),
        ),
        images.shape_masks,
        (),
        "mask",
        600,
        image=True,
    ),
)

DATASETS: dict[str, DatasetSpec] = {spec.id: spec for spec in _SPECS + _IMAGE_SPECS}


def get_dataset_spec(kind: str) -> DatasetSpec:
    try:
        return DATASETS[kind]
    except (KeyError, TypeError):
        raise LossLabError(
            f"unknown dataset {kind!r}; known datasets are {', '.join(DATASETS)}", f"{FIELD}.kind"
        ) from None


def dataset_params(kind: str) -> tuple[Param, ...]:
    """Every parameter a config of this kind accepts (besides ``kind`` and the csv string keys)."""
    return COMMON_PARAMS + get_dataset_spec(kind).params


def validate_dataset_config(cfg: dict[str, Any]) -> dict[str, Any]:
    """Return ``cfg`` with defaults filled in and values converted; errors name ``dataset.<field>``."""
    if not isinstance(cfg, dict):
        raise LossLabError(f"must be an object with a 'kind', got {cfg!r}", FIELD)
    if "kind" not in cfg:
        raise LossLabError(f"missing; choose one of {', '.join(DATASETS)}", f"{FIELD}.kind")
    kind = cfg["kind"]
    spec = get_dataset_spec(kind)
    given = {k: v for k, v in cfg.items() if k != "kind"}
    out: dict[str, Any] = {"kind": kind}
    if kind == CSV_KIND:
        out.update(validate_csv_keys(given, FIELD))
        given = {k: v for k, v in given.items() if k not in CSV_KEYS}
    given.setdefault("n_samples", spec.default_n_samples)
    out.update(validate_params(COMMON_PARAMS + spec.params, given, FIELD))
    _check_pixel_budget(out)
    return out


# Images cost memory by the pixel: 16M pixels are ~130 MB as float64 while drawn (20,408 images of
# 28x28); 100,000 images of 64x64 would need 3.3 GB and freeze a laptop before the first epoch.
MAX_IMAGE_PIXELS = 16_000_000


def _check_pixel_budget(cfg: dict[str, Any]) -> None:
    size = cfg.get("image_size")
    if size is None:
        return
    pixels = cfg["n_samples"] * size * size
    if pixels > MAX_IMAGE_PIXELS:
        most = MAX_IMAGE_PIXELS // (size * size)
        raise LossLabError(
            f"{cfg['n_samples']:,} images of {size}x{size} are {pixels:,} pixels, more than the "
            f"{MAX_IMAGE_PIXELS:,} an image dataset may hold; use at most {most:,} samples at this "
            "image size, or smaller images",
            f"{FIELD}.n_samples",
        )


def make_dataset(cfg: dict[str, Any]) -> Dataset:
    """Validate ``cfg``, generate (or read) the data from its seed, then split and standardize."""
    cfg = validate_dataset_config(cfg)
    rng = np.random.default_rng(cfg["seed"])
    spec = DATASETS[cfg["kind"]]
    common = {"rng": rng, "val_fraction": cfg["val_fraction"], "standardize": cfg["standardize"]}

    if spec.id == CSV_KIND:
        table = read_csv_table(
            cfg["path"], cfg["target_column"], cfg["task"], cfg["features"], cfg["missing"]
        )
        return build_dataset(
            spec_id=spec.id,
            name=f"CSV: {Path(cfg['path']).name}",
            task=table.task,
            x=table.x,
            y=table.y,
            outliers=np.zeros(len(table.y), dtype=bool),
            feature_names=table.feature_names,
            target_name=table.target_name,
            class_names=table.class_names,
            n_classes=len(table.class_names) if table.task == MULTICLASS else 1,
            **common,
        )

    params = {p.name: cfg[p.name] for p in spec.params}
    x, y, outliers = spec.generate(rng, cfg["n_samples"], **params)
    if spec.image:
        return images.build_image_dataset(
            spec_id=spec.id,
            name=spec.name,
            x=x,
            y=y,
            image_size=params["image_size"],
            n_classes=params.get("n_classes", 1),
            **common,
        )
    soft = None
    if spec.task == MULTICLASS and np.ndim(y) == 2:  # annotators' votes: a hard and a soft label
        y, soft = soft_labels.hard_and_soft(y, params["n_classes"])
    if spec.task == MULTICLASS:
        n_classes = params["n_classes"]
        class_names = [f"class {i}" for i in range(n_classes)]
    else:
        n_classes = 1
        class_names = ["class 0", "class 1"] if spec.task == BINARY else []
    return build_dataset(
        spec_id=spec.id,
        name=spec.name,
        task=spec.task,
        x=x,
        y=y,
        outliers=outliers,
        feature_names=list(spec.feature_names) or [f"x{i + 1}" for i in range(x.shape[1])],  # pixels
        target_name=spec.target_name,
        class_names=class_names,
        n_classes=n_classes,
        soft=soft,
        **common,
    )
