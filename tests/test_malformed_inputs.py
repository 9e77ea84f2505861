"""Malformed input, class by class: exit 2, one clear line naming what is wrong, nothing written.

Each case is an experiment file (or a path that is not one) given to `losslab run`; the output
folder holds a sentinel file that must be left exactly as it was.
"""

from __future__ import annotations

import copy
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

import losslab
from losslab.cli import main

ROOT = Path(__file__).resolve().parents[1]
BASE = json.loads((ROOT / "resources/examples/05_moons_bce_logits.losslab").read_text(encoding="utf-8"))
BLOBS = json.loads((ROOT / "resources/examples/12_blobs_focal.losslab").read_text(encoding="utf-8"))


def _set(path: str, value: Any, base: dict[str, Any] = BASE) -> Callable[[], dict[str, Any]]:
    def make() -> dict[str, Any]:
        doc = copy.deepcopy(base)
        *parents, last = path.split(".")
        node: Any = doc
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
        return doc

    return make


def _big_batch() -> dict[str, Any]:
    doc = copy.deepcopy(BASE)
    doc["dataset"]["n_samples"] = 100_000
    doc["training"]["batch_size"] = 0  # full batch
    return doc


def _nested(depth: int) -> Any:
    value: Any = 0
    for _ in range(depth):
        value = {"a": value}
    return value


NAN, INF = float("nan"), float("inf")
# (case id, experiment maker, text the message must contain)
EXPERIMENTS = [
    ("int-nan", _set("training.epochs", NAN), "training.epochs: must be a finite number, got NaN"),
    ("int-inf", _set("training.batch_size", INF), "training.batch_size: must be a finite number"),
    ("int-neg-inf", _set("dataset.n_samples", -INF), "dataset.n_samples: must be a finite number"),
    ("units-inf", _set("model.layers.0.units", INF), "model.layers[0].units: must be a finite number"),
    ("int-huge", _set("training.batch_size", 10**30), "training.batch_size: must be at most"),
    ("int-fraction", _set("training.epochs", 2.5), "training.epochs: must be a whole number, got 2.5"),
    ("int-as-written", _set("model.layers.0.units", 1000000000), "got 1000000000"),
    ("float-nan", _set("optimizer.lr", NAN), "optimizer.lr: must be a finite number"),
    ("float-text", _set("optimizer.lr", "fast"), "optimizer.lr: must be a number, got 'fast'"),
    (
        "adam-eps-0",
        _set("optimizer.params", {"eps": 0}),
        "optimizer.params.eps: must be at least 1e-12, got 0",
    ),
    ("bool-as-number", _set("optimizer.lr", True), "optimizer.lr: must be a number, got true"),
    (
        "weights-nan",
        _set("loss.params", {"alpha": [1.0, NAN, 1.0]}, BLOBS),
        "loss.params.alpha[1]: must be a finite number",
    ),
    (
        "weights-zero",
        _set("loss.params", {"alpha": [0, 0, 0]}, BLOBS),
        "loss.params.alpha: must not be all zero",
    ),
    (
        "weights-empty",
        _set("loss.params", {"alpha": []}, BLOBS),
        "loss.params.alpha: must be a list of numbers",
    ),
    ("weights-length", _set("loss.params", {"alpha": [1, 2]}, BLOBS), "needs 4 value(s) for 4 classes"),
    ("float-400-digits", _set("optimizer.lr", 10**400), "optimizer.lr: must be at most 100, got 1e+400"),
    ("layer-type-list", _set("model.layers.0.type", []), "model.layers[0].type: unknown layer type []"),
    ("optimizer-id-object", _set("optimizer.id", {"id": "adam"}), "optimizer.id: must be a name"),
    ("init-list", _set("model.init", ["xavier"]), "model.init: must be a name"),
    ("long-value-shortened", _set("dataset", ["x" * 100_000]), "dataset: must be an object, got ['xxx"),
    ("nested-500-deep", _set("description", _nested(500)), "nests lists or objects too deeply"),
    ("unknown-key-not-text", _set("training", {"epochs": 1, "x" * 5000: 1}), "unknown parameter 'xxx"),
    (
        "too-many-parameters",
        _set("model.layers", [{"type": "linear", "units": 4096}] * 3),
        "the network would have 33,579,009 parameters",
    ),
    (
        "activations-too-big",
        _set("model.layers", [{"type": "linear", "units": 2048}, {"type": "relu"}] * 2, _big_batch()),
        "use a smaller batch size or narrower layers",
    ),
]


