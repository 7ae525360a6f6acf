"""The training pass with a hand-written backward: :func:`fused_loss` and :func:`fused_logits`.

Training spends its time in small matrix products and in the elementwise work
between them.  Autograd over :meth:`WaveNet.logits_btc` is correct but wasteful
on a CPU: the gate's ``tanh`` and ``sigmoid`` run on strided channel slices (a
slow path, worst in bfloat16), every time-shifted slice allocates a zero-filled
gradient of the full length in the backward pass, autocast casts the same
activations again for every product, and the cross-entropy's backward builds a
zero-filled ``[rows, classes]`` tensor.  :class:`FusedWaveNetFunction` computes
the same loss and gradients with a short, fixed list of operations:

* activations are time-major ``[T * B, channels]`` matrices, so a shift by the
  dilation ``d`` is the contiguous row slice ``[d * B:]`` for any batch size;
* filter and gate are the two contiguous halves of one ``[2, rows, D]`` tensor,
  so one ``sigmoid`` covers both: ``tanh(f) = 2 * sigmoid(2 f) - 1``, with the
  factor 2 folded into the (copied) filter weights;
* the residual stream and the gate stay float32; the matrix products run in the
  compute dtype (float32, or bfloat16 like autocast) and each activation is cast
  once;
* the weights of all layers are stacked and cast once per step; the backward
  pass writes weight gradients into stacked buffers and each layer's input
  gradient into one buffer with in-place products;
* the loss's backward is ``softmax - one_hot`` from the saved log-sum-exp.

Precision: in float32 the loss and gradients equal autograd's to rounding (the
tests hold them to 1e-4 relative); in bfloat16 they carry autocast's rounding.

Examples
--------
>>> import torch
>>> from wavenet_gui.core.model import WaveNet, WaveNetConfig
>>> model = WaveNet(WaveNetConfig(n_dilations=3, n_blocks=1, n_hidden=8, n_skip=8, n_end=8))
>>> x = torch.randint(0, 256, (2, 7 + 10))
>>> logits = fused_logits(model, x, n_outputs=10)  # [B, n, C]
>>> torch.allclose(logits, model.logits_btc(x, n_outputs=10), atol=1e-5)
True
>>> loss = fused_loss(model, torch.randint(0, 256, (2, 7 + 10 + 1)), n_outputs=10)
>>> loss.backward()
"""

from __future__ import annotations

from typing import cast

import torch
import torch.nn.functional as F

from . import allocator, trainkernels
from .model import WaveNet

_F32 = torch.float32

#: Devices whose tensors go through the numba kernels; elsewhere (CUDA, MPS) the same
#: steps run as torch operations.  (The tests empty it to check that path on the CPU.)
KERNEL_DEVICES = {"cpu"}


def _params(model: WaveNet) -> list[torch.Tensor]:
    """Parameters in the order :class:`FusedWaveNetFunction` takes them:
    per kind, all layers: dilated, residual, skip weights, then end1, end2 weights,
    then (with biases) dilated, residual, skip biases and end1, end2 biases."""
    layers = model.layers
    out = [layer.dilated.weight for layer in layers] + [layer.residual.weight for layer in layers] + \
        [layer.skip.weight for layer in layers] + [model.end1.weight, model.end2.weight]
    if model.config.bias:
        biases = [layer.dilated.bias for layer in layers] + [layer.residual.bias for layer in layers] + \
            [layer.skip.bias for layer in layers] + [model.end1.bias, model.end2.bias]
        out += cast(list[torch.Tensor], biases)  # bias=True: every one is set
    return out


def _gate_forward(A, zcat, col0, n_tail):
    if A.device.type in KERNEL_DEVICES:
        return trainkernels.gate_forward(A, zcat, col0, n_tail)
    D = A.shape[1] // 2
    z = (torch.tanh(A[:, :D].float()) * torch.sigmoid(A[:, D:].float())).to(A.dtype)
    zcat[:, col0:col0 + D] = z[z.shape[0] - n_tail:]
    return z


