"""The training state of one model, kept across runs: :class:`TrainingState` (torch-free).

The window shows it (the loss plot) before PyTorch has loaded; the
:class:`~wavenet_gui.core.training.Trainer` writes it as it trains.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

__all__ = ["TrainingState"]


@dataclass
class TrainingState:
    """What training has done to one model so far; it outlives every run on that model.

    Stops, continues, saves and loads keep it whole: a :class:`Trainer` reads and writes
    the state it is given (its ``iteration``, ``losses`` and ``val_losses`` are this
    object's), and leaves Adam's moments here when a run ends.  The
    :class:`~wavenet_gui.core.session.Session` keeps one per model; a model file
    carries it (:func:`save_trained_model`, :meth:`from_loaded`).

    Examples
    --------
    >>> state = TrainingState()
    >>> state.iteration, state.mean_loss()
    (0, None)
    """

    iteration: int = 0
    """Iterations trained, over every run."""
    losses: list[float] = field(default_factory=list)
    """Training loss of every iteration (the last ``len(losses)`` iterations when a file had fewer)."""
    val_losses: list[tuple[int, float]] = field(default_factory=list)
    """``(iteration, validation loss)`` whenever one was measured."""
    optimizer_state: dict | None = None
    """Adam's state as :meth:`Trainer.optimizer_state` gives it (None before the first step)."""

    def mean_loss(self, window: int = 20) -> float | None:
        """Mean of the last ``window`` losses (None before any)."""
        return float(np.mean(self.losses[-window:])) if self.losses else None

    def header(self) -> dict:
        """The model file's ``training`` record of this state (JSON)."""
        return {"iteration": int(self.iteration),
                "loss": self.losses[-1] if self.losses else None,
                "mean_loss": self.mean_loss(),
                # two flat lists: a model file's training record holds plain values and lists of them
                "val_iterations": [int(i) for i, _ in self.val_losses],
                "val_losses": [float(v) for _, v in self.val_losses]}

    @classmethod
    def from_loaded(cls, loaded) -> TrainingState:
        """The state a model file carries (a file without one gives a fresh state)."""
        training = loaded.training if isinstance(loaded.training, dict) else {}
        losses = list(loaded.losses or [])
        iteration = training.get("iteration")
        if isinstance(iteration, bool) or not isinstance(iteration, int) or iteration < 0:
            iteration = len(losses)
        vals = []
        its, values = training.get("val_iterations") or [], training.get("val_losses") or []
        if isinstance(its, list) and isinstance(values, list):
            for i, v in zip(its, values, strict=False):
                if isinstance(i, int) and not isinstance(i, bool) and isinstance(v, (int, float)) \
                        and math.isfinite(v):
                    vals.append((int(i), float(v)))
        return cls(iteration=max(int(iteration), len(losses)), losses=losses, val_losses=vals,
                   optimizer_state=loaded.optimizer_state)
