"""The fixed text of an exported script, with ``$name`` slots that script.py fills.

``string.Template`` rather than ``str.format``: the script is Python, full of braces. What is
written here mirrors LossLab's trainer (base_trainer.py, optim.LRController, early_stopping.py)
step for step, in the same order, because the script must print the same losses;
tests/test_export_script.py trains every bundled example both ways and compares.
"""

from __future__ import annotations

from string import Template

# The learning-rate multiplier of each schedule (optim.SCHEDULES) at ``epoch`` of ``epochs``, written
# as the same arithmetic as the registry's own factor so the floats agree to the last bit;
# tests/test_export_script.py checks each against the registry.
SCHEDULE_FACTORS: dict[str, str] = {
    "constant": "1.0",
    "step": "GAMMA ** (epoch // STEP_SIZE)",
    "exponential": "GAMMA**epoch",
    "cosine": (
        "MIN_FACTOR + (1 - MIN_FACTOR) * 0.5 * (1 + math.cos(math.pi * min(epoch, epochs) / max(1, epochs)))"
    ),
    "plateau": "1.0  # the plateau cut is applied in train(), which sees the validation loss",
}

HEADER = Template('''\
#!/usr/bin/env python3
"""A LossLab experiment as a standalone PyTorch script (needs only torch and numpy).

Train, printing the training and validation loss of every epoch:
    python $filename
    python $filename --epochs 200 --device cuda --out weights.pt
The same with DistributedDataParallel, one process per CPU core or GPU (gloo on the CPU, nccl on
CUDA); rank 0 prints and saves the weights:
    torchrun --nproc_per_node=4 $filename

The data generation, the layers, the loss and the optimizer below are LossLab's own code, and the
training loop takes the same steps in the same order as LossLab's trainer: in one process on the
CPU with one thread (the default --threads 1) this script prints the losses `losslab run` prints.
With torchrun each process takes its share of every epoch (DistributedSampler), so the numbers
differ from a single process while the model, loss and settings stay the same.
"""

# Exported by LossLab from: $source
$about
from __future__ import annotations

$imports

# -- the experiment's training settings --------------------------------------------------------
SEED = $seed  # seeds the weights, the batch order and dropout
EPOCHS = $epochs
BATCH_SIZE = $batch_size  # samples per step; 0: the whole training set in one batch
LR = $lr  # base learning rate (the schedule and warm-up multiply it)
GRAD_CLIP = $grad_clip  # largest gradient norm; 0: no clipping
L1 = $l1  # L1 penalty on the weight matrices (not the biases)
L2 = $l2  # L2 penalty on the weight matrices
EARLY_STOPPING = $patience  # epochs without a better validation loss before stopping; 0: off
DEVICE = $device
WEIGHTS_FILE = $weights_file  # where --out defaults to''')

DATA = Template("""\


# -- data ---------------------------------------------------------------------------------------
$settings


$sources


$loader

$split""")

TABLE_SPLIT = Template('''\
def split_and_standardize(
    rng: np.random.Generator, x: np.ndarray, y: np.ndarray, soft: np.ndarray | None = None
) -> tuple[np.ndarray, ...]:
    """Train/validation split$stratified, then standardization with training statistics only."""
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    train, val = split_indices(rng, len(x), VAL_FRACTION, $labels)
    x_tr, x_va = x[train], x[val]
    d = x.shape[1]
    x_mean, x_std = _moments(x_tr) if STANDARDIZE and len(x_tr) else (np.zeros(d), np.ones(d))
$targets
    x_tr = ((x_tr - x_mean) / x_std).astype(np.float32)
    x_va = ((x_va - x_mean) / x_std).astype(np.float32)
    return x_tr, y_tr, x_va, y_va
''')

# LossLab's data/images.py: one mean and spread over all training pixels (per-pixel statistics
# would blow up the rarely lit border pixels); images stay flattened, the model views them as images.
IMAGE_SPLIT = Template('''\
def split_and_standardize(rng: np.random.Generator, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, ...]:
    """Train/validation split$stratified, then one mean and spread over all training pixels."""
    train, val = split_indices(rng, len(x), VAL_FRACTION, $labels)
    x_tr, x_va = x[train], x[val]
    mean, std = (float(x_tr.mean()), float(x_tr.std()) or 1.0) if STANDARDIZE and len(x_tr) else (0.0, 1.0)
$targets
    return ((x_tr - mean) / std).astype(np.float32), y_tr, ((x_va - mean) / std).astype(np.float32), y_va
''')

