"""The one weight layout every cached generator reads: :func:`pack_weights`.

Cached generation (fast-wavenet, arXiv 1611.09482) needs the weights of a
:class:`~wavenet_gui.core.model.WaveNet` as plain matrices that multiply a row of
activations from the right.  :func:`pack_weights` lays them out once; the torch
reference (:meth:`WaveNet.step <wavenet_gui.core.model.WaveNet.step>`) and the
numba generator (:class:`~wavenet_gui.core.fastgen.FastGenerator`) both read this
layout, so there is one place that says how the weights are arranged.

Shapes use ``L`` layers, ``R`` residual, ``D`` gate, ``S`` skip, ``E`` end
channels and ``C`` classes:

* ``embed`` ``[C, R]``: the input embedding (a one-hot input times a 1x1 convolution);
* ``wd`` ``[L, 2R, 2D]``: rows ``0..R-1`` multiply ``x[t - d]`` (tap 0), rows
  ``R..2R-1`` multiply ``x[t]`` (tap 1); columns ``0..D-1`` are the filter (tanh),
  ``D..2D-1`` the gate (sigmoid); ``bd`` ``[L, 2D]``;
* ``wsr`` ``[L, D, S + R]``: the skip 1x1 then the residual 1x1 side by side, so one
  product serves both; ``bres`` ``[L, R]``;
* ``bskip`` ``[S]``: the skip biases of all layers, summed once;
* ``e1`` ``[S, E]``, ``b1`` ``[E]``, ``e2`` ``[E, C]``, ``b2`` ``[C]``: the output stack.

The weight matrices (``wd``, ``wsr``, ``e1``, ``e2``) may be *stored* in 16 bits
(:data:`WEIGHT_FORMATS`): bfloat16 as its ``uint16`` bits, float16 as ``int16``
bits; biases and the embedding stay float32.  :func:`to_format` and
:func:`from_format` convert.

This module reads the model's parameters duck-typed (``.detach().cpu().numpy()``)
and imports neither torch nor numba.

Examples
--------
>>> from wavenet_gui.core.model import WaveNet, WaveNetConfig
>>> model = WaveNet(WaveNetConfig(n_dilations=3, n_blocks=1, n_hidden=8, n_skip=16, n_end=12))
>>> w = pack_weights(model, "float32")
>>> w.wd.shape, w.wsr.shape, w.e2.shape
((3, 16, 16), (3, 8, 24), (12, 256))
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["ALL_WEIGHT_FORMATS", "WEIGHT_FORMATS", "PackedWeights", "from_format", "pack_weights", "to_format"]

#: Weight formats the app offers: float32 (exact) and bfloat16 storage.
WEIGHT_FORMATS = ("float32", "bfloat16")
#: Also understood (tested, not offered in the window): float16 storage.
ALL_WEIGHT_FORMATS = ("float32", "bfloat16", "float16")


@dataclass(frozen=True)
class PackedWeights:
    """A WaveNet's weights in the generators' layout (see the module docstring)."""

    embed: np.ndarray
    wd: np.ndarray
    bd: np.ndarray
    wsr: np.ndarray
    bres: np.ndarray
    bskip: np.ndarray
    e1: np.ndarray
    b1: np.ndarray
    e2: np.ndarray
    b2: np.ndarray
    dilations: np.ndarray
    """int64 ``[L]``."""
    weight_format: str

    @property
    def n_layers(self) -> int:
        return len(self.dilations)


def to_format(a: np.ndarray, weight_format: str) -> np.ndarray:
    """float32 array -> its storage in ``weight_format`` (16-bit formats round to nearest even).

    >>> to_format(np.array([1.0], np.float32), "bfloat16")
    array([16256], dtype=uint16)
    """
    a = np.ascontiguousarray(a, dtype=np.float32)
    if weight_format == "float32":
        return a
    if weight_format == "float16":
        return a.astype(np.float16).view(np.int16)
    if weight_format == "bfloat16":
        u = a.view(np.uint32).astype(np.uint64)
        rounded = (u + 0x7FFF + ((u >> 16) & 1)) >> 16  # round to nearest even
        return np.ascontiguousarray(rounded.astype(np.uint16))
    raise ValueError(f"weight_format must be one of {WEIGHT_FORMATS}, got {weight_format!r}")


def from_format(a: np.ndarray) -> np.ndarray:
    """Storage array (float32, bfloat16 bits as uint16, float16 bits as int16) -> float32."""
    if a.dtype == np.float32:
        return a
    if a.dtype == np.int16:
        return a.view(np.float16).astype(np.float32)
    return (a.astype(np.uint32) << 16).view(np.float32)


def _arr(t) -> np.ndarray:
    return np.asarray(t.detach().cpu().numpy(), dtype=np.float32)


def pack_weights(model, weight_format: str = "float32") -> PackedWeights:
    """Lay out ``model``'s weights for cached generation, matrices stored in ``weight_format``.

    Parameters
    ----------
    model : WaveNet
        Read, not changed; later changes to it are not seen.
    weight_format : {"float32", "bfloat16", "float16"}
        Storage of the weight matrices; arithmetic on them is float32 in every engine.

    Returns
    -------
    PackedWeights
    """
    if weight_format not in ALL_WEIGHT_FORMATS:
        raise ValueError(f"weight_format must be one of {WEIGHT_FORMATS}, got {weight_format!r}")
    cfg = model.config
    R, D, S, E, C = cfg.n_hidden, cfg.dilation_channels, cfg.n_skip, cfg.n_end, cfg.n_channels
    layers = list(model.layers)
    L = len(layers)
    wd = np.empty((L, 2 * R, 2 * D), np.float32)
    wsr = np.zeros((L, D, S + R), np.float32)
    bd = np.zeros((L, 2 * D), np.float32)
    bres = np.zeros((L, R), np.float32)
    bskip = np.zeros(S, np.float32)
    for i, layer in enumerate(layers):
        w = _arr(layer.dilated.weight)  # [2D, R, 2]
        wd[i, :R] = w[:, :, 0].T  # multiplies x[t - d]
        wd[i, R:] = w[:, :, 1].T  # multiplies x[t]
        wsr[i, :, :S] = _arr(layer.skip.weight)[:, :, 0].T
        wsr[i, :, S:] = _arr(layer.residual.weight)[:, :, 0].T
        if layer.dilated.bias is not None:
            bd[i] = _arr(layer.dilated.bias)
            bskip += _arr(layer.skip.bias)
            bres[i] = _arr(layer.residual.bias)
    b1 = _arr(model.end1.bias) if model.end1.bias is not None else np.zeros(E, np.float32)
    b2 = _arr(model.end2.bias) if model.end2.bias is not None else np.zeros(C, np.float32)
    fmt = weight_format
    return PackedWeights(
        embed=np.ascontiguousarray(_arr(model.embed.weight)),
        wd=to_format(wd, fmt), bd=bd, wsr=to_format(wsr, fmt), bres=bres, bskip=bskip,
        e1=to_format(_arr(model.end1.weight)[:, :, 0].T, fmt), b1=np.ascontiguousarray(b1),
        e2=to_format(_arr(model.end2.weight)[:, :, 0].T, fmt), b2=np.ascontiguousarray(b2),
        dilations=np.asarray(cfg.dilations, dtype=np.int64), weight_format=fmt,
    )


def round_model_weights(model, weight_format: str):
    """Round, in place, the weights a generator stores in ``weight_format`` (every
    convolution weight; biases and the embedding stay float32).  Returns the model.

    A generator with 16-bit weights computes, up to float32 rounding, what this rounded
    model computes; tests and benchmarks use it as the reference.
    """
    import torch

    if weight_format not in ALL_WEIGHT_FORMATS:
        raise ValueError(f"weight_format must be one of {WEIGHT_FORMATS}, got {weight_format!r}")
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith(".weight") and not name.startswith("embed"):
                p.copy_(torch.from_numpy(from_format(to_format(_arr(p), weight_format))).to(p))
    return model