def _run(tmp_path: Path, target: str) -> tuple[int, str, Path]:
    out = tmp_path / "out"
    out.mkdir()
    (out / "sentinel.txt").write_text("keep me", encoding="utf-8")
    code = main(["run", target, "--epochs", "1", "--quiet", "--no-record", "--out", str(out)])
    return code, str(out), out


def _check_untouched(out: Path) -> None:
    assert sorted(p.name for p in out.iterdir()) == ["sentinel.txt"]
    assert (out / "sentinel.txt").read_text(encoding="utf-8") == "keep me"


@pytest.mark.parametrize(("case", "make", "message"), EXPERIMENTS, ids=[c[0] for c in EXPERIMENTS])
def test_malformed_experiment_is_refused_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str, make: Callable[[], Any], message: str
) -> None:
    path = tmp_path / f"{case}.losslab"
    path.write_text(json.dumps(make()), encoding="utf-8")  # NaN/Infinity as Python's json writes them
    code, _, out = _run(tmp_path, str(path))
    err = capsys.readouterr().err
    assert code == 2, err
    assert message in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert len(err) < 600, "a message shows a glimpse of a wrong value, never all of it"
    _check_untouched(out)


def _door(tmp_path: Path, kind: str) -> str:
    if kind == "folder":
        (tmp_path / "folder.losslab").mkdir()
        return str(tmp_path / "folder.losslab")
    if kind == "pipe":
        os.mkfifo(tmp_path / "pipe.losslab")
        return str(tmp_path / "pipe.losslab")
    if kind == "device":
        return "/dev/zero"
    if kind == "huge":
        with open(tmp_path / "huge.losslab", "wb") as f:
            f.truncate(17 * 1024 * 1024)  # sparse: nothing is really written
        return str(tmp_path / "huge.losslab")
    if kind == "deep":
        (tmp_path / "deep.losslab").write_text("[" * 100_000, encoding="utf-8")
        return str(tmp_path / "deep.losslab")
    if kind == "long-number":  # Python refuses to read integers of more than 4300 digits
        (tmp_path / "long.losslab").write_text('{"format": "losslab", "n": ' + "7" * 5000 + "}")
        return str(tmp_path / "long.losslab")
    if kind == "binary":
        (tmp_path / "binary.losslab").write_bytes(bytes(range(256)) * 4)
        return str(tmp_path / "binary.losslab")
    assert kind == "secret"
    (tmp_path / "secret.losslab").write_text("password=hunter2\n", encoding="utf-8")
    return str(tmp_path / "secret.losslab")


DOORS = [
    ("folder", "is a folder"),
    ("pipe", "is a pipe"),
    ("device", "is a device or special file"),
    ("huge", "at most 16 MB"),
    ("deep", "nests lists or objects too deeply"),
    ("long-number", "holds a number too long to be a LossLab setting"),
    ("binary", "not a text file"),
    ("secret", "not valid JSON"),
]


@pytest.mark.skipif(sys.platform == "win32", reason="pipes and /dev/zero are POSIX")
@pytest.mark.parametrize(("kind", "message"), DOORS, ids=[d[0] for d in DOORS])
def test_a_path_that_is_not_an_experiment_is_refused_before_reading(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str, message: str
) -> None:
    target = _door(tmp_path, kind)
    code, _, out = _run(tmp_path, target)
    err = capsys.readouterr().err
    assert code == 2, err
    assert message in err
    assert "hunter2" not in err, "the message echoes the content of a file the user did not choose as data"
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    _check_untouched(out)


@pytest.mark.skipif(sys.platform == "win32", reason="pipes are POSIX")
def test_lr_find_steps_are_bounded(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["lr-find", str(ROOT / "resources/examples/05_moons_bce_logits.losslab"), "--steps", "10000000"]
    )
    assert code == 2 and "--steps: must be at most 100,000" in capsys.readouterr().err


def test_a_csv_path_that_is_a_pipe_is_refused(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "data.csv")
    with pytest.raises(losslab.LossLabError, match="is a pipe"):
        losslab.train({**copy.deepcopy(BASE), "dataset": {"kind": "csv", "path": str(tmp_path / "data.csv")}})


