"""Cached generation: parity with the full forward pass, seeds, priming, chunks, cancel."""

import threading

import numpy as np
import pytest
import torch

from wavenet_gui.core.errors import ConfigError
from wavenet_gui.core.generation import TorchQueueGenerator, generate, iter_generate, sample_classes
from wavenet_gui.core.model import WaveNet, WaveNetConfig

pytestmark = pytest.mark.kernels

BACKENDS = ["torch", "fast"]


def _model(seed=0, **kw):
    torch.manual_seed(seed)
    cfg = dict(n_dilations=4, n_blocks=2, n_hidden=8, n_skip=16, n_end=12, n_channels=32)
    cfg.update(kw)
    model = WaveNet(WaveNetConfig(**cfg))
    # Larger weights make the dynamics lively, so greedy parity tests a varied stream.
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(3)
    return model.eval()


@pytest.mark.parametrize("kw", [{}, {"n_dilation_channels": 5, "n_skip": 9, "n_end": 7, "bias": False,
                                     "n_blocks": 3, "n_dilations": 3}])
def test_torch_queue_logits_equal_full_forward(kw):
    model = _model(**kw)
    x = torch.randint(0, model.config.n_channels, (3, 2 * model.receptive_field + 5))
    with torch.no_grad():
        full = model(x).numpy()  # [B, C, T]
    gen = TorchQueueGenerator(model, n_streams=3)
    for t in range(x.shape[1]):
        logits = gen.step_logits(x[:, t].numpy())
        np.testing.assert_allclose(logits, full[:, :, t], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_greedy_parity_over_two_receptive_fields(backend):
    model = _model()
    rf = model.receptive_field
    prime = np.array([3, 17, 9])
    n = 2 * rf + 10
    out = generate(model, n_samples=n, temperature=0, prime=prime, backend=backend, seed=0).classes[0]
    seq = torch.tensor(np.concatenate([prime, out]))[None]
    with torch.no_grad():
        pred = model(seq).argmax(1)[0].numpy()  # pred[t] is the greedy choice for seq[t + 1]
    assert np.array_equal(pred[len(prime) - 1: len(prime) - 1 + n], out)
    assert len(np.unique(out)) > 1  # not a trivial constant stream


@pytest.mark.parametrize("backend", BACKENDS)
def test_priming_off_by_one(backend):
    """The first generated sample comes from the logits at the last prime position."""
    model = _model(seed=3)
    prime = np.array([5, 6, 7, 8, 9, 10, 11])
    first = generate(model, n_samples=1, temperature=0, prime=prime, backend=backend, seed=0).classes[0, 0]
    with torch.no_grad():
        logits = model(torch.tensor(prime)[None])[0, :, -1]
    assert first == int(logits.argmax())
    # a one-sample prime is the original program's "start from the first sample"
    first1 = generate(model, n_samples=1, temperature=0, prime=prime[:1], backend=backend).classes[0, 0]
    with torch.no_grad():
        assert first1 == int(model(torch.tensor(prime[:1])[None])[0, :, 0].argmax())


@pytest.mark.parametrize("backend", BACKENDS)
def test_same_seed_same_audio_and_chunking_does_not_matter(backend):
    model = _model(seed=4)
    a = generate(model, n_samples=300, seed=42, backend=backend, chunk_size=300).classes
    b = generate(model, n_samples=300, seed=42, backend=backend, chunk_size=37).classes
    c = generate(model, n_samples=300, seed=43, backend=backend).classes
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_backends_agree_when_sampling():
    model = _model(seed=5)
    a = generate(model, n_samples=200, seed=7, backend="torch", temperature=0.8).classes
    b = generate(model, n_samples=200, seed=7, backend="fast", temperature=0.8).classes
    # Same uniforms and same logits up to float rounding: nearly every draw is identical.
    assert np.mean(a == b) > 0.95


@pytest.mark.parametrize("backend", BACKENDS)
def test_streams_are_independent_variations(backend):
    model = _model(seed=6)
    multi = generate(model, n_samples=150, seed=9, n_streams=3, backend=backend)
    single = generate(model, n_samples=150, seed=9, n_streams=1, backend=backend)
    assert multi.audio.shape == (3, 150)
    assert np.array_equal(multi.classes[0], single.classes[0])  # stream k depends on (seed, k) only
    assert not np.array_equal(multi.classes[0], multi.classes[1])


def test_cancel_returns_what_was_generated():
    model = _model()
    cancel = threading.Event()
    seen = []

    def callback(progress, chunk):
        seen.append(chunk.copy())
        if progress.done >= 100:
            cancel.set()

    result = generate(model, n_samples=100_000, seed=1, chunk_size=50, callback=callback, cancel=cancel)
    assert result.cancelled
    assert 100 <= result.classes.shape[1] < 100_000
    assert np.allclose(np.concatenate(seen, axis=1), result.audio)
    assert result.audio.dtype == np.float32 and np.all(np.abs(result.audio) <= 1)


def test_progress_reports_rate_and_realtime_factor():
    model = _model()
    progress = []
    generate(model, n_samples=500, seed=1, chunk_size=100, callback=lambda p, a: progress.append(p))
    assert [p.done for p in progress] == [100, 200, 300, 400, 500]
    assert all(p.samples_per_s > 0 for p in progress)
    assert progress[-1].realtime_factor == pytest.approx(progress[-1].samples_per_s / 8000)


def test_temperature_zero_is_argmax_and_sampling_follows_the_distribution():
    logits = np.array([[0.0, 2.0, 1.0]])
    assert sample_classes(logits, np.array([0.99]), 0) == 1
    rng = np.random.default_rng(0)
    draws = [int(sample_classes(logits, rng.random(1), 1.0)[0]) for _ in range(4000)]
    p = np.exp(logits[0]) / np.exp(logits[0]).sum()
    np.testing.assert_allclose(np.bincount(draws, minlength=3) / 4000, p, atol=0.03)


@pytest.mark.parametrize("kwargs,field", [({"n_samples": 0}, "length"), ({"temperature": -1}, "temperature"),
                                          ({"prime": np.array([1.5])}, "prime"),
                                          ({"prime": np.array([99])}, "prime"),
                                          ({"backend": "gpu"}, "backend")])
def test_bad_generation_settings(kwargs, field):
    model = _model()
    args = {"n_samples": 10, **kwargs}
    with pytest.raises(ConfigError) as err:
        list(iter_generate(model, **args))
    assert str(err.value).startswith(field)


def test_top_k_and_top_p_draw_from_the_renormalised_likeliest_classes():
    logits = np.log(np.array([[0.05, 0.4, 0.1, 0.3, 0.15]]))
    rng = np.random.default_rng(1)
    for kw, kept in (({"top_k": 2}, [1, 3]), ({"top_p": 0.7}, [1, 3]), ({"top_p": 0.71}, [1, 3, 4]),
                     ({"top_k": 3, "top_p": 0.9}, [1, 3, 4]), ({"top_k": 1}, [1])):
        draws = np.array([int(sample_classes(logits, rng.random(1), 1.0, **kw)[0]) for _ in range(3000)])
        want = np.zeros(5)
        want[kept] = np.exp(logits[0, kept]) / np.exp(logits[0, kept]).sum()
        np.testing.assert_allclose(np.bincount(draws, minlength=5) / 3000, want, atol=0.03, err_msg=str(kw))


def test_top_k_top_p_edges_are_greedy_or_plain():
    rng = np.random.default_rng(2)
    for _ in range(200):
        C = int(rng.integers(1, 40))
        logits = np.round(rng.normal(0, 2, (3, C)), 1)  # rounded: ties happen
        u = rng.random(3)
        T = float(rng.choice([0.5, 1.0, 2.0]))
        greedy = logits.argmax(axis=1)
        np.testing.assert_array_equal(sample_classes(logits, u, T, top_k=1), greedy)
        np.testing.assert_array_equal(sample_classes(logits, u, T, top_p=1e-9), greedy)
        plain = sample_classes(logits, u, T)
        np.testing.assert_array_equal(sample_classes(logits, u, T, top_k=C), plain)
        np.testing.assert_array_equal(sample_classes(logits, u, T, top_k=C + 3, top_p=1.0), plain)
        np.testing.assert_array_equal(sample_classes(logits, u, 0, top_k=3, top_p=0.5), greedy)


@pytest.mark.parametrize("backend", BACKENDS)
def test_generate_with_top_k_one_is_greedy(backend):
    model = _model(seed=3)
    greedy = generate(model, n_samples=120, temperature=0, seed=0, backend=backend).classes
    top1 = generate(model, n_samples=120, temperature=1.0, top_k=1, seed=5, backend=backend).classes
    tiny_p = generate(model, n_samples=120, temperature=1.0, top_p=1e-6, seed=6, backend=backend).classes
    np.testing.assert_array_equal(top1, greedy)
    np.testing.assert_array_equal(tiny_p, greedy)


def test_backends_agree_with_top_p():
    model = _model(seed=5)
    a = generate(model, n_samples=200, seed=7, backend="torch", temperature=1.0, top_p=0.8, top_k=6).classes
    b = generate(model, n_samples=200, seed=7, backend="fast", temperature=1.0, top_p=0.8, top_k=6).classes
    assert np.mean(a == b) > 0.95


@pytest.mark.parametrize("kwargs,field", [({"top_k": -1}, "top_k"), ({"top_p": 0.0}, "top_p"),
                                          ({"top_p": 1.5}, "top_p"), ({"top_k": 2.5}, "top_k")])
def test_bad_top_k_top_p(kwargs, field):
    with pytest.raises(ConfigError) as err:
        generate(_model(), n_samples=10, **kwargs)
    assert str(err.value).startswith(field)
