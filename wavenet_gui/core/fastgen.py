"""Fast cached WaveNet generation (fast-wavenet, arXiv 1611.09482) compiled with numba.

Every layer keeps a ring buffer of its last ``dilation`` inputs, so one new sample costs
one pass over the weights, whatever the receptive field.  A chunk of ``n`` samples is ONE
call into compiled code (per worker thread): no Python runs per sample.

Layout (all pre-transposed so the innermost loops run over contiguous output channels and
vectorise to AVX2/AVX-512 FMAs; ``K`` streams share every weight row while it is in L1, so
several streams cost little more than one):

- ``wd[l]``  ``[2R, 2D]``: rows ``0..R-1`` multiply ``x[t-d]`` (tap 0), rows ``R..2R-1``
  multiply ``x[t]`` (tap 1); columns ``0..D-1`` filter (tanh), ``D..2D-1`` gate (sigmoid).
- ``wsr[l]`` ``[D, S+R]``: skip 1x1 then residual 1x1 fused into one matrix (the last
  layer's residual columns are never computed: its residual output is unused).
- Skip biases are summed once over layers into one vector.
- ``e1`` ``[S, E]``, ``e2`` ``[E, C]``; the embedding ``[C, R]`` is layer 0's input.

Weight formats (``WEIGHT_FORMATS``): ``"float32"`` (per-step logits equal ``model(x)``
within 1e-4 relative; measured ~1e-6) and ``"bfloat16"`` (weights *stored* in 16 bits,
halving the bytes streamed per sample; all arithmetic in float32).  bfloat16 equals, within
the same 1e-4, the model whose conv weights are rounded to bfloat16
(:func:`round_model_weights`); against the float32 model its logits differ by the weight
rounding, within 3e-2 relative (measured ~5e-3).  ``"float16"`` storage also works
(~5e-4 against float32) but is not shipped/tested.  Biases and the embedding stay float32.

Threads: with ``n_streams >= 2`` the streams are split over threads (no synchronisation
inside a chunk).  With one stream and ``threads >= 2`` the output channels of every layer
are split over two threads that meet at a spin barrier once per layer.

``tanh`` and ``sigmoid`` use a vectorisable rational approximation (Eigen's, max abs
error about 1e-7).  Matrix products run register-blocked micro-kernels written as LLVM
vector IR (:func:`_make_mk`): 4 streams x 64 output channels (16 zmm accumulators) kept in
registers over the whole input loop, each weight vector loaded and widened once per 4
streams, with a software prefetch of the strided weight strip; one stream uses 1 x 256
channels (contiguous weight rows).  Sampling's float64 exponentials use a branch-free,
vectorised exp within ~1 ulp of ``math.exp``.
"""

from __future__ import annotations

import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from .numbatools import _HALF, _ZERO, _f32, _tanh
from .weights import ALL_WEIGHT_FORMATS as _ALL_FORMATS
from .weights import WEIGHT_FORMATS, pack_weights, round_model_weights  # noqa: F401 - re-exported

__all__ = ["FastGenerator", "warm_up", "round_model_weights", "WEIGHT_FORMATS"]

import platform as _platform  # noqa: E402

_IS_X86 = _platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")

_MODE_FEED = 0  # teacher-forced inputs, queues only (no skip / output stack)
_MODE_SAMPLE = 1  # autoregressive sampling
_MODE_LOGITS = 2  # one step per given input, logits of the last one


# ----------------------------------------------------------------------------------------
# low-level helpers
@intrinsic
def _atomic_load(typingctx, arr, idx):
    """Acquire load of ``arr[idx]`` (int64 array), never hoisted out of a spin loop."""
    if not (isinstance(arr, types.Array) and arr.dtype == types.int64):
        return None

    def codegen(context, builder, sig, args):
        aryty = sig.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = builder.gep(ary.data, [args[1]])
        return builder.load_atomic(ptr, ordering="acquire", align=8)

    return types.int64(arr, types.intp), codegen


@intrinsic
def _atomic_store(typingctx, arr, idx, val):
    """Release store ``arr[idx] = val`` (int64 array)."""
    if not (isinstance(arr, types.Array) and arr.dtype == types.int64):
        return None

    def codegen(context, builder, sig, args):
        aryty = sig.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = builder.gep(ary.data, [args[1]])
        builder.store_atomic(args[2], ptr, ordering="release", align=8)
        return context.get_dummy_value()

    return types.void(arr, types.intp, types.int64), codegen


@intrinsic
def _cpu_relax(typingctx):
    """x86 ``pause`` (a no-op elsewhere): polite spinning."""

    def codegen(context, builder, sig, args):
        if _IS_X86:
            fnty = ir.FunctionType(ir.VoidType(), [])
            fn = builder.module.globals.get("llvm.x86.sse2.pause")
            if fn is None:
                fn = ir.Function(builder.module, fnty, name="llvm.x86.sse2.pause")
            builder.call(fn, [])
        return context.get_dummy_value()

    return types.void(), codegen


