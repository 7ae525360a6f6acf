"""Straightforward PyTorch baselines the benchmark compares against (independent of our code).

- :class:`TorchStepGenerator`: the usual per-step queue generator of public fast-wavenet
  ports: for every sample and every layer, torch ops on a 2-sample input (a kernel-2 conv of
  ``[x[t-d], x[t]]``), separate tanh/sigmoid, 1x1 skip and residual convs, queues as tensors.
- :func:`naive_generate`: recompute the whole receptive field for every new sample.
- :class:`BaselineWaveNet`: the usual PyTorch WaveNet for training: separate filter and gate
  convolutions, causal left padding of every layer over the whole window, skip 1x1 over every
  position, loss on the scored part only.

All take their weights from a :class:`wavenet_gui.core.model.WaveNet` so they run the same
network (the training baseline copies the weights, split into filter and gate).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from wavenet_gui.core.fused import fused_loss


class TorchStepGenerator:
    """Per-step cached generation with torch ops per layer per sample."""

    def __init__(self, model) -> None:
        self.model = model
        self.cfg = model.config
        self.reset()

    def reset(self) -> None:
        R = self.cfg.n_hidden
        # one queue per layer: [R, d] holding the last d inputs of that layer, oldest first
        self.queues = [torch.zeros(R, d) for d in self.cfg.dilations]

    @torch.no_grad()
    def step(self, cls: int) -> torch.Tensor:
        m = self.model
        x = m.embed.weight[cls].view(1, -1, 1)  # [1, R, 1]
        skip_sum = 0
        for i, layer in enumerate(m.layers):
            q = self.queues[i]
            past = q[:, 0].view(1, -1, 1)
            self.queues[i] = torch.cat([q[:, 1:], x.view(-1, 1)], dim=1)
            inp = torch.cat([past, x], dim=2)  # [1, R, 2]
            h = F.conv1d(inp, layer.dilated.weight, layer.dilated.bias)  # [1, 2D, 1]
            f, g = h.chunk(2, dim=1)
            z = torch.tanh(f) * torch.sigmoid(g)
            skip_sum = skip_sum + F.conv1d(z, layer.skip.weight, layer.skip.bias)
            x = x + F.conv1d(z, layer.residual.weight, layer.residual.bias)
        out = F.conv1d(F.relu(skip_sum), m.end1.weight, m.end1.bias)
        return F.conv1d(F.relu(out), m.end2.weight, m.end2.bias).view(-1)  # [C]

    @torch.no_grad()
    def generate(self, n: int, *, first_input: int, temperature: float = 1.0, seed: int = 0) -> list[int]:
        gen = torch.Generator().manual_seed(seed)
        cur, out = int(first_input), []
        for _ in range(n):
            logits = self.step(cur)
            if temperature == 0:
                cur = int(torch.argmax(logits))
            else:
                cur = int(torch.multinomial(torch.softmax(logits / temperature, 0), 1, generator=gen))
            out.append(cur)
        return out


@torch.no_grad()
def naive_generate(model, n: int, *, prime: list[int], temperature: float = 1.0, seed: int = 0) -> list[int]:
    """Recompute the receptive field with the full forward pass for every sample."""
    gen = torch.Generator().manual_seed(seed)
    rf = model.receptive_field
    seq = list(prime)
    for _ in range(n):
        x = torch.tensor(seq[-rf:]).view(1, -1)
        logits = model(x)[0, :, -1]
        if temperature == 0:
            nxt = int(torch.argmax(logits))
        else:
            nxt = int(torch.multinomial(torch.softmax(logits / temperature, 0), 1, generator=gen))
        seq.append(nxt)
    return seq[len(prime):]


class _BaselineLayer(nn.Module):
    def __init__(self, R, D, S, dilation, bias):
        super().__init__()
        self.dilation = dilation
        self.filter = nn.Conv1d(R, D, 2, dilation=dilation, bias=bias)
        self.gate = nn.Conv1d(R, D, 2, dilation=dilation, bias=bias)
        self.skip = nn.Conv1d(D, S, 1, bias=bias)
        self.residual = nn.Conv1d(D, R, 1, bias=bias)

    def forward(self, x):
        xp = F.pad(x, (self.dilation, 0))  # causal padding over the whole window
        z = torch.tanh(self.filter(xp)) * torch.sigmoid(self.gate(xp))
        return x + self.residual(z), self.skip(z)  # skip over every position


class BaselineWaveNet(nn.Module):
    """A WaveNet written the way public PyTorch repositories write it."""

    def __init__(self, cfg):
        super().__init__()
        R, D, S, E, C = cfg.n_hidden, cfg.dilation_channels, cfg.n_skip, cfg.n_end, cfg.n_channels
        self.receptive_field = cfg.receptive_field
        self.embed = nn.Embedding(C, R)
        self.layers = nn.ModuleList(_BaselineLayer(R, D, S, d, cfg.bias) for d in cfg.dilations)
        self.end1 = nn.Conv1d(S, E, 1, bias=cfg.bias)
        self.end2 = nn.Conv1d(E, C, 1, bias=cfg.bias)

    @classmethod
    def from_model(cls, model) -> BaselineWaveNet:
        b = cls(model.config)
        D = model.config.dilation_channels
        with torch.no_grad():
            b.embed.weight.copy_(model.embed.weight)
            for bl, ml in zip(b.layers, model.layers, strict=True):
                bl.filter.weight.copy_(ml.dilated.weight[:D])
                bl.gate.weight.copy_(ml.dilated.weight[D:])
                if ml.dilated.bias is not None:
                    bl.filter.bias.copy_(ml.dilated.bias[:D])
                    bl.gate.bias.copy_(ml.dilated.bias[D:])
                bl.skip.load_state_dict(ml.skip.state_dict())
                bl.residual.load_state_dict(ml.residual.state_dict())
            b.end1.load_state_dict(model.end1.state_dict())
            b.end2.load_state_dict(model.end2.state_dict())
        return b

    def forward(self, x):  # x [B, T] -> logits [B, C, T]
        h = self.embed(x).transpose(1, 2)
        skip_sum = 0
        for layer in self.layers:
            h, s = layer(h)
            skip_sum = skip_sum + s
        return self.end2(F.relu(self.end1(F.relu(skip_sum))))


def baseline_train_step(model: BaselineWaveNet, opt, window: torch.Tensor, target_length: int) -> float:
    """Forward over the whole window, loss on the last ``target_length`` positions, Adam step."""
    logits = model(window[:, :-1])[:, :, -target_length:]
    loss = F.cross_entropy(logits, window[:, -target_length:])
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss.item()


def windowed_train_step(model: BaselineWaveNet, opt, windows: torch.Tensor, output_length: int) -> float:
    """The usual public-repo training step: many short windows, each of receptive field +
    ``output_length`` samples, so the receptive field is recomputed for every window
    (vincentherrmann/pytorch-wavenet's default output_length is 16)."""
    return baseline_train_step(model, opt, windows, output_length)


def ours_train_step(model, opt, window: torch.Tensor, target_length: int,
                    autocast_dtype: torch.dtype | None = None) -> float:
    """Our training step, as core.training.Trainer does it on a CPU: the fused pass
    (valid convolutions as matrix products, only the scored outputs, hand-written
    backward with numba kernels), in float32 or with bfloat16 products."""
    loss = fused_loss(model, window, target_length, autocast_dtype or torch.float32)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss.item()


def autograd_train_step(model, opt, window: torch.Tensor, target_length: int,
                        autocast_dtype: torch.dtype | None = None) -> float:
    """Our model through autograd (and autocast) instead of the fused pass: what the
    Trainer does on other devices, and what it did on the CPU before the fused pass."""
    with torch.autocast("cpu", dtype=autocast_dtype or torch.float32, enabled=autocast_dtype is not None):
        logits = model.logits_btc(window[:, :-1], n_outputs=target_length)  # [B, T, C]
    loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), window[:, -target_length:].reshape(-1))
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss.item()