def test_a_semicolon_csv_is_read_with_its_delimiter(tmp_path: Path) -> None:
    # It used to be refused ("only one column ('size;price')"); issue #14 asked for it to be read.
    from losslab.core.data.csv_import import read_csv_table

    path = tmp_path / "semi.csv"
    path.write_text("size;price\n" + "".join(f"{i};{2 * i}\n" for i in range(30)), encoding="utf-8")
    table = read_csv_table(path)
    assert table.feature_names == ["size"] and table.format.delimiter == ";"


LOSS_VALUES = [
    ("bce", torch.tensor([1.5, 0.2]), torch.tensor([1.0, 0.0]), "takes probabilities in \\[0, 1\\]"),
    ("bce", torch.tensor([0.5, 0.2]), torch.tensor([2.0, 0.0]), "could not be computed"),
    ("cross_entropy", torch.zeros(2, 3), torch.tensor([0, 5]), "class label 5 is out of range for 3"),
    ("cross_entropy", torch.zeros(2, 3), torch.tensor([0, -1]), "class label -1 is out of range"),
    ("focal", torch.zeros(2, 3), torch.tensor([0, 3]), "class label 3 is out of range"),
    ("multi_hinge", torch.zeros(2, 3), torch.tensor([3, 0]), "class label 3 is out of range"),
    ("mse", torch.zeros(3), torch.zeros(2), "does not match target shape"),
]


@pytest.mark.parametrize(("loss_id", "pred", "target", "message"), LOSS_VALUES)
def test_the_api_loss_names_values_it_is_undefined_for(
    loss_id: str, pred: torch.Tensor, target: torch.Tensor, message: str
) -> None:
    with pytest.raises(losslab.LossLabError, match=message):
        losslab.loss(loss_id)(pred, target)


@pytest.mark.parametrize("gamma", [0.0, 0.25, 0.5, 0.99, 2.0])
def test_focal_gradient_is_finite_when_a_sample_is_already_right(gamma: float) -> None:
    """p_t rounds to 1 for a confident right answer; (1 - p_t)^gamma must not make the gradient NaN."""
    multi = torch.tensor([[40.0, 0.0, 0.0], [0.1, 0.2, 0.3]], requires_grad=True)
    losslab.loss("focal", gamma=gamma)(multi, torch.tensor([0, 2])).backward()
    binary = torch.tensor([40.0, -3.0], requires_grad=True)
    losslab.loss("focal", gamma=gamma)(binary, torch.tensor([1.0, 1.0])).backward()
    assert multi.grad is not None and torch.isfinite(multi.grad).all()
    assert binary.grad is not None and torch.isfinite(binary.grad).all()


EXAMPLE = str(ROOT / "resources/examples/05_moons_bce_logits.losslab")
# (case id, arguments after `losslab` ({tmp} is the test's folder), text the message must contain)
FLAGS = [
    ("epochs-huge", ["run", EXAMPLE, "--epochs", "10" * 10], "--epochs: must be at most 1000000"),
    ("seeds-huge", ["run", EXAMPLE, "--seeds", "99999999999999"], "--seeds: must be at most 1,000"),
    ("tag-line-break", ["run", EXAMPLE, "--tag", "a\nb"], "--tag: a tag is a word or two"),
    ("tag-long", ["run", EXAMPLE, "--tag", "t" * 10_000], "at most 64 printable characters, got 'ttt"),
    ("out-empty", ["run", EXAMPLE, "--out", ""], "--out: give a folder name"),
    ("out-through-a-file", ["run", EXAMPLE, "--out", f"{EXAMPLE}/out"], "is a file, not a folder"),
    (
        "out-through-a-device",
        ["run", EXAMPLE, "--out", "/dev/null/out"],
        "cannot be made: /dev/null is a file",
    ),
    (
        "race-vary-twice",
        ["race", EXAMPLE, "--vary", "loss=mse,mae", "--vary", "optimizer.lr=1,2"],
        "give it once",
    ),
    ("runs-show-huge-id", ["runs", "show", "9" * 30], "there is no run 999"),
    ("runs-rm-huge-id", ["runs", "rm", "9" * 30], "there is no run 999"),
    ("runs-limit-huge", ["runs", "list", "--limit", "9" * 30], "--limit: must be below 2**63"),
    ("bench-json-folder", ["bench", "--quick", "--json", "{tmp}"], "--json: {tmp} is a folder"),
    ("bench-json-under-a-file", ["bench", "--json", f"{EXAMPLE}/b.json"], "exists and is not a folder"),
]


