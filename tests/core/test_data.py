"""Datasets: generators, split, standardization, config validation and CSV import."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from losslab.core.data import (
    COMMON_PARAMS,
    CSV_KIND,
    DATASETS,
    dataset_params,
    get_dataset_spec,
    load_csv,
    make_dataset,
    read_csv_table,
    validate_dataset_config,
)
from losslab.core.data.dataset import split_indices
from losslab.core.data.regression import HOUSE_NOISE_STD, PLANE_COEFFS
from losslab.core.errors import LossLabError
from losslab.core.params import validate_params
from losslab.core.tasks import BINARY, GAN, MULTICLASS, REGRESSION, TASKS

GENERATED = [k for k in DATASETS if k != CSV_KIND]
REPO = Path(__file__).resolve().parents[2]


def arrays(ds):
    return (ds.x_train, ds.y_train, ds.x_val, ds.y_val, ds.outliers_train, ds.outliers_val)


# --- generated datasets -------------------------------------------------------------------------


def test_registry_holds_the_promised_ids():
    assert set(DATASETS) == {
        "house_prices", "sine", "plane", "moons", "circles", "xor", "gaussians", "spiral",
        "spiral_k", "blobs", "annotators", "gan_ring", "gan_1d", "gan_shapes", "shapes", "shape_masks",
        "csv",
    }  # fmt: skip
    for kind, spec in DATASETS.items():
        assert spec.id == kind
        assert spec.description and spec.name
        if kind != CSV_KIND:
            assert spec.task in TASKS


@pytest.mark.parametrize("kind", GENERATED)
def test_shapes_and_dtypes_per_task(kind):
    ds = make_dataset({"kind": kind, "n_samples": 300, "seed": 1})
    spec = get_dataset_spec(kind)
    assert ds.spec_id == kind and ds.task == spec.task and ds.name == spec.name
    assert ds.n_train + ds.n_val == 300 and ds.n_val == 60
    assert ds.x_train.dtype == np.float32 and ds.x_val.dtype == np.float32
    assert ds.x_train.shape == (ds.n_train, ds.n_features) and ds.x_val.shape == (ds.n_val, ds.n_features)
    if ds.image_shape is not None:  # images name no features: a pixel is not a quantity to plot
        assert spec.image and ds.feature_names == [] and ds.n_features == int(np.prod(ds.image_shape))
    elif spec.feature_names:
        assert ds.n_features == len(ds.feature_names) == len(spec.feature_names)
    else:  # flattened pixels for a GAN to imitate
        assert ds.feature_names == [f"x{i + 1}" for i in range(ds.n_features)]
    if ds.masks:  # a (1, H, W) mask per image
        assert ds.y_train.shape == (ds.n_train, *ds.image_shape) and ds.y_val.shape[0] == ds.n_val
    else:
        assert ds.y_train.shape == (ds.n_train,) and ds.y_val.shape == (ds.n_val,)
    assert ds.outliers_train.dtype == bool and ds.outliers_train.shape == (ds.n_train,)
    assert ds.outliers_val.dtype == bool and ds.outliers_val.shape == (ds.n_val,)
    assert ds.x_mean.shape == ds.x_std.shape == (ds.n_features,)
    assert np.isfinite(ds.x_train).all() and np.isfinite(ds.x_val).all()
    if ds.task == MULTICLASS:
        assert ds.y_train.dtype == np.int64
        assert ds.n_classes == len(ds.class_names) >= 2
        assert set(np.unique(ds.y_train)) == set(range(ds.n_classes))
    else:
        assert ds.y_train.dtype == np.float32 and ds.n_classes == 1
    if ds.masks:  # per-pixel 0/1 targets
        assert set(np.unique(ds.y_train)) == {0.0, 1.0}
    elif ds.task == BINARY:
        assert set(np.unique(ds.y_train)) == {0.0, 1.0}
        assert ds.class_names == ["class 0", "class 1"]
    if ds.task == GAN:
        assert not ds.y_train.any() and not ds.y_val.any()
    if ds.task == REGRESSION:
        assert np.isfinite(ds.y_train).all()


def test_dimensions_and_names():
    assert make_dataset({"kind": "house_prices"}).feature_names == ["size (sq ft)"]
    assert make_dataset({"kind": "house_prices"}).target_name == "price ($)"
    assert make_dataset({"kind": "gan_1d"}).n_features == 1
    assert make_dataset({"kind": "gan_ring"}).n_features == 2
    assert make_dataset({"kind": "plane"}).n_features == 2
    assert make_dataset({"kind": "blobs", "n_classes": 7}).class_names == [f"class {i}" for i in range(7)]
    assert make_dataset({"kind": "spiral_k"}).n_classes == 3


@pytest.mark.parametrize("kind", GENERATED)
def test_same_seed_same_arrays_other_seed_differs(kind):
    cfg = {"kind": kind, "n_samples": 200, "seed": 3, "val_fraction": 0.25}
    a, b = make_dataset(cfg), make_dataset(dict(cfg))
    for u, v in zip(arrays(a), arrays(b), strict=True):
        assert u.dtype == v.dtype and np.array_equal(u, v)
    assert a.x_mean.tobytes() == b.x_mean.tobytes() and a.y_mean == b.y_mean
    c = make_dataset({**cfg, "seed": 4})
    assert not np.array_equal(a.x_train, c.x_train)


def test_generation_is_fast():
    for kind in GENERATED:
        start = time.perf_counter()
        # images are drawn one by one: 2,000 is a workshop set (100,000 points take a few ms)
        images = any(p.name == "image_size" for p in DATASETS[kind].params)
        make_dataset({"kind": kind, "n_samples": 2_000 if images else 100_000})
        assert time.perf_counter() - start < 1.0, kind  # typically ~25 ms; loose for slow CI machines


# --- split ---------------------------------------------------------------------------------------


def test_stratified_split_keeps_class_proportions():
    ds = make_dataset({"kind": "blobs", "n_classes": 5, "n_samples": 1000, "val_fraction": 0.3})
    assert np.array_equal(np.bincount(ds.y_val), [60] * 5)
    ds = make_dataset({"kind": "moons", "n_samples": 1000, "imbalance": 0.8, "val_fraction": 0.2})
    total = np.bincount(np.r_[ds.y_train, ds.y_val].astype(int))
    val = np.bincount(ds.y_val.astype(int))
    assert np.all(np.abs(val - 0.2 * total) <= 1)


def test_split_is_shuffled_not_class_ordered():
    ds = make_dataset({"kind": "moons", "n_samples": 400})
    assert 0 < ds.y_train[:50].mean() < 1


@pytest.mark.parametrize("n", [10, 11, 17, 50])
@pytest.mark.parametrize("frac", [0.001, 0.05, 0.5, 0.9])
@pytest.mark.parametrize("stratify", [False, True])
def test_val_never_empty_never_everything(n, frac, stratify):
    labels = np.r_[np.zeros(n - 1, dtype=np.int64), 1] if stratify else None
    train, val = split_indices(np.random.default_rng(0), n, frac, labels)
    assert 1 <= len(val) <= n - 1
    assert sorted(np.r_[train, val]) == list(range(n))
    if stratify and frac <= 0.5:
        assert labels[train].max() == 1  # a class with one sample stays in training


def test_small_datasets_still_get_a_validation_set():
    ds = make_dataset({"kind": "moons", "n_samples": 10, "val_fraction": 0.01, "imbalance": 0.9})
    assert ds.n_val == 1 and ds.n_train == 9
    ds = make_dataset({"kind": "sine", "n_samples": 10, "val_fraction": 0.9})
    assert ds.n_train == 1 and ds.n_val == 9
    ds = make_dataset({"kind": "sine", "n_samples": 10, "val_fraction": 0.0})
    assert ds.n_val == 0 and ds.x_val.shape == (0, 1)


# --- standardization -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["house_prices", "plane", "moons", "blobs", "gan_ring"])
def test_standardization_uses_train_stats_and_reverses(kind):
    cfg = {"kind": kind, "n_samples": 500, "seed": 2}
    ds = make_dataset(cfg)
    raw = make_dataset({**cfg, "standardize": False})
    assert np.array_equal(raw.x_mean, np.zeros(raw.n_features)) and np.array_equal(
        raw.x_std, np.ones(raw.n_features)
    )
    assert raw.y_mean == 0.0 and raw.y_std == 1.0
    # Same seed, same split: the standardized set is the raw set shifted and scaled by train statistics.
    np.testing.assert_allclose(ds.x_mean, raw.x_train.astype(np.float64).mean(axis=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ds.x_train.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(ds.x_train.std(axis=0), 1, atol=1e-4)
    np.testing.assert_allclose(ds.x_to_display(ds.x_train), raw.x_train, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(ds.x_to_display(ds.x_val), raw.x_val, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(ds.x_from_display(raw.x_val), ds.x_val, rtol=1e-4, atol=1e-5)
    assert not np.allclose(ds.x_val.mean(axis=0), 0, atol=1e-6)  # val was not used for the statistics
    if ds.task == REGRESSION:
        assert abs(float(ds.y_train.mean())) < 1e-4 and abs(float(ds.y_train.std()) - 1) < 1e-4
        np.testing.assert_allclose(ds.y_to_display(ds.y_train), raw.y_train, rtol=1e-5, atol=1e-4)
        np.testing.assert_allclose(ds.y_mean, raw.y_train.astype(np.float64).mean(), rtol=1e-6, atol=1e-5)
    else:
        assert ds.y_mean == 0.0 and ds.y_std == 1.0
        assert np.array_equal(ds.y_to_display(ds.y_train), ds.y_train)


def test_house_prices_are_in_dollars_for_display():
    ds = make_dataset({"kind": "house_prices", "n_samples": 2000})
    sqft = ds.x_to_display(ds.x_train)[:, 0]
    price = ds.y_to_display(ds.y_train)
    assert sqft.min() >= 500 and sqft.max() <= 3500
    slope, intercept = np.polyfit(sqft, price, 1)
    assert abs(slope - 150) < 10 and abs(intercept - 50_000) < 20_000
    assert abs(ds.y_train).max() < 10  # the model sees standardized targets, not ~1e5 dollars


# --- outliers, label noise, imbalance ------------------------------------------------------------


def _true_target(kind: str, x: np.ndarray) -> np.ndarray:
    if kind == "house_prices":
        return 50_000 + 150 * x[:, 0]
    if kind == "sine":
        return np.sin(2 * x[:, 0])
    a, b, c = PLANE_COEFFS
    return a * x[:, 0] + b * x[:, 1] + c


@pytest.mark.parametrize(
    ("kind", "far", "near"),
    [("house_prices", 300_000, 5 * HOUSE_NOISE_STD), ("sine", 3.0, 0.5), ("plane", 20.0, 2.5)],
)
def test_outlier_fraction_marks_far_off_samples(kind, far, near):
    spec = get_dataset_spec(kind)
    params = validate_params(spec.params, {"outlier_fraction": 0.1}, "dataset")
    x, y, mask = spec.generate(np.random.default_rng(0), 1000, **params)
    assert mask.dtype == bool and mask.sum() == 100
    residual = y - _true_target(kind, x)
    # near is 5 noise standard deviations: no clean sample gets there, every outlier starts beyond.
    assert np.abs(residual[~mask]).max() < near
    assert residual[mask].min() > far - near

    ds = make_dataset({"kind": kind, "n_samples": 1000, "outlier_fraction": 0.1})
    assert ds.outliers_train.sum() + ds.outliers_val.sum() == 100
    clean = make_dataset({"kind": kind, "n_samples": 1000})
    assert not clean.outliers_train.any() and not clean.outliers_val.any()


@pytest.mark.parametrize(
    ("kind", "extra"), [("moons", {}), ("xor", {}), ("spiral_k", {"n_classes": 5}), ("blobs", {})]
)
def test_label_noise_flips_that_fraction(kind, extra):
    spec = get_dataset_spec(kind)
    noisy = validate_params(spec.params, {**extra, "label_noise": 0.2}, "dataset")
    clean = validate_params(spec.params, extra, "dataset")
    x1, y1, mask = spec.generate(np.random.default_rng(5), 1000, **noisy)
    x0, y0, mask0 = spec.generate(np.random.default_rng(5), 1000, **clean)
    assert np.array_equal(x0, x1)  # flipping happens after the points are drawn
    assert mask.sum() == 200 and not mask0.any()
    assert np.array_equal(y0 != y1, mask)
    ds = make_dataset({"kind": kind, "n_samples": 1000, "label_noise": 0.2, **extra})
    assert ds.outliers_train.sum() + ds.outliers_val.sum() == 200


@pytest.mark.parametrize("kind", ["moons", "circles", "gaussians"])
def test_imbalance_reduces_class_one(kind):
    def counts(imbalance):
        ds = make_dataset({"kind": kind, "n_samples": 1000, "imbalance": imbalance})
        return np.bincount(np.r_[ds.y_train, ds.y_val].astype(int))

    assert list(counts(0.0)) == [500, 500]
    n0, n1 = counts(0.5)
    assert n0 + n1 == 1000 and abs(n1 / n0 - 0.5) < 0.01
    n0, n1 = counts(0.9)
    assert abs(n1 / n0 - 0.1) < 0.01


# --- config validation ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(DATASETS))
def test_every_spec_validates_its_defaults(kind):
    spec = get_dataset_spec(kind)
    names = [p.name for p in dataset_params(kind)]
    assert len(names) == len(set(names))
    defaults = validate_params(COMMON_PARAMS + spec.params, {}, "dataset")
    for p in spec.params:
        assert defaults[p.name] == p.default
        assert p.minimum is None or p.minimum <= p.default
        assert p.maximum is None or p.default <= p.maximum
    if kind == CSV_KIND:
        return
    cfg = validate_dataset_config({"kind": kind})
    assert cfg == {"kind": kind, **defaults, "n_samples": spec.default_n_samples}
    assert validate_dataset_config(cfg) == cfg  # normalized configs are stable


def test_common_params():
    by_name = {p.name: p for p in COMMON_PARAMS}
    assert set(by_name) == {"n_samples", "val_fraction", "seed", "standardize"}
    assert (by_name["n_samples"].minimum, by_name["n_samples"].maximum) == (10, 100_000)
    assert by_name["val_fraction"].default == 0.2 and by_name["standardize"].default is True


@pytest.mark.parametrize(
    ("cfg", "field"),
    [
        ({"kind": "moons", "noise": -1}, "dataset.noise"),
        ({"kind": "moons", "noise": "lots"}, "dataset.noise"),
        ({"kind": "moons", "n_samples": 5}, "dataset.n_samples"),
        ({"kind": "moons", "n_samples": 200_000}, "dataset.n_samples"),
        ({"kind": "moons", "n_samples": 12.5}, "dataset.n_samples"),
        ({"kind": "moons", "val_fraction": 0.95}, "dataset.val_fraction"),
        ({"kind": "moons", "seed": -1}, "dataset.seed"),
        ({"kind": "moons", "standardize": "yes"}, "dataset.standardize"),
        ({"kind": "moons", "label_noise": 0.7}, "dataset.label_noise"),
        ({"kind": "moons", "imbalance": 0.95}, "dataset.imbalance"),
        ({"kind": "moons", "outlier_fraction": 0.1}, "dataset.outlier_fraction"),
        ({"kind": "house_prices", "outlier_fraction": 0.6}, "dataset.outlier_fraction"),
        ({"kind": "blobs", "n_classes": 11}, "dataset.n_classes"),
        ({"kind": "spiral_k", "n_classes": 2}, "dataset.n_classes"),
        ({"kind": "circles", "factor": 1.5}, "dataset.factor"),
        ({"kind": "sine", "path": "a.csv"}, "dataset.path"),
        ({"kind": "nope"}, "dataset.kind"),
        ({"kind": None}, "dataset.kind"),
        ({"n_samples": 100}, "dataset.kind"),
        ("moons", "dataset"),
        ({"kind": "csv"}, "dataset.path"),
        ({"kind": "csv", "path": ""}, "dataset.path"),
        ({"kind": "csv", "path": "a.csv", "target_column": 3}, "dataset.target_column"),
        ({"kind": "csv", "path": "a.csv", "task": "gan"}, "dataset.task"),
        ({"kind": "csv", "path": "a.csv", "noise": 0.1}, "dataset.noise"),
    ],
)
def test_bad_config_names_the_field(cfg, field):
    with pytest.raises(LossLabError) as info:
        make_dataset(cfg)
    assert info.value.field == field
    assert str(info.value).startswith(field + ":")


def test_unknown_kind_lists_known_kinds():
    with pytest.raises(LossLabError, match=r"known datasets are .*moons.*spiral_k") as info:
        get_dataset_spec("mooons")
    assert info.value.field == "dataset.kind"


def test_config_values_are_converted():
    cfg = validate_dataset_config({"kind": "blobs", "n_classes": 3.0, "spread": 1, "seed": 7})
    assert cfg["n_classes"] == 3 and isinstance(cfg["n_classes"], int)
    assert cfg["spread"] == 1.0 and isinstance(cfg["spread"], float)
    assert cfg["val_fraction"] == 0.2 and cfg["standardize"] is True


# --- CSV -----------------------------------------------------------------------------------------


def write(tmp_path: Path, text: str, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def table(header: str, rows: list[str]) -> str:
    return "\n".join([header, *rows]) + "\n"


HOUSES = table(
    "size,rooms,price", [f"{800 + 97 * i},{1 + i % 4},{60_000 + 151 * (800 + 97 * i)}" for i in range(30)]
)


def test_csv_regression_inferred(tmp_path):
    x, y, features, target, task = load_csv(write(tmp_path, HOUSES))
    assert task == REGRESSION and features == ["size", "rooms"] and target == "price"
    assert x.shape == (30, 2) and x.dtype == np.float64 and y.dtype == np.float64
    assert x[0, 0] == 800 and y[0] == 60_000 + 151 * 800


def test_csv_target_column_and_forced_task(tmp_path):
    path = write(tmp_path, HOUSES)
    t = read_csv_table(path, target_column="rooms")
    assert (
        t.task == MULTICLASS
        and t.feature_names == ["size", "price"]
        and t.class_names == ["1", "2", "3", "4"]
    )
    assert set(t.y) == {0, 1, 2, 3} and t.y.dtype == np.int64
    assert read_csv_table(path, target_column="rooms", task=REGRESSION).task == REGRESSION


def test_csv_text_labels_become_classes(tmp_path):
    rows = [f"{i},{i % 3},{'yes' if i % 2 else 'no'}" for i in range(20)]
    t = read_csv_table(write(tmp_path, table("a,b,bought", rows)))
    assert t.task == BINARY and t.class_names == ["no", "yes"]
    assert list(t.y[:4]) == [0, 1, 0, 1]
    rows = [f"{i},{['setosa', 'virginica', 'versicolor'][i % 3]}" for i in range(20)]
    t = read_csv_table(write(tmp_path, table("a,species", rows)))
    assert t.task == MULTICLASS and t.class_names == ["setosa", "versicolor", "virginica"]


def test_csv_binary_numbers_are_remapped(tmp_path):
    rows = [f"{i},{2 * i},{-1 if i % 2 else 1}" for i in range(12)]
    t = read_csv_table(write(tmp_path, table("a,b,label", rows)))
    assert t.task == BINARY and t.class_names == ["-1", "1"] and list(t.y[:2]) == [1, 0]


def test_csv_tolerates_bom_blank_lines_spaces_and_quotes(tmp_path):
    rows = [f' {i} , "{i * 2}" ,{i * 0.5}' for i in range(12)]
    text = "\ufeffa, b ,y\n\n" + "\n".join(rows) + "\n\n"
    x, y, features, target, task = load_csv(write(tmp_path, text))
    assert list(y[:2]) == [0.0, 0.5]
    assert features == ["a", "b"] and target == "y" and task == REGRESSION
    assert x.shape == (12, 2) and list(x[1]) == [1.0, 2.0]


def test_make_dataset_from_csv(tmp_path):
    path = write(tmp_path, HOUSES)
    cfg = {"kind": "csv", "path": str(path), "target_column": "price", "seed": 0, "val_fraction": 0.2}
    ds = make_dataset(cfg)
    assert ds.spec_id == "csv" and ds.task == REGRESSION and ds.name == "CSV: data.csv"
    assert ds.n_train == 24 and ds.n_val == 6 and ds.feature_names == ["size", "rooms"]
    assert ds.target_name == "price" and not ds.outliers_train.any()
    assert np.array_equal(make_dataset(cfg).x_train, ds.x_train)
    raw = np.r_[ds.y_to_display(ds.y_train), ds.y_to_display(ds.y_val)]
    np.testing.assert_allclose(np.sort(raw), np.sort(load_csv(path)[1]), rtol=1e-6)
    norm = validate_dataset_config({"kind": "csv", "path": path})
    assert norm["path"] == str(path) and norm["target_column"] is None and norm["task"] is None

    multi = make_dataset({"kind": "csv", "path": str(path), "target_column": "rooms"})
    assert multi.task == MULTICLASS and multi.n_classes == 4 and multi.y_train.dtype == np.int64
    assert multi.class_names == ["1", "2", "3", "4"]


def test_constant_csv_column_does_not_divide_by_zero(tmp_path):
    rows = [f"{i},7,{i % 2}" for i in range(20)]
    ds = make_dataset({"kind": "csv", "path": str(write(tmp_path, table("a,const,y", rows)))})
    assert np.isfinite(ds.x_train).all() and ds.x_std[1] == 1.0


def _data_rows(n: int = 12) -> list[str]:
    return [f"{1000 + i},{i % 5},{i * 3.5}" for i in range(n)]


MALFORMED = {
    "empty file": ("", "is empty"),
    "blank lines only": ("\n  \n\n", "is empty"),
    "no header": (table("1,2,3", _data_rows()), "line 1 holds numbers, not column names"),
    "ragged row": (
        table("size,rooms,y", [*_data_rows()[:4], "5,6", *_data_rows()[4:]]),
        "line 6 has 2 values",
    ),
    "non-numeric feature": (
        table("size,rooms,y", [*_data_rows(15), "abc,3,4.0", *_data_rows(3)]),
        "line 17, column 'size': 'abc' is not a number",
    ),
    "missing value": (
        table("size,rooms,y", [*_data_rows()[:3], "1200,,4.0", *_data_rows()[3:]]),
        "line 5, column 'rooms': missing value",
    ),
    "NA value": (table("size,rooms,y", [*_data_rows(), "NA,1,2"]), "line 14, column 'size': missing value"),
    "infinite value": (table("size,rooms,y", [*_data_rows(), "inf,1,2"]), "'inf' is not a finite number"),
    "missing target": (table("size,rooms,y", [*_data_rows(), "1,1,"]), "line 14, column 'y': missing target"),
    "single column": (table("y", [str(i) for i in range(20)]), "only one column ('y')"),
    "too few rows": (table("size,rooms,y", _data_rows(9)), "only 9 data rows; at least 10"),
    "header only": ("size,rooms,y\n", "only 0 data rows"),
    "only one class": (table("a,label", [f"{i},cat" for i in range(12)]), "only one class ('cat')"),
    "only one integer class": (table("a,label", [f"{i},1" for i in range(12)]), "only one class ('1')"),
    "unnamed column": (table("size,,y", _data_rows()), "header column 2 has no name"),
    "duplicate column": (table("size,size,y", _data_rows()), "'size' appears twice"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_csv_says_what_is_wrong(tmp_path, case):
    text, expected = MALFORMED[case]
    path = write(tmp_path, text, "my_houses.csv")
    with pytest.raises(LossLabError) as info:
        load_csv(path)
    message = str(info.value)
    assert expected in message
    assert "my_houses.csv" in message


def test_csv_missing_file_and_folder(tmp_path):
    with pytest.raises(LossLabError, match=r"nothing\.csv: file not found"):
        load_csv(tmp_path / "nothing.csv")
    with pytest.raises(LossLabError, match="is a folder"):
        load_csv(tmp_path)
    with pytest.raises(LossLabError, match="file not found"):
        make_dataset({"kind": "csv", "path": str(tmp_path / "nothing.csv")})


def test_csv_not_utf8(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes(table("größe,y", [f"{i},{i}" for i in range(12)]).encode("latin-1"))
    with pytest.raises(LossLabError, match="not a UTF-8 text file"):
        load_csv(path)


def test_csv_unknown_target_column_lists_columns(tmp_path):
    with pytest.raises(LossLabError, match="no column named 'cost'; the columns are size, rooms, price"):
        load_csv(write(tmp_path, HOUSES), target_column="cost")


def test_csv_binary_encoding_error(tmp_path):
    with pytest.raises(
        LossLabError, match=r"binary encoding error: column 'rooms' has 4 distinct values \(1, 2, 3, 4\)"
    ):
        load_csv(write(tmp_path, HOUSES), target_column="rooms", task=BINARY)


def test_csv_regression_needs_numeric_target(tmp_path):
    rows = [f"{i},{'big' if i == 4 else i * 2.5}" for i in range(12)]
    with pytest.raises(LossLabError, match="line 6, column 'y': 'big' is not a number"):
        load_csv(write(tmp_path, table("a,y", rows)), task=REGRESSION)


def test_csv_bad_task_argument(tmp_path):
    with pytest.raises(LossLabError, match="task must be one of"):
        load_csv(write(tmp_path, HOUSES), task="gan")


# --- isolation -----------------------------------------------------------------------------------


def test_data_package_imports_neither_torch_nor_qt():
    # Block the imports outright, so a failure's traceback names the module that tried.
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('torch', 'PySide6'):\n"
        "            raise ImportError('losslab.core.data must not import ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import losslab.core.data\n"
        "losslab.core.data.make_dataset({'kind': 'moons'})\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]


def test_data_sources_mention_neither_torch_nor_qt():
    import ast

    import losslab.core.data as package

    for path in Path(package.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            assert not [n for n in names if n.split(".")[0] in ("torch", "PySide6")], path.name
