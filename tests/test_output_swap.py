"""The outputs of a run are one set: kill -9 at any point of the save leaves the old set or the new.

A child process saves a new set over an old one with every filesystem step it takes (fsync, rename,
unlink, rmdir) announced on stdout; the parent kills it with SIGKILL right after the k-th
announcement, for every k, then checks that the folder reads as the whole old set or the whole new
one, and that the files load (CSV, torch weights, experiment).
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from losslab.cli import main, state_bytes
from losslab.core.experiment import Experiment, load_experiment
from losslab.core.files import SAVING, recover_file_set, save_file_set

ROOT = Path(__file__).resolve().parents[1]
NAMES = ("history.csv", "weights.pt", "experiment.losslab")

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL and fsync of folders are POSIX")

CHILD = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from losslab.core.files import save_file_set

    source, folder = Path(sys.argv[1]), sys.argv[2]
    files = {name: (source / name).read_bytes() for name in sys.argv[3:]}

    def announced(real):
        def step(*args, **kwargs):
            print("step", flush=True)
            time.sleep(0.02)  # the parent's SIGKILL lands here, before this step is done
            return real(*args, **kwargs)
        return step

    for name in ("fsync", "replace", "unlink", "rmdir"):
        setattr(os, name, announced(getattr(os, name)))
    save_file_set(folder, files)
    print("done", flush=True)
    """
)


def _set(tag: str, epochs: int) -> dict[str, bytes]:
    """A real set of outputs that differ in every file."""
    exp = Experiment.default().replace("training", epochs=epochs)
    exp.name = tag
    history = "epoch,step,train_loss\n" + "".join(f"{e},{10 * e},{1 / e}\n" for e in range(1, epochs + 1))
    weights = {"w": torch.full((3, 2), float(epochs)), "b": torch.arange(epochs, dtype=torch.float32)}
    return {
        "history.csv": history.encode(),
        "weights.pt": state_bytes(weights),
        "experiment.losslab": exp.to_json().encode(),
    }


def _save_in_child(source: Path, folder: Path, kill_after: int | None) -> int:
    """Save the set in ``source`` into ``folder`` in a child; SIGKILL it after ``kill_after`` steps.
    Returns the number of steps the child announced."""
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(source), str(folder), *NAMES],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None
    steps = 0
    for line in proc.stdout:
        if line.strip() == "step":
            steps += 1
            if steps == kill_after:
                proc.send_signal(signal.SIGKILL)
                break
    proc.communicate(timeout=30)
    if kill_after is None or steps < kill_after:
        assert proc.returncode == 0
    else:
        assert proc.returncode == -signal.SIGKILL
    return steps


def _which_set(folder: Path, old: dict[str, bytes], new: dict[str, bytes]) -> str:
    have = {name: (folder / name).read_bytes() for name in NAMES}
    assert have in (old, new), "the folder holds a mix of the old and the new set"
    with open(folder / "history.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    weights = torch.load(io.BytesIO(have["weights.pt"]), weights_only=True)
    exp = load_experiment(folder / "experiment.losslab")
    assert len(rows) == exp.training["epochs"] == len(weights["b"])  # the three agree with each other
    return "old" if have == old else "new"


def test_kill_9_at_every_step_of_the_save_leaves_the_old_set_or_the_new(tmp_path: Path) -> None:
    old, new = _set("old", 2), _set("new", 3)
    source = tmp_path / "new-set"
    source.mkdir()
    for name, data in new.items():
        (source / name).write_bytes(data)
    folder = tmp_path / "out"
    (folder / "seed-0").mkdir(parents=True)
    (folder / "notes.txt").write_text("the user's own", encoding="utf-8")

    save_file_set(folder, old)
    total = _save_in_child(source, folder, None)
    assert _which_set(folder, old, new) == "new" and not (folder / SAVING).exists()
    assert total >= 10  # every file and the manifest: fsync and rename each, then the clean-up

    seen = []
    for k in range(1, total + 1):
        save_file_set(folder, old)
        _save_in_child(source, folder, k)
        recover_file_set(folder)  # as the next `losslab run` into this folder does first
        seen.append(_which_set(folder, old, new))
        assert not (folder / SAVING).exists()
        assert (folder / "notes.txt").read_text(encoding="utf-8") == "the user's own"
        assert (folder / "seed-0").is_dir()
    # Kills before the manifest keep the old set, those after it finish as the new one.
    assert seen[0] == "old" and seen[-1] == "new"
    assert seen == sorted(seen, key=("old", "new").index)


def test_losslab_run_writes_its_outputs_as_one_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`losslab run` saves through save_file_set and finishes a save a crash left half done."""
    import losslab.cli as cli

    saved: list[tuple[Path, list[str]]] = []
    real = cli.save_file_set
    monkeypatch.setattr(
        cli, "save_file_set", lambda folder, files: (saved.append((folder, list(files))), real(folder, files))
    )
    out = tmp_path / "out"
    stale = _set("crashed", 4)
    save_file_set(out, _set("old", 2))
    (out / SAVING).mkdir()  # a save killed after its commit point: the manifest names what is staged
    for name, data in stale.items():
        (out / SAVING / name).write_bytes(data)
    (out / SAVING / "MANIFEST").write_text("\n".join(NAMES) + "\n", encoding="utf-8")

    doc = json.loads((ROOT / "resources/examples/05_moons_bce_logits.losslab").read_text(encoding="utf-8"))
    doc["dataset"]["n_samples"] = 200
    path = tmp_path / "exp.losslab"
    path.write_text(json.dumps(doc), encoding="utf-8")
    assert main(["run", str(path), "--epochs", "2", "--quiet", "--no-record", "--out", str(out)]) == 0
    assert saved == [(out, list(NAMES))]
    assert not (out / SAVING).exists()
    assert load_experiment(out / "experiment.losslab").training["epochs"] == 2
    assert len((out / "history.csv").read_text(encoding="utf-8").splitlines()) == 3
