"""Training: Adam on random windows, stoppable at any moment.

Training ends in one of four ways, each leaving a usable model:

* ``"target_loss"``: the mean training loss of the last ``loss_window``
  iterations fell to ``target_loss`` or below;
* ``"iterations"``: ``train_iterations`` iterations ran (in this run; a resumed
  run adds that many to the checkpoint's count);
* ``"cancelled"``: the ``cancel`` event was set (the window's Stop, the CLI's
  Ctrl+C); checked between iterations, so the current step finishes first;
* ``"diverged"``: the loss (or a gradient) became NaN/Inf or exploded.  The
  step that produced it is not applied, so the weights stay those of the last
  good step.

Progress goes to a plain callback with no Qt in it.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from . import config as settings
from .allocator import reuse_freed_memory
from .data import IGNORE, WindowSampler
from .errors import ConfigError, WaveNetError
from .fused import fused_loss
from .model import WaveNet
from .modelfile import MODEL_FILE_NAME, adam_state, load_model, save_model
from .progress import drain
from .trainstate import TrainingState
from .warmup import warm_once

log = logging.getLogger(__name__)

_d = settings.default


# scale (issue 15): precision choices live in core/devices.py (float16 + GradScaler on CUDA).
from .devices import PRECISIONS, precision_plan  # noqa: E402

LR_SCHEDULES = settings.SETTINGS["lr_schedule"].allowed  # ("constant", "cosine")


def resolve_precision(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for ``precision`` on ``device`` (None: plain float32)."""
    return precision_plan(precision, device).dtype


def warm_up() -> bool:
    """Compile (or load from numba's on-disk cache) the training kernels, once per process.

    The first compile takes a few seconds, a cached load well under one; the window does
    it in the background at start.  Thread-safe; a failure is logged, not raised (the
    first training step then compiles them).  Returns whether they are ready.
    """
    def compile_kernels() -> None:
        from . import trainkernels

        trainkernels.warm_up()

    return warm_once("training kernels", compile_kernels)


