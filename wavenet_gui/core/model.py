"""The WaveNet: a stack of gated, dilated, causal convolutions over quantized audio.

One file, in the spirit of nanoGPT's ``model.py``: a :class:`WaveNetConfig`
whose fields explain themselves, small modules building up to :class:`WaveNet`,
and shape comments on the tensor lines.

Shapes use ``B`` (batch), ``T`` (time), ``C`` (``n_channels`` classes),
``R`` (``n_hidden`` residual channels), ``D`` (dilation/gate channels),
``S`` (skip channels) and ``E`` (end channels).

The network is described once per engine: :meth:`WaveNet.logits_btc` (what
:meth:`WaveNet.forward` and training run: any number of positions at once) and
:meth:`WaveNet.step` (the reference for cached generation: one sample at a time,
each layer keeping a queue of its past inputs), as torchaudio's WaveRNN keeps
``forward`` beside ``infer``.  The numba generator (:mod:`.fastgen`) and the fused
training pass (:mod:`.fused`) are tested against these two.

Causality: ``forward(x)[..., t]`` depends only on ``x[..., :t+1]`` and is the
distribution of ``x[t+1]``.

Before the first sample, the past is silence, the centre class (:attr:`Quantizer.centre`,
the class of 0.0).  That is said in ONE place, the methods side by side in
:class:`WaveNet`: :meth:`WaveNet.pad_silence` (``forward`` without ``n_outputs``
prepends ``receptive_field - 1`` centre-class samples) and :meth:`WaveNet.initial_queues`
(every cached generator starts with each layer's queue in the steady state of that
silent past, :meth:`WaveNet.silent_layer_inputs`).  Training windows that start before
a file's first sample are padded the same way (:class:`~wavenet_gui.core.data.WindowSampler`),
so training, priming and generation "from nothing" all see one and the same context.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from . import config as settings
from .config import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE  # noqa: F401 - the limits, defined in config
from .errors import ConfigError
from .quantization import Quantizer
from .weights import from_format, pack_weights, round_model_weights

#: The largest model this app builds, trains, saves and loads (400 MB of float32 weights;
#: a checkpoint with Adam's moments is three times that).  A model file whose config asks
#: for more is refused before anything is allocated.
MAX_PARAMETERS = 100_000_000

_d = settings.default


@dataclass
class WaveNetConfig:
    """Hyperparameters of a :class:`WaveNet` and of the audio it models.

    Names follow the original program's flags where it had one; defaults, bounds and
    help texts are those of :data:`wavenet_gui.core.config.SETTINGS`.

    Examples
    --------
    >>> cfg = WaveNetConfig(n_dilations=10, n_blocks=2, n_hidden=32)
    >>> cfg.receptive_field
    2047
    """

    n_channels: int = _d("n_channels")
    """Quantization classes: the size of the input embedding and of the output logits."""
    n_dilations: int = _d("n_dilations")
    """Layers per block; their dilations are 1, 2, 4, ..., 2**(n_dilations - 1)."""
    n_blocks: int = _d("n_blocks")
    """How many times the dilation pattern repeats."""
    n_hidden: int = _d("n_hidden")
    """Residual channels (R), the width of the signal passed from layer to layer."""
    n_dilation_channels: int = _d("n_dilation_channels")
    """Channels of the gated activation (D); 0 means the same as ``n_hidden``."""
    n_skip: int = _d("n_skip")
    """Skip channels (S): each layer adds its output here; their sum feeds the output stack."""
    n_end: int = _d("n_end")
    """Channels (E) of the hidden 1x1 layer between the skip sum and the logits."""
    bias: bool = _d("bias")
    """Whether convolutions carry biases."""
    sample_rate: int = _d("sample_rate")
    """Sample rate (Hz) of the audio the model is trained on and generates."""
    quantization: str = _d("quantization")
    """How audio maps to classes: ``"mu_law"`` or ``"linear"``."""

    kernel_size = 2  # fixed: every dilated convolution looks at x[t - d] and x[t]

    # ------------------------------------------------------------------
    @property
    def dilation_channels(self) -> int:
        return self.n_dilation_channels or self.n_hidden

    @property
    def dilations(self) -> list[int]:
        """Dilation of every layer, in order."""
        return [2**i for i in range(self.n_dilations)] * self.n_blocks

    @property
    def n_layers(self) -> int:
        return self.n_dilations * self.n_blocks

    @property
    def receptive_field(self) -> int:
        """How many input samples one output sees (the current one included)."""
        return sum(self.dilations) * (self.kernel_size - 1) + 1

    @property
    def receptive_field_seconds(self) -> float:
        return self.receptive_field / self.sample_rate

    @property
    def n_parameters(self) -> int:
        """Weights and biases of the model this config builds, counted without building it.

        Examples
        --------
        >>> WaveNetConfig().n_parameters
        246528
        """
        C, R, D, S, E = self.n_channels, self.n_hidden, self.dilation_channels, self.n_skip, self.n_end
        b = 1 if self.bias else 0
        per_layer = (2 * D * R * 2 + b * 2 * D) + (S * D + b * S) + (R * D + b * R)
        return C * R + self.n_layers * per_layer + (E * S + b * E) + (C * E + b * C)

    @property
    def quantizer(self) -> Quantizer:
        return Quantizer(n_channels=self.n_channels, kind=self.quantization)

    def validate(self) -> WaveNetConfig:
        """Raise :class:`ConfigError` naming the first invalid field; return self."""
        for name in settings.MODEL_SETTINGS:
            settings.check(name, getattr(self, name))
        if self.n_parameters > MAX_PARAMETERS:
            raise ConfigError("model", f"{self.n_parameters:,} parameters is more than this app's limit of "
                                       f"{MAX_PARAMETERS:,}; use fewer channels, layers or blocks")
        return self

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def differences(self, other: WaveNetConfig) -> list[str]:
        """Names of the settings in which ``other`` differs from this config, in table order."""
        return [name for name in settings.MODEL_SETTINGS if getattr(self, name) != getattr(other, name)]

    @classmethod
    def from_dict(cls, data: dict) -> WaveNetConfig:
        """Build from a dict, refusing unknown keys and wrong types (raises ConfigError)."""
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(fields))
        if unknown:
            raise ConfigError(unknown[0], "is not a WaveNet setting (file from a newer version?)")
        kwargs = {}
        for name, value in data.items():
            expected = type(getattr(cls(), name))
            if expected is int and isinstance(value, float) and value.is_integer():
                value = int(value)
            if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
                raise ConfigError(name, f"{value!r} should be of type {expected.__name__}")
            kwargs[name] = value
        return cls(**kwargs).validate()


# ----------------------------------------------------------------------
class ResidualLayer(nn.Module):
    """The weights of one gated dilated layer: ``z = tanh(W_f * x) * sigmoid(W_g * x)``.

    Filter and gate share one convolution with ``2 * D`` outputs (first half filter,
    second half gate).  ``z`` goes through a 1x1 to the skip sum and through another
    1x1 back onto the residual path.  The computation is :meth:`WaveNet.logits_btc`
    (training, and any sequence) and :meth:`WaveNet.step` (one sample at a time).
    """

    def __init__(self, cfg: WaveNetConfig, dilation: int) -> None:
        super().__init__()
        R, D, S = cfg.n_hidden, cfg.dilation_channels, cfg.n_skip
        self.dilation = dilation
        self.dilated = nn.Conv1d(R, 2 * D, kernel_size=2, dilation=dilation, bias=cfg.bias)
        self.skip = nn.Conv1d(D, S, kernel_size=1, bias=cfg.bias)
        self.residual = nn.Conv1d(D, R, kernel_size=1, bias=cfg.bias)


class WaveNet(nn.Module):
    """Unconditioned WaveNet over ``n_channels`` quantized classes.

    Examples
    --------
    >>> model = WaveNet(WaveNetConfig(n_dilations=4, n_blocks=1, n_hidden=8, n_skip=16, n_end=16))
    >>> x = torch.randint(0, 256, (2, 100))
    >>> model(x).shape
    torch.Size([2, 256, 100])
    """

    def __init__(self, config: WaveNetConfig) -> None:
        super().__init__()
        self.config = config.validate()
        cfg = config
        self.embed = nn.Embedding(cfg.n_channels, cfg.n_hidden)  # one-hot input x 1x1 conv
        # A ModuleList (registered, in the state dict) of ResidualLayers; typed as such, since
        # iterating a ModuleList gives a type checker plain Modules.
        self.layers = cast(Sequence[ResidualLayer], nn.ModuleList(ResidualLayer(cfg, d) for d in cfg.dilations))
        self.end1 = nn.Conv1d(cfg.n_skip, cfg.n_end, kernel_size=1, bias=cfg.bias)
        self.end2 = nn.Conv1d(cfg.n_end, cfg.n_channels, kernel_size=1, bias=cfg.bias)

    @property
    def receptive_field(self) -> int:
        return self.config.receptive_field

    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    @property
    def device(self) -> torch.device:
        return self.embed.weight.device

    # ------------------------------------------------------------------ before the first sample
    def pad_silence(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` with ``receptive_field - 1`` samples of silence (the centre class) prepended.

        With :meth:`initial_queues`, this defines what the model sees before a signal's
        first sample; ``forward(x) == forward(pad_silence(x), n_outputs=x.shape[1])``.

        Examples
        --------
        >>> model = WaveNet(WaveNetConfig(n_dilations=2, n_blocks=1, n_hidden=4, n_skip=4, n_end=4))
        >>> model.pad_silence(torch.tensor([[7, 9]])).tolist()
        [[128, 128, 128, 7, 9]]
        """
        n = self.receptive_field - 1
        silence = torch.full((x.shape[0], n), self.config.quantizer.centre, dtype=x.dtype, device=x.device)
        return torch.cat([silence, x], dim=1)

    @torch.no_grad()
    def silent_layer_inputs(self) -> list[torch.Tensor]:
        """Every layer's input (``[n_hidden]`` each) when the whole past is silence.

        For a constant input every layer's activations are constant over time, so one
        pass through the layers gives them exactly: what :meth:`forward` computes inside
        :meth:`pad_silence`'s padding, and what the cached generators' queues hold before
        the first sample.

        Examples
        --------
        >>> model = WaveNet(WaveNetConfig(n_dilations=3, n_blocks=1, n_hidden=8, n_skip=8, n_end=8))
        >>> [tuple(h.shape) for h in model.silent_layer_inputs()]
        [(8,), (8,), (8,)]
        """
        D = self.config.dilation_channels
        h = self.embed.weight[self.config.quantizer.centre].detach().float()  # [R]
        out = []
        for layer in self.layers:
            out.append(h.clone())
            w = layer.dilated.weight.detach().float()  # [2D, R, 2]: x[t - d] and x[t] are both h
            f_g = (w[:, :, 0] + w[:, :, 1]) @ h
            if layer.dilated.bias is not None:
                f_g = f_g + layer.dilated.bias.detach().float()
            z = torch.tanh(f_g[:D]) * torch.sigmoid(f_g[D:])  # [D]
            h = h + layer.residual.weight.detach().float()[:, :, 0] @ z
            if layer.residual.bias is not None:
                h = h + layer.residual.bias.detach().float()
        return out

    def initial_queues(self, n_streams: int, *, weight_format: str = "float32") -> np.ndarray:
        """Every layer's queue of past inputs before the first sample, for cached generation.

        float32 ``[sum(dilations), n_streams, R]``: layer ``l`` (dilation ``d``) owns the ``d``
        rows after the dilations of the layers before it, each holding the layer's input
        for an all-silent past (:meth:`silent_layer_inputs`): the same past as
        :meth:`pad_silence`.  A generator storing its weights in 16 bits (``weight_format``)
        starts from the past its own rounded weights compute
        (:func:`~wavenet_gui.core.weights.round_model_weights`).

        Examples
        --------
        >>> model = WaveNet(WaveNetConfig(n_dilations=2, n_blocks=1, n_hidden=4, n_skip=4, n_end=4))
        >>> model.initial_queues(3).shape
        (3, 3, 4)
        """
        cfg = self.config
        model = self
        if weight_format != "float32":
            model = round_model_weights(copy.deepcopy(self), weight_format)
        rows = [h.cpu().numpy()[None, None, :].repeat(d, 0).repeat(int(n_streams), 1)
                for d, h in zip(cfg.dilations, model.silent_layer_inputs(), strict=True)]
        return np.ascontiguousarray(np.concatenate(rows, axis=0), dtype=np.float32)

    # ------------------------------------------------------------------ one sample at a time
    def start(self, n_streams: int = 1, *, weight_format: str = "float32") -> StepState:
        """The state :meth:`step` starts from: the packed weights and the initial queues.

        ``weight_format`` rounds the weight matrices as a generator storing them in 16 bits
        would (see :mod:`.weights`).
        """
        packed = pack_weights(self, weight_format)
        dev = self.device

        def t(a: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(np.ascontiguousarray(from_format(a))).to(dev)

        weights = {k: t(getattr(packed, k)) for k in ("embed", "wd", "bd", "wsr", "bres", "bskip",
                                                        "e1", "b1", "e2", "b2")}
        queue = torch.from_numpy(self.initial_queues(n_streams, weight_format=weight_format)).to(dev)
        offsets = np.concatenate([[0], np.cumsum(self.config.dilations)]).astype(int)
        queues = [queue[a:b] for a, b in zip(offsets[:-1], offsets[1:], strict=True)]  # [d, K, R] views
        return StepState(weights=weights, queues=queues, dilations=list(self.config.dilations))

    @torch.no_grad()
    def step(self, x: torch.Tensor, state: StepState) -> torch.Tensor:
        """Feed one sample per stream and return the logits of the next one (the reference).

        Parameters
        ----------
        x : LongTensor [K]
            The current sample of each of the ``K`` streams.
        state : StepState
            From :meth:`start`; every layer's queue is updated in place.

        Returns
        -------
        Tensor [K, C]
            Equal to ``forward(sequence)[:, :, t]`` for the sequence fed so far.

        Examples
        --------
        >>> model = WaveNet(WaveNetConfig(n_dilations=3, n_blocks=1, n_hidden=8, n_skip=8, n_end=8))
        >>> state = model.start(n_streams=2)
        >>> model.step(torch.tensor([128, 130]), state).shape
        torch.Size([2, 256])
        """
        w = state.weights
        R, D, S = self.config.n_hidden, self.config.dilation_channels, self.config.n_skip
        h = w["embed"][x.to(self.device)]  # [K, R]
        skip = w["bskip"].expand(h.shape[0], S).clone()  # [K, S]
        last = len(state.dilations) - 1
        for i, (d, q) in enumerate(zip(state.dilations, state.queues, strict=True)):
            slot = state.t % d
            f_g = torch.addmm(w["bd"][i], q[slot], w["wd"][i, :R])  # [K, 2D]: x[t - d] ...
            f_g.addmm_(h, w["wd"][i, R:])  # ... and x[t]
            q[slot] = h
            z = torch.tanh(f_g[:, :D]) * torch.sigmoid(f_g[:, D:])  # [K, D]
            sr = z @ w["wsr"][i]  # [K, S + R]: skip and residual outputs
            skip += sr[:, :S]
            if i < last:  # the last layer's residual output is unused
                h = h + sr[:, S:] + w["bres"][i]  # [K, R]
        state.t += 1
        e = torch.relu(torch.addmm(w["b1"], torch.relu(skip), w["e1"]))  # [K, E]
        return torch.addmm(w["b2"], e, w["e2"])  # [K, C]

    def forward(self, x: torch.Tensor, n_outputs: int | None = None) -> torch.Tensor:
        """Logits for the next sample at every position.

        Parameters
        ----------
        x : LongTensor [B, T]
            Classes in ``[0, n_channels)``.
        n_outputs : int, optional
            Compute only the last ``n_outputs`` positions, and without any padding:
            they must each see a full receptive field (``T >= n_outputs +
            receptive_field - 1``).  Equal to ``forward(x)[..., -n_outputs:]`` and much
            cheaper; training uses it.  Without it every position is computed, the
            past before ``x[:, 0]`` being silence (see :meth:`pad_silence`).

        Returns
        -------
        Tensor [B, n_channels, T] (or [B, n_channels, n_outputs])
            ``logits[..., t]`` is the distribution of ``x[t + 1]``.
        """
        return self.logits_btc(x, n_outputs).transpose(1, 2)

    def logits_btc(self, x: torch.Tensor, n_outputs: int | None = None) -> torch.Tensor:
        """:meth:`forward` in time-major layout: logits ``[B, T, n_channels]``.

        Every convolution is computed as matrix products on ``[B, T, channels]``
        tensors (a kernel-2 dilated convolution is ``x[t - d] @ W0 + x[t] @ W1``):
        on a CPU this is several times faster than ``nn.Conv1d``, whose 1x1 case
        falls back to a slow im2col path.  The skip outputs of all layers go through
        one matrix product with the skip weights stacked.
        """
        if x.dim() != 2:
            raise ValueError(f"x must be [B, T], got shape {tuple(x.shape)}")
        if n_outputs is None:  # every position: the past before x[:, 0] is silence
            n_outputs = x.shape[1]
            x = self.pad_silence(x)
        need = n_outputs + self.receptive_field - 1
        if x.shape[1] < need:
            raise ValueError(f"n_outputs={n_outputs} needs at least {need} input samples, got {x.shape[1]}")
        x = x[:, -need:]  # only what the last n_outputs positions see
        D = self.config.dilation_channels
        h = self.embed(x)  # [B, T, R]
        zs = []
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            d = layer.dilation
            h_in = h  # [B, T', R]; the output is d shorter
            w = layer.dilated.weight  # [2D, R, 2]
            f_g = F.linear(h_in[:, d:], w[:, :, 1], layer.dilated.bias) + F.linear(h_in[:, :-d], w[:, :, 0])
            z = torch.tanh(f_g[..., :D]) * torch.sigmoid(f_g[..., D:])  # [B, T', D]
            zs.append(z[:, -n_outputs:])  # [B, n, D]
            if i < last:  # the last layer's residual output is unused
                h = h_in[:, d:] + F.linear(z, layer.residual.weight[:, :, 0], layer.residual.bias)  # [B, T', R]
        w_skip = torch.cat([layer.skip.weight[:, :, 0] for layer in self.layers], dim=1)  # [S, L*D]
        skip = F.linear(torch.cat(zs, dim=-1), w_skip)  # [B, n, S]: the sum of every layer's skip
        if self.config.bias:
            skip = skip + sum(cast(torch.Tensor, layer.skip.bias) for layer in self.layers)  # bias=True: set
        out = F.relu(F.linear(F.relu(skip), self.end1.weight[:, :, 0], self.end1.bias))  # [B, n, E]
        return F.linear(out, self.end2.weight[:, :, 0], self.end2.bias)  # [B, n, C]


@dataclass
class StepState:
    """Where :meth:`WaveNet.step` is: the packed weights, each layer's queue and the time step.

    The queue of a layer with dilation ``d`` is a ring of ``d`` slots; at step ``t`` slot
    ``t % d`` holds the layer's input from ``t - d``.
    """

    weights: dict[str, torch.Tensor]
    queues: list[torch.Tensor]
    dilations: list[int]
    t: int = 0