@njit(fastmath=True, error_model="numpy", cache=True)
def _mv(w, li, j0, nin, v, vc0, out, oc0, oc1, k0, k1):
    """``out[k, oc0:oc1] += sum_j v[k, vc0 + j] * w[li, j0 + j, oc0:oc1]`` for k in [k0, k1).

    axpy form over contiguous output channels (vectorised by LLVM), four weight rows per
    pass; streams in groups of four share each loaded weight vector (register blocking).
    """
    j = 0
    while j + 4 <= nin:
        r0 = w[li, j0 + j]
        r1 = w[li, j0 + j + 1]
        r2 = w[li, j0 + j + 2]
        r3 = w[li, j0 + j + 3]
        k = k0
        while k + 4 <= k1:
            a0 = v[k, vc0 + j]
            a1 = v[k, vc0 + j + 1]
            a2 = v[k, vc0 + j + 2]
            a3 = v[k, vc0 + j + 3]
            b0 = v[k + 1, vc0 + j]
            b1 = v[k + 1, vc0 + j + 1]
            b2 = v[k + 1, vc0 + j + 2]
            b3 = v[k + 1, vc0 + j + 3]
            c0 = v[k + 2, vc0 + j]
            c1 = v[k + 2, vc0 + j + 1]
            c2 = v[k + 2, vc0 + j + 2]
            c3 = v[k + 2, vc0 + j + 3]
            d0 = v[k + 3, vc0 + j]
            d1 = v[k + 3, vc0 + j + 1]
            d2 = v[k + 3, vc0 + j + 2]
            d3 = v[k + 3, vc0 + j + 3]
            oa = out[k]
            ob = out[k + 1]
            oc = out[k + 2]
            od = out[k + 3]
            for o in range(oc0, oc1):
                w0 = _f32(r0[o])
                w1 = _f32(r1[o])
                w2 = _f32(r2[o])
                w3 = _f32(r3[o])
                oa[o] += a0 * w0 + a1 * w1 + a2 * w2 + a3 * w3
                ob[o] += b0 * w0 + b1 * w1 + b2 * w2 + b3 * w3
                oc[o] += c0 * w0 + c1 * w1 + c2 * w2 + c3 * w3
                od[o] += d0 * w0 + d1 * w1 + d2 * w2 + d3 * w3
            k += 4
        while k < k1:
            a0 = v[k, vc0 + j]
            a1 = v[k, vc0 + j + 1]
            a2 = v[k, vc0 + j + 2]
            a3 = v[k, vc0 + j + 3]
            o_row = out[k]
            for o in range(oc0, oc1):
                o_row[o] += a0 * _f32(r0[o]) + a1 * _f32(r1[o]) + a2 * _f32(r2[o]) + a3 * _f32(r3[o])
            k += 1
        j += 4
    while j < nin:
        r0 = w[li, j0 + j]
        for k in range(k0, k1):
            a0 = v[k, vc0 + j]
            o_row = out[k]
            for o in range(oc0, oc1):
                o_row[o] += a0 * _f32(r0[o])
        j += 1


# ----------------------------------------------------------------------------------------
# register-blocked micro-kernels (LLVM vector IR; <16 x float> = one zmm, or two ymm)
_VW = 16


