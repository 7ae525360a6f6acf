"""Cached autoregressive generation (fast-wavenet, arXiv 1611.09482).

Each layer keeps a queue of its past inputs, so producing one sample costs one
step through the layers (O(layers)) instead of a forward pass over the whole
receptive field.  Two engines share one interface:

* ``"fast"``: :class:`wavenet_gui.core.fastgen.FastGenerator`, a numba kernel
  that runs a whole chunk of samples per call (the default);
* ``"torch"``: :class:`TorchQueueGenerator`, the readable reference: the
  model's own :meth:`WaveNet.step <wavenet_gui.core.model.WaveNet.step>` per sample.

Both read the weights in the layout of :func:`wavenet_gui.core.weights.pack_weights`
and start from :meth:`WaveNet.initial_queues <wavenet_gui.core.model.WaveNet.initial_queues>`.

Both produce exactly what :meth:`WaveNet.forward` defines: with greedy
decoding, ``generated[i] == argmax(forward(concat(prime, generated[:i])))`` at
position ``len(prime) - 1 + i``.  Before the first sample the past is silence
(the centre class), as in :meth:`WaveNet.forward` and in training: every
layer's queue starts filled with that layer's input for an all-silent past
(:meth:`WaveNet.silent_layer_inputs <wavenet_gui.core.model.WaveNet.silent_layer_inputs>`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import cast

import numpy as np
import torch

from . import config as settings
from .errors import ConfigError
from .model import WaveNet
from .warmup import warm_once

#: Engines accepted by ``backend=``.
BACKENDS = ("auto", "fast", "torch")
#: The most samples (length x variations) :func:`generate` keeps in memory (about 1.2 GB:
#: int64 classes and float32 audio).  Longer output is streamed to disk by
#: :func:`wavenet_gui.core.streaming.generate_to_files`, whose memory does not grow.
MAX_IN_MEMORY_SAMPLES = 100_000_000


def sample_classes(logits: np.ndarray, uniforms: np.ndarray, temperature: float) -> np.ndarray:
    """Draw one class per row of ``logits`` ([K, C]) with the given uniforms ([K]).

    Temperature 0 is greedy (the first maximum); otherwise the class is the first
    ``i`` with ``cumsum(p)[i] > u * sum(p)`` for ``p = softmax(logits / T)``.
    """
    logits = np.asarray(logits, dtype=np.float64)
    if temperature == 0:
        return logits.argmax(axis=1)
    z = logits / temperature
    p = np.exp(z - z.max(axis=1, keepdims=True))  # [K, C]
    c = np.cumsum(p, axis=1)  # [K, C]
    idx = (c > (uniforms * c[:, -1])[:, None]).argmax(axis=1)
    return idx


class TorchQueueGenerator:
    """The reference engine: :meth:`WaveNet.step` per sample, in torch.

    Slow (Python and torch calls for every sample) and plain; the fast engine and the
    model's ``forward`` are tested against it.  ``weight_format`` rounds the weight
    matrices as the fast engine stores them.
    """

    def __init__(self, model: WaveNet, *, n_streams: int = 1, weight_format: str = "float32") -> None:
        self.model = model
        self.n_streams = n_streams
        self.weight_format = weight_format
        self.reset()

    def reset(self) -> None:
        """Back to the state before the first sample: an all-silent past."""
        self.state = self.model.start(self.n_streams, weight_format=self.weight_format)

    def _step(self, x: np.ndarray) -> torch.Tensor:
        return self.model.step(torch.as_tensor(np.asarray(x), dtype=torch.long), self.state)

    def feed(self, classes: np.ndarray) -> None:
        """Teacher-force ``classes`` [n_streams, k] through the queues."""
        classes = np.asarray(classes)
        for i in range(classes.shape[1]):
            self._step(classes[:, i])

    def step_logits(self, x: np.ndarray) -> np.ndarray:
        """Feed one sample per stream; the logits [n_streams, C] of the next one."""
        return self._step(x).float().cpu().numpy()

    def run(self, n: int, *, first_input: np.ndarray, uniforms: np.ndarray, temperature: float) -> np.ndarray:
        """Generate ``n`` samples per stream (see :func:`sample_classes`); classes [n_streams, n]."""
        out = np.empty((self.n_streams, n), dtype=np.int64)
        x = np.asarray(first_input, dtype=np.int64)
        for i in range(n):
            logits = self.step_logits(x)
            x = sample_classes(logits, uniforms[:, i], temperature)
            out[:, i] = x
        return out


def random_seed() -> int:
    """A seed drawn from the operating system's entropy, in ``[0, 2**31)``."""
    entropy = np.random.SeedSequence().entropy  # drawn from the OS, so one int
    return int(cast(int, entropy) % 2**31)


