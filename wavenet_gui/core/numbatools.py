"""numba building blocks shared by the generator (:mod:`.fastgen`) and the training kernels
(:mod:`.trainkernels`): reading 16-bit weights as float32 and a vectorisable ``tanh``.

Both modules compile with ``cache=True``; numba's on-disk cache needs this file as
source too (the bundle spec collects it so).
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

__all__ = ["_f32", "_tanh", "_HALF", "_ZERO"]

_F32 = np.float32
# Eigen's rational approximation of tanh on [-9, 9] (float32, max abs error ~1e-7).
_A1 = _F32(4.89352455891786e-03)
_A3 = _F32(6.37261928875436e-04)
_A5 = _F32(1.48572235717979e-05)
_A7 = _F32(5.12229709037114e-08)
_A9 = _F32(-8.60467152213735e-11)
_A11 = _F32(2.00018790482477e-13)
_A13 = _F32(-2.76076847742355e-16)
_B0 = _F32(4.89352518554385e-03)
_B2 = _F32(2.26843463243900e-03)
_B4 = _F32(1.18534705686654e-04)
_B6 = _F32(1.19825839466702e-06)
_CLAMP = _F32(7.90531110763549805)
_HALF = _F32(0.5)
_ZERO = _F32(0.0)


# ----------------------------------------------------------------------------------------
@intrinsic
def _f32(typingctx, x):
    """Weight element -> float32: float32 as is, uint16 = bfloat16 bits, int16 = float16 bits."""
    if x == types.float32:

        def codegen(context, builder, sig, args):
            return args[0]

        return types.float32(x), codegen
    if x == types.uint16:

        def codegen(context, builder, sig, args):
            v = builder.zext(args[0], ir.IntType(32))
            v = builder.shl(v, ir.Constant(ir.IntType(32), 16))
            return builder.bitcast(v, ir.FloatType())

        return types.float32(x), codegen
    if x == types.int16:

        def codegen(context, builder, sig, args):
            h = builder.bitcast(args[0], ir.HalfType())
            return builder.fpext(h, ir.FloatType())

        return types.float32(x), codegen
    return None


@njit(inline="always", fastmath=True, error_model="numpy", cache=True)
def _tanh(x):
    x = x if x < _CLAMP else _CLAMP  # selects (not min/max) so that the loop vectorises
    x = x if x > -_CLAMP else -_CLAMP
    x2 = x * x
    p = x2 * _A13 + _A11
    p = x2 * p + _A9
    p = x2 * p + _A7
    p = x2 * p + _A5
    p = x2 * p + _A3
    p = x2 * p + _A1
    p = x * p
    q = x2 * _B6 + _B4
    q = x2 * q + _B2
    q = x2 * q + _B0
    return p / q
