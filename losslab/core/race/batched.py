"""Variants of one network trained together: stacked weights, one vmapped forward, one backward.

The V variants' initial weights are copies of one network built from the seed (exactly as
``Trainer.reset_weights`` builds it), stacked with ``torch.func.stack_module_state`` and flattened
into one (V, P) leaf tensor; the network runs on all of them at once through
``torch.func.functional_call`` under ``torch.vmap``. Each variant's loss is computed on its own
slice of the outputs (variants sharing a loss in one vmapped call), the per-variant totals are
summed, and one backward gives every variant its own gradient (its parameters are its own rows).
Regularization (L1/L2 on weight matrices), gradient clipping by norm and the optimizer step are
per row, with per-variant hyperparameters (stacked_optim.py). Batches come from ``BatchOrder``,
the trainer's own permutation stream, so a variant here trains exactly as it would alone.

Step losses stay on the device until a report is due (~50 ms), so the hot loop never waits for
a ``.item()``; divergence (NaN/inf, or 1000x the starting loss, as the trainer) is found at each
report and ends that variant alone.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from losslab.core.controls import Controls
from losslab.core.data import Dataset
from losslab.core.device import resolve_device
from losslab.core.events import Diverged, EpochEnd, StepBatch
from losslab.core.layers import check_network_size, network_io
from losslab.core.losses import LossSpec, resolve_loss
from losslab.core.metrics import classification_metrics, regression_metrics
from losslab.core.model import build_model
from losslab.core.optim import LRController
from losslab.core.race.fairness import BatchOrder, batch_ends, state_digest
from losslab.core.race.stacked_optim import RULES, StackedRule
from losslab.core.race.types import (
    DIVERGED,
    FINISHED,
    STOPPED,
    RaceEpoch,
    RaceNotice,
    RaceSteps,
    Variant,
    VariantResult,
)
from losslab.core.tasks import REGRESSION
from losslab.core.trainer import EXPLOSION_FACTOR, FLUSH_SECONDS, describe_divergence, divergence_advice

Emit = Callable[[object], None]


class _LRSlot:
    """Stands in for an optimizer so LossLab's LRController can drive one variant's rate."""

    def __init__(self) -> None:
        self.param_groups: list[dict[str, Any]] = [{}]


@dataclass
class _LossRun:
    """Consecutive variant rows that share a loss (and its output activation).

    ``how`` is "flat" (the rows' outputs as one long batch through the per-sample loss, then a
    mean per row: a few ops for any number of variants), "vmap" (the batch loss under torch.vmap:
    set-level losses) or "loop" (one call per row); the first that reproduces a plain call per row
    on a few samples is used (``BatchedGroup._choose_loss_paths``).
    """

    rows: slice
    spec: LossSpec
    params: dict[str, Any]
    activation: str | None
    how: str = "loop"
    vmapped: Callable[[Tensor, Tensor], Tensor] | None = None

    @property
    def size(self) -> int:
        return int(self.rows.stop) - int(self.rows.start)

    def activated(self, out: Tensor) -> Tensor:
        o = out[self.rows]
        if self.activation == "sigmoid":
            return torch.sigmoid(o)
        if self.activation == "softmax":
            return o.softmax(dim=-1)
        return o

    def losses(self, out: Tensor, target: Tensor) -> Tensor:
        return self.losses_of(self.activated(out), target, self.how)

    def losses_of(self, o: Tensor, target: Tensor, how: str) -> Tensor:
        if how == "flat":
            g, n = o.shape[0], o.shape[1]
            pred = o.reshape(g * n, *o.shape[2:])
            tgt = target.repeat(g, *([1] * (target.ndim - 1)))
            values = self.spec.per_sample(pred, tgt, **self.params).view(g, n)
            if self.spec.sample_weight is not None:
                weights = self.spec.sample_weight(pred, tgt, **self.params)
                if weights is not None:
                    return values.sum(dim=1) / weights.view(g, n).sum(dim=1)
            return values.mean(dim=1)
        if how == "vmap" and self.vmapped is not None:
            return self.vmapped(o, target)
        return torch.stack([self.spec.compute(o[i], target, **self.params) for i in range(o.shape[0])])


_ELEMENTWISE = (nn.ReLU, nn.LeakyReLU, nn.GELU, nn.Tanh, nn.Sigmoid, nn.Softplus, nn.Identity)


def _runs(keys: list[str]) -> list[slice]:
    """Maximal slices of equal consecutive keys."""
    out, start = [], 0
    for i in range(1, len(keys) + 1):
        if i == len(keys) or keys[i] != keys[start]:
            out.append(slice(start, i))
            start = i
    return out


class BatchedGroup:
    """V variants with the same network, data, seed, batch size and epochs, trained as one."""

    def __init__(
        self, variants: list[Variant], dataset: Dataset, path: str, headline: str, engine: str = "auto"
    ) -> None:
        """``engine``: "auto" (bmm for plain Linear/activation stacks, else vmap) or "vmap"."""
        # Rows sorted so variants sharing an optimizer or a loss are consecutive (one rule per run).
        self.variants = sorted(
            variants,
            key=lambda v: (v.experiment.optimizer["id"], json.dumps(v.experiment.loss, sort_keys=True)),
        )
        self.dataset, self.path, self.headline = dataset, path, headline
        exp0 = self.variants[0].experiment
        self.device, self.device_notice = resolve_device(exp0.training["device"])
        dev, ds, V = self.device, dataset, len(self.variants)
        self.specs = [resolve_loss(v.experiment.loss, ds.task) for v in self.variants]
        ios = [network_io(ds.task, ds.n_features, ds.n_classes, s.output_activation) for s in self.specs]
        in_f, out_f = ios[0][0], ios[0][1]
        self.x_train = torch.as_tensor(ds.x_train, device=dev)
        self.y_train = torch.as_tensor(ds.y_train, device=dev)
        self.x_val = torch.as_tensor(ds.x_val, device=dev)
        self.y_val = torch.as_tensor(ds.y_val, device=dev)

        # The network once, from the seed, as the trainer builds it (image data: on each sample's
        # (channels, height, width), masks per pixel); the output activation a loss needs has no
        # weights and is applied per variant on its slice of the outputs.
        batch = exp0.training["batch_size"] or len(ds.x_train)
        in_shape = ds.image_shape or in_f
        check_network_size(
            exp0.model["layers"], in_shape, out_f, min(batch, len(ds.x_train)), copies=V, per_pixel=ds.masks
        )
        torch.manual_seed(exp0.training["seed"])
        self.net = build_model(
            exp0.model["layers"], in_shape, out_f, None, exp0.model["init"], per_pixel=ds.masks
        ).to(dev)
        if any(True for _ in self.net.buffers()):
            raise ValueError("a batched race needs a network without buffers (no batch norm)")
        # Every variant starts from the same weights: one row of them, repeated (copying the
        # module V times to stack it was a fifth of a short race's time).
        state = self.net.state_dict()
        self.names = list(state)
        shapes = [tuple(state[n].shape) for n in self.names]
        row = torch.cat([state[n].detach().reshape(1, -1) for n in self.names], dim=1)
        self.flat = row.repeat(V, 1).contiguous()
        self.flat.requires_grad_(True)
        self.data = self.flat.detach()  # the same storage, for in-place updates outside autograd
        offsets = np.cumsum([0] + [math.prod(s) for s in shapes]).tolist()
        self.slices = [
            (n, a, b, s) for n, a, b, s in zip(self.names, offsets[:-1], offsets[1:], shapes, strict=True)
        ]
        # Regularize weight matrices only (as the trainer): a 0/1 mask over the flat columns.
        mask = torch.zeros(1, self.flat.shape[1], device=dev)
        for _, a, b, s in self.slices:
            if len(s) > 1:
                mask[:, a:b] = 1.0
        self.weight_mask = mask
        self.init_digests = [state_digest(self.state_dict(i)) for i in range(V)]

        def forward(params: dict[str, Tensor], x: Tensor) -> Tensor:
            out: Tensor = torch.func.functional_call(self.net, params, (x,))
            return out

        self.vforward = torch.vmap(forward, in_dims=(0, None))
        # A plain stack of Linear layers and activations (the usual small MLP) has a faster route to
        # the same numbers: batched matrix products on the stacked weights (no functional_call/vmap
        # dispatch, about half the step time). Anything else (LayerNorm, residual blocks) goes
        # through vmap. ``engine`` says which; tests check both against the trainer.
        plain = all(
            isinstance(m, nn.Linear) or (isinstance(m, _ELEMENTWISE) and not list(m.parameters()))
            for m in self.net.hidden
        )
        self.engine = "bmm" if plain and engine != "vmap" else "vmap"
        # (parameter prefix, module) per layer, the prefix "" for a parameterless activation.
        named = [(f"hidden.{i}", m) for i, m in enumerate(self.net.hidden)] + [("head", self.net.head)]
        self._layers = [(name if isinstance(m, nn.Linear) else "", m) for name, m in named]
        self.forward = self._bmm_forward if self.engine == "bmm" else self.vforward

        # Losses: one vmapped call per run of variants sharing a loss.
        loss_keys = [
            json.dumps([v.experiment.loss, io[2]], sort_keys=True)
            for v, io in zip(self.variants, ios, strict=True)
        ]
        self.loss_runs = []
        for sl in _runs(loss_keys):
            spec, params, act = (
                self.specs[sl.start],
                dict(self.variants[sl.start].experiment.loss["params"]),
                ios[sl.start][2],
            )
            self.loss_runs.append(_LossRun(sl, spec, params, act))
        self._choose_loss_paths()

        # Optimizers: one stacked rule per run of variants sharing an optimizer.
        opt_keys = [v.experiment.optimizer["id"] for v in self.variants]
        self.rules: list[StackedRule] = [
            RULES[opt_keys[sl.start]](
                sl, [v.experiment.optimizer["params"] for v in self.variants[sl]], self.data
            )
            for sl in _runs(opt_keys)
        ]
        reg = [v.experiment.regularization for v in self.variants]
        self.l1 = torch.tensor([r["l1"] for r in reg], device=dev)
        self.l2 = torch.tensor([r["l2"] for r in reg], device=dev)
        self.use_l1 = any(r["l1"] for r in reg)
        self.use_l2 = any(r["l2"] for r in reg)
        clips = [v.experiment.optimizer["grad_clip"] for v in self.variants]
        self.use_clip = any(clips)
        self.clip = torch.tensor([c if c else math.inf for c in clips], device=dev)

        t = exp0.training
        self.epochs, self.seed = t["epochs"], t["seed"]
        self.ends = batch_ends(ds.n_train, t["batch_size"])
        self.lrs = [
            LRController(
                _LRSlot(),
                v.experiment.optimizer["lr"],
                v.experiment.optimizer["schedule"],
                self.epochs,
                len(self.ends),
            )
            for v in self.variants
        ]
        self.warmup = any(c.warmup_steps for c in self.lrs)

    # -- pieces -----------------------------------------------------------------------------------
    def state_dict(self, row: int) -> dict[str, Tensor]:
        """Row ``row``'s weights as the single network's state_dict (fresh copies)."""
        return {n: self.data[row, a:b].reshape(s).clone() for n, a, b, s in self.slices}

    def _bmm_forward(self, params: dict[str, Tensor], x: Tensor) -> Tensor:
        """The network on every row's weights at once: (V, N[, K]) outputs, as the vmapped call."""
        V = self.flat.shape[0]
        h = x.unsqueeze(0).expand(V, *x.shape)
        for name, m in self._layers:
            if name:  # a Linear layer
                w = params[f"{name}.weight"].transpose(1, 2)
                bias = params.get(f"{name}.bias")
                h = torch.bmm(h, w) if bias is None else torch.baddbmm(bias.unsqueeze(1), h, w)
            else:
                h = m(h)
        return h.squeeze(-1) if self.net.squeeze else h

    def _grad(self) -> Tensor:
        grad = self.flat.grad
        assert grad is not None
        return grad

    def _params(self) -> dict[str, Tensor]:
        V = self.flat.shape[0]
        return {n: self.flat[:, a:b].view(V, *s) for n, a, b, s in self.slices}

    def _choose_loss_paths(self) -> None:
        """For each shared loss: the fastest way that matches one plain call per variant (see _LossRun)."""
        n = min(8, len(self.x_train))
        if n == 0:
            return
        with torch.no_grad():
            out = self.forward(self._params(), self.x_train[:n])
            y = self.y_train[:n]
            for run in self.loss_runs:
                o = run.activated(out)
                ref = run.losses_of(o, y, "loop")
                spec, params = run.spec, run.params

                def one(
                    o: Tensor, y: Tensor, spec: LossSpec = spec, params: dict[str, Any] = params
                ) -> Tensor:
                    return spec.compute(o, y, **params)

                run.vmapped = torch.vmap(one, in_dims=(0, None))
                candidates = ("vmap",) if spec.set_level or spec.set_value is not None else ("flat", "vmap")
                run.how = "loop"
                for how in candidates if run.size > 1 or spec.set_value is None else ():
                    try:
                        got = run.losses_of(o, y, how)
                    except Exception:  # any refusal (vmap has no rule for an op): try the next way
                        continue
                    if got.shape == ref.shape and torch.allclose(
                        got, ref, rtol=1e-5, atol=1e-7, equal_nan=True
                    ):
                        run.how = how
                        break

    def data_losses(self, out: Tensor, target: Tensor) -> Tensor:
        parts = [run.losses(out, target) for run in self.loss_runs]
        return parts[0] if len(parts) == 1 else torch.cat(parts)

    def reg_terms(self) -> tuple[Tensor | None, Tensor | None]:
        w = self.flat
        l1 = self.l1 * (w.abs() * self.weight_mask).sum(dim=1) if self.use_l1 else None
        l2 = self.l2 * (w.pow(2) * self.weight_mask).sum(dim=1) if self.use_l2 else None
        return l1, l2

    def _train_step(self, xb: Tensor, yb: Tensor, step: int, lrs: list[float]) -> tuple[Tensor, ...]:
        out = self.forward(self._params(), xb)
        data = self.data_losses(out, yb)
        total = data
        l1, l2 = self.reg_terms()
        if l1 is not None:
            total = total + l1
        if l2 is not None:
            total = total + l2
        self.flat.grad = None
        total.sum().backward()
        grad = self._grad()
        with torch.no_grad():
            if self.use_clip:
                norms = torch.linalg.vector_norm(grad, dim=1)
                grad.mul_((self.clip / (norms + 1e-6)).clamp_(max=1.0).unsqueeze(1))
            for rule in self.rules:
                rule.step(grad[rule.rows], lrs[rule.rows], step)
        if l1 is None and l2 is None:
            return (total.detach(),)
        zeros = torch.zeros_like(data)
        return (
            total.detach(),
            data.detach(),
            (l1 if l1 is not None else zeros).detach(),
            (l2 if l2 is not None else zeros).detach(),
        )

    @torch.no_grad()
    def evaluate(self, x: Tensor, y: Tensor) -> tuple[list[float], list[dict[str, float]]]:
        V = len(self.variants)
        if len(x) == 0:
            return [math.nan] * V, [{} for _ in range(V)]
        out = self.forward(self._params(), x)
        losses = self.data_losses(out, y).tolist()
        y_np = y.cpu().numpy()
        metrics: list[dict[str, float]] = []
        for run in self.loss_runs:
            act = run.activated(out)
            for i in range(act.shape[0]):
                o = act[i]
                if self.dataset.task == REGRESSION:
                    metrics.append(regression_metrics(o.cpu().numpy(), y_np, self.dataset.y_std))
                    continue
                if o.ndim == 2:
                    labels = o.argmax(dim=1)
                else:
                    labels = (o > (0.5 if run.spec.output == "probabilities" else 0.0)).long()
                metrics.append(classification_metrics(labels.cpu().numpy(), y_np, self.dataset.n_classes))
        return [float(v) for v in losses], metrics

    # -- the loop ---------------------------------------------------------------------------------
    def run(
        self, emit: Emit, controls: Controls | None, modes: list[str], orders: list[str]
    ) -> tuple[list[VariantResult], bool]:
        """Train every variant for the planned epochs; (results in the variants' own order, stopped)."""
        V = len(self.variants)
        index = [v.index for v in self.variants]
        results = [
            VariantResult(
                v.index,
                v.label,
                "",
                v.value,
                v.experiment,
                modes[v.index],
                self.init_digests[row],
                orders[v.index],
                headline=self.headline,
            )
            for row, v in enumerate(self.variants)
        ]
        if self.device_notice:
            emit(RaceNotice(-1, self.device_notice))
        started = time.perf_counter()
        # Divergence limits from the starting losses, as the trainer sets them.
        start_losses, _ = self.evaluate(self.x_train, self.y_train)
        with torch.no_grad():
            l1, l2 = self.reg_terms()
        explode_at = []
        for i, s in enumerate(start_losses):
            s += (float(l1[i]) if l1 is not None else 0.0) + (float(l2[i]) if l2 is not None else 0.0)
            explode_at.append(EXPLOSION_FACTOR * max(s, 1e-2) if math.isfinite(s) else math.inf)
        alive = [True] * V

        x_all, y_all = self.x_train, self.y_train
        order = BatchOrder(self.seed, len(x_all), self.ends, self.epochs)
        full_batch = order.full_batch
        step, epoch, stopped = 0, 0, False
        pending: list[tuple[Tensor, ...]] = []
        pending_steps: list[int] = []
        last_flush, flushed_at = time.perf_counter(), 0
        lr_lists = [c.lr for c in self.lrs]

        def flush() -> None:
            nonlocal last_flush, flushed_at
            now = time.perf_counter()
            if pending:
                cols = [torch.stack(k).cpu().numpy() for k in zip(*pending, strict=True)]
                steps = np.array(pending_steps)
                rate = (step - flushed_at) / max(now - last_flush, 1e-9)
                for row in range(V):
                    if not alive[row]:
                        continue
                    totals = cols[0][:, row]
                    bad = np.flatnonzero(~(totals <= explode_at[row]))
                    upto = int(bad[0]) + 1 if len(bad) else len(totals)
                    data = cols[1][:upto, row] if len(cols) > 1 else totals[:upto].copy()
                    l1s = cols[2][:upto, row].copy() if len(cols) > 1 and self.use_l1 else None
                    l2s = cols[3][:upto, row].copy() if len(cols) > 1 and self.use_l2 else None
                    emit(
                        RaceSteps(
                            index[row],
                            StepBatch(
                                epoch,
                                steps[:upto].copy(),
                                totals[:upto].copy(),
                                data.copy(),
                                l1s,
                                l2s,
                                self.lrs[row].lr,
                                now - started,
                                rate,
                            ),
                        )
                    )
                    results[row].steps = int(steps[upto - 1])
                    if len(bad):
                        value = float(totals[upto - 1])
                        alive[row] = False
                        d = Diverged(
                            epoch + 1,
                            int(steps[upto - 1]),
                            value,
                            self._divergence_message(row, value, epoch, int(steps[upto - 1])),
                        )
                        results[row].diverged, results[row].status = d, DIVERGED
                        results[row].elapsed = now - started
                        results[row].epochs_done = epoch
                        emit(RaceNotice(index[row], d.message))
                pending.clear()
                pending_steps.clear()
            last_flush, flushed_at = now, step

        while epoch < self.epochs and not stopped and any(alive):
            for c in self.lrs:
                c.begin_epoch(epoch)
            lr_lists = [c.lr for c in self.lrs]
            perm = None if full_batch else order.next_epoch().to(self.device)
            begin = 0
            for end in self.ends:
                if controls is not None and controls.pending:
                    flush()
                    if not controls.wait_for_batch():
                        stopped = True
                        break
                    new_lr = controls.take_lr()
                    if new_lr is not None and self.path != "optimizer.lr":
                        for c in self.lrs:
                            c.set_base_lr(new_lr)
                        lr_lists = [c.lr for c in self.lrs]
                if perm is None:
                    xb, yb = x_all, y_all
                else:
                    idx = perm[begin:end]
                    xb, yb = x_all[idx], y_all[idx]
                begin = end
                if self.warmup:
                    for c in self.lrs:
                        c.step(step)
                    lr_lists = [c.lr for c in self.lrs]
                pending.append(self._train_step(xb, yb, step + 1, lr_lists))
                step += 1
                pending_steps.append(step)
                if time.perf_counter() - last_flush >= FLUSH_SECONDS:
                    flush()
            else:
                flush()
                epoch += 1
                self._end_epoch(epoch, step, time.perf_counter() - started, alive, results, emit)
        flush()
        elapsed = time.perf_counter() - started
        for row, r in enumerate(results):
            r.state_dict = self.state_dict(row)
            if alive[row]:
                r.status = STOPPED if stopped or r.epochs_done < self.epochs else FINISHED
                r.elapsed = elapsed
        by_index = sorted(results, key=lambda r: r.index)
        return by_index, stopped

    def _end_epoch(
        self,
        epoch: int,
        step: int,
        elapsed: float,
        alive: list[bool],
        results: list[VariantResult],
        emit: Emit,
    ) -> None:
        train_losses, train_metrics = self.evaluate(self.x_train, self.y_train)
        val_losses, val_metrics = self.evaluate(self.x_val, self.y_val)
        with torch.no_grad():
            l1, l2 = self.reg_terms()
        for row, v in enumerate(self.variants):
            if not alive[row]:
                continue
            event = EpochEnd(
                epoch,
                step,
                train_losses[row],
                val_losses[row],
                train_metrics[row],
                val_metrics[row],
                self.lrs[row].lr,
                float(l1[row]) if l1 is not None else 0.0,
                float(l2[row]) if l2 is not None else 0.0,
                elapsed,
            )
            r = results[row]
            r.history.add(event)
            r.epochs_done, r.steps, r.elapsed = epoch, step, elapsed
            val = val_losses[row]
            self.lrs[row].end_epoch(val if math.isfinite(val) else train_losses[row])
            emit(RaceEpoch(v.index, event))

    def _divergence_message(self, row: int, value: float, epoch: int, step: int) -> str:
        lr = self.lrs[row].lr
        return (
            f"{self.variants[row].label}: training diverged: the loss {describe_divergence(value)} at "
            f"epoch {epoch + 1}, step {step} (learning rate {lr:g}). "
            + divergence_advice(lr, self.specs[row])
        )