def make_generator(model: WaveNet, *, n_streams: int = 1, backend: str = "auto",
                   weight_format: str = "float32"):
    """Build the cached generator engine named by ``backend`` (see :data:`BACKENDS`)."""
    if backend not in BACKENDS:
        raise ConfigError("backend", f"{backend!r} is not one of {', '.join(BACKENDS)}")
    if backend in ("auto", "fast"):
        try:
            from .fastgen import FastGenerator
        except ImportError as exc:
            if backend == "fast":
                raise ConfigError("backend", "the fast (numba) generator is not available here") from exc
        else:
            return FastGenerator(model, n_streams=n_streams, weight_format=weight_format)
    return TorchQueueGenerator(model, n_streams=n_streams, weight_format=weight_format)


def warm_up() -> bool:
    """Compile (or load from the on-disk cache) the fast generator's kernels, once per process.

    Safe to call from several threads (later calls wait for the first); a failure is
    logged, not raised, since generation then only starts more slowly.  Returns whether
    the kernels are ready.
    """
    def compile_kernels() -> None:
        from . import fastgen

        fastgen.warm_up()

    return warm_once("fast generator", compile_kernels)


@dataclass(frozen=True)
class GenerationProgress:
    done: int
    """Samples generated so far (per stream)."""
    total: int
    samples_per_s: float
    """Samples per second per stream."""
    elapsed: float
    realtime_factor: float
    """Generated audio seconds per wall-clock second (per stream)."""


@dataclass
class GenerationResult:
    classes: np.ndarray
    """Generated classes, int64 [n_streams, n] (n < n_samples when cancelled)."""
    audio: np.ndarray
    """Decoded audio, float32 [n_streams, n] in [-1, 1]."""
    cancelled: bool
    samples_per_s: float
    sample_rate: int
    seed: int
    """The seed used (drawn at random when none was given), to reproduce the result."""


def _prime_array(model: WaveNet, prime, n_streams: int) -> np.ndarray:
    """The prime as int64 ``[n_streams, <= receptive_field]``: only its last receptive field.

    The next sample depends on the last ``receptive_field`` inputs only (and so does every
    cached value it reads), so a longer prime is cut before it is copied per stream or fed:
    a 10-minute prime costs what one receptive field costs.
    """
    C = model.config.n_channels
    if prime is None:
        prime = np.array([model.config.quantizer.centre])
    prime = np.asarray(prime)
    if prime.ndim in (1, 2) and prime.shape[-1] > model.receptive_field:
        prime = prime[..., -model.receptive_field:]
    if prime.ndim == 1:
        prime = np.broadcast_to(prime, (n_streams, prime.shape[0]))
    if prime.ndim != 2 or prime.shape[0] != n_streams or prime.shape[1] < 1:
        raise ConfigError("prime", f"must hold at least one sample per stream, got shape {prime.shape}")
    if not np.issubdtype(prime.dtype, np.integer):
        raise ConfigError("prime", "must be quantized classes (integers), not audio samples")
    if prime.min() < 0 or prime.max() >= C:
        raise ConfigError("prime", f"classes must lie in [0, {C}), got {prime.min()}..{prime.max()}")
    return prime.astype(np.int64)


def _validate(n_samples: int, temperature: float, n_streams: int, weight_format: str = "float32") -> None:
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
        raise ConfigError("length", f"must be at least one sample, got {n_samples!r}")
    settings.check("temperature", temperature)
    settings.check("variations", n_streams)
    settings.check("weight_format", weight_format)


