"""The fused training pass (core/fused.py) and its numba kernels (core/trainkernels.py).

The fused pass replaces autograd on the CPU, so it must give autograd's loss and
gradients: to float32 rounding in float32, and to autocast's bfloat16 rounding in
bfloat16, for every configuration shape the model allows.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from wavenet_gui.core import trainkernels as tk
from wavenet_gui.core.fused import fused_logits, fused_loss
from wavenet_gui.core.model import WaveNet, WaveNetConfig

pytestmark = pytest.mark.kernels

CONFIGS = {
    "bias": WaveNetConfig(n_dilations=4, n_blocks=2, n_hidden=8, n_skip=16, n_end=16, n_channels=32),
    "no-bias, wide gate": WaveNetConfig(n_dilations=3, n_blocks=1, n_hidden=8, n_skip=12, n_end=10,
                                        n_channels=20, bias=False, n_dilation_channels=12),
    "one layer": WaveNetConfig(n_dilations=1, n_blocks=1, n_hidden=4, n_skip=6, n_end=5, n_channels=7),
}


def _grads(model, loss_fn, autocast=False):
    model.zero_grad(set_to_none=True)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        loss = loss_fn()
    loss.backward()
    flat = torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).flatten()
                      for p in model.parameters()])
    return loss.item(), flat


def _reference(model, x, n):
    C = model.config.n_channels
    logits = model.logits_btc(x[:, :-1], n_outputs=n)
    return F.cross_entropy(logits.float().reshape(-1, C), x[:, -n:].reshape(-1))


@pytest.mark.parametrize("name", list(CONFIGS))
@pytest.mark.parametrize("batch", [1, 3])
def test_float32_loss_and_gradients_equal_autograd(name, batch):
    torch.manual_seed(0)
    model = WaveNet(CONFIGS[name])
    for p in model.parameters():  # larger than the initialisation, so every path matters
        p.data.normal_(0.0, 0.3)
    n = 23
    x = torch.randint(0, model.config.n_channels, (batch, n + model.receptive_field + 4))
    ref_loss, ref = _grads(model, lambda: _reference(model, x, n))
    ref_has = [p.grad is not None for p in model.parameters()]
    loss, got = _grads(model, lambda: fused_loss(model, x, n))
    assert loss == pytest.approx(ref_loss, rel=1e-6)
    assert ((got - ref).norm() / ref.norm()).item() < 1e-5
    # the same parameters get gradients (not the last layer's unused residual), in their own shapes
    assert [p.grad is not None for p in model.parameters()] == ref_has
    assert all(p.grad.shape == p.shape for p in model.parameters() if p.grad is not None)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_logits_path_equals_model_and_backpropagates(name):
    torch.manual_seed(1)
    model = WaveNet(CONFIGS[name])
    n = 9
    x = torch.randint(0, model.config.n_channels, (2, n + model.receptive_field - 1))
    with torch.no_grad():
        assert torch.allclose(fused_logits(model, x, n), model.logits_btc(x, n_outputs=n), atol=1e-5)
    w = torch.randn(2, n, model.config.n_channels)  # any downstream function of the logits
    _, ref = _grads(model, lambda: (model.logits_btc(x, n_outputs=n) * w).sum())
    _, got = _grads(model, lambda: (fused_logits(model, x, n) * w).sum())
    assert ((got - ref).norm() / ref.norm()).item() < 1e-5


def test_bfloat16_is_as_close_to_float32_as_autocast():
    """bfloat16 rounding differs run to run, so compare error sizes over several seeds."""
    ours, theirs = [], []
    for seed in range(4):
        torch.manual_seed(seed)
        model = WaveNet(CONFIGS["bias"])
        n = 200
        x = torch.randint(0, 32, (3, n + model.receptive_field))
        # _grads calls each closure at once, inside this iteration; the defaults bind it anyway.
        ref_loss, ref = _grads(model, lambda model=model, x=x, n=n: _reference(model, x, n))
        ac_loss, ac = _grads(model, lambda model=model, x=x, n=n: _reference(model, x, n), autocast=True)
        loss, got = _grads(model, lambda model=model, x=x, n=n: fused_loss(model, x, n, torch.bfloat16))
        assert loss == pytest.approx(ref_loss, rel=1e-2)
        ours.append(((got - ref).norm() / ref.norm()).item())
        theirs.append(((ac - ref).norm() / ref.norm()).item())
    assert max(ours) < 0.1
    assert np.mean(ours) < 2 * np.mean(theirs)


def test_bad_arguments_are_refused():
    model = WaveNet(CONFIGS["one layer"])
    with pytest.raises(ValueError, match="T >="):
        fused_loss(model, torch.zeros(1, 3, dtype=torch.long), 5)
    with pytest.raises(ValueError, match="dtype"):
        fused_loss(model, torch.zeros(1, 30, dtype=torch.long), 5, torch.int32)


# --- the kernels on their own ---------------------------------------------------------------
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_gate_kernels_match_torch(dtype):
    torch.manual_seed(3)
    rows, D, n_tail = 300, 5, 120
    A = (torch.randn(rows, 2 * D) * 4).to(dtype)
    zcat = torch.full((n_tail, 3 * D), 7.0, dtype=dtype)
    z = tk.gate_forward(A, zcat, D, n_tail)
    a = A.float().clone().requires_grad_(True)
    ref = torch.tanh(a[:, :D]) * torch.sigmoid(a[:, D:])
    tol = 1e-6 if dtype == torch.float32 else 1e-2
    assert torch.allclose(z.float(), ref, atol=tol)
    assert torch.equal(zcat[:, D:2 * D], z[rows - n_tail:])
    assert (zcat[:, :D] == 7).all() and (zcat[:, 2 * D:] == 7).all()  # other layers' columns untouched
    gz = torch.randn(rows, D).to(dtype)
    ref.backward(gz.float())
    gA, gb = tk.gate_backward(A, gz)
    assert gA.dtype == dtype
    assert torch.allclose(gA.float(), a.grad, atol=tol, rtol=tol)
    assert torch.allclose(gb, a.grad.sum(0), atol=1e-4 if dtype == torch.float32 else 0.05)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_cross_entropy_kernel_matches_torch_including_extreme_logits(dtype):
    torch.manual_seed(4)
    x = torch.randn(257, 256) * 5
    x[0, :] = -1e4  # all equal and very negative
    x[1, 3] = 200.0  # one class dominates (others underflow to 0)
    x[2, :] = 80.0
    t = torch.randint(0, 256, (257,))
    t[1] = 7  # a confidently wrong row: loss ~ 200 nats, must stay finite
    x = x.to(dtype)
    xf = x.float().clone().requires_grad_(True)
    ref = F.cross_entropy(xf, t)
    ref.backward()
    loss, grad, gsum = tk.cross_entropy(x, t)
    assert np.isfinite(loss)
    assert loss == pytest.approx(ref.item(), rel=1e-5)
    tol = 1e-7 if dtype == torch.float32 else 1e-5
    assert torch.allclose(grad.float(), xf.grad, atol=tol)
    assert torch.allclose(gsum, xf.grad.sum(0), atol=1e-6)


def test_residual_kernels_match_torch():
    torch.manual_seed(5)
    rows, R, shift = 50, 6, 4
    h = torch.randn(rows + shift, R)
    r = torch.randn(rows, R).bfloat16()
    out, out_c = tk.residual_forward(h, r, shift, torch.bfloat16)
    assert torch.allclose(out, h[shift:] + r.float(), atol=1e-6)
    assert torch.equal(out_c, out.bfloat16())
    g_h, c1, c0 = torch.randn(rows, R), torch.randn(rows, R).bfloat16(), torch.randn(rows, R).bfloat16()
    g, g_c, g_sum = tk.residual_backward(g_h, c1, c0, shift, torch.bfloat16)
    ref = torch.zeros(rows + shift, R)
    ref[shift:] += g_h + c1.float()
    ref[:rows] += c0.float()
    assert torch.allclose(g, ref, atol=1e-5)
    assert torch.equal(g_c, g.bfloat16())
    assert torch.allclose(g_sum, ref.sum(0), atol=1e-4)
    g0, _, _ = tk.residual_backward(None, c1, c0, shift, torch.bfloat16)  # the last layer
    ref0 = torch.zeros(rows + shift, R)
    ref0[shift:] += c1.float()
    ref0[:rows] += c0.float()
    assert torch.allclose(g0, ref0, atol=1e-5)


def test_trainer_uses_the_fused_pass_on_cpu_and_autograd_agrees():
    from wavenet_gui.core.session import make_sampler
    from wavenet_gui.core.training import Trainer, TrainingConfig

    cfg = WaveNetConfig(n_dilations=4, n_blocks=1, n_hidden=8, n_skip=16, n_end=16, n_channels=32)
    signal = np.sin(np.arange(4000) * 0.3).astype(np.float32)
    q = cfg.quantizer.encode(signal).astype(np.uint8)
    losses = {}
    for fused in (True, False):
        torch.manual_seed(0)
        model = WaveNet(cfg)
        tcfg = TrainingConfig(train_iterations=5, batch_size=2, target_length=64, precision="float32")
        sampler = make_sampler([q], receptive_field=model.receptive_field, target_length=64, config=cfg)
        trainer = Trainer(model, sampler, tcfg)
        assert trainer.fused  # on the CPU
        trainer.fused = fused
        trainer.run()
        losses[fused] = trainer.losses
    assert np.allclose(losses[True], losses[False], rtol=1e-4)


def test_the_apps_numba_thread_setting_keeps_torchs_thread_count():
    """Launching numba's OpenMP layer reset torch's OpenMP thread count (1 -> 2 on 2 cores),
    undoing the core the window leaves for the UI; a fresh process shows it."""
    import subprocess
    import sys

    code = (
        "import torch\n"
        "torch.set_num_threads(1)\n"
        "from wavenet_gui.core import training\n"
        "training.warm_up()\n"
        "from wavenet_gui.core.session import leave_a_core_free\n"
        "leave_a_core_free()\n"
        "print(torch.get_num_threads())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "1"


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_the_torch_path_for_other_devices_gives_the_same_gradients(monkeypatch, dtype):
    """Off the CPU the fused pass runs its elementwise steps as torch operations; run that
    path on the CPU and hold it to the kernels' results."""
    import wavenet_gui.core.fused as fused

    torch.manual_seed(6)
    model = WaveNet(CONFIGS["bias"])
    n = 40
    x = torch.randint(0, 32, (2, n + model.receptive_field))
    k_loss, k_grads = _grads(model, lambda: fused_loss(model, x, n, dtype))
    monkeypatch.setattr(fused, "KERNEL_DEVICES", set())
    t_loss, t_grads = _grads(model, lambda: fused_loss(model, x, n, dtype))
    assert t_loss == pytest.approx(k_loss, rel=1e-5 if dtype == torch.float32 else 1e-2)
    tol = 1e-5 if dtype == torch.float32 else 0.05
    assert ((t_grads - k_grads).norm() / k_grads.norm()).item() < tol
    if dtype == torch.float32:
        _, ref = _grads(model, lambda: _reference(model, x, n))
        assert ((t_grads - ref).norm() / ref.norm()).item() < 1e-5


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_kernels_split_over_threads_give_the_one_thread_results(dtype):
    torch.manual_seed(7)
    rows, D, R, C = 5000, 4, 3, 10  # enough rows for two blocks of 2,048
    A = torch.randn(rows, 2 * D).to(dtype)
    gz = torch.randn(rows, D).to(dtype)
    logits = (torch.randn(rows, C) * 3).to(dtype)
    targets = torch.randint(0, C, (rows,))
    h, r = torch.randn(rows + 2, R), torch.randn(rows, R).to(dtype)
    g_h, c1, c0 = torch.randn(rows, R), torch.randn(rows, R).to(dtype), torch.randn(rows, R).to(dtype)
    results = {}
    for threads in (1, 2):
        zcat = torch.zeros(100, 2 * D, dtype=dtype)
        z = tk.gate_forward(A, zcat, D, 100, threads=threads)
        gA, gb = tk.gate_backward(A, gz, threads=threads)
        loss, grad, gsum = tk.cross_entropy(logits, targets, threads=threads)
        out, out_c = tk.residual_forward(h, r, 2, dtype, threads=threads)
        g, g_c, g_sum = tk.residual_backward(g_h, c1, c0, 2, dtype, threads=threads)
        results[threads] = (z, zcat, gA, gb, loss, grad, gsum, out, out_c, g, g_c, g_sum)
    for one, two in zip(results[1], results[2], strict=True):
        if isinstance(one, float):
            assert one == pytest.approx(two, rel=1e-9)
        elif one.dtype == torch.float32 and one.dim() == 1:  # sums: blocks change the order of additions
            assert torch.allclose(one, two, rtol=1e-5, atol=1e-5)
        else:
            assert torch.equal(one, two)