REGRESSION_TARGETS = """\
    y = np.asarray(y, dtype=np.float64)
    y_mean, y_std = 0.0, 1.0  # predictions * y_std + y_mean are in the data's own units
    if STANDARDIZE and len(train):
        m, s = _moments(y[train][:, None])
        y_mean, y_std = float(m[0]), float(s[0])
    y_tr = ((y[train] - y_mean) / y_std).astype(np.float32)
    y_va = ((y[val] - y_mean) / y_std).astype(np.float32)"""
BINARY_TARGETS = """\
    y = np.asarray(y, dtype=np.float32)  # labels 0 and 1 (per pixel for masks)
    y_tr, y_va = y[train], y[val]"""
SOFT_TARGETS = """\
    soft = np.asarray(soft, dtype=np.float32)  # the loss trains on each class's share of the votes
    y_tr, y_va = soft[train], soft[val]"""
MULTICLASS_TARGETS = """\
    y = np.asarray(y, dtype=np.int64)  # class indices 0..k-1
    y_tr, y_va = y[train], y[val]"""

GENERATED_LOADER = Template('''\
def make_data(csv_path: str | None = None) -> tuple[np.ndarray, ...]:
    """(x_train, y_train, x_val, y_val) of "$name", generated from its seed as in LossLab."""
    rng = np.random.default_rng(DATA_SEED)
    x, y, _outliers = $call
$votes    return split_and_standardize(rng, x, y$soft)
''')

# LossLab's reading of the file (core/data/csv_parse.py), less its checks and messages: LossLab read
# this file when it wrote the script and found the format and columns named below.
CSV_LOADER = Template('''\
def read_csv(path: str) -> tuple[np.ndarray, np.ndarray]:
    """The feature columns and the target of a CSV file with a header row."""
    # utf-8-sig: spreadsheet programs often write a byte-order mark before the header.
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f, delimiter=DELIMITER, skipinitialspace=True)
        rows = [row for row in reader if any(cell.strip() for cell in row)]
    header = [cell.strip() for cell in rows[0]]

    def column(name: str) -> list[str]:
        j = header.index(name)
        return [row[j].strip() for row in rows[1:]]

    def numbers(cells: list[str]) -> np.ndarray:
        return np.asarray([c.replace(",", ".") for c in cells] if DECIMAL == "," else cells, dtype=np.float64)

    x = np.column_stack([numbers(column(name)) for name in FEATURE_COLUMNS])
    labels = column(TARGET_COLUMN)
$target_codes
    return x, y


def make_data(csv_path: str | None = None) -> tuple[np.ndarray, ...]:
    """(x_train, y_train, x_val, y_val) from the CSV file, split and standardized as LossLab does."""
    rng = np.random.default_rng(DATA_SEED)
    x, y = read_csv(csv_path or CSV_PATH)
    return split_and_standardize(rng, x, y)
''')

MODEL = Template('''\


# -- model --------------------------------------------------------------------------------------
$sources


def build_model() -> Network:
    """$summary"""
    hidden = nn.Sequential(
$layers
    )
    head = $head
    model = Network(hidden, head, _output_activation($output_activation), $image_shape)
    _init_weights(model, $init)
    return model
''')

LOSS = Template('''\


# -- loss ---------------------------------------------------------------------------------------
$body


def data_loss(pred: Tensor, target: Tensor) -> Tensor:
    """$doc"""
    $compute
''')

OPTIMIZER = Template('''\


# -- optimizer and learning-rate schedule -------------------------------------------------------
$sources


OPTIMIZER_PARAMS: dict[str, Any] = $params


def make_optimizer(params: Any, device: str) -> torch.optim.Optimizer:
    """$name with the experiment's settings (fused kernels where torch has them, as in LossLab)."""
    return $build(params, LR, OPTIMIZER_PARAMS, device)


# Schedule "$schedule"; the rate at a step is LR x schedule_factor(epoch) x warm-up.
$schedule_params
WARMUP_EPOCHS = $warmup  # the rate ramps up linearly over this many epochs of steps
PLATEAU = $plateau  # (factor, patience) for "Reduce on plateau", else None


def schedule_factor(epoch: int, epochs: int) -> float:
    """The schedule's multiplier of the learning rate during ``epoch`` (0-based) of ``epochs``."""
    return $factor
''')

