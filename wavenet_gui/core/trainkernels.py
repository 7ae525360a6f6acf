"""numba kernels for the elementwise parts of training (used by :mod:`.fused`).

The gate ``z = tanh(f) * sigmoid(g)``, its backward pass and the softmax
cross-entropy are a handful of elementwise operations on tensors too big for the
L2 cache; run one by one as torch operations they cost more than the matrix
products around them.  Each kernel here makes one pass instead:

* :func:`gate_forward` reads the pre-activations ``A = [f | g]`` and writes ``z``
  (and the skip rows of ``z`` into the stacked skip input);
* :func:`gate_backward` reads ``A`` and the gradient of ``z``, recomputes the gate
  and writes the gradient of ``A`` and its column sums (the bias gradient);
* :func:`residual_forward` adds a layer's output to the float32 residual stream
  and writes the sum in the compute dtype for the next layer's products;
  :func:`residual_backward` gathers a layer's input gradient from its three
  sources (the residual path and both taps of the dilated convolution);
* :func:`cross_entropy` reads the logits and writes the loss and, at once, the
  gradient of the mean loss (``(softmax - one_hot) / rows``).

Arrays are float32, or bfloat16 passed as their ``uint16`` bits; arithmetic is
float32 (bfloat16 results are rounded to nearest even).  ``tanh`` is the
vectorisable rational approximation the generator uses (max error ~1e-7) and
``sigmoid(g) = (1 + tanh(g / 2)) / 2``.  With more than one torch thread, the
kernels split their rows over numba's threads when numba's threading layer is
OpenMP (measured on 2 cores: a training step 35% faster than with the kernels on one
thread).  With another layer (a separate pool, which competes with torch's OpenMP
workers: a Python thread pool measured slower than one thread) they stay on the calling
thread.  numba's OpenMP layer and torch usually load two different OpenMP runtimes (pip's
torch bundles its own libgomp), whose idle workers must sleep rather than spin, or each
steals the cores from the other: ``wavenet_gui`` sets ``OMP_WAIT_POLICY=PASSIVE`` unless
the user chose a policy (see ``wavenet_gui/__init__.py``).
"""

from __future__ import annotations

import math
import threading
from typing import Any

import numba
import numpy as np
import torch
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic

from .numbatools import _f32, _tanh
from .warmup import keep_torch_threads

_LOG2E = np.float32(1.4426950408889634)
_LN2_HI = np.float32(0.693145751953125)
_LN2_LO = np.float32(1.428606765330187e-06)
_EXP_LO = np.float32(-87.0)

_HALF = np.float32(0.5)
_ONE = np.float32(1.0)
_ZERO = np.float32(0.0)


@intrinsic
def _like(typingctx, x, proto):
    """float32 ``x`` -> the dtype of ``proto``: float32 as is, uint16 = bfloat16 (nearest even)."""
    if x != types.float32:
        return None
    if proto == types.float32:

        def codegen(context, builder, sig, args):
            return args[0]

        return types.float32(x, proto), codegen
    if proto == types.uint16:

        def codegen(context, builder, sig, args):
            i32 = ir.IntType(32)
            u = builder.bitcast(args[0], i32)
            lsb = builder.and_(builder.lshr(u, ir.Constant(i32, 16)), ir.Constant(i32, 1))
            u = builder.add(builder.add(u, ir.Constant(i32, 0x7FFF)), lsb)
            return builder.trunc(builder.lshr(u, ir.Constant(i32, 16)), ir.IntType(16))

        return types.uint16(x, proto), codegen
    return None


@njit(inline="always", fastmath=True, error_model="numpy", cache=True)
def _gate(a, j, D, proto):
    """tanh(a[j]) * sigmoid(a[D + j]) in the dtype of ``proto``."""
    return _like(_tanh(_f32(a[j])) * (_HALF + _HALF * _tanh(_HALF * _f32(a[D + j]))), proto)


