"""GANs you can watch (#14): the discriminator section, mode coverage and the generator's gradient.

The two claims of the shipped examples are checked headless at their fixed seeds: the
non-saturating loss covers at least 6 of the ring's 8 modes, and the minimax loss against a strong
discriminator loses its gradient (while −log D at the same set-up keeps one).
"""

from __future__ import annotations

import statistics

import numpy as np
import pytest
import torch
from torch import nn

from losslab.core.data.gan import RING_MODES, mode_centres, mode_counts, modes_covered
from losslab.core.discriminator import DEFAULT_LAYERS
from losslab.core.errors import LossLabError
from losslab.core.experiment import Experiment, load_experiment
from losslab.core.gan import GanProbe, GanTrainer
from losslab.core.gan_report import GanSnapshot, collapse_epoch
from losslab.core.resources import examples_dir
from losslab.core.trainer import make_trainer

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def ring(**extra) -> dict:
    doc = {
        "format": "losslab",
        "schema_version": 1,
        "dataset": {"kind": "gan_ring", "n_samples": 200},
        "model": {"layers": [{"type": "linear", "units": 16}, {"type": "relu"}]},
        "loss": {"id": "gan_g_nonsat"},
        "optimizer": {"id": "adam", "lr": 0.003, "params": {"beta1": 0.5}},
        "training": {"epochs": 2, "batch_size": 50, "diagnostics_every": 0},
    }
    doc.update(extra)
    return doc


def example(name: str, **training) -> Experiment:
    exp = load_experiment(examples_dir() / f"{name}.losslab")
    return exp.replace("training", **training) if training else exp


def test_a_file_without_a_discriminator_trains_the_network_gans_always_had():
    exp = Experiment.from_dict(ring())
    section = exp.discriminator
    assert [layer["type"] for layer in section["layers"]] == [layer["type"] for layer in DEFAULT_LAYERS]
    assert section["optimizer"]["id"] == "adam" and section["optimizer"]["lr"] == 0.003
    assert section["optimizer"]["params"]["beta1"] == 0.5 and section["steps"] == 1
    trainer = GanTrainer(exp)
    # The old fixed discriminator, built the same way right after the generator from the seed.
    torch.manual_seed(exp.training["seed"])
    nn.Linear(2, 16), nn.Linear(16, 2)  # the generator's layers draw first
    old = nn.Sequential(
        nn.Linear(2, 64), nn.LeakyReLU(0.2), nn.Linear(64, 64), nn.LeakyReLU(0.2), nn.Linear(64, 1)
    )
    new = [p.detach() for p in trainer.discriminator.parameters()]
    assert len(new) == len(list(old.parameters()))
    for a, b in zip(new, old.parameters(), strict=True):
        assert torch.equal(a, b.detach())
    assert "discriminator" in exp.to_dict()  # written out once the file is saved again
    assert "discriminator" not in Experiment.default().to_dict()  # only GAN files carry it


def test_the_discriminator_section_is_what_the_trainer_uses():
    exp = Experiment.from_dict(
        ring(
            discriminator={
                "layers": [{"type": "linear", "units": 8}, {"type": "tanh"}],
                "optimizer": {"id": "sgd", "lr": 0.05, "grad_clip": 1.0},
                "steps": 3,
            }
        )
    )
    trainer = GanTrainer(exp)
    widths = [m.out_features for m in trainer.discriminator.modules() if isinstance(m, nn.Linear)]
    assert widths == [8, 1]
    assert isinstance(trainer.d_optimizer, torch.optim.SGD)
    assert trainer.d_optimizer.param_groups[0]["lr"] == 0.05
    calls = []
    step = trainer.d_optimizer.step
    trainer.d_optimizer.step = lambda *a, **k: calls.append(1) or step(*a, **k)
    trainer.run(epochs=1)
    assert len(calls) == 3 * trainer.step  # three discriminator updates per generator update