@pytest.mark.skipif(sys.platform == "win32", reason="/dev/null is POSIX")
@pytest.mark.parametrize(("case", "argv", "message"), FLAGS, ids=[f[0] for f in FLAGS])
def test_a_bad_flag_is_refused_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str, argv: list[str], message: str
) -> None:
    code = main(
        [a.replace("{tmp}", str(tmp_path)) for a in argv] + ["--no-record"] * (argv[0] in ("run", "race"))
    )
    err = capsys.readouterr().err
    assert code == 2, err
    assert message.replace("{tmp}", str(tmp_path)) in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err  # so nothing trained yet
    assert list(tmp_path.iterdir()) == []


def _moons() -> dict[str, Any]:
    doc = copy.deepcopy(BASE)
    doc["dataset"]["n_samples"] = 200
    doc["training"]["epochs"] = 1
    return doc


# (case id, a call of the API with a bad argument, text the LossLabError must contain)
API_CALLS: list[tuple[str, Callable[[], Any], str]] = [
    ("train-none", lambda: losslab.train(None), "experiment: must be an Experiment, a dict or the path"),
    ("train-device", lambda: losslab.train(_moons(), device="tpu"), "device: must be one of auto, cpu"),
    ("train-callback", lambda: losslab.train(_moons(), callback=5), "callback: must be a function"),
    ("load-not-a-path", lambda: losslab.load_experiment(5), "must be text or a Path, got int"),
    ("load-nul", lambda: losslab.load_experiment("a\x00b"), "holds a NUL character"),
    ("lr-find-inf", lambda: losslab.lr_find(_moons(), end=INF), "both finite"),
    ("lr-find-steps", lambda: losslab.lr_find(_moons(), steps=10**9), "from 5 to 100,000"),
    ("lr-find-device", lambda: losslab.lr_find(_moons(), device=5), "device: must be one of"),
    ("landscape-seed-nan", lambda: losslab.landscape(_moons(), steps=3, seed=NAN), "seed: must be a whole"),
    (
        "landscape-seed-huge",
        lambda: losslab.landscape(_moons(), steps=3, seed=2**70),
        "seed: must be a whole",
    ),
    (
        "landscape-trajectory-text",
        lambda: losslab.landscape(_moons(), steps=3, directions="pca", trajectory="abc"),
        "trajectory: the trajectory must be a list of weight vectors",
    ),
    (
        "landscape-weights-device",
        lambda: losslab.landscape(_moons(), weights="/dev/zero"),
        "weights: /dev/zero is",
    ),
    (
        "landscape-weights-not-torch",
        lambda: losslab.landscape(_moons(), steps=3, weights=ROOT / "README.md"),
        "it is not a PyTorch weights file",
    ),
    ("loss-of-text", lambda: losslab.loss("mse")("a", "b"), "pred and target must be tensors"),
    ("loss-of-none", lambda: losslab.loss("mse")(None, None), "got NoneType and NoneType"),
]


@pytest.mark.parametrize(("case", "call", "message"), API_CALLS, ids=[c[0] for c in API_CALLS])
def test_the_api_refuses_a_bad_argument_with_a_loss_lab_error(
    case: str, call: Callable[[], Any], message: str
) -> None:
    with pytest.raises(losslab.LossLabError) as caught:
        call()
    assert message in str(caught.value)
    assert "\n" not in str(caught.value) and len(str(caught.value)) < 400


@pytest.mark.skipif(sys.platform == "win32", reason="/dev/null is POSIX")
def test_a_path_the_system_refuses_is_one_line_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Any command: an OSError on a path it was given (here `new --out` under a device) is exit 2."""
    data = tmp_path / "data.csv"
    data.write_text("x,y\n" + "".join(f"{i},{i % 2}\n" for i in range(30)), encoding="utf-8")
    code = main(["new", "--csv", str(data), "--target", "y", "--out", "/dev/null/x.losslab"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "/dev/null" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