def test_no_reference_count_drift_on_none():
    """Issue 11's crash was ``Fatal Python error: none_dealloc`` (None's reference count reached
    zero: some C code releases None once too often).  The fused pass, every kernel (one and two
    row blocks) and the cached generator keep None's count steady over hundreds of calls."""
    import gc
    import sys

    from wavenet_gui.core.fastgen import FastGenerator

    model = WaveNet(CONFIGS["bias"])
    x = torch.randint(0, 32, (1, 4200 + model.receptive_field))
    A, gz = torch.randn(4200, 8), torch.randn(4200, 4)
    logits, t = torch.randn(4200, 5), torch.randint(-1, 5, (4200,))
    gens = [FastGenerator(model, n_streams=k, threads=thr, _force_split=True) for k, thr in ((1, 1), (1, 2), (3, 2))]

    def calls():
        for dt in (torch.float32, torch.bfloat16):
            fused_loss(model, x, 4200, dt).backward()
        for threads in (1, 2):
            tk.gate_forward(A, torch.zeros(10, 4), 0, 10, threads=threads)
            tk.gate_backward(A, gz, threads=threads)
            tk.cross_entropy(logits, t, threads=threads)
            tk.residual_backward(None, A[:, :4], A[:, 4:], 3, torch.float32, threads=threads)
            tk.residual_forward(torch.randn(4203, 4), A[:, :4].bfloat16(), 3, torch.bfloat16, threads=threads)
        for g in gens:
            k = g.n_streams
            g.feed(np.zeros((k, 3), np.int64))
            g.step_logits(np.zeros(k, np.int64))
            g.run(5, first_input=np.zeros(k, np.int64), uniforms=np.full((k, 5), 0.5), temperature=1.0)

    calls()
    gc.collect()
    before = sys.getrefcount(None)
    for _ in range(10):
        calls()
    gc.collect()
    drift = sys.getrefcount(None) - before
    for g in gens:
        g.close()
    assert abs(drift) < 10, drift  # a leak per call would be >= 10 (measured: 0)