@njit(fastmath=True, nogil=True, error_model="numpy", cache=True)
def _gate_forward(A, z, zcat, col0, tail0, r0, r1):
    D = z.shape[1]
    proto = z[0, 0]
    for r in range(r0, r1):
        a = A[r]
        zr = z[r]
        if r >= tail0:  # also a skip row: one loop writes both
            zc = zcat[r - tail0, col0:col0 + D]
            for j in range(D):
                zr[j] = zc[j] = _gate(a, j, D, proto)
        else:
            for j in range(D):
                zr[j] = _gate(a, j, D, proto)


#: rows summed in float32 before the sum goes into a float64 total (bias gradients: a
#: plain float32 running sum over 10^5 rows loses ~1e-4 relative; blocks keep it ~1e-6)
_BLOCK = 128


@njit(inline="always", cache=True)
def _flush(acc, total):
    """``total += acc`` (float64 += float32), then ``acc = 0``."""
    for j in range(acc.shape[0]):
        total[j] += acc[j]
        acc[j] = _ZERO


@njit(fastmath=True, nogil=True, error_model="numpy", cache=True)
def _gate_backward(A, gz, gA, gb, r0, r1):
    """Rows ``r0..r1`` of the gate's backward; adds their column sums to ``gb`` (float64)."""
    D = gz.shape[1]
    proto = gA[0, 0]
    acc = np.zeros(2 * D, dtype=np.float32)
    for b0 in range(r0, r1, _BLOCK):
        for r in range(b0, min(b0 + _BLOCK, r1)):
            for j in range(D):
                t = _tanh(_f32(A[r, j]))
                s = _HALF + _HALF * _tanh(_HALF * _f32(A[r, D + j]))
                g = _f32(gz[r, j])
                gf = g * s * (_ONE - t * t)  # d/df
                gg = g * t * s * (_ONE - s)  # d/dg
                acc[j] += gf
                acc[D + j] += gg
                gA[r, j] = _like(gf, proto)
                gA[r, D + j] = _like(gg, proto)
        _flush(acc, gb)


@intrinsic
def _bits_f32(typingctx, x):
    """The low 32 bits of an integer -> float32 (a bitcast, vectorisable)."""
    if not isinstance(x, types.Integer):
        return None

    def codegen(context, builder, sig, args):
        v = args[0]
        if x.bitwidth > 32:
            v = builder.trunc(v, ir.IntType(32))
        return builder.bitcast(v, ir.FloatType())

    return types.float32(x), codegen


@njit(inline="always", fastmath=True, error_model="numpy", cache=True)
def _exp_le0(x):
    """exp(x) in float32 for x <= 0 (0 below -87), ~2 ulp; branch free so loops vectorise.
    Cody-Waite reduction to |r| <= ln2/2, then a degree-7 Taylor polynomial."""
    xc = x if x > _EXP_LO else _EXP_LO
    n = np.float32(np.floor(xc * _LOG2E + _HALF))
    r = (xc - n * _LN2_HI) - n * _LN2_LO
    p = np.float32(1.0 / 5040.0)
    p = p * r + np.float32(1.0 / 720.0)
    p = p * r + np.float32(1.0 / 120.0)
    p = p * r + np.float32(1.0 / 24.0)
    p = p * r + np.float32(1.0 / 6.0)
    p = p * r + _HALF
    p = p * r + _ONE
    p = p * r + _ONE
    e = p * _bits_f32((np.int64(n) + 127) << 23)
    return e if x > _EXP_LO else np.float32(0.0)