def _make_mk(NS, NV, PD=0):
    """An intrinsic ``mk(w, woff, wrs, v, voff, vrs, out, ooff, ors, nin)`` computing, for
    streams ``s < NS`` and ``NV`` vectors of 16 output channels,
    ``out[ooff + s*ors + o] += sum_j v[voff + s*vrs + j] * w[woff + j*wrs + o]`` (flat element
    offsets into C-contiguous arrays).  The ``NS * NV`` accumulators stay in registers over the
    whole input loop; each weight vector is loaded (and widened from 16 bits) once for all NS
    streams, each stream's input is broadcast once for all NV vectors.
    """
    @intrinsic
    def mk(typingctx, w, woff, wrs, v, voff, vrs, out, ooff, ors, nin):
        wdt = w.dtype
        if wdt not in (types.float32, types.uint16, types.int16):
            return None
        for a in (w, v, out):
            if not isinstance(a, types.Array) or a.layout != "C":
                return None
        if v.dtype != types.float32 or out.dtype != types.float32:
            return None
        sig = types.void(w, types.intp, types.intp, v, types.intp, types.intp, out, types.intp, types.intp,
                         types.intp)

        def codegen(context, builder, sig, args):
            w_, woff_, wrs_, v_, voff_, vrs_, o_, ooff_, ors_, nin_ = args
            f32 = ir.FloatType()
            i64 = ir.IntType(64)
            vf = ir.VectorType(f32, _VW)
            wp = context.make_array(sig.args[0])(context, builder, w_).data
            vp = context.make_array(sig.args[3])(context, builder, v_).data
            op = context.make_array(sig.args[6])(context, builder, o_).data
            fname = f"llvm.fma.v{_VW}f32"
            fma = builder.module.globals.get(fname)
            if fma is None:
                fma = ir.Function(builder.module, ir.FunctionType(vf, [vf, vf, vf]), name=fname)

            def vec_ptr(ptr, idx):
                return builder.bitcast(builder.gep(ptr, [idx]), vf.as_pointer())

            def ld_w(idx):
                p = builder.gep(wp, [idx])
                if wdt == types.float32:
                    return builder.load(builder.bitcast(p, vf.as_pointer()), align=4)
                vi = ir.VectorType(ir.IntType(16), _VW)
                x = builder.load(builder.bitcast(p, vi.as_pointer()), align=2)
                if wdt == types.uint16:  # bfloat16 bits -> float32
                    vi32 = ir.VectorType(ir.IntType(32), _VW)
                    x = builder.shl(builder.zext(x, vi32), ir.Constant(vi32, [16] * _VW))
                    return builder.bitcast(x, vf)
                return builder.fpext(builder.bitcast(x, ir.VectorType(ir.HalfType(), _VW)), vf)

            def out_idx(s, q):
                return builder.add(builder.add(ooff_, builder.mul(ors_, ir.Constant(i64, s))),
                                   ir.Constant(i64, q * _VW))

            acc0 = [builder.load(vec_ptr(op, out_idx(s, q)), align=4) for s in range(NS) for q in range(NV)]
            pre = builder.block
            fn = builder.function
            loop = fn.append_basic_block("mk_loop")
            body = fn.append_basic_block("mk_body")
            done = fn.append_basic_block("mk_done")
            builder.branch(loop)
            builder.position_at_end(loop)
            j = builder.phi(i64)
            j.add_incoming(ir.Constant(i64, 0), pre)
            phis = []
            for a in acc0:
                ph = builder.phi(vf)
                ph.add_incoming(a, pre)
                phis.append(ph)
            builder.cbranch(builder.icmp_signed("<", j, nin_), body, done)
            builder.position_at_end(body)
            wrow = builder.add(woff_, builder.mul(j, wrs_))
            if PD:  # software prefetch of the same strip PD rows ahead (strided rows: weights from L3)
                i8p = ir.IntType(8).as_pointer()
                i32 = ir.IntType(32)
                pf = builder.module.globals.get("llvm.prefetch.p0i8")
                if pf is None:
                    pf = ir.Function(builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]),
                                     name="llvm.prefetch.p0i8")
                prow = builder.add(wrow, builder.mul(wrs_, ir.Constant(i64, PD)))
                esize = 4 if wdt == types.float32 else 2
                for q in range(0, NV * _VW * esize, 64):
                    pp = builder.bitcast(builder.gep(wp, [builder.add(prow, ir.Constant(i64, q // esize))]), i8p)
                    builder.call(pf, [pp, ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
            wv = [ld_w(builder.add(wrow, ir.Constant(i64, q * _VW))) for q in range(NV)]
            undef = ir.Constant(vf, ir.Undefined)
            zeros = ir.Constant(ir.VectorType(ir.IntType(32), _VW), [0] * _VW)
            new = []
            for s in range(NS):
                vi = builder.add(builder.add(voff_, builder.mul(vrs_, ir.Constant(i64, s))), j)
                a = builder.load(builder.gep(vp, [vi]))
                a = builder.shuffle_vector(builder.insert_element(undef, a, ir.Constant(ir.IntType(32), 0)),
                                           undef, zeros)
                for q in range(NV):
                    new.append(builder.call(fma, [a, wv[q], phis[s * NV + q]]))
            j.add_incoming(builder.add(j, ir.Constant(i64, 1)), builder.block)
            for ph, nv in zip(phis, new, strict=True):
                ph.add_incoming(nv, builder.block)
            builder.branch(loop)
            builder.position_at_end(done)
            for s in range(NS):
                for q in range(NV):
                    builder.store(phis[s * NV + q], vec_ptr(op, out_idx(s, q)), align=4)
            return context.get_dummy_value()

        return sig, codegen

    return mk


#: NUMBA_BOUNDSCHECK=1 (a compile-time constant of the kernels): :func:`_mm` also checks the
#: ranges its raw-memory micro-kernels touch.  (numba's cache is not keyed on it: tests/conftest.py
#: gives such runs a cache folder of their own.)
_BOUNDSCHECK = bool(numba.config.BOUNDSCHECK)  # type: ignore[attr-defined]  # set at import


@njit(inline="always", cache=True)
def _touch(x):
    return x


_mk4x4 = _make_mk(4, 4, 8)
_mk4x1 = _make_mk(4, 1)
_mk2x8 = _make_mk(2, 8)
_mk2x1 = _make_mk(2, 1)
_mk1x16 = _make_mk(1, 16)
_mk1x4 = _make_mk(1, 4)
_mk1x1 = _make_mk(1, 1)


@njit(fastmath=True, error_model="numpy", cache=True)
def _mm(w, li, j0, nin, v, vc0, out, oc0, oc1, k0, k1):
    """Same contract as :func:`_mv`, register-blocked: streams in blocks of 4 (then 2, 1),
    output channels in blocks of 64 / 128 / 256 (then 16), leftovers through :func:`_mv`."""
    if _BOUNDSCHECK and nin > 0 and k1 > k0 and oc1 > oc0:
        # the micro-kernels address raw memory, which numba's bounds checking does not see:
        # index the corners of every range they touch instead (an IndexError when out of bounds)
        _touch(w[li, j0, oc0] + w[li, j0 + nin - 1, oc1 - 1])
        _touch(v[k0, vc0] + v[k1 - 1, vc0 + nin - 1])
        _touch(out[k0, oc0] + out[k1 - 1, oc1 - 1])
    wrs = w.shape[2]
    vrs = v.shape[1]
    ors = out.shape[1]
    wbase = (li * w.shape[1] + j0) * wrs
    k = k0
    while k < k1:
        left = k1 - k
        vo = k * vrs + vc0
        oo = k * ors
        o = oc0
        if left >= 4:
            while o + 64 <= oc1:
                _mk4x4(w, wbase + o, wrs, v, vo, vrs, out, oo + o, ors, nin)
                o += 64
            while o + 16 <= oc1:
                _mk4x1(w, wbase + o, wrs, v, vo, vrs, out, oo + o, ors, nin)
                o += 16
            ns = 4
        elif left >= 2:
            while o + 128 <= oc1:
                _mk2x8(w, wbase + o, wrs, v, vo, vrs, out, oo + o, ors, nin)
                o += 128
            while o + 16 <= oc1:
                _mk2x1(w, wbase + o, wrs, v, vo, vrs, out, oo + o, ors, nin)
                o += 16
            ns = 2
        else:
            while o + 256 <= oc1:
                _mk1x16(w, wbase + o, wrs, v, vo, vrs, out, oo + o, ors, nin)
                o += 256
            while o + 64 <= oc1:
                _mk1x4(w, wbase + o, wrs, v, vo, vrs, out, oo + o, ors, nin)
                o += 64
            while o + 16 <= oc1:
                _mk1x1(w, wbase + o, wrs, v, vo, vrs, out, oo + o, ors, nin)
                o += 16
            ns = 1
        if o < oc1:
            _mv(w, li, j0, nin, v, vc0, out, o, oc1, k, k + ns)
        k += ns


@intrinsic
def _bits_f64(typingctx, x):
    """int64 bits -> float64 (a bitcast, vectorisable)."""
    if x != types.int64:
        return None

    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(x), codegen


_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_EXP_MIN = -708.0  # below: exp underflows to (sub)normals; taken as 0


@njit(inline="always", fastmath=True, error_model="numpy", cache=True)
def _exp_neg(x):
    """exp(x) in float64 for x <= 0, within ~1 ulp of ``math.exp`` (0 below -708); branch
    free, so loops over it vectorise.  Cody-Waite reduction, degree-13 Taylor on |r| <= ln2/2."""
    xc = x if x > _EXP_MIN else _EXP_MIN
    n = math.floor(xc * _LOG2E + 0.5)
    r = (xc - n * _LN2_HI) - n * _LN2_LO
    p = 1.0 / 6227020800.0
    p = p * r + 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    scale = _bits_f64((np.int64(n) + 1023) << 52)
    e = p * scale
    return e if x > _EXP_MIN else 0.0


@njit(inline="always", error_model="numpy", cache=True)
def _sample_row(logits, u, temperature, p):
    """Greedy (first max) when temperature == 0, else inverse-CDF sampling of softmax(l/T).

    ``p`` is float64 scratch of length C.  Returns the first class whose cumulative
    probability exceeds ``u * sum(p)``.  The float64 exponentials use :func:`_exp_neg`
    (vectorised, ~1 ulp from ``math.exp``: choices differ only where ``u * sum`` falls within
    rounding of a class boundary).
    """
    C = logits.shape[0]
    best = 0
    m = logits[0]
    for c in range(1, C):
        if logits[c] > m:
            m = logits[c]
            best = c
    if temperature <= 0.0:
        return best
    inv_t = 1.0 / temperature
    m64 = np.float64(m)
    for c in range(C):
        p[c] = _exp_neg((np.float64(logits[c]) - m64) * inv_t)
    total = 0.0
    for c in range(C):
        total += p[c]
    thr = u * total
    acc = 0.0
    last_pos = best
    for c in range(C):
        acc += p[c]
        if p[c] > 0.0:
            last_pos = c
        if acc > thr:
            return c
    return last_pos  # only reachable through rounding when u is within 1 ulp of 1


# ----------------------------------------------------------------------------------------
# the kernel: one call per chunk (per thread)
@njit(fastmath=True, nogil=True, error_model="numpy", cache=True)
def _run_streams(
    mode, n, t0, k0, k1,  # what to do, how many steps, global step counter, streams [k0, k1)
    inputs, out, uniforms, temperature, logits,  # io: inputs [K, n] (first column only when sampling)
    emb, wd, bd, wsr, bres, bskip, e1, b1, e2, b2,  # weights
    dil, qoff, queue,  # layer dilations, ring offsets, ring buffers [sum(dil), K, R]
    acc, h, z, e_h, p64,  # scratch [K, S+R], [K, 2D], [K, D], [K, E], [K, C] float64
):
    L = wd.shape[0]
    R = emb.shape[1]
    D = wd.shape[2] // 2
    S = bskip.shape[0]
    E = e1.shape[2]
    C = e2.shape[2]
    for step in range(n):
        t = t0 + step
        # ---- layer 0's input: the embedding of the current sample
        for k in range(k0, k1):
            if mode == _MODE_SAMPLE and step > 0:
                cls = out[k, step - 1]
            else:
                cls = inputs[k, step]
            for r in range(R):
                acc[k, S + r] = emb[cls, r]
            if mode != _MODE_FEED:
                for s in range(S):
                    acc[k, s] = bskip[s]
        for li in range(L):
            slot = qoff[li] + (t % dil[li])
            last = li == L - 1
            if mode == _MODE_FEED and last:
                # only the queues matter: write the last layer's input and stop
                for k in range(k0, k1):
                    for r in range(R):
                        queue[slot, k, r] = acc[k, S + r]
                break
            # ---- dilated conv: h = bd + W0 x[t-d] + W1 x[t]
            for k in range(k0, k1):
                for o in range(2 * D):
                    h[k, o] = bd[li, o]
            _mm(wd, li, 0, R, queue[slot], 0, h, 0, 2 * D, k0, k1)
            _mm(wd, li, R, R, acc, S, h, 0, 2 * D, k0, k1)
            for k in range(k0, k1):
                for r in range(R):
                    queue[slot, k, r] = acc[k, S + r]
                # ---- gated activation
                for o in range(D):
                    g = _HALF * _tanh(_HALF * h[k, D + o]) + _HALF
                    z[k, o] = _tanh(h[k, o]) * g
                # ---- residual bias (the residual 1x1 adds onto acc[:, S:])
                if not last:
                    for r in range(R):
                        acc[k, S + r] += bres[li, r]
            # ---- skip + residual 1x1 (feeding only needs the residual columns)
            if mode == _MODE_FEED:
                _mm(wsr, li, 0, D, z, 0, acc, S, S + R, k0, k1)
            elif last:
                _mm(wsr, li, 0, D, z, 0, acc, 0, S, k0, k1)
            else:
                _mm(wsr, li, 0, D, z, 0, acc, 0, S + R, k0, k1)
        if mode == _MODE_FEED:
            continue
        if mode == _MODE_LOGITS and step < n - 1:
            continue
        # ---- output stack: relu -> end1 -> relu -> end2
        for k in range(k0, k1):
            for s in range(S):
                if acc[k, s] < _ZERO:
                    acc[k, s] = _ZERO
            for e in range(E):
                e_h[k, e] = b1[e]
        _mm(e1, 0, 0, S, acc, 0, e_h, 0, E, k0, k1)
        for k in range(k0, k1):
            for e in range(E):
                if e_h[k, e] < _ZERO:
                    e_h[k, e] = _ZERO
            for c in range(C):
                logits[k, c] = b2[c]
        _mm(e2, 0, 0, E, e_h, 0, logits, 0, C, k0, k1)
        if mode == _MODE_SAMPLE:
            for k in range(k0, k1):
                out[k, step] = _sample_row(logits[k], uniforms[k, step], temperature, p64[k])



# ----------------------------------------------------------------------------------------
# one stream on two threads: gate channels split, a spin barrier once per layer
@intrinsic
def _sched_yield(typingctx):
    """``sched_yield()`` from libc: give the core away while the partner thread is not running."""

    def codegen(context, builder, sig, args):
        fnty = ir.FunctionType(ir.IntType(32), [])
        fn = builder.module.globals.get("sched_yield")
        if fn is None:
            fn = ir.Function(builder.module, fnty, name="sched_yield")
        builder.call(fn, [])
        return context.get_dummy_value()

    return types.void(), codegen


_SPINS_BEFORE_YIELD = 1_000
#: one stream is split over two threads only above this many multiply-adds per layer
_SPLIT_MIN_LAYER_MACS = 40_000


@njit(inline="always", error_model="numpy", cache=True)
def _barrier(flags, tid, gen):
    """Two-thread barrier: publish generation ``gen``, wait until the partner has too."""
    _atomic_store(flags, tid * 16, gen)
    other = (1 - tid) * 16
    spins = 0
    while _atomic_load(flags, other) < gen:
        spins += 1
        if spins < _SPINS_BEFORE_YIELD:
            _cpu_relax()
        else:
            _sched_yield()


@njit(fastmath=True, nogil=True, error_model="numpy", cache=True)
def _run_split2(
    tid, flags, gen0,
    mode, n, t0,
    inputs, out, uniforms, temperature, logits,
    emb, wd, bd, wsr, bres, bskip, e1, b1, e2, b2,
    dil, qoff, queue,
    x, part, skp, h, z, e_h, p64,
):
    """Threads ``tid`` 0 and 1 run the same chunk of stream 0 together.

    Thread ``tid`` owns gate channels ``[c0, c1)`` (half of D): their filter and gate, then
    their partial skip sum (kept per thread until the output stack) and partial residual
    ``part[gen & 1, tid]`` (double buffered by barrier generation).  After the layer's
    barrier both threads form the next input ``x[tid]`` (private copies, identical).
    Thread 0 runs the output stack and samples; one more barrier per sampled step.

    Scratch: x [2, R], part [2, 2, S+R], skp [2, S+R], h [2, 2D], z [2, D], e_h [1, E].
    Returns the last barrier generation used (the next call's ``gen0``).
    """
    L = wd.shape[0]
    R = emb.shape[1]
    D = wd.shape[2] // 2
    S = bskip.shape[0]
    E = e1.shape[2]
    C = e2.shape[2]
    half = (D + 1) // 2
    c0 = tid * half
    c1 = D if tid == 1 else half
    nc = c1 - c0
    gen = gen0
    xv = x[tid:tid + 1]
    hv = h[tid:tid + 1]
    zv = z[tid:tid + 1]
    skv = skp[tid:tid + 1]
    for step in range(n):
        t = t0 + step
        if mode == _MODE_SAMPLE and step > 0:
            cls = out[0, step - 1]
        else:
            cls = inputs[0, step]
        for r in range(R):
            xv[0, r] = emb[cls, r]
        if mode != _MODE_FEED:
            for s in range(S):
                skv[0, s] = bskip[s] if tid == 0 else _ZERO
        for li in range(L):
            slot = qoff[li] + (t % dil[li])
            last = li == L - 1
            if mode == _MODE_FEED and last:
                if tid == 0:
                    for r in range(R):
                        queue[slot, 0, r] = xv[0, r]
                break
            past = queue[slot]
            for o in range(c0, c1):
                hv[0, o] = bd[li, o]
                hv[0, D + o] = bd[li, D + o]
            _mm(wd, li, 0, R, past, 0, hv, c0, c1, 0, 1)
            _mm(wd, li, 0, R, past, 0, hv, D + c0, D + c1, 0, 1)
            _mm(wd, li, R, R, xv, 0, hv, c0, c1, 0, 1)
            _mm(wd, li, R, R, xv, 0, hv, D + c0, D + c1, 0, 1)
            for o in range(c0, c1):
                g = _HALF * _tanh(_HALF * hv[0, D + o]) + _HALF
                zv[0, o] = _tanh(hv[0, o]) * g
            if mode != _MODE_FEED:
                _mm(wsr, li, c0, nc, zv, c0, skv, 0, S, 0, 1)
            if not last:
                pv = part[(gen + 1) & 1, tid:tid + 1]
                for r in range(S, S + R):
                    pv[0, r] = _ZERO
                _mm(wsr, li, c0, nc, zv, c0, pv, S, S + R, 0, 1)
            gen += 1
            _barrier(flags, tid, gen)
            # both threads have read this layer's queue slot: thread 0 overwrites it
            if tid == 0:
                for r in range(R):
                    queue[slot, 0, r] = xv[0, r]
            if not last:
                pa = part[gen & 1, 0]
                pb = part[gen & 1, 1]
                for r in range(R):
                    xv[0, r] = xv[0, r] + bres[li, r] + pa[S + r] + pb[S + r]
        if mode == _MODE_FEED:
            continue
        if mode == _MODE_LOGITS and step < n - 1:
            continue
        if tid == 0:
            for s in range(S):
                v = skp[0, s] + skp[1, s]
                skp[0, s] = v if v > _ZERO else _ZERO
            for e in range(E):
                e_h[0, e] = b1[e]
            _mm(e1, 0, 0, S, skp, 0, e_h, 0, E, 0, 1)
            for e in range(E):
                if e_h[0, e] < _ZERO:
                    e_h[0, e] = _ZERO
            for c in range(C):
                logits[0, c] = b2[c]
            _mm(e2, 0, 0, E, e_h, 0, logits, 0, C, 0, 1)
            if mode == _MODE_SAMPLE:
                out[0, step] = _sample_row(logits[0], uniforms[0, step], temperature, p64[0])
        if mode == _MODE_SAMPLE:
            gen += 1
            _barrier(flags, tid, gen)
    return gen


# ----------------------------------------------------------------------------------------
def _default_threads() -> int:
    """numba's thread count for this thread.  Asking launches numba's threading layer the
    first time, which with OpenMP can reset the calling thread's OpenMP (= torch's) thread
    count: kept (measured before: 3 variations switched torch from 1 thread to 2)."""
    from .warmup import keep_torch_threads

    try:
        with keep_torch_threads():
            return max(1, int(numba.get_num_threads()))
    except Exception:  # pragma: no cover
        return max(1, os.cpu_count() or 1)


class FastGenerator:
    """Cached WaveNet generation with per-layer ring buffers, compiled with numba.

    Parameters
    ----------
    model : WaveNet
        The trained model (its weights are copied; later changes to it are not seen).
    n_streams : int
        Independent sequences generated together (weights streamed once per step for all).
    weight_format : {"float32", "bfloat16", "float16"}
        How the weight matrices are stored; arithmetic is float32 in every case.
    threads : int, optional
        Worker threads.  With several streams they split the streams (default:
        ``numba.get_num_threads()``); with one stream and ``threads >= 2`` two threads split
        every layer's channels and meet at a spin barrier per layer (default for one stream:
        1, since the split only pays on an otherwise idle second core).  ``1`` runs on the
        calling thread.

    Examples
    --------
    >>> gen = FastGenerator(model, n_streams=2)                      # doctest: +SKIP
    >>> gen.feed(prime[None, :-1].repeat(2, 0))                     # doctest: +SKIP
    >>> out = gen.run(4096, first_input=np.full(2, prime[-1]),      # doctest: +SKIP
    ...               uniforms=rng.random((2, 4096)), temperature=1.0)
    """

    def __init__(self, model, *, n_streams: int = 1, weight_format: str = "float32", threads: int | None = None,
                 _force_split: bool = False):
        if weight_format not in _ALL_FORMATS:
            raise ValueError(f"weight_format must be one of {WEIGHT_FORMATS}, got {weight_format!r}")
        if int(n_streams) < 1:
            raise ValueError(f"n_streams must be at least 1, got {n_streams}")
        cfg = model.config
        self.config = cfg
        self.n_streams = K = int(n_streams)
        self.weight_format = weight_format
        R, D, S, E, C = cfg.n_hidden, cfg.dilation_channels, cfg.n_skip, cfg.n_end, cfg.n_channels
        self.R, self.D, self.S, self.E, self.C = R, D, S, E, C
        L = len(cfg.dilations)
        w = pack_weights(model, weight_format)  # the layout every generator reads (core/weights.py)
        self._weights = (w.embed, w.wd, w.bd, w.wsr, w.bres, w.bskip, w.e1[None], w.b1, w.e2[None], w.b2)
        dil = np.asarray(cfg.dilations, dtype=np.int64)
        self._dil = dil
        self._qoff = np.concatenate([[0], np.cumsum(dil)[:-1]]).astype(np.int64)
        # the past
        self._initial = np.ascontiguousarray(model.initial_queues(K, weight_format=weight_format), dtype=np.float32)
        self._queue = self._initial.copy()
        # scratch
        self._acc = np.zeros((K, S + R), np.float32)
        self._h = np.zeros((K, 2 * D), np.float32)
        self._z = np.zeros((K, D), np.float32)
        self._eh = np.zeros((K, E), np.float32)
        self._logits = np.zeros((K, C), np.float32)
        self._p64 = np.zeros((K, C), np.float64)
        # threads
        if threads is None:
            # several streams: split them over numba's threads (no synchronisation, robust on a
            # busy machine).  One stream: one thread unless asked, because the two-thread split
            # meets at a barrier every layer and collapses when the other core is busy.
            threads = _default_threads() if K > 1 else 1
        self.threads = max(1, int(threads))
        self.threads_force_split = bool(_force_split)
        # the split pays only when a layer's work (MACs) dwarfs a barrier (~0.2-1 us idle)
        layer_macs = 4 * R * D + D * (S + R)
        self._split = K == 1 and self.threads >= 2 and L >= 3 and D >= 2 and (
            layer_macs >= _SPLIT_MIN_LAYER_MACS or self.threads_force_split)
        self._n_workers = 2 if self._split else min(self.threads, K)
        self._pool = ThreadPoolExecutor(self._n_workers, thread_name_prefix="fastgen") if self._n_workers > 1 else None
        if self._split:
            self._flags = np.zeros(32, np.int64)
            self._gen = 0
            self._sx = np.zeros((2, R), np.float32)
            self._spart = np.zeros((2, 2, S + R), np.float32)
            self._sskp = np.zeros((2, S + R), np.float32)
            self._sh = np.zeros((2, 2 * D), np.float32)
            self._sz = np.zeros((2, D), np.float32)
        self._lock = threading.Lock()
        self.reset()

    # ------------------------------------------------------------------
    @property
    def receptive_field(self) -> int:
        return self.config.receptive_field

    def reset(self) -> None:
        """Back to the state before the first sample (:meth:`WaveNet.initial_queues`)."""
        self._queue[...] = self._initial
        self._t = 0

    def close(self) -> None:
        """Stop the worker threads (also done when the generator is garbage collected)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None

    def __del__(self):  # pragma: no cover - best effort
        try:
            self.close()
        except Exception:
            pass

    # ------------------------------------------------------------------
    def _check_classes(self, a, name, ndim):
        a = np.asarray(a)
        if a.ndim != ndim or a.shape[0] != self.n_streams:
            raise ValueError(f"{name} must have shape [n_streams{', k' if ndim == 2 else ''}] "
                             f"with n_streams={self.n_streams}, got {a.shape}")
        if not np.issubdtype(a.dtype, np.integer):
            raise ValueError(f"{name} must hold integer classes, got dtype {a.dtype}")
        if a.size and (a.min() < 0 or a.max() >= self.C):
            raise ValueError(f"{name} holds classes outside [0, {self.C})")
        return np.ascontiguousarray(a, dtype=np.int64)

    def _call(self, mode, n, inputs, out, uniforms, temperature):
        t0 = self._t
        common = (inputs, out, uniforms, float(temperature), self._logits, *self._weights,
                  self._dil, self._qoff, self._queue)
        if self._split and mode != _MODE_FEED:
            scratch = (self._sx, self._spart, self._sskp, self._sh, self._sz, self._eh, self._p64)
            gen0 = self._gen
            fut = self._pool.submit(_run_split2, 1, self._flags, gen0, mode, n, t0, *common, *scratch)
            g0 = _run_split2(0, self._flags, gen0, mode, n, t0, *common, *scratch)
            g1 = fut.result()
            assert g0 == g1
            self._gen = g0
        elif self._n_workers > 1:  # streams split over workers
            K, W = self.n_streams, self._n_workers
            bounds = [K * i // W for i in range(W + 1)]
            scratch = (self._acc, self._h, self._z, self._eh, self._p64)
            futs = [self._pool.submit(_run_streams, mode, n, t0, bounds[i], bounds[i + 1], *common, *scratch)
                    for i in range(1, W)]
            _run_streams(mode, n, t0, bounds[0], bounds[1], *common, *scratch)
            for f in futs:
                f.result()
        else:
            _run_streams(mode, n, t0, 0, self.n_streams, *common, self._acc, self._h, self._z, self._eh, self._p64)
        self._t = t0 + n

    def feed(self, classes: np.ndarray) -> None:
        """Teacher-force ``classes`` [n_streams, k] through the queues (no sampling)."""
        classes = self._check_classes(classes, "classes", 2)
        k = classes.shape[1]
        if k == 0:
            return
        dummy = np.zeros((self.n_streams, 1), np.float64)
        with self._lock:
            self._call(_MODE_FEED, k, classes, np.zeros((self.n_streams, 1), np.int64), dummy, 0.0)

    def step_logits(self, x: np.ndarray) -> np.ndarray:
        """Feed one sample per stream ([n_streams] int); return the logits [n_streams, C] after it."""
        x = self._check_classes(x, "x", 1)
        dummy = np.zeros((self.n_streams, 1), np.float64)
        with self._lock:
            self._call(_MODE_LOGITS, 1, x[:, None].copy(), np.zeros((self.n_streams, 1), np.int64), dummy, 0.0)
            return self._logits.copy()

    def run(self, n: int, *, first_input: np.ndarray, uniforms: np.ndarray, temperature: float) -> np.ndarray:
        """Generate ``n`` samples per stream; returns classes [n_streams, n] (int64).

        Each step feeds the current input, computes the logits and samples the next input
        (``temperature == 0``: argmax, first maximum; else the first class whose cumulative
        softmax(logits / T) exceeds ``u * sum``).  The queues carry over between calls; the
        last returned sample is the next call's ``first_input``.
        """
        n = int(n)
        first = self._check_classes(first_input, "first_input", 1)
        if n <= 0:
            return np.zeros((self.n_streams, 0), np.int64)
        temperature = float(temperature)
        if not (temperature >= 0.0 and math.isfinite(temperature)):
            raise ValueError(f"temperature must be a finite number >= 0, got {temperature}")
        u = np.ascontiguousarray(uniforms, dtype=np.float64)
        if u.shape != (self.n_streams, n):
            if temperature == 0.0 and u.size == 0:
                u = np.zeros((self.n_streams, n), np.float64)
            else:
                raise ValueError(f"uniforms must have shape {(self.n_streams, n)}, got {u.shape}")
        out = np.zeros((self.n_streams, n), np.int64)
        with self._lock:
            self._call(_MODE_SAMPLE, n, first[:, None].copy(), out, u, temperature)
        return out


def warm_up() -> None:
    """Compile (or load from numba's on-disk cache) every kernel for every weight format.

    Cheap after the first run on a machine; the app calls it in a background thread.
    """
    import types as _pytypes

    class _Conv:
        def __init__(self, o, i, k):
            self.weight = _T(np.zeros((o, i, k), np.float32))
            self.bias = _T(np.zeros(o, np.float32))

    class _T:
        def __init__(self, a):
            self.a = a

        def detach(self):
            return self

        def cpu(self):
            return self

        def to(self, dtype=None):
            return self

        def numpy(self):
            return self.a

    cfg = _pytypes.SimpleNamespace(
        n_hidden=4, dilation_channels=4, n_skip=4, n_end=4, n_channels=4, dilations=[1, 2, 1],
        receptive_field=5)
    layers = [_pytypes.SimpleNamespace(dilated=_Conv(8, 4, 2), skip=_Conv(4, 4, 1), residual=_Conv(4, 4, 1))
              for _ in cfg.dilations]
    model = _pytypes.SimpleNamespace(config=cfg, layers=layers, embed=_Conv(4, 4, 1), end1=_Conv(4, 4, 1),
                                     end2=_Conv(4, 4, 1))
    model.embed.weight = _T(np.zeros((4, 4), np.float32))
    model.initial_queues = lambda k, **_: np.zeros((sum(cfg.dilations), k, cfg.n_hidden), np.float32)
    for fmt in WEIGHT_FORMATS:
        for k, thr in ((1, 1), (1, 2), (2, 2)):
            g = FastGenerator(model, n_streams=k, weight_format=fmt, threads=thr, _force_split=True)
            g.feed(np.zeros((k, 3), np.int64))
            g.step_logits(np.zeros(k, np.int64))
            g.run(3, first_input=np.zeros(k, np.int64), uniforms=np.full((k, 3), 0.5), temperature=1.0)
            g.close()