@dataclass
class TrainingConfig:
    """How to train.  Defaults, bounds and help texts of the fields that are settings come
    from :data:`wavenet_gui.core.config.SETTINGS` (``seed`` is the setting ``train_seed``)."""

    learning_rate: float = _d("learning_rate")
    """Adam's step size (3e-3 learns the example clip within two minutes; lower it for big models)."""
    target_loss: float | None = _d("target_loss")
    """Stop when the mean loss of the last ``loss_window`` iterations is at or below this (nats)."""
    train_iterations: int = _d("train_iterations")
    """Iterations to run (in this run)."""
    batch_size: int = _d("batch_size")
    """Windows per iteration."""
    target_length: int = _d("target_length")
    """Samples scored per window (each window is receptive_field + target_length long)."""
    holdout: float = _d("holdout")
    """Fraction at the end of each file kept out of training for a validation loss (0 = none)."""
    loss_window: int = 20
    """Iterations averaged for the target-loss test and the reported mean loss."""
    validate_every: int = 50
    """Iterations between validation losses (when there is a hold-out)."""
    save_weights: bool = _d("save_weights")
    """Write checkpoints to ``output_dir`` while training (the original's --save_weights)."""
    checkpoint_every: int = _d("checkpoint_every")
    """Iterations between checkpoints when ``save_weights`` is on (and one at the end)."""
    output_dir: str | None = None
    """Folder for checkpoints (``model.safetensors``)."""
    seed: int = _d("train_seed")
    """Seeds window sampling (the Session also seeds the initial weights with it)."""
    device: str = _d("device")
    lr_warmup: int = _d("lr_warmup")
    """Iterations over which the learning rate rises linearly to ``learning_rate`` (0 = none)."""
    lr_schedule: str = _d("lr_schedule")
    """After the warm-up: ``"constant"``, or ``"cosine"``: decays to ``lr_floor`` times the
    learning rate by the last iteration of the run."""
    lr_floor: float = _d("lr_floor")
    """The cosine schedule's final learning rate, as a fraction of ``learning_rate``."""
    precision: str = "auto"
    """Arithmetic of the forward and backward pass: ``"float32"``, ``"bfloat16"``
    (matrix products in bfloat16 with float32 weights and accumulation) or ``"auto"``:
    bfloat16 on a CPU with native bfloat16 instructions (AVX512-BF16 or AMX), about
    1.5x faster there, else float32."""

    def validate(self) -> TrainingConfig:
        """Raise :class:`ConfigError` naming the first invalid field; return self."""
        for name, field_name in (("learning_rate", "learning_rate"), ("target_loss", "target_loss"),
                                 ("train_iterations", "train_iterations"), ("batch_size", "batch_size"),
                                 ("target_length", "target_length"), ("holdout", "holdout"),
                                 ("checkpoint_every", "checkpoint_every"), ("save_weights", "save_weights"),
                                 ("train_seed", "seed"), ("lr_warmup", "lr_warmup"),
                                 ("lr_schedule", "lr_schedule"), ("lr_floor", "lr_floor")):
            settings.check(name, getattr(self, field_name))
        for name in ("loss_window", "validate_every"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ConfigError(name, f"must be a whole number of at least 1, got {v!r}")
        if self.precision not in PRECISIONS:
            raise ConfigError("precision", f"{self.precision!r} is not one of {', '.join(PRECISIONS)}")
        try:  # scale (issue 15): float16 only on CUDA
            device = torch.device(self.device)
        except (RuntimeError, TypeError):
            raise ConfigError("device", f"{self.device!r} is not a device") from None
        precision_plan(self.precision, device)
        if self.save_weights and not self.output_dir:
            raise ConfigError("output_dir", "is needed to save weights while training")
        return self


def save_trained_model(path: str | Path, model: WaveNet, state: TrainingState, *,
                       config: TrainingConfig | None = None, extra: dict | None = None) -> Path:
    """Write ``model`` with its training state (iteration, losses, Adam) to ``path``, atomically.

    The one way a trained model is saved: checkpoints and "Save model" alike.
    ``config`` adds the training settings of the last run to the record (for people
    reading the file); ``extra`` adds more (the files trained on, the app's version).
    """
    training = state.header()
    losses = list(state.losses)
    if len(losses) > training["iteration"] > 0:  # saved from another thread mid-step: one history
        losses = losses[:training["iteration"]]
    if config is not None:
        training.update(learning_rate=config.learning_rate, batch_size=config.batch_size,
                        target_length=config.target_length, seed=config.seed)
    training.update(extra or {})
    return save_model(path, model, training=training, optimizer_state=state.optimizer_state,
                      losses=losses)


@dataclass(frozen=True)
class TrainingProgress:
    iteration: int
    total_iterations: int
    loss: float
    mean_loss: float
    val_loss: float | None
    samples_per_s: float
    """Scored (target) samples per second over the recent iterations."""
    elapsed: float
    eta: float | None
    checkpoint: Path | None
    """Set on the iteration that wrote a checkpoint."""
    checkpoint_error: str = ""
    """Set on the iteration whose checkpoint could not be written (one line: where and why)."""


@dataclass(frozen=True)
class TrainingResult:
    reason: str
    """``"target_loss"``, ``"iterations"``, ``"cancelled"`` or ``"diverged"``."""
    message: str
    iterations: int
    final_loss: float | None
    checkpoint: Path | None
    elapsed: float
    checkpoint_error: str = ""
    """Why the last checkpoint could not be written ("" when it was, or none was asked for).
    Training goes on when a checkpoint fails: the model stays in memory, unsaved."""


class Trainer:
    """Trains a :class:`WaveNet` on windows drawn by a :class:`WindowSampler`.

    Examples
    --------
    >>> import numpy as np, threading
    >>> from wavenet_gui.core.model import WaveNet, WaveNetConfig
    >>> from wavenet_gui.core.data import WindowSampler
    >>> model = WaveNet(WaveNetConfig(n_dilations=4, n_blocks=1, n_hidden=8, n_skip=16, n_end=16))
    >>> tone = model.config.quantizer.encode(0.5 * np.sin(np.arange(8000) * 0.1))
    >>> cfg = TrainingConfig(train_iterations=5, target_length=256)
    >>> sampler = WindowSampler([tone], receptive_field=model.receptive_field, target_length=cfg.target_length)
    >>> Trainer(model, sampler, cfg).run().reason
    'iterations'
    """

    def __init__(self, model: WaveNet, sampler: WindowSampler, config: TrainingConfig, *,
                 state: TrainingState | None = None, optimizer_state: dict | None = None,
                 iteration: int = 0, losses: list[float] | None = None) -> None:
        """``state`` is the model's :class:`TrainingState` (updated as training goes); without
        one, a new state starts from ``optimizer_state``, ``iteration`` and ``losses``."""
        self.config = config.validate()
        #: More fields for the ``training`` record of the checkpoints it writes (the session adds the
        #: generation settings the model was trained for: see ``Session.generation_record``).
        self.record: dict = {}
        want = model.receptive_field + config.target_length
        if sampler.window != want or sampler.receptive_field != model.receptive_field:
            raise ConfigError("window", f"sampler windows are {sampler.window} samples, the model needs {want} "
                                        f"(receptive field {model.receptive_field} "
                                        f"+ target length {config.target_length})")
        if sampler.pad_class != model.config.quantizer.centre:
            raise ConfigError("n_channels", f"the sampler pads with class {sampler.pad_class} but this model's silence "
                                            f"is class {model.config.quantizer.centre}: build the sampler with "
                                            "make_sampler(..., config=model.config)")
        self.device = torch.device(config.device)
        plan = precision_plan(config.precision, self.device)
        self.autocast_dtype = plan.dtype
        #: scale (issue 15): float16 autocast (CUDA) scales the loss so gradients do not underflow
        self.scaler = torch.amp.GradScaler(self.device.type) if plan.grad_scaler else None
        #: Use the fused pass with its hand-written backward (:mod:`.fused`); on a CPU it is
        #: 1.2-1.5x faster than autograd.  Other devices use autograd (and autocast).
        self.fused = self.device.type == "cpu"
        self.model = model.to(self.device)
        self.sampler = sampler
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=config.learning_rate)
        if state is None:
            state = TrainingState(iteration=int(iteration), losses=list(losses or []),
                                  optimizer_state=optimizer_state)
        self.state = state
        if state.optimizer_state:
            self._load_optimizer_state(state.optimizer_state)
        # Window sampling continues deterministically after a resume.
        self.rng = np.random.default_rng([config.seed, state.iteration])
        self._validation = sampler.validation_batches(config.batch_size) if config.holdout > 0 else []
        self._run_start, self._run_total = iteration, iteration + config.train_iterations

    # ------------------------------------------------------------------
    def learning_rate_at(self, iteration: int) -> float:
        """The learning rate of the step that makes ``iteration + 1`` (warm-up, then the schedule).

        The schedule spans this run: ``train_iterations`` from the iteration it started at.

        Examples
        --------
        >>> import numpy as np
        >>> from wavenet_gui.core.model import WaveNet, WaveNetConfig
        >>> from wavenet_gui.core.session import make_sampler
        >>> model = WaveNet(WaveNetConfig(n_dilations=2, n_blocks=1, n_hidden=4, n_skip=4, n_end=4))
        >>> cfg = TrainingConfig(learning_rate=0.01, train_iterations=100, lr_warmup=10,
        ...                      lr_schedule="cosine", lr_floor=0.0, target_length=8)
        >>> t = Trainer(model, make_sampler([np.zeros(50, int)], receptive_field=4, target_length=8,
        ...             config=model.config), cfg)
        >>> [round(t.learning_rate_at(i), 4) for i in (0, 9, 10, 55, 99)]
        [0.001, 0.01, 0.01, 0.0049, 0.0]
        """
        cfg = self.config
        base = cfg.learning_rate
        i = iteration - self._run_start
        if cfg.lr_warmup > 0 and i < cfg.lr_warmup:
            return base * (i + 1) / cfg.lr_warmup
        if cfg.lr_schedule == "constant":
            return base
        span = max(self._run_total - self._run_start - cfg.lr_warmup - 1, 1)
        progress = min(max((i - cfg.lr_warmup) / span, 0.0), 1.0)
        return base * (cfg.lr_floor + (1.0 - cfg.lr_floor) * 0.5 * (1.0 + math.cos(math.pi * progress)))

    def _apply_learning_rate(self) -> None:
        lr = self.learning_rate_at(self.iteration)
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    # ------------------------------------------------------------------ the state's counters
    @property
    def iteration(self) -> int:
        """Iterations trained (over every run on this model)."""
        return self.state.iteration

    @iteration.setter
    def iteration(self, value: int) -> None:
        self.state.iteration = int(value)

    @property
    def losses(self) -> list[float]:
        return self.state.losses

    @losses.setter
    def losses(self, value: list[float]) -> None:
        self.state.losses = list(value)

    @property
    def val_losses(self) -> list[tuple[int, float]]:
        return self.state.val_losses

    # ------------------------------------------------------------------
    @classmethod
    def from_checkpoint(cls, path: str | Path, sampler: WindowSampler, config: TrainingConfig) -> Trainer:
        """Resume from a checkpoint: weights, Adam's state, iteration count and loss history."""
        loaded = load_model(path, device=config.device)
        return cls(loaded.model, sampler, config, state=TrainingState.from_loaded(loaded))

    def _load_optimizer_state(self, state: dict) -> None:
        params = dict(self.model.named_parameters())
        for name, (exp_avg, exp_avg_sq) in state["moments"].items():
            p = params.get(name)
            if p is None:
                continue
            self.optimizer.state[p] = {
                "step": torch.tensor(float(state["step"])),
                "exp_avg": exp_avg.to(self.device).clone(),
                "exp_avg_sq": exp_avg_sq.to(self.device).clone(),
            }

    def optimizer_state(self) -> dict | None:
        """Adam's state in the form ``Trainer(optimizer_state=...)`` and ``save_model`` take."""
        return adam_state(self.model, self.optimizer)

    def save_checkpoint(self, path: str | Path | None = None) -> Path | None:
        """Write weights, Adam's state and the loss history atomically; return the path (None
        where this process writes none: the other ranks of a distributed run)."""
        if path is None:
            if not self.config.output_dir:
                raise ConfigError("output_dir", "is needed to save a checkpoint")
            path = Path(self.config.output_dir) / MODEL_FILE_NAME
        self.state.optimizer_state = self.optimizer_state()
        return save_trained_model(path, self.model, self.state, config=self.config, extra=self.record)

    def _try_checkpoint(self) -> tuple[Path | None, str]:
        """:meth:`save_checkpoint`; a write failure (full disk, ...) becomes ``(None, reason)``."""
        try:
            return self.save_checkpoint(), ""
        except WaveNetError as exc:
            log.warning("checkpoint failed: %s", exc)
            return None, f"checkpoint not saved: {exc}"

    # ------------------------------------------------------------------
    def mean_loss(self) -> float | None:
        if not self.losses:
            return None
        return float(np.mean(self.losses[-self.config.loss_window:]))

    def _batch(self, windows: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(windows, dtype=np.int64)).to(self.device)

    def _loss(self, x: torch.Tensor) -> torch.Tensor:
        T = self.config.target_length
        if self.fused:
            return fused_loss(self.model, x, T, self.autocast_dtype or torch.float32)
        C = self.model.config.n_channels
        inputs = torch.where(x < 0, C // 2, x)[:, :-1]  # padding (-1) reads as silence, as in fused_loss
        with torch.autocast(self.device.type, dtype=self.autocast_dtype or torch.float32,
                            enabled=self.autocast_dtype is not None):
            logits = self.model.logits_btc(inputs, n_outputs=T)  # [B, T, C]
        # targets: the last T samples of each window (padding ignored)
        return F.cross_entropy(logits.float().reshape(-1, C), x[:, -T:].reshape(-1), ignore_index=IGNORE)

    def step(self) -> float:
        """One Adam step; returns the loss.

        A step whose loss :meth:`_diverged` calls exploded, or whose gradients are not finite,
        is not applied, and the step before it (which led there) is undone: weights and Adam's
        moments and step count go back to the state before it, and its iteration and loss leave
        the history (``self.iteration`` and ``self.losses``), so the model is again the last one
        whose loss was good.  Then ``self.divergence`` holds the one-line explanation (else
        None) and the caller sees the exploded loss (NaN for bad gradients).
        """
        self.model.train()
        x = self._batch(self.sampler.sample(self.config.batch_size, self.rng))  # [B, window]
        self.optimizer.zero_grad(set_to_none=True)
        loss = self._loss(x)
        value = float(loss.detach())
        self.divergence = None
        if self._diverged(value):
            self._roll_back(value, "loss")
            return value
        if self.scaler is not None:  # scale (issue 15): float16 on CUDA
            return self._scaled_step(self.scaler, loss, value)
        loss.backward()
        grads_ok = all(p.grad is None or bool(torch.isfinite(p.grad).all()) for p in self.model.parameters())
        if not grads_ok:
            self.optimizer.zero_grad(set_to_none=True)
            self._roll_back(value, "gradients")
            return math.nan
        self._snapshot()
        self.optimizer.step()
        return value

    def _scaled_step(self, scaler: torch.amp.GradScaler, loss: torch.Tensor, value: float) -> float:
        """The float16 step: the scaler skips (and lowers its scale after) a step whose scaled
        gradients overflowed, which in float16 is routine, not divergence."""
        scaler.scale(loss).backward()
        self._snapshot()
        scaler.step(self.optimizer)
        scaler.update()
        return value

    # ---- divergence: the rule, the last good state, the message ------------------------------
    #: a loss this many times the mean of the recent ones (and worse than a uniform guess) has exploded
    DIVERGENCE_FACTOR = 10.0
    #: iterations in that mean
    DIVERGENCE_WINDOW = 20
    #: after :meth:`step`: why it diverged (one line), else None
    divergence: str | None = None

    def _diverged(self, value: float) -> bool:
        """Whether the loss ``value`` of this iteration means training has diverged.

        Non-finite, or more than ``DIVERGENCE_FACTOR`` (10) times the mean of the last
        ``DIVERGENCE_WINDOW`` (20) losses *and* above ``ln(n_channels)`` (the loss of a uniform
        guess, so ordinary noise of a well-trained model never counts).  Measured on speech at
        learning rate 0.9: 5.5 nats, then 164,000 at the second iteration.
        """
        if not math.isfinite(value):
            return True
        recent = self.losses[-self.DIVERGENCE_WINDOW:]
        if not recent:
            return False
        chance = math.log(self.model.config.n_channels)
        return value > self.DIVERGENCE_FACTOR * float(np.mean(recent)) and value > chance

    def _snapshot(self) -> None:
        """Keep the weights and Adam's state as they are before this step (in reused buffers)."""
        params = [p for p in self.model.parameters()]
        snap: dict[str, Any] | None = getattr(self, "_last_good", None)
        if snap is None or len(snap["params"]) != len(params):
            snap = {"params": [torch.empty_like(p) for p in params], "state": {}}
            self._last_good = snap
        with torch.no_grad():
            for buf, p in zip(snap["params"], params, strict=True):
                buf.copy_(p)
        state: dict[int, dict[str, Any]] = {}
        for i, p in enumerate(params):
            st = self.optimizer.state.get(p)
            if not st:
                continue
            old = snap["state"].get(i, {})
            state[i] = {}
            for k, v in st.items():
                if torch.is_tensor(v):
                    buf = old.get(k)
                    if buf is None or buf.shape != v.shape or buf.dtype != v.dtype:
                        buf = torch.empty_like(v)
                    buf.copy_(v)
                    state[i][k] = buf
                else:
                    state[i][k] = v
        snap["state"] = state
        snap["iteration"] = self.iteration
        snap["n_losses"] = len(self.losses)
        snap["valid"] = True

    def _roll_back(self, value: float, what: str) -> None:
        """Undo the last applied step (see :meth:`step`; nothing to undo before the first) and
        set ``self.divergence``."""
        snap: dict[str, Any] | None = getattr(self, "_last_good", None)
        if snap is not None and snap.get("valid"):
            self.divergence = self._divergence_message(value, what, snap["iteration"])
            self._restore(snap)
        else:
            self.divergence = self._divergence_message(value, what, None)

    def _restore(self, snap: dict) -> None:
        params = list(self.model.parameters())
        with torch.no_grad():
            for buf, p in zip(snap["params"], params, strict=True):
                p.copy_(buf)
        for i, p in enumerate(params):
            saved = snap["state"].get(i)
            if saved is None:
                self.optimizer.state.pop(p, None)
            else:
                self.optimizer.state[p] = {k: (v.clone() if torch.is_tensor(v) else v) for k, v in saved.items()}
        self.iteration = snap["iteration"]
        del self.losses[snap["n_losses"]:]
        self.val_losses[:] = [(i, v) for i, v in self.val_losses if i <= self.iteration]
        snap["valid"] = False  # one step back only

    def _divergence_message(self, value: float, what: str, kept_iteration: int | None) -> str:
        """One line: what happened, what the model is now, and a learning rate to try."""
        lr = self.config.learning_rate
        if what == "gradients":
            happened = "the gradients became NaN or infinite"
        elif not math.isfinite(value):
            happened = f"the loss became {'NaN' if math.isnan(value) else 'infinite'}"
        else:
            recent = float(np.mean(self.losses[-self.DIVERGENCE_WINDOW:]))
            happened = (f"the loss jumped to {value:.3g} nats, more than {self.DIVERGENCE_FACTOR:g}x the recent "
                        f"mean of {recent:.3g}")
        kept = ("no step was applied" if kept_iteration is None else
                f"the step before it was undone, so the model keeps its weights of iteration {kept_iteration}")
        return (f"training diverged at iteration {self.iteration + 1}: {happened}; {kept}; lower the learning "
                f"rate (now {lr:g}, try {float(f'{lr / 10:.1g}'):g}) and train again")

    @torch.no_grad()
    def validation_loss(self) -> float | None:
        if not self._validation:
            return None
        self.model.eval()
        vals = [float(self._loss(self._batch(b)).item()) for b in self._validation]
        return float(np.mean(vals))

    def steps(self, *, cancel: threading.Event | None = None) -> Generator[TrainingProgress, None, TrainingResult]:
        """Train, yielding progress after every iteration; the generator's return value is the result.

        Use :meth:`run` unless you want to drive the loop yourself.  While it runs, freed
        memory stays in the process for the next step (:func:`.allocator.reuse_freed_memory`).
        """
        with reuse_freed_memory():
            return (yield from self._steps(cancel=cancel))

    def _steps(self, *, cancel: threading.Event | None = None) -> Generator[TrainingProgress, None, TrainingResult]:
        cfg = self.config
        start_iteration = self.iteration
        total = start_iteration + cfg.train_iterations
        self._run_start, self._run_total = start_iteration, total  # the LR schedule spans this run
        t_start = time.perf_counter()
        recent: list[tuple[float, int]] = []  # (time, iteration) to measure speed
        checkpoint: Path | None = None
        checkpoint_error = ""
        reason, message = "iterations", f"reached the iteration limit ({total})"
        val_loss = None
        while self.iteration < total:
            if cancel is not None and cancel.is_set():
                reason, message = "cancelled", f"stopped at iteration {self.iteration}"
                break
            self._apply_learning_rate()
            value = self.step()
            if self.divergence is not None:
                reason, message = "diverged", self.divergence
                break
            # the loss first: a save from another thread (a recovery copy) that reads the
            # iteration, then the losses, then sees at least as many losses as iterations
            self.losses.append(value)
            self.iteration += 1
            now = time.perf_counter()
            recent.append((now, self.iteration))
            recent = recent[-20:]
            if len(recent) > 1:
                rate = (recent[-1][1] - recent[0][1]) / max(recent[-1][0] - recent[0][0], 1e-9)
            else:
                rate = 1.0 / max(now - t_start, 1e-9)
            checkpoint = None
            if cfg.holdout > 0 and (self.iteration % cfg.validate_every == 0 or self.iteration == total):
                val_loss = self.validation_loss()
                if val_loss is not None:
                    self.val_losses.append((self.iteration, val_loss))
            failed = ""
            if cfg.save_weights and self.iteration % cfg.checkpoint_every == 0:
                checkpoint, failed = self._try_checkpoint()
                checkpoint_error = failed
            mean = self.mean_loss()
            assert mean is not None  # a loss was just recorded
            yield TrainingProgress(
                iteration=self.iteration, total_iterations=total, loss=value, mean_loss=mean,
                val_loss=val_loss, samples_per_s=rate * cfg.batch_size * cfg.target_length,
                elapsed=now - t_start, eta=(total - self.iteration) / rate if rate > 0 else None,
                checkpoint=checkpoint, checkpoint_error=failed)
            done = self.iteration - start_iteration
            if cfg.target_loss is not None and done >= min(cfg.loss_window, cfg.train_iterations) \
                    and mean <= cfg.target_loss:
                reason = "target_loss"
                message = (f"reached the target loss: mean of the last {cfg.loss_window} iterations "
                           f"{mean:.4f} <= {cfg.target_loss:g}")
                break
        final_checkpoint = None
        if cfg.save_weights and self.iteration > start_iteration:
            final_checkpoint = checkpoint
            if final_checkpoint is None:
                final_checkpoint, checkpoint_error = self._try_checkpoint()
        self.state.optimizer_state = self.optimizer_state()  # Adam's moments outlive this run
        self.model.eval()
        return TrainingResult(reason=reason, message=message, iterations=self.iteration,
                              final_loss=self.mean_loss(), checkpoint=final_checkpoint,
                              checkpoint_error=checkpoint_error if final_checkpoint is None else "",
                              elapsed=time.perf_counter() - t_start)

    def run(self, *, callback: Callable[[TrainingProgress], None] | None = None,
            cancel: threading.Event | None = None) -> TrainingResult:
        """Train until a stop condition; call ``callback`` after every iteration."""
        return drain(self.steps(cancel=cancel), callback)