@njit(fastmath=True, nogil=True, error_model="numpy", cache=True)
def _cross_entropy(logits, targets, grad, gsum, scale, r0, r1):
    """Sum over rows r0..r1 of -log softmax(logits[r])[targets[r]]; writes
    grad[r] = (softmax(logits[r]) - one_hot(targets[r])) * scale and adds it to gsum (float64).
    Rows whose target is negative are ignored: no loss, a zero gradient row."""
    C = logits.shape[1]
    proto = grad[0, 0]
    zero = _like(_ZERO, proto)
    e = np.empty(C, dtype=np.float32)
    acc_g = np.zeros(C, dtype=np.float32)
    total = 0.0
    for b0 in range(r0, r1, _BLOCK):
        for r in range(b0, min(b0 + _BLOCK, r1)):
            t = targets[r]
            if t < 0:
                for c in range(C):
                    grad[r, c] = zero
                continue
            m = _f32(logits[r, 0])
            for c in range(C):
                v = _f32(logits[r, c])
                m = v if v > m else m
            acc = np.float32(0.0)
            for c in range(C):
                e[c] = _exp_le0(_f32(logits[r, c]) - m)
                acc += e[c]
            total += np.log(np.float64(acc)) + m - _f32(logits[r, t])
            k = scale / acc
            e[t] -= acc  # minus the one-hot, before scaling
            for c in range(C):
                v = e[c] * k
                acc_g[c] += v
                grad[r, c] = _like(v, proto)
        _flush(acc_g, gsum)
    return total


@njit(fastmath=True, nogil=True, error_model="numpy", cache=True)
def _residual_forward(h, r, out, out_c, shift, r0, r1):
    R = r.shape[1]
    proto = out_c[0, 0]
    for q in range(r0, r1):
        for j in range(R):
            v = h[q + shift, j] + _f32(r[q, j])
            out[q, j] = v
            out_c[q, j] = _like(v, proto)


@njit(fastmath=True, nogil=True, error_model="numpy", cache=True)
def _residual_backward(g_h, c1, c0, shift, out, out_c, gsum, r0, r1):
    """Rows ``r0..r1`` of ``out = [0; g_h + c1] + [c0; 0]`` (``out`` has ``rows + shift`` rows):
    row ``q`` gets ``g_h + c1`` at ``q - shift`` when ``q >= shift`` and ``c0`` at ``q`` when
    ``q < rows``.  Either, both or (when the shift exceeds the rows) neither applies.
    Adds the column sums to ``gsum`` (float64)."""
    R = c1.shape[1]
    rows = c1.shape[0]
    proto = out_c[0, 0]
    acc = np.zeros(R, dtype=np.float32)
    for b0 in range(r0, r1, _BLOCK):
        for q in range(b0, min(b0 + _BLOCK, r1)):
            shifted = q >= shift
            direct = q < rows
            if shifted and direct:
                for j in range(R):
                    v = _f32(g_h[q - shift, j]) + _f32(c1[q - shift, j]) + _f32(c0[q, j])
                    out[q, j] = v
                    out_c[q, j] = _like(v, proto)
                    acc[j] += v
            elif shifted:
                for j in range(R):
                    v = _f32(g_h[q - shift, j]) + _f32(c1[q - shift, j])
                    out[q, j] = v
                    out_c[q, j] = _like(v, proto)
                    acc[j] += v
            elif direct:
                for j in range(R):
                    v = _f32(c0[q, j])
                    out[q, j] = v
                    out_c[q, j] = _like(v, proto)
                    acc[j] += v
            else:  # rows <= q < shift: the layer's output is shorter than its dilation
                for j in range(R):
                    out[q, j] = _ZERO
                    out_c[q, j] = _like(_ZERO, proto)
        _flush(acc, gsum)


# ---- the same kernels over row blocks in numba's threads ----------------------------------
_PAR: dict[str, Any] = dict(fastmath=True, nogil=True, error_model="numpy", cache=True, parallel=True)


@njit(inline="always", cache=True)
def _bounds(rows, n, c):
    """Rows of block ``c`` of ``n``."""
    return rows * c // n, rows * (c + 1) // n


@njit(**_PAR)
def _gate_forward_par(A, z, zcat, col0, tail0, n):
    for c in prange(n):
        r0, r1 = _bounds(A.shape[0], n, c)
        _gate_forward(A, z, zcat, col0, tail0, r0, r1)


