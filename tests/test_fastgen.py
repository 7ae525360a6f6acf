"""The numba fast path of cached generation (core/fastgen.py) against the full forward pass.

Tolerances
----------
- float32 weights: per-step logits equal ``model(x)`` within 1e-4 relative (max abs error
  over max abs logit); measured ~1e-6.
- bfloat16 weights (stored in 16 bits, computed in float32): equal, within the same 1e-4,
  to the model whose conv weights are rounded to bfloat16 (``round_model_weights``); against
  the unrounded float32 model within 3e-2 relative (measured ~5e-3).
Greedy parity holds exactly (against the rounded model for bfloat16).

Every weight format and thread count the app ships is covered: threads=1, threads=2 with one
stream (two threads split each layer's channels, spin barrier) and with several streams
(streams split over threads).
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import examples
from wavenet_gui.core import fastgen
from wavenet_gui.core.fastgen import _ALL_FORMATS, WEIGHT_FORMATS, FastGenerator, round_model_weights
from wavenet_gui.core.model import WaveNet, WaveNetConfig

pytestmark = pytest.mark.kernels

CONFIGS = {
    # several blocks, n_dilation_channels != n_hidden, n_skip != n_end, biases
    "a": WaveNetConfig(n_channels=32, n_dilations=4, n_blocks=2, n_hidden=8, n_dilation_channels=12,
                       n_skip=16, n_end=20, bias=True),
    # three blocks, odd sizes (not multiples of the 4-row / 4-stream blocking), more classes
    "b": WaveNetConfig(n_channels=61, n_dilations=3, n_blocks=3, n_hidden=7, n_dilation_channels=5,
                       n_skip=9, n_end=6, bias=True),
    # no biases
    "c": WaveNetConfig(n_channels=16, n_dilations=3, n_blocks=2, n_hidden=6, n_dilation_channels=6,
                       n_skip=10, n_end=8, bias=False),
    # wide enough for every register-blocked kernel: 4-stream x 64/16-channel blocks, 2 x 128,
    # 1 x 256 / 64 / 16, plus leftover channels (2D = 150, S + R = 284) and streams (7 = 4 + 2 + 1)
    "d": WaveNetConfig(n_channels=40, n_dilations=3, n_blocks=1, n_hidden=24, n_dilation_channels=75,
                       n_skip=260, n_end=70, bias=True),
}
# (n_streams, threads): single thread; one stream split over two threads; streams split
VARIANTS = [(1, 1), (1, 2), (3, 1), (3, 2)]
REL = 1e-4


def _model(name: str, seed: int = 0) -> WaveNet:
    torch.manual_seed(seed)
    model = WaveNet(CONFIGS[name]).eval()
    with torch.no_grad():  # larger weights than the default init: sharper, less tied logits
        for p in model.parameters():
            p.normal_(0.0, 0.4)
    return model


def _reference(model: WaveNet, weight_format: str) -> WaveNet:
    return model if weight_format == "float32" else round_model_weights(copy.deepcopy(model), weight_format)


def _full_logits(model: WaveNet, x: np.ndarray) -> np.ndarray:
    """[K, T] classes -> [K, T, C] logits of the full (padded) forward pass."""
    with torch.no_grad():
        return model(torch.from_numpy(np.asarray(x, np.int64))).transpose(1, 2).numpy()


def _rel_err(got: np.ndarray, ref: np.ndarray) -> float:
    """``max |got - ref| / max |ref|`` (0 when both are all zero, e.g. a dead 1-channel ReLU)."""
    err, scale = float(np.abs(got - ref).max()), float(np.abs(ref).max())
    if scale == 0.0:
        return 0.0 if err == 0.0 else float("inf")
    return err / scale


@pytest.mark.parametrize("weight_format", WEIGHT_FORMATS)
@pytest.mark.parametrize("n_streams,threads", VARIANTS)
@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_step_logits_match_forward(name, n_streams, threads, weight_format):
    model = _model(name)
    ref_model = _reference(model, weight_format)
    cfg = model.config
    rng = np.random.default_rng(1)
    T = 2 * cfg.receptive_field + 5
    x = rng.integers(0, cfg.n_channels, (n_streams, T))
    ref = _full_logits(ref_model, x)
    gen = FastGenerator(model, n_streams=n_streams, weight_format=weight_format, threads=threads,
                        _force_split=True)  # tiny test models would otherwise run one stream on one thread
    got = np.stack([gen.step_logits(x[:, t]) for t in range(T)], axis=1)
    assert got.shape == ref.shape and got.dtype == np.float32
    assert _rel_err(got, ref) <= REL
    if weight_format != "float32":
        assert _rel_err(got, _full_logits(model, x)) <= 3e-2
    # reset() is the silent-past start again
    gen.reset()
    again = np.stack([gen.step_logits(x[:, t]) for t in range(5)], axis=1)
    np.testing.assert_array_equal(again, got[:, :5])
    gen.close()


@pytest.mark.parametrize("weight_format", WEIGHT_FORMATS)
@pytest.mark.parametrize("n_streams,threads", VARIANTS)
def test_greedy_parity_over_two_receptive_fields(n_streams, threads, weight_format):
    model = _model("a", seed=3)
    ref_model = _reference(model, weight_format)
    cfg = model.config
    rng = np.random.default_rng(2)
    prime = rng.integers(0, cfg.n_channels, (n_streams, 7))
    n = 2 * cfg.receptive_field + 11
    gen = FastGenerator(model, n_streams=n_streams, weight_format=weight_format, threads=threads, _force_split=True)
    gen.feed(prime[:, :-1])
    out = gen.run(n, first_input=prime[:, -1], uniforms=np.zeros((n_streams, n)), temperature=0.0)
    assert out.shape == (n_streams, n) and out.dtype == np.int64
    seq = np.concatenate([prime, out], axis=1)
    full = _full_logits(ref_model, seq)
    P = prime.shape[1]
    expected = full[:, P - 1:P - 1 + n].argmax(-1)
    np.testing.assert_array_equal(out, expected)
    assert len(set(out[0].tolist())) > 3  # not a degenerate constant run
    assert gen._split == (n_streams == 1 and threads == 2)  # the split path really ran
    gen.close()


@pytest.mark.parametrize("weight_format", WEIGHT_FORMATS)
def test_seven_streams_wide_layers(weight_format):
    """Config "d" with 7 streams: every stream/channel block of the matrix kernels and their tails."""
    model = _model("d", seed=9)
    ref_model = _reference(model, weight_format)
    rng = np.random.default_rng(10)
    T = model.config.receptive_field + 4
    x = rng.integers(0, model.config.n_channels, (7, T))
    gen = FastGenerator(model, n_streams=7, weight_format=weight_format, threads=1)
    got = np.stack([gen.step_logits(x[:, t]) for t in range(T)], axis=1)
    assert _rel_err(got, _full_logits(ref_model, x)) <= REL
    gen.close()


@pytest.mark.parametrize("threads", [1, 2])
def test_feed_then_step_is_the_last_prime_position(threads):
    """No off-by-one: after feed(p[:-1]), step_logits(p[-1]) = model(p)[..., -1]."""
    model = _model("b")
    rng = np.random.default_rng(4)
    p = rng.integers(0, model.config.n_channels, (1, 23))
    gen = FastGenerator(model, threads=threads, _force_split=True)
    gen.feed(p[:, :-1])
    got = gen.step_logits(p[:, -1])
    ref = _full_logits(model, p)[:, -1]
    assert _rel_err(got, ref) <= REL
    # feeding nothing is a no-op
    gen.feed(np.zeros((1, 0), np.int64))
    gen.close()


@pytest.mark.parametrize("weight_format", WEIGHT_FORMATS)
@pytest.mark.parametrize("n_streams,threads", VARIANTS)
def test_chunked_run_equals_one_run_and_is_deterministic(n_streams, threads, weight_format):
    model = _model("a", seed=5)
    rng = np.random.default_rng(6)
    n = 150
    u = rng.random((n_streams, n))
    first = np.full(n_streams, 7)

    def one_run():
        g = FastGenerator(model, n_streams=n_streams, weight_format=weight_format, threads=threads, _force_split=True)
        g.feed(np.full((n_streams, 3), 11))
        out = g.run(n, first_input=first, uniforms=u, temperature=1.0)
        g.close()
        return out

    long = one_run()
    g = FastGenerator(model, n_streams=n_streams, weight_format=weight_format, threads=threads, _force_split=True)
    g.feed(np.full((n_streams, 3), 11))
    chunks, cur, pos = [], first, 0
    for size in (1, 40, 64, 45):
        c = g.run(size, first_input=cur, uniforms=u[:, pos:pos + size], temperature=1.0)
        chunks.append(c)
        cur, pos = c[:, -1], pos + size
    g.close()
    np.testing.assert_array_equal(np.concatenate(chunks, axis=1), long)
    np.testing.assert_array_equal(one_run(), long)  # same uniforms, same output
    assert len(np.unique(long)) > 5  # sampling really samples
    if n_streams > 1:
        assert not np.array_equal(long[0], long[1])  # streams are independent


def test_sampling_follows_the_inverse_cdf():
    """Temperature sampling picks the first class whose cumulative softmax exceeds u * sum."""
    model = _model("c")
    rng = np.random.default_rng(8)
    x = rng.integers(0, 16, (1, 9))
    u = np.array([[0.0, 0.3, 0.999999]])
    for i, ui in enumerate(u[0]):
        g = FastGenerator(model, threads=1)
        g.feed(x[:, :-1])
        out = g.run(1, first_input=x[:, -1], uniforms=np.array([[ui]]), temperature=0.7)
        logits = _full_logits(model, x)[0, -1].astype(np.float64) / 0.7
        p = np.exp(logits - logits.max())
        expected = int(np.argmax(np.cumsum(p) > ui * p.sum()))
        assert out[0, 0] == expected, i


def test_rejects_bad_arguments():
    model = _model("c")
    g = FastGenerator(model, n_streams=2, threads=1)
    with pytest.raises(ValueError):
        g.feed(np.zeros((3, 4), np.int64))  # wrong number of streams
    with pytest.raises(ValueError):
        g.step_logits(np.array([0, 16]))  # class out of range
    with pytest.raises(ValueError):
        g.run(4, first_input=np.zeros(2, np.int64), uniforms=np.zeros((2, 3)), temperature=1.0)
    with pytest.raises(ValueError):
        g.run(4, first_input=np.zeros(2, np.int64), uniforms=np.zeros((2, 4)), temperature=-1.0)
    with pytest.raises(ValueError):
        FastGenerator(model, weight_format="int8")
    assert g.run(0, first_input=np.zeros(2, np.int64), uniforms=np.zeros((2, 0)), temperature=1.0).shape == (2, 0)


# --- fuzzing: random configurations, every weight format, thread count and stream count ----------
@st.composite
def generator_cases(draw):
    nd, nb = draw(st.integers(1, 6)), draw(st.integers(1, 3))
    wide = draw(st.booleans())  # wide layers exercise every register-blocked kernel and its tails
    top = 300 if wide else 24
    R, D = draw(st.integers(1, 48 if wide else 16)), draw(st.integers(1, 80 if wide else 16))
    cfg = WaveNetConfig(n_dilations=nd, n_blocks=nb, n_hidden=R, n_dilation_channels=D if D != R else 0,
                        n_skip=draw(st.integers(1, top)), n_end=draw(st.integers(1, top)),
                        n_channels=draw(st.integers(2, top)), bias=draw(st.booleans()))
    return dict(cfg=cfg, fmt=draw(st.sampled_from(_ALL_FORMATS)), n_streams=draw(st.integers(1, 8)),
                threads=draw(st.integers(1, 3)), split=draw(st.booleans()), seed=draw(st.integers(0, 2**31 - 1)),
                steps=draw(st.integers(1, 40)), prime=draw(st.integers(0, 20)))


@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=generator_cases())
def test_fuzz_step_logits_equal_the_full_forward(case):
    """Per-step logits of the cached generator after a fed prime equal the full (padded) forward
    pass of the same, format-rounded, weights within 1e-4 of the largest logit."""
    cfg, K = case["cfg"], case["n_streams"]
    torch.manual_seed(case["seed"])
    model = WaveNet(cfg).eval()
    with torch.no_grad():  # lively but bounded activations at every width
        for name, p in model.named_parameters():
            fan_in = p[0].numel() if p.dim() > 1 and not name.startswith("embed") else 1
            p.normal_(0.0, 1.2 / fan_in**0.5)
    ref_model = _reference(model, case["fmt"])
    ref64 = copy.deepcopy(ref_model).double()
    rng = np.random.default_rng(case["seed"])
    P, n = case["prime"], case["steps"] + cfg.receptive_field  # past the receptive field: the queues wrap
    x = rng.integers(0, cfg.n_channels, (K, P + n))
    gen = FastGenerator(model, n_streams=K, weight_format=case["fmt"], threads=case["threads"],
                        _force_split=case["split"])
    try:
        if P:
            gen.feed(x[:, :P])
        got = np.stack([gen.step_logits(x[:, P + t]) for t in range(n)], axis=1)
    finally:
        gen.close()
    with torch.no_grad():
        ref = ref64(torch.from_numpy(x)).transpose(1, 2).numpy()[:, P:]  # float64: the exact logits
    torch32 = _full_logits(ref_model, x)[:, P:]
    assert np.isfinite(got).all()
    # within 1e-4, or (deep narrow stacks where float32 itself loses that) 4x torch's float32 error
    assert _rel_err(got, ref) <= max(REL, 4 * _rel_err(torch32, ref)), case


@pytest.mark.skipif(not fastgen._BOUNDSCHECK, reason="only under NUMBA_BOUNDSCHECK=1")
def test_boundscheck_covers_the_raw_memory_micro_kernels():
    """Under NUMBA_BOUNDSCHECK=1 the matrix kernel checks the ranges its LLVM micro-kernels
    touch (numba's own checks do not see raw pointers)."""
    w = np.zeros((1, 4, 64), np.float32)
    v = np.zeros((4, 4), np.float32)
    out = np.zeros((4, 64), np.float32)
    fastgen._mm(w, 0, 0, 4, v, 0, out, 0, 64, 0, 4)  # in bounds
    for bad in [dict(oc1=65), dict(nin=5), dict(k1=5), dict(vc0=1)]:
        args = dict(li=0, j0=0, nin=4, vc0=0, oc0=0, oc1=64, k0=0, k1=4)
        args.update(bad)
        with pytest.raises(IndexError):
            fastgen._mm(w, args["li"], args["j0"], args["nin"], v, args["vc0"], out, args["oc0"], args["oc1"],
                        args["k0"], args["k1"])


# --- top-k / top-p (nucleus) sampling: the kernel's rule equals generation.sample_classes ---------
@st.composite
def sampling_rows(draw):
    C = draw(st.integers(1, 300))
    tied = draw(st.booleans())  # few distinct values: ties everywhere
    values = st.sampled_from([-3.0, -1.0, 0.0, 0.5, 2.0]) if tied else st.floats(-30, 30, width=32)
    logits = np.array(draw(st.lists(values, min_size=C, max_size=C)), np.float32)
    return dict(logits=logits, u=draw(st.floats(0.0, 1.0, exclude_max=True)),
                temperature=draw(st.sampled_from([0.0, 0.3, 1.0, 2.5])),
                top_k=draw(st.sampled_from([0, 1, 2, 3, 7, C - 1, C, C + 5])),
                top_p=draw(st.sampled_from([1e-12, 0.1, 0.5, 0.9, 0.999, 1.0])))


@settings(max_examples=examples(300), deadline=None)
@given(case=sampling_rows())
def test_sample_row_equals_the_reference_rule(case):
    """The numba row sampler picks what ``sample_classes`` (numpy) picks, for every top-k / top-p."""
    from wavenet_gui.core.generation import sample_classes

    lg, u, T, k, p = case["logits"], case["u"], case["temperature"], case["top_k"], case["top_p"]
    scratch = np.zeros(len(lg), np.float64)
    got = fastgen._sample_row(lg, u, T, scratch, k, p)
    want = int(sample_classes(lg[None].astype(np.float64), np.array([u]), T, top_k=k, top_p=p)[0])
    assert got == want
    best = int(np.argmax(lg))
    if T == 0 or k == 1 or p == 1e-12:  # greedy, or a kept set of one
        assert got == best
    if (k == 0 or k >= len(lg)) and p == 1.0 and T > 0:  # nothing dropped: exactly plain sampling
        assert got == fastgen._sample_row(lg, u, T, scratch, 0, 1.0)
    if k > 0:  # only the k likeliest (ties: the lower class first)
        rank = int(np.argsort(-lg, kind="stable").tolist().index(got))
        assert rank < k


@pytest.mark.parametrize("n_streams,threads", VARIANTS)
def test_top_k_top_p_generation_equals_the_torch_reference(n_streams, threads):
    """Every thread layout samples with top-k and top-p as the reference engine does."""
    from wavenet_gui.core.generation import TorchQueueGenerator

    model = _model("b", seed=4)
    cfg = model.config
    rng = np.random.default_rng(5)
    prime = rng.integers(0, cfg.n_channels, (n_streams, 5))
    n = 60
    u = rng.random((n_streams, n))
    for top_k, top_p in ((5, 1.0), (0, 0.6), (8, 0.8), (1, 1.0)):
        gen = FastGenerator(model, n_streams=n_streams, threads=threads, _force_split=True)
        gen.feed(prime[:, :-1])
        out = gen.run(n, first_input=prime[:, -1], uniforms=u, temperature=1.0, top_k=top_k, top_p=top_p)
        gen.close()
        ref = TorchQueueGenerator(model, n_streams=n_streams)
        ref.feed(prime[:, :-1])
        want = ref.run(n, first_input=prime[:, -1], uniforms=u, temperature=1.0, top_k=top_k, top_p=top_p)
        np.testing.assert_array_equal(out, want, err_msg=f"top_k={top_k} top_p={top_p}")
        plain = FastGenerator(model, n_streams=n_streams, threads=1)
        plain.feed(prime[:, :-1])
        # the restriction really changes what is drawn
        assert not np.array_equal(plain.run(n, first_input=prime[:, -1], uniforms=u, temperature=1.0), out)
        plain.close()


def test_top_k_top_p_are_checked():
    g = FastGenerator(_model("c"), threads=1)
    for bad in ({"top_k": -1}, {"top_k": 1.5}, {"top_p": 0.0}, {"top_p": 1.2}):
        with pytest.raises(ValueError):
            g.run(2, first_input=np.zeros(1, np.int64), uniforms=np.zeros((1, 2)), temperature=1.0, **bad)