def iter_generate(model: WaveNet, *, n_samples: int, temperature: float = 1.0, seed: int | None = None,
                  prime=None, n_streams: int = 1, chunk_size: int | None = None,
                  cancel: threading.Event | None = None, backend: str = "auto",
                  weight_format: str = "float32") -> Generator[np.ndarray, None, None]:
    """Generate classes chunk by chunk.

    Yields ``np.ndarray[int64, (n_streams, k)]`` chunks until ``n_samples`` are
    made or ``cancel`` is set (checked between chunks; chunks are sized to take
    about 50 ms, so cancelling takes effect within a fraction of a second).

    Each stream ``k`` draws its randomness from ``np.random.default_rng([seed, k])``,
    so the output depends on the seed only: not on the chunking, nor on how many
    other streams run beside it.

    Examples
    --------
    >>> from wavenet_gui.core.model import WaveNet, WaveNetConfig
    >>> model = WaveNet(WaveNetConfig(n_dilations=3, n_blocks=1, n_hidden=8, n_skip=8, n_end=8))
    >>> chunks = list(iter_generate(model, n_samples=100, seed=1))
    >>> sum(c.shape[1] for c in chunks)
    100
    """
    _validate(n_samples, temperature, n_streams, weight_format)
    if seed is None:
        seed = random_seed()
    prime = _prime_array(model, prime, n_streams)
    engine = make_generator(model, n_streams=n_streams, backend=backend, weight_format=weight_format)
    rngs = [np.random.default_rng([seed, k]) for k in range(n_streams)]
    try:
        if prime.shape[1] > 1:
            engine.feed(prime[:, :-1])
        x = prime[:, -1]
        done = 0
        chunk = chunk_size or 64
        while done < n_samples:
            if cancel is not None and cancel.is_set():
                return
            n = min(chunk, n_samples - done)
            uniforms = np.stack([r.random(n) for r in rngs])  # [K, n]
            t0 = time.perf_counter()
            out = engine.run(n, first_input=x, uniforms=uniforms, temperature=temperature)  # [K, n]
            dt = time.perf_counter() - t0
            x = out[:, -1]
            done += n
            yield out
            if chunk_size is None:  # aim at ~50 ms per chunk
                chunk = int(np.clip(n / max(dt, 1e-6) * 0.05, 16, 16384))
    finally:
        close = getattr(engine, "close", None)
        if close is not None:
            close()  # stops the engine's worker threads


def generate(model: WaveNet, *, n_samples: int, temperature: float = 1.0, seed: int | None = None,
             prime=None, n_streams: int = 1,
             callback: Callable[[GenerationProgress, np.ndarray], None] | None = None,
             cancel: threading.Event | None = None, backend: str = "auto",
             weight_format: str = "float32", chunk_size: int | None = None) -> GenerationResult:
    """Generate ``n_samples`` per stream and decode them to audio.

    ``callback(progress, audio_chunk)`` is called after every chunk with the new
    decoded audio ([n_streams, k] float32, a copy).  When ``cancel`` is set the
    samples made so far are returned with ``cancelled=True``.  Everything is kept in
    memory, so ``n_samples * n_streams`` may be at most :data:`MAX_IN_MEMORY_SAMPLES`
    (a one-line :class:`ConfigError` otherwise); stream longer output to disk with
    :func:`wavenet_gui.core.streaming.generate_to_files`.

    Examples
    --------
    >>> from wavenet_gui.core.model import WaveNet, WaveNetConfig
    >>> model = WaveNet(WaveNetConfig(n_dilations=3, n_blocks=1, n_hidden=8, n_skip=8, n_end=8))
    >>> result = generate(model, n_samples=800, seed=0, temperature=1.0)
    >>> result.audio.shape
    (1, 800)
    """
    _validate(n_samples, temperature, n_streams, weight_format)
    if n_samples * n_streams > MAX_IN_MEMORY_SAMPLES:
        raise ConfigError("length", f"{n_samples:,} samples x {n_streams} variations is more than the "
                                    f"{MAX_IN_MEMORY_SAMPLES:,} samples generation keeps in memory; "
                                    "write long output straight to files instead")
    if seed is None:
        seed = random_seed()
    quantizer = model.config.quantizer
    sr = model.config.sample_rate
    chunks: list[np.ndarray] = []
    done = 0
    t0 = time.perf_counter()
    for out in iter_generate(model, n_samples=n_samples, temperature=temperature, seed=seed, prime=prime,
                             n_streams=n_streams, cancel=cancel, backend=backend,
                             weight_format=weight_format, chunk_size=chunk_size):
        chunks.append(out)
        done += out.shape[1]
        if callback is not None:
            elapsed = time.perf_counter() - t0
            rate = done / max(elapsed, 1e-9)
            callback(GenerationProgress(done, n_samples, rate, elapsed, rate / sr),
                     quantizer.decode(out).astype(np.float32))
    elapsed = time.perf_counter() - t0
    classes = np.concatenate(chunks, axis=1) if chunks else np.zeros((n_streams, 0), dtype=np.int64)
    return GenerationResult(
        classes=classes,
        audio=quantizer.decode(classes).astype(np.float32).reshape(classes.shape),
        cancelled=done < n_samples,
        samples_per_s=done / max(elapsed, 1e-9),
        sample_rate=sr,
        seed=seed,
    )