@njit(**_PAR)
def _gate_backward_par(A, gz, gA, gb_parts, n):
    for c in prange(n):
        r0, r1 = _bounds(A.shape[0], n, c)
        _gate_backward(A, gz, gA, gb_parts[c], r0, r1)


@njit(**_PAR)
def _residual_forward_par(h, r, out, out_c, shift, n):
    for c in prange(n):
        r0, r1 = _bounds(r.shape[0], n, c)
        _residual_forward(h, r, out, out_c, shift, r0, r1)


@njit(**_PAR)
def _residual_backward_par(g_h, c1, c0, shift, out, out_c, gsum_parts, n):
    for c in prange(n):
        r0, r1 = _bounds(out.shape[0], n, c)
        _residual_backward(g_h, c1, c0, shift, out, out_c, gsum_parts[c], r0, r1)


@njit(**_PAR)
def _cross_entropy_par(logits, targets, grad, gsum_parts, totals, scale, n):
    for c in prange(n):
        r0, r1 = _bounds(logits.shape[0], n, c)
        totals[c] = _cross_entropy(logits, targets, grad, gsum_parts[c], scale, r0, r1)


_MIN_ROWS_PER_THREAD = 2048
_layer_ok: bool | None = None
_layer_lock = threading.Lock()


def _numba_max_threads() -> int:
    # numba.config sets its settings when it loads, so a type checker does not know them.
    return int(numba.config.NUMBA_NUM_THREADS)  # type: ignore[attr-defined]


def parallel_threads() -> int:
    """How many threads the kernels split rows over: torch's thread count when numba's
    threading layer is OpenMP, else 1.  Changes neither
    torch's nor numba's thread count (the kernels set numba's only for their own call)."""
    global _layer_ok
    n = min(torch.get_num_threads(), _numba_max_threads())
    if n <= 1:
        return 1
    if _layer_ok is None:
        with _layer_lock, keep_torch_threads():
            if _layer_ok is None:
                try:
                    numba.get_num_threads()  # launches the threading layer, keeping its count
                    _layer_ok = numba.threading_layer() == "omp"
                except Exception:  # noqa: BLE001 - no threading layer loads (e.g. a trimmed bundle): one thread
                    _layer_ok = False
    return n if _layer_ok else 1


def _par(kernel, n: int, *args):
    """``kernel(*args, n)`` (a row-block kernel) on ``n`` of numba's threads, leaving numba's
    thread count for this thread, and torch's, as they were."""
    k = max(1, min(n, _numba_max_threads()))
    with keep_torch_threads():
        before = numba.get_num_threads()
        if before != k:
            numba.set_num_threads(k)
        try:
            return kernel(*args, n)
        finally:
            if before != k:
                numba.set_num_threads(before)


