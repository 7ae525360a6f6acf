"""Training: it learns, each way it ends leaves a usable model, checkpoints round trip and resume."""

import math
import threading

import numpy as np
import pytest
import torch

from wavenet_gui.core.errors import ConfigError
from wavenet_gui.core.generation import generate
from wavenet_gui.core.model import WaveNet, WaveNetConfig
from wavenet_gui.core.modelfile import load_model
from wavenet_gui.core.session import make_sampler
from wavenet_gui.core.training import Trainer, TrainingConfig

SMALL = dict(n_dilations=5, n_blocks=1, n_hidden=16, n_skip=32, n_end=32, n_channels=64)


def _tone(cfg, seconds=1.0, freq=440.0):
    t = np.arange(int(cfg.sample_rate * seconds)) / cfg.sample_rate
    return cfg.quantizer.encode(0.6 * np.sin(2 * np.pi * freq * t)).astype(np.uint8)


def _trainer(tmp_path=None, seed=0, **overrides):
    torch.manual_seed(seed)
    model = WaveNet(WaveNetConfig(**SMALL))
    opts = dict(train_iterations=30, batch_size=2, target_length=256, learning_rate=3e-3, seed=seed)
    if tmp_path is not None:
        opts.update(output_dir=str(tmp_path))
    opts.update(overrides)
    cfg = TrainingConfig(**opts)
    sampler = make_sampler([_tone(model.config)], receptive_field=model.receptive_field,
                           target_length=cfg.target_length, holdout=cfg.holdout)
    return Trainer(model, sampler, cfg)


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_learns_a_tone_well_below_chance(precision):
    trainer = _trainer(train_iterations=250, precision=precision)
    result = trainer.run()
    chance = math.log(64)
    assert result.reason == "iterations" and result.iterations == 250
    assert np.mean(trainer.losses[:5]) > 0.8 * chance
    assert result.final_loss < 0.4 * chance, result.final_loss


def test_ends_at_target_loss_judged_on_the_mean_of_recent_iterations():
    trainer = _trainer(train_iterations=2000, target_loss=2.5, loss_window=10)
    result = trainer.run()
    assert result.reason == "target_loss"
    assert result.iterations < 2000
    assert np.mean(trainer.losses[-10:]) <= 2.5
    assert "target loss" in result.message


def test_cancel_stops_at_the_next_step_and_the_model_stays_usable():
    cancel = threading.Event()
    seen = []

    def callback(p):
        seen.append(p)
        if p.iteration == 7:
            cancel.set()

    trainer = _trainer(train_iterations=1000)
    result = trainer.run(callback=callback, cancel=cancel)
    assert result.reason == "cancelled" and result.iterations == 7
    assert [p.iteration for p in seen] == list(range(1, 8))
    assert all(p.samples_per_s > 0 and p.total_iterations == 1000 for p in seen)
    out = generate(trainer.model, n_samples=50, seed=0)
    assert out.audio.shape == (1, 50) and np.isfinite(out.audio).all()


def _state(trainer):
    """Weights and Adam's state, copied."""
    weights = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    adam = {n: {k: v.clone() if torch.is_tensor(v) else v for k, v in trainer.optimizer.state.get(p, {}).items()}
            for n, p in trainer.model.named_parameters()}
    return weights, adam


def _assert_state(trainer, state):
    weights, adam = state
    for k, v in trainer.model.state_dict().items():
        assert torch.equal(v, weights[k]) and torch.isfinite(v).all(), k
    for n, p in trainer.model.named_parameters():
        now = trainer.optimizer.state.get(p, {})
        assert set(now) == set(adam[n]), n
        for k, v in now.items():
            assert torch.equal(v, adam[n][k]) if torch.is_tensor(v) else v == adam[n][k], (n, k)


@pytest.mark.parametrize("poison", ["loss", "gradients"])
def test_non_finite_loss_or_gradients_stop_and_undo_the_step_that_led_there(poison):
    """A NaN at iteration 6 (on the weights step 5 made): step 5 is undone, weights and Adam's
    moments and step count are those after iteration 4, and the history says 4 iterations."""
    trainer = _trainer(train_iterations=50)
    calls = {"n": 0}
    real_loss = trainer._loss

    def poisoned(x):
        calls["n"] += 1
        loss = real_loss(x)
        if calls["n"] != 6:
            return loss
        if poison == "loss":
            return loss * float("nan")
        p = next(trainer.model.parameters())
        return loss + torch.sqrt((p * 0).sum())  # adds 0, but d sqrt(0) = inf: NaN gradients

    trainer._loss = poisoned
    states = {}
    result = trainer.run(callback=lambda p: states.__setitem__(p.iteration, _state(trainer)))
    assert result.reason == "diverged"
    assert "learning rate" in result.message and "try 0.0003" in result.message
    assert "iteration 6" in result.message and "iteration 4" in result.message
    assert ("gradients" in result.message) == (poison == "gradients")
    assert result.iterations == 4 and trainer.iteration == 4 and len(trainer.losses) == 4
    _assert_state(trainer, states[4])
    assert "\n" not in result.message


def _speech(cfg):
    from pathlib import Path

    from wavenet_gui.core.session import load_training_audio

    files = sorted((Path(__file__).parent / "data").glob("speech*.wav"))
    assert len(files) == 3
    return load_training_audio(files, sample_rate=cfg.sample_rate, quantizer=cfg.quantizer)[0]