# The script's imports: the standard library's (and what the copied code's annotations name), then
# torch's. F is there for a custom loss, which LossLab runs with torch, math and F in scope.
STDLIB_IMPORTS = ("import argparse", "import math", "import os", "from typing import Any")
TORCH_IMPORTS = """\
import numpy as np
import torch
import torch.distributed as dist
${functional}\
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DistributedSampler"""

TRAINING = '''

# -- training: LossLab's trainer, step for step ------------------------------------------------
EXPLOSION_FACTOR = 1e3  # a loss above this many times the starting loss counts as diverged
MIN_IMPROVEMENT = 1e-4  # early stopping: a smaller relative drop of the validation loss is no gain


def regularization(weights: list[Tensor]) -> tuple[Tensor | None, Tensor | None]:
    """The L1 and L2 penalties on the weight matrices (biases are not penalised)."""
    l1 = L1 * sum(w.abs().sum() for w in weights) if L1 else None
    l2 = L2 * sum(w.pow(2).sum() for w in weights) if L2 else None
    return l1, l2


def batch_ends(n: int, batch_size: int, has_batchnorm: bool) -> list[int]:
    """Where each batch of an epoch ends; BatchNorm cannot train on one sample, so a lone
    leftover joins the batch before it."""
    ends = [*range(batch_size, n, batch_size), n]
    if len(ends) > 1 and ends[-1] - ends[-2] == 1 and has_batchnorm:
        del ends[-2]
    return ends


@torch.no_grad()
def evaluate(model: nn.Module, x: Tensor, y: Tensor) -> float:
    """The data loss (no penalties) over a whole set, in evaluation mode (dropout off)."""
    if len(x) == 0:
        return math.nan
    model.eval()
    try:
        return float(data_loss(model(x), y))
    finally:
        model.train()


def pick_device(name: str, local_rank: int | None) -> torch.device:
    mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "mps" if mps else "cpu"
    if (name == "cuda" and not torch.cuda.is_available()) or (name == "mps" and not mps):
        print(f"{name} is not available here; training on the CPU instead")
        name = "cpu"
    if name == "cuda" and local_rank is not None:
        torch.cuda.set_device(local_rank)
        return torch.device("cuda", local_rank)
    return torch.device(name)


def save_weights(state: dict[str, Any], path: str) -> None:
    """torch.save to a temporary file, then rename it over ``path``: never half a file."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    try:
        torch.save(state, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def train(args: argparse.Namespace) -> int:
    world = int(os.environ.get("WORLD_SIZE", "1"))  # torchrun sets these; plain python is 1 process
    rank = int(os.environ.get("RANK", "0"))
    device = pick_device(args.device, int(os.environ.get("LOCAL_RANK", "0")) if world > 1 else None)
    if world > 1:
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    say = print if rank == 0 else (lambda *a, **k: None)
    epochs = args.epochs

    # The order of what follows is the order LossLab's trainer draws random numbers in.
    x_train, y_train, x_val, y_val = (torch.as_tensor(a, device=device) for a in make_data(args.csv))
    torch.manual_seed(SEED)
    net = build_model().to(device)
    optimizer = make_optimizer(net.parameters(), str(device))
    model: nn.Module = net
    if world > 1:
        model = DistributedDataParallel(net, device_ids=[device.index] if device.type == "cuda" else None)
    perm_gen = torch.Generator().manual_seed(SEED)
    reg_weights = [p for p in net.parameters() if p.ndim > 1]
    params = list(net.parameters())
    has_batchnorm = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in net.modules())

    n = len(x_train)
    batch_size = n if BATCH_SIZE == 0 or BATCH_SIZE >= n else BATCH_SIZE
    sampler = None
    if world > 1:  # each process trains on its own share of every epoch
        sampler = DistributedSampler(range(n), num_replicas=world, rank=rank, shuffle=True, seed=SEED)
        batch_size = max(1, -(-batch_size // world))  # the same number of samples per step in all
        ends = batch_ends(len(sampler), batch_size, has_batchnorm)
    else:
        ends = batch_ends(n, batch_size, has_batchnorm)
    warmup_steps = WARMUP_EPOCHS * len(ends)

    def batches(epoch: int) -> Any:
        """This epoch's batches of sample indices; None: the whole training set, in order."""
        if sampler is not None:
            sampler.set_epoch(epoch)
            order = torch.tensor(list(sampler), device=device)
        elif batch_size >= n:
            yield from (None for _ in ends)
            return
        else:
            order = torch.randperm(n, generator=perm_gen).to(device)
        start = 0
        for end in ends:
            yield order[start:end]
            start = end

    # A loss far above the starting one means the run diverged.
    explode_at = math.inf
    if n:
        start_loss = evaluate(net, x_train, y_train)
        with torch.no_grad():
            l1, l2 = regularization(reg_weights)
        start_loss += float(l1 or 0.0) + float(l2 or 0.0)
        if math.isfinite(start_loss):
            explode_at = EXPLOSION_FACTOR * max(start_loss, 1e-2)

    step, lr = 0, LR
    plateau_factor, plateau_best, plateau_bad = 1.0, math.inf, 0
    best_val, best_epoch, best_state = math.inf, 0, None
    model.train()
    for epoch in range(epochs):
        factor = schedule_factor(epoch, epochs) * plateau_factor
        for idx in batches(epoch):
            lr = LR * factor * (min(1.0, (step + 1) / warmup_steps) if warmup_steps else 1.0)
            for group in optimizer.param_groups:
                group["lr"] = lr
            xb, yb = (x_train, y_train) if idx is None else (x_train[idx], y_train[idx])
            loss = data_loss(model(xb), yb)
            if L1 or L2:
                l1, l2 = regularization(reg_weights)
                if l1 is not None:
                    loss = loss + l1
                if l2 is not None:
                    loss = loss + l2
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if GRAD_CLIP:
                torch.nn.utils.clip_grad_norm_(params, GRAD_CLIP)
            optimizer.step()
            step += 1
            value = loss.detach()
            if world > 1:  # every process must agree on whether the run diverged
                dist.all_reduce(value)
                value = value / world
            if not float(value) <= explode_at:  # NaN, infinite, or an explosion
                say(
                    f"diverged at epoch {epoch + 1}, step {step}: the loss reached {float(value):.4g} "
                    f"(learning rate {lr:g}); lower the learning rate or turn on gradient clipping"
                )
                if world > 1:
                    dist.destroy_process_group()
                return 3

        train_loss = evaluate(net, x_train, y_train)
        val_loss = evaluate(net, x_val, y_val)
        if world > 1:  # rank 0's numbers decide, so every process stops at the same epoch
            both = torch.tensor([train_loss, val_loss], dtype=torch.float64, device=device)
            dist.broadcast(both, 0)
            train_loss, val_loss = both.tolist()
        say(
            f"epoch {epoch + 1:>5}/{epochs}  train_loss {train_loss:.10g}  val_loss {val_loss:.10g}  "
            f"lr {lr:.6g}",
            flush=True,
        )

        if PLATEAU is not None:  # reduce on plateau watches the validation loss (else the training loss)
            watched = val_loss if math.isfinite(val_loss) else train_loss
            if math.isfinite(watched):
                if watched < plateau_best - 1e-12:
                    plateau_best, plateau_bad = watched, 0
                else:
                    plateau_bad += 1
                    if plateau_bad > PLATEAU[1]:
                        plateau_factor *= PLATEAU[0]
                        plateau_bad = 0

        if EARLY_STOPPING and math.isfinite(val_loss):
            if val_loss < best_val * (1 - MIN_IMPROVEMENT) or best_state is None:
                best_val, best_epoch = val_loss, epoch + 1
                best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
            elif epoch + 1 - best_epoch >= EARLY_STOPPING:
                net.load_state_dict(best_state)
                say(
                    f"early stopping at epoch {epoch + 1}: no better validation loss for {EARLY_STOPPING} "
                    f"epochs; the weights of epoch {best_epoch} (validation loss {best_val:.4g}) are back"
                )
                break

    if rank == 0 and args.out:
        save_weights({k: v.detach().cpu() for k, v in net.state_dict().items()}, args.out)
        say(f"saved the weights (a state_dict for build_model()) to {args.out}")
    if world > 1:
        dist.destroy_process_group()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=DEVICE, choices=("auto", "cpu", "cuda", "mps"))
    parser.add_argument("--epochs", type=int, default=EPOCHS, help=f"default {EPOCHS}")
    parser.add_argument(
        "--out", default=WEIGHTS_FILE, help="where rank 0 saves the trained weights ('' for nowhere)"
    )
    parser.add_argument("--threads", type=int, default=1, help="torch threads per process (default 1)")
    parser.add_argument("--csv", default=None, help="read the data from this CSV file (CSV experiments only)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    return train(args)


if __name__ == "__main__":
    raise SystemExit(main())
'''