def _chunks(rows: int, threads: int | None) -> int:
    threads = parallel_threads() if threads is None else threads
    return max(1, min(threads, rows // _MIN_ROWS_PER_THREAD))


def _np(t: torch.Tensor) -> np.ndarray:
    """A CPU tensor as a numpy array sharing its memory (bfloat16 as uint16 bits)."""
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().view(np.uint16)
    return t.numpy()


def gate_forward(A: torch.Tensor, zcat: torch.Tensor, col0: int, n_tail: int, *,
                 threads: int | None = None) -> torch.Tensor:
    """``z = tanh(A[:, :D]) * sigmoid(A[:, D:])``; its last ``n_tail`` rows also go to
    ``zcat[:, col0:col0 + D]``.

    Parameters
    ----------
    A : Tensor [rows, 2D], float32 or bfloat16, contiguous, on the CPU
    zcat : Tensor [n_tail, width], same dtype
    col0, n_tail : int
    threads : int, optional
        Row blocks to split over numba's threads (default :func:`parallel_threads`;
        at most one per 2,048 rows).  Every kernel here takes it.

    Returns
    -------
    z : Tensor [rows, D], same dtype as ``A``.

    Examples
    --------
    >>> A = torch.randn(5, 4); zcat = torch.zeros(2, 2)
    >>> z = gate_forward(A, zcat, 0, 2)
    >>> torch.allclose(z, torch.tanh(A[:, :2]) * torch.sigmoid(A[:, 2:]), atol=1e-6)
    True
    """
    rows, D = A.shape[0], A.shape[1] // 2
    z = torch.empty(rows, D, dtype=A.dtype)
    n = _chunks(rows, threads)
    if n > 1:
        _par(_gate_forward_par, n, _np(A), _np(z), _np(zcat), col0, rows - n_tail)
    else:
        _gate_forward(_np(A), _np(z), _np(zcat), col0, rows - n_tail, 0, rows)
    return z


def gate_backward(A: torch.Tensor, gz: torch.Tensor, *, threads: int | None = None
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """Gradient of the pre-activations ``A`` from the gradient ``gz`` of ``z``.

    Returns
    -------
    gA : Tensor [rows, 2D], the dtype of ``A``
    gb : Tensor [2D] float32, ``gA`` summed over rows (before rounding; blocks of 128 rows in
        float32, their sums in float64)
    """
    rows = A.shape[0]
    gA = torch.empty_like(A)
    n = _chunks(rows, threads)
    parts = torch.zeros(n, A.shape[1], dtype=torch.float64)
    if n > 1:
        _par(_gate_backward_par, n, _np(A), _np(gz), _np(gA), parts.numpy())
    else:
        _gate_backward(_np(A), _np(gz), _np(gA), parts[0].numpy(), 0, rows)
    return gA, parts.sum(0).float()


def residual_forward(h: torch.Tensor, r: torch.Tensor, shift: int, dtype: torch.dtype, *,
                     threads: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``h[shift:] + r`` in float32, and the same rounded to ``dtype``.

    Parameters
    ----------
    h : Tensor [rows + shift, R] float32
    r : Tensor [rows, R], float32 or bfloat16
    shift : int
    dtype : torch.dtype
        float32 or bfloat16.

    Returns
    -------
    (Tensor [rows, R] float32, Tensor [rows, R] in ``dtype``); the same tensor twice
    for float32.
    """
    rows, R = r.shape
    out = torch.empty(rows, R, dtype=torch.float32)
    if dtype == torch.float32:
        torch.add(h[shift:], r, out=out)
        return out, out
    out_c = torch.empty(rows, R, dtype=dtype)
    n = _chunks(rows, threads)
    if n > 1:
        _par(_residual_forward_par, n, _np(h), _np(r), _np(out), _np(out_c), shift)
    else:
        _residual_forward(_np(h), _np(r), _np(out), _np(out_c), shift, 0, rows)
    return out, out_c


def residual_backward(g_h: torch.Tensor | None, c1: torch.Tensor, c0: torch.Tensor, shift: int,
                      dtype: torch.dtype, *, threads: int | None = None
                      ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A layer's input gradient: ``g[shift:] += g_h + c1`` and ``g[:rows] += c0``.

    Parameters
    ----------
    g_h : Tensor [rows, R] float32 or None
        Gradient of the layer's residual output (None: the last layer, which has none).
    c1, c0 : Tensor [rows, R]
        Gradients through the dilated convolution's taps ``x[t]`` and ``x[t - shift]``.
    shift : int
    dtype : torch.dtype

    Returns
    -------
    g : Tensor [rows + shift, R] float32
    g_c : Tensor, ``g`` in ``dtype`` (the same tensor for float32)
    g_sum : Tensor [R] float32, ``g`` summed over rows (the previous layer's residual bias gradient)
    """
    rows, R = c1.shape
    n = rows + shift
    out = torch.empty(n, R, dtype=torch.float32)
    out_c = out if dtype == torch.float32 else torch.empty(n, R, dtype=dtype)
    if g_h is None:
        g_h = torch.zeros(rows, R, dtype=torch.float32)
    k = _chunks(n, threads)
    parts = torch.zeros(k, R, dtype=torch.float64)
    if k > 1:
        _par(_residual_backward_par, k, _np(g_h), _np(c1), _np(c0), shift, _np(out), _np(out_c), parts.numpy())
    else:
        _residual_backward(_np(g_h), _np(c1), _np(c0), shift, _np(out), _np(out_c), parts[0].numpy(), 0, n)
    return out, out_c, parts.sum(0).float()


def cross_entropy(logits: torch.Tensor, targets: torch.Tensor, *, threads: int | None = None
                  ) -> tuple[float, torch.Tensor, torch.Tensor]:
    """Mean cross-entropy of ``logits`` against ``targets``, and its gradient.

    Rows whose target is negative (-1: padding) are ignored, as by
    ``F.cross_entropy(..., ignore_index=-1)``: they add neither loss nor gradient and
    the mean is over the other rows (NaN, with zero gradients, when every row is ignored).

    Parameters
    ----------
    logits : Tensor [rows, C], float32 or bfloat16, contiguous, on the CPU
    targets : LongTensor [rows]
        Classes in ``[0, C)``, or negative for ignored rows.

    Returns
    -------
    loss : float
        ``mean_r(logsumexp(logits[r]) - logits[r, targets[r]])`` over the scored rows,
        summed in float64.
    grad : Tensor [rows, C], the dtype of ``logits``
        d(loss)/d(logits) ``= (softmax - one_hot) / scored_rows`` (zero on ignored rows).
    grad_sum : Tensor [C] float32
        ``grad`` summed over rows (before rounding): the gradient of the logits' bias.

    Examples
    --------
    >>> x = torch.randn(6, 10); t = torch.randint(0, 10, (6,)); t[-2:] = -1
    >>> loss, grad, grad_sum = cross_entropy(x, t)
    >>> abs(loss - torch.nn.functional.cross_entropy(x, t, ignore_index=-1).item()) < 1e-5
    True
    """
    rows, C = logits.shape
    if targets.shape != (rows,):
        raise ValueError(f"targets must have shape ({rows},), got {tuple(targets.shape)}")
    tg = np.ascontiguousarray(targets.numpy(), dtype=np.int64)
    if rows and int(tg.max()) >= C:
        raise ValueError(f"targets hold a class >= {C}")
    scored = int((tg >= 0).sum())
    grad = torch.empty_like(logits)
    n = _chunks(rows, threads)
    parts = torch.zeros(n, C, dtype=torch.float64)
    scale = np.float32(1.0 / max(scored, 1))
    if n > 1:
        totals = np.zeros(n)
        _par(_cross_entropy_par, n, _np(logits), tg, _np(grad), parts.numpy(), totals, scale)
        total = float(totals.sum())
    else:
        total = _cross_entropy(_np(logits), tg, _np(grad), parts[0].numpy(), scale, 0, rows)
    return (total / scored if scored else math.nan), grad, parts.sum(0).float()


def warm_up() -> None:
    """Compile (or load from numba's cache) every kernel signature training uses, in their
    row-block versions too when torch runs several threads."""
    rows = 2 * _MIN_ROWS_PER_THREAD  # enough for two row blocks
    for threads in sorted({1, min(2, parallel_threads())}):
        for dt in (torch.float32, torch.bfloat16):
            A = torch.zeros(rows, 2, dtype=dt)
            z = gate_forward(A, torch.zeros(2, 1, dtype=dt), 0, 2, threads=threads)
            for gdt in (torch.float32, torch.bfloat16):
                gate_backward(A, z.to(gdt), threads=threads)
            cross_entropy(torch.zeros(rows, 3, dtype=dt), torch.zeros(rows, dtype=torch.int64), threads=threads)
            h = torch.zeros(rows + 1, 2)
            c = torch.zeros(rows, 2, dtype=dt)
            residual_forward(h, c, 1, dt, threads=threads)
            residual_backward(h[:rows], c, c, 1, dt, threads=threads)