@pytest.mark.parametrize("seed", [0, 1])
def test_learning_rate_0_9_on_speech_stops_and_keeps_the_last_good_state(seed):
    """Issue 11: at learning rate 0.9 on three speech clips (espeak-ng, 8 kHz) the loss explodes
    (measured: 5.5 nats, then 164,000) and training went on.  Now it stops at once, undoes the
    step that exploded it and suggests a learning rate."""
    torch.manual_seed(seed)
    model = WaveNet(WaveNetConfig())  # the form's default model
    cfg = TrainingConfig(learning_rate=0.9, train_iterations=200, seed=seed)
    sampler = make_sampler(_speech(model.config), receptive_field=model.receptive_field,
                           target_length=cfg.target_length, config=model.config)
    trainer = Trainer(model, sampler, cfg)
    states = {0: _state(trainer)}
    result = trainer.run(callback=lambda p: states.__setitem__(p.iteration, _state(trainer)))
    assert result.reason == "diverged", trainer.losses
    assert result.iterations < 20
    assert "try 0.09" in result.message and "nats" in result.message
    _assert_state(trainer, states[result.iterations])
    assert trainer.losses == [] or max(trainer.losses) < 2 * math.log(256)
    # the kept model is usable
    out = generate(trainer.model, n_samples=50, seed=0)
    assert np.isfinite(out.audio).all()


def test_the_divergence_rule_ignores_noise_of_a_well_trained_model():
    trainer = _trainer()
    chance = math.log(64)
    trainer.losses = [0.01] * 20
    assert not trainer._diverged(0.5)  # 50x the mean, but far better than chance: a hard batch
    assert trainer._diverged(chance + 0.1)  # worse than a uniform guess after 0.01
    trainer.losses = [3.0] * 20
    assert not trainer._diverged(chance + 1)  # early training: under 10x the mean
    assert trainer._diverged(31.0)
    assert trainer._diverged(float("nan")) and trainer._diverged(float("inf"))
    trainer.losses = []
    assert not trainer._diverged(1e6)  # nothing to compare the first loss with


def test_checkpoints_while_training_and_round_trip_generates_identically(tmp_path):
    trainer = _trainer(tmp_path, train_iterations=25, save_weights=True, checkpoint_every=10)
    seen = []
    result = trainer.run(callback=lambda p: seen.append(p.checkpoint))
    assert [c is not None for c in seen].count(True) == 2  # iterations 10 and 20
    assert result.checkpoint == tmp_path / "model.safetensors" and result.checkpoint.exists()
    loaded = load_model(tmp_path)
    assert loaded.training["iteration"] == 25
    a = generate(trainer.model, n_samples=400, seed=3, temperature=1.0)
    b = generate(loaded.model, n_samples=400, seed=3, temperature=1.0)
    assert np.array_equal(a.classes, b.classes)


def test_resume_continues_exactly_where_training_stopped(tmp_path):
    straight = _trainer(train_iterations=20, seed=1)
    straight.run()

    first = _trainer(tmp_path, train_iterations=10, seed=1, save_weights=True)
    first.run()
    cfg = TrainingConfig(train_iterations=10, batch_size=2, target_length=256, learning_rate=3e-3, seed=1)
    resumed = Trainer.from_checkpoint(tmp_path, first.sampler, cfg)
    assert resumed.iteration == 10 and len(resumed.losses) == 10
    assert resumed.optimizer.state  # Adam's moments came back
    resumed.run()
    assert resumed.iteration == 20
    # The loss history came back with the checkpoint, and training went on improving from there.
    np.testing.assert_allclose(resumed.losses[:10], straight.losses[:10], rtol=1e-5)
    assert np.mean(resumed.losses[-5:]) < np.mean(resumed.losses[:5])


def test_validation_loss_from_the_held_out_tail():
    trainer = _trainer(train_iterations=20, holdout=0.3, validate_every=10)
    vals = []
    trainer.run(callback=lambda p: vals.append(p.val_loss))
    assert vals[8] is None and vals[9] is not None and vals[19] is not None
    assert vals[19] > 0


def test_bfloat16_loss_is_close_to_float32():
    a = _trainer(precision="float32")
    b = _trainer(precision="bfloat16")
    x = a._batch(a.sampler.sample(2, np.random.default_rng(0)))
    with torch.no_grad():
        la, lb = float(a._loss(x)), float(b._loss(x))
    assert a.autocast_dtype is None and b.autocast_dtype == torch.bfloat16
    assert abs(la - lb) < 0.02 * la


@pytest.mark.parametrize("field,value", [("precision", "float8"), ("learning_rate", 0), ("learning_rate", -1e-3),
                                         ("train_iterations", 0), ("batch_size", 0), ("holdout", 0.95),
                                         ("target_loss", -1.0)])
def test_bad_training_settings_name_the_field(field, value):
    with pytest.raises(ConfigError) as err:
        TrainingConfig(**{field: value}).validate()
    assert str(err.value).startswith(field)


def test_optimizer_state_carries_over_between_runs():
    """Continuing in the window builds a new Trainer from the last one's Adam state."""
    first = _trainer(train_iterations=5)
    first.run()
    state = first.optimizer_state()
    last = len(first.model.layers) - 1  # its residual output is unused, so those weights get no gradient
    trained = {n for n, _ in first.model.named_parameters() if not n.startswith(f"layers.{last}.residual")}
    assert state["step"] == 5 and set(state["moments"]) == trained
    second = Trainer(first.model, first.sampler, first.config, optimizer_state=state, iteration=5)
    p = next(iter(first.model.parameters()))
    torch.testing.assert_close(second.optimizer.state[p]["exp_avg"], first.optimizer.state[p]["exp_avg"])
    second.run()
    assert second.optimizer_state()["step"] == 10  # 5 before + 5 more