@pytest.mark.parametrize(
    ("section", "field"),
    [
        ({"layers": [{"type": "convolution"}]}, "discriminator.layers[0].type"),
        ({"optimizer": {"lr": 0}}, "discriminator.optimizer.lr"),
        ({"optimizer": {"id": "adam", "schedule": {"id": "cosine"}}}, "discriminator.optimizer.schedule"),
        ({"steps": 0}, "discriminator.steps"),
        ({"init": {}}, "discriminator.init"),
        ({"optimizer": {"id": "lbfgs"}}, "discriminator.optimizer.id"),
        ({"depth": 3}, "discriminator.depth"),
        ([], "discriminator"),
    ],
)
def test_a_bad_discriminator_section_names_its_field(section, field):
    with pytest.raises(LossLabError) as info:
        Experiment.from_dict(ring(discriminator=section))
    assert info.value.field == field


def test_mode_coverage_counts_generated_points_near_each_mode():
    centres = mode_centres("gan_ring")
    assert centres is not None and len(centres) == RING_MODES
    rng = np.random.default_rng(0)
    points = np.concatenate([centres[i] + 0.03 * rng.standard_normal((100, 2)) for i in (0, 3, 5)])
    counts = mode_counts(points, centres, 0.25)
    assert counts.tolist() == [100, 0, 0, 100, 0, 100, 0, 0]
    assert modes_covered(counts, len(points)) == 3
    far = mode_counts(np.zeros((50, 2)), centres, 0.25)  # a collapse onto the centre covers nothing
    assert modes_covered(far, 50) == 0


def test_non_saturating_loss_covers_the_ring():
    history = make_trainer(example("30_gan_ring_nonsaturating")).run().history
    assert history["train_modes"][0] < 6 <= history["train_modes"][-1]
    assert collapse_epoch(history["train_g_grad"], history["train_g_grad_ref"]) is None


def test_the_unsettled_game_leaves_most_modes_empty():
    history = make_trainer(example("34_gan_ring_mode_collapse")).run().history
    assert max(history["train_modes"]) <= 4


def test_minimax_loss_against_a_strong_discriminator_loses_its_gradient():
    minimax = example("31_gan_ring_minimax", epochs=10)
    h = make_trainer(minimax).run().history
    nonsat = make_trainer(minimax.replace("loss", id="gan_g_nonsat")).run().history
    assert h["train_d_fake"][-1] < 0.01  # the discriminator rejects every fake
    assert collapse_epoch(h["train_g_grad"], h["train_g_grad_ref"]) == 1
    # The same strong discriminator and generator with −log D: a gradient a hundred times larger.
    assert statistics.median(nonsat["train_g_grad"]) > 100 * statistics.median(h["train_g_grad"])
    assert collapse_epoch(nonsat["train_g_grad"], nonsat["train_g_grad_ref"]) is None


def test_the_probe_sends_what_the_gan_view_draws():
    trainer = GanTrainer(Experiment.from_dict(ring()))
    probe = GanProbe(interval=0.0)
    trainer.probes.append(probe)
    events = []
    trainer.run(events.append)
    shots = [e for e in events if isinstance(e, GanSnapshot)]
    assert [s.epoch for s in shots] == [1, 2]
    shot = shots[-1]
    assert shot.real.shape == (160, 2) and shot.fake.shape == (500, 2)
    xs, ys = shot.axes
    assert shot.surface is not None and shot.surface.shape == (len(ys), len(xs))
    assert np.all((shot.surface >= 0) & (shot.surface <= 1))
    assert shot.counts is not None and shot.covered == modes_covered(shot.counts, len(shot.fake))
    one_d = GanTrainer(Experiment.from_dict(ring(dataset={"kind": "gan_1d", "n_samples": 100}))).snapshot()
    assert len(one_d.axes) == 1 and one_d.surface is not None and one_d.surface.shape == one_d.axes[0].shape
    assert one_d.centres is not None and len(one_d.centres) == 2


def test_a_gan_on_small_images_sends_image_snapshots():
    exp = Experiment.from_dict(ring(dataset={"kind": "gan_shapes", "n_samples": 60, "image_size": 8}))
    trainer = GanTrainer(exp)
    assert trainer.dataset.n_features == 64 and trainer.latent_dim == 64
    trainer.run(epochs=1)
    shot = trainer.snapshot(10)
    assert shot.image_size == 8 and shot.fake.shape == (10, 64) and shot.surface is None
    assert shot.centres is None and np.isnan(trainer.history["train_modes"][-1])
    pixels = trainer.dataset.x_to_display(trainer.dataset.x_train)
    assert pixels.max() > 0.8 and np.median(pixels) < 0.2  # bright shapes on a dark ground