def _gate_backward(A, gz):
    if A.device.type in KERNEL_DEVICES:
        return trainkernels.gate_backward(A, gz)
    D = A.shape[1] // 2
    t, s, g = torch.tanh(A[:, :D].float()), torch.sigmoid(A[:, D:].float()), gz.float()
    gA = torch.cat([g * s * (1 - t * t), g * t * s * (1 - s)], dim=1)
    return gA.to(A.dtype), gA.sum(0)


def _residual_forward(h, r, shift, cdt):
    if h.device.type in KERNEL_DEVICES:
        return trainkernels.residual_forward(h, r, shift, cdt)
    out = h[shift:] + r
    return out, out.to(cdt)


def _residual_backward(g_h, c1, c0, shift, cdt):
    if c1.device.type in KERNEL_DEVICES:
        return trainkernels.residual_backward(g_h, c1, c0, shift, cdt)
    rows, R = c1.shape
    g = torch.zeros(rows + shift, R, dtype=_F32, device=c1.device)
    g[shift:] += c1
    if g_h is not None:
        g[shift:] += g_h
    g[:rows] += c0
    return g, g.to(cdt), g.sum(0)


def _skip_group(D: int, L: int) -> int:
    """Layers whose skip-path gradients one product makes: about 512 columns when the layers
    are narrower than 128 channels, else one layer (wide layers gain nothing, measured)."""
    return 1 if D >= 128 else max(1, min(L, 512 // D))


def _relu_grad(grad: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """``grad`` where ``out > 0``, else 0 (``out`` is the ReLU's output)."""
    return torch.ops.aten.threshold_backward(grad, out, 0)


class FusedWaveNetFunction(torch.autograd.Function):
    """``apply(h0, targets, meta, *params)``: the loss (or the logits) of a WaveNet.

    ``h0`` is the embedded input ``[T * B, R]`` float32, time-major (row ``t * B + b``).
    ``targets``: LongTensor ``[n * B]`` (time-major) for the mean cross-entropy, or
    None for the logits ``[n * B, C]`` in the compute dtype.
    ``meta`` is ``(B, n, dilations, D, bias, compute_dtype)``; ``params`` come from
    :func:`_params`.
    """

    @staticmethod
    def forward(ctx, h0, targets, meta, *params):
        B, n, dilations, D, has_bias, cdt = meta
        L = len(dilations)
        dev = h0.device
        nB = n * B
        R = h0.shape[1]
        wd, wr, ws = params[:L], params[L:2 * L], params[2 * L:3 * L]
        we1, we2 = params[3 * L], params[3 * L + 1]
        # --- weights, stacked and cast once ------------------------------------------------
        Wd = torch.stack(wd).to(cdt).permute(0, 3, 2, 1).contiguous()  # [L, tap, R, 2D]
        Wr = torch.stack(wr)[..., 0].to(cdt)  # [L, R, D]
        Wskip = torch.cat([w[..., 0] for w in ws], dim=1).to(cdt)  # [S, L*D]
        We1, We2 = we1[..., 0].to(cdt), we2[..., 0].to(cdt)  # [E, S], [C, E]
        if has_bias:
            bd_, br_, bs_ = params[3 * L + 2:4 * L + 2], params[4 * L + 2:5 * L + 2], params[5 * L + 2:6 * L + 2]
            be1, be2 = params[6 * L + 2], params[6 * L + 3]
            bd = torch.stack(bd_).to(cdt)  # [L, 2D]
            br = torch.stack(br_).to(cdt)  # [L, R]
            bs = torch.stack(bs_).sum(0).to(cdt)  # [S]: the skips' biases add up
        # --- the residual stack ---------------------------------------------------------------
        # every layer's z, last n steps (its block reused from step to step while training)
        Zcat = allocator.kept_empty("fused.Zcat", (nB, L * D), cdt, dev)
        saved = []
        h = h0  # [T * B, R] float32
        hb = h0 if cdt == _F32 else h0.to(cdt)  # the same in the compute dtype
        for i, d in enumerate(dilations):
            rows = hb.shape[0] - d * B
            x1, x0 = hb[d * B:], hb[:rows]  # [rows, R] each: x[t] and x[t - d]
            A = torch.addmm(bd[i], x1, Wd[i, 1]) if has_bias else torch.mm(x1, Wd[i, 1])  # [rows, 2D]
            A.addmm_(x0, Wd[i, 0])  # [rows, 2D]: f | g, pre-activation (tap 0 sees x[t - d])
            z = _gate_forward(A, Zcat, i * D, nB)  # [rows, D]: tanh(f) * sigmoid(g)
            saved += [hb, A, z]
            if i < L - 1:  # the last layer's residual output is unused
                Wri = Wr[i].t()  # [D, R]
                r = torch.addmm(br[i], z, Wri) if has_bias else torch.mm(z, Wri)  # [rows, R]
                h, hb = _residual_forward(h, r, d * B, cdt)  # [rows, R]: float32, cdt
        # --- the output stack -------------------------------------------------------------------
        skip = torch.mm(Zcat, Wskip.t())  # [nB, S]: the sum of every layer's skip output
        if has_bias:
            skip += bs
        a1 = skip.relu_()
        a2 = (torch.addmm(be1.to(cdt), a1, We1.t()) if has_bias else torch.mm(a1, We1.t())).relu_()  # [nB, E]
        logits = torch.addmm(be2.to(cdt), a2, We2.t()) if has_bias else torch.mm(a2, We2.t())  # [nB, C]
        ctx.meta, ctx.R, ctx.with_loss = meta, R, targets is not None
        ctx.weights = (Wd, Wr, Wskip, We1, We2)
        if targets is None:
            ctx.save_for_backward(Zcat, a1, a2, *saved)
            return logits
        if dev.type in KERNEL_DEVICES:  # one pass: the loss and its gradient (softmax - one_hot) / rows
            loss, g_logits, g_b2 = trainkernels.cross_entropy(logits, targets)
            loss = torch.tensor(loss, dtype=_F32)
        else:  # the same as torch operations; rows with a negative target are ignored
            l32 = logits.float()
            scored = (targets >= 0)[:, None]
            t = targets.clamp_min(0)[:, None]
            n_scored = scored.sum()
            g_logits = torch.softmax(l32, dim=1)
            per_row = torch.logsumexp(l32, 1, keepdim=True) - l32.gather(1, t)
            loss = torch.where(scored, per_row, 0.0).sum() / n_scored  # NaN when nothing is scored
            g_logits.scatter_add_(1, t, torch.full((nB, 1), -1.0, device=dev))
            g_logits = torch.where(scored, g_logits, 0.0) / n_scored.clamp_min(1)
            g_b2 = g_logits.sum(0)
            g_logits = g_logits.to(cdt)
        ctx.save_for_backward(Zcat, a1, a2, *saved, g_logits, g_b2)
        return loss

    @staticmethod
    def backward(ctx, g_out):
        B, n, dilations, D, has_bias, cdt = ctx.meta
        L = len(dilations)
        nB = n * B
        st = ctx.saved_tensors
        Zcat, a1, a2 = st[:3]
        saved = st[3:3 + 3 * L]
        n_params = (6 * L + 4) if has_bias else (3 * L + 2)
        Wd, Wr, Wskip, We1, We2 = ctx.weights
        dev = Zcat.device
        if ctx.with_loss:  # the gradient of the mean cross-entropy, made in the forward pass
            g, g_b2 = st[-2:]  # [nB, C] in cdt, [C] float32
            if float(g_out) != 1.0:
                g, g_b2 = g * g_out.to(g.dtype), g_b2 * g_out
        else:
            g = g_out.to(cdt)
            g_b2 = g_out.float().sum(0)
        grads: list[torch.Tensor | None] = [None] * n_params
        # --- the output stack -------------------------------------------------------------------
        grads[3 * L + 1] = torch.mm(g.t(), a2).to(_F32).unsqueeze(-1)  # [C, E, 1]
        if has_bias:
            grads[6 * L + 3] = g_b2
        g = _relu_grad(torch.mm(g, We2), a2)  # [nB, E]
        grads[3 * L] = torch.mm(g.t(), a1).to(_F32).unsqueeze(-1)  # [E, S, 1]
        if has_bias:
            grads[6 * L + 2] = g.sum(0, dtype=_F32)  # torch's blocked sum: accurate over many rows
        g_skip = _relu_grad(torch.mm(g, We1), a1)  # [nB, S]
        gWs = torch.mm(g_skip.t(), Zcat).to(_F32)  # [S, L*D]
        if has_bias:
            g_bs = g_skip.sum(0, dtype=_F32)
        # --- the residual stack, last layer first ----------------------------------------------
        gWd = torch.empty(L, 2, ctx.R, 2 * D, dtype=cdt, device=dev)  # as Wd
        gWr = torch.zeros(L, ctx.R, D, dtype=cdt, device=dev)
        gbd = torch.empty(L, 2 * D, dtype=_F32, device=dev)
        gbr = torch.zeros(L, ctx.R, dtype=_F32, device=dev)
        g_h = gr = g_h_sum = None  # gradient of the residual stream after layer i: float32, cdt, summed
        # the skip path's gradient of z, for a group of layers at once when the layers are narrow
        # (one wide product instead of several [nB, S] x [S, D] ones: measured 1.5x faster at D=32)
        group = _skip_group(D, L)
        gZ = g0 = None
        for i in reversed(range(L)):
            d = dilations[i]
            hb, A, z = saved[3 * i:3 * i + 3]
            rows = A.shape[0]
            if group > 1:
                if gZ is None or i < g0:
                    g0 = max(0, i - group + 1)
                    gZ = torch.mm(g_skip, Wskip[:, g0 * D:(i + 1) * D])  # [nB, (i + 1 - g0) * D]
                gs = gZ[:, (i - g0) * D:(i - g0 + 1) * D]  # [nB, D]: layer i's skip-path gradient
            if g_h is not None:
                torch.mm(gr.t(), z, out=gWr[i])
                if has_bias:
                    gbr[i] = g_h_sum
                if group > 1:
                    gz = torch.empty(rows, D, dtype=cdt, device=dev)
                    torch.mm(gr[:rows - nB], Wr[i], out=gz[:rows - nB])
                    torch.addmm(gs, gr[rows - nB:], Wr[i], out=gz[rows - nB:])  # plus the skip path
                else:
                    gz = torch.mm(gr, Wr[i])  # [rows, D]
                    gz[rows - nB:].addmm_(g_skip, Wskip[:, i * D:(i + 1) * D])  # plus the skip path
            else:  # the last layer feeds only the skip sum
                gz = torch.zeros(rows, D, dtype=cdt, device=dev)
                if group > 1:
                    gz[rows - nB:] = gs
                else:
                    torch.mm(g_skip, Wskip[:, i * D:(i + 1) * D], out=gz[rows - nB:])
            gA, gb = _gate_backward(A, gz)  # [rows, 2D] in cdt, [2D] float32
            if has_bias:
                gbd[i] = gb
            x1, x0 = hb[d * B:], hb[:rows]
            torch.mm(x1.t(), gA, out=gWd[i, 1])  # [R, 2D]
            torch.mm(x0.t(), gA, out=gWd[i, 0])
            c1 = torch.mm(gA, Wd[i, 1].t())  # [rows, R]: through x[t]
            c0 = torch.mm(gA, Wd[i, 0].t())  # [rows, R]: through x[t - d]
            g_h, gr, g_h_sum = _residual_backward(g_h, c1, c0, d * B, cdt)  # [Tin * B, R]
        # --- back to the parameters' shapes ----------------------------------------------------
        gWd = gWd.to(_F32).permute(0, 3, 2, 1)  # [L, 2D, R, 2]
        gWr = gWr.to(_F32).unsqueeze(-1)  # [L, R, D, 1]
        for i in range(L):
            grads[i] = gWd[i]
            grads[L + i] = gWr[i] if i < L - 1 else None  # the last residual is unused (as in autograd)
            grads[2 * L + i] = gWs[:, i * D:(i + 1) * D].unsqueeze(-1)
        if has_bias:
            for i in range(L):
                grads[3 * L + 2 + i] = gbd[i]
                grads[4 * L + 2 + i] = gbr[i] if i < L - 1 else None
                grads[5 * L + 2 + i] = g_bs
        return (g_h, None, None, *grads)


def _prepare(model: WaveNet, x: torch.Tensor, n_outputs: int, dtype: torch.dtype, extra: int):
    cfg = model.config
    if dtype not in (torch.float32, torch.bfloat16, torch.float16):
        raise ValueError(f"dtype must be float32, bfloat16 or float16, got {dtype}")
    need = n_outputs + model.receptive_field - 1 + extra
    if x.dim() != 2 or x.shape[1] < need:
        raise ValueError(f"x must be [B, T >= {need}], got shape {tuple(x.shape)}")
    x = x[:, -need:]
    inputs = x[:, :x.shape[1] - extra]  # [B, n + rf - 1]
    if bool((inputs < 0).any()):  # padding (-1) reads as silence
        inputs = torch.where(inputs < 0, cfg.n_channels // 2, inputs)
    h0 = F.embedding(inputs.t().reshape(-1), model.embed.weight)  # [T * B, R], time-major
    if h0.dtype != torch.float32:
        h0 = h0.float()
    meta = (x.shape[0], n_outputs, tuple(cfg.dilations), cfg.dilation_channels, cfg.bias, dtype)
    return x, h0, meta


def fused_logits(model: WaveNet, x: torch.Tensor, n_outputs: int,
                 dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """``model.logits_btc(x, n_outputs)`` with the fused backward; logits ``[B, n, C]``.

    Parameters
    ----------
    model : WaveNet
    x : LongTensor [B, T]
        Classes; ``T >= n_outputs + receptive_field - 1``.
    n_outputs : int
        Positions to compute per row (the last ``n_outputs``).
    dtype : torch.dtype
        Compute dtype of the matrix products: ``torch.float32`` or ``torch.bfloat16``
        (float32 weights, residual stream and gate either way).

    Returns
    -------
    Tensor [B, n_outputs, C] in ``dtype``.
    """
    x, h0, meta = _prepare(model, x, n_outputs, dtype, extra=0)
    B = x.shape[0]
    logits = FusedWaveNetFunction.apply(h0, None, meta, *_params(model))  # [n * B, C]
    return logits.view(n_outputs, B, -1).transpose(0, 1)


def fused_loss(model: WaveNet, x: torch.Tensor, n_outputs: int,
               dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Mean cross-entropy of predicting the last ``n_outputs`` samples of each row of ``x``.

    The same value as ``F.cross_entropy(model.logits_btc(x[:, :-1], n_outputs)``
    ``.reshape(-1, C), x[:, -n_outputs:].reshape(-1), ignore_index=-1)``, with the fused
    backward.

    Padding: a negative class (use -1) marks a sample that is not there, e.g. after the end
    of a file shorter than the window.  As a target it is ignored (no loss, no gradient; the
    mean is over the other targets, NaN if there are none, as in ``F.cross_entropy``); as an
    input it reads as silence (the centre class ``n_channels // 2``).  With the padding on the
    right only ignored targets see those inputs, so the loss is that of the real samples alone;
    a window that starts before a file may carry silence classes (or -1, the same input)
    on its left.

    Parameters
    ----------
    model : WaveNet
    x : LongTensor [B, T]
        Windows of classes, ``T >= n_outputs + receptive_field``: inputs and targets;
        classes in ``[0, n_channels)`` or -1.
    n_outputs : int
        Scored samples per row.
    dtype : torch.dtype
        Compute dtype of the matrix products (see :func:`fused_logits`).

    Returns
    -------
    Scalar float32 tensor (nats).

    Examples
    --------
    >>> from wavenet_gui.core.model import WaveNet, WaveNetConfig
    >>> model = WaveNet(WaveNetConfig(n_dilations=3, n_blocks=1, n_hidden=8, n_skip=8, n_end=8))
    >>> x = torch.randint(0, 256, (2, model.receptive_field + 10))
    >>> x[1, -4:] = -1  # the second window's file ends 4 samples early
    >>> fused_loss(model, x, n_outputs=10).backward()
    """
    x, h0, meta = _prepare(model, x, n_outputs, dtype, extra=1)
    targets = x[:, -n_outputs:].t().reshape(-1)  # [n * B], time-major like the logits
    return FusedWaveNetFunction.apply(h0, targets, meta, *_params(model))
