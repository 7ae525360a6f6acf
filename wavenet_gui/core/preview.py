"""Previews while training: a short generation from the current weights that leaves training alone.

:func:`preview` snapshots the weights, so the trainer may go on stepping while the preview
generates, and it generates on one thread, so torch's and numba's thread counts stay as they were.  The window calls it
every N iterations or on a button, in the background, then plots and plays the result;
the check of :mod:`wavenet_gui.core.checks` comes with it when a profile of the training
audio is given.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch

from .checks import AudioProfile, Collapse, check_generation
from .errors import ConfigError
from .generation import generate
from .model import WaveNet

__all__ = ["PreviewResult", "preview", "snapshot"]


@dataclass(frozen=True)
class PreviewResult:
    audio: np.ndarray
    """float32 [1, n] in [-1, 1]."""
    sample_rate: int
    iteration: int | None
    """The trainer's iteration count when the weights were taken (None for a bare model)."""
    collapse: Collapse | None
    """What the collapse check found (None: nothing, or no profile given)."""


@torch.no_grad()
def snapshot(source) -> tuple[WaveNet, int | None]:
    """A private copy of the weights to generate from: a Trainer's model, or a model.

    Taken between two training steps (e.g. from the progress callback) the copy is exact; taken
    from another thread while a step runs, it may mix two consecutive steps, which a preview
    does not mind.
    """
    iteration = None
    if isinstance(getattr(source, "model", None), WaveNet) and hasattr(source, "iteration"):
        iteration = int(source.iteration)
        model = source.model
    elif isinstance(source, WaveNet):
        model = source
    else:
        raise ConfigError("model", f"cannot preview a {type(source).__name__}: give a Trainer or a WaveNet")
    return copy.deepcopy(model).eval(), iteration


def preview(source, *, seconds: float = 1.0, temperature: float = 1.0, seed: int = 0, prime=None,
            profile: AudioProfile | None = None, top_k: int = 0, top_p: float = 1.0,
            preset: str | None = None) -> PreviewResult:
    """Generate ``seconds`` of audio from the current weights of a Trainer (or a model).

    Parameters
    ----------
    source : Trainer or WaveNet
        Where the weights come from; it is not changed (nor is the trainer's random state).
    seconds : float, keyword-only
        Length of the preview (default 1 s).
    temperature : float, keyword-only
        0 = greedy.
    top_k, top_p : int, float, keyword-only
        Sampling among the likeliest classes only (0 and 1: off), as in ``generate``.
    seed : int, keyword-only
        Same seed and weights, same preview.
    prime : optional, keyword-only
        Classes to start from (as :func:`~wavenet_gui.core.generation.generate`); default:
        from nothing (the silent past).
    profile : AudioProfile, optional, keyword-only
        The training audio's profile: when given, the collapse check runs on the preview.
    preset : str, optional, keyword-only
        The preset the model was made with: the collapse check's advice does not suggest it.

    Returns
    -------
    PreviewResult

    Examples
    --------
    >>> from wavenet_gui.core.model import WaveNet, WaveNetConfig
    >>> model = WaveNet(WaveNetConfig(n_dilations=3, n_blocks=1, n_hidden=8, n_skip=8, n_end=8))
    >>> preview(model, seconds=0.1).audio.shape
    (1, 800)
    """
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 < seconds <= 60:
        raise ConfigError("seconds", f"a preview lasts more than 0 and at most 60 seconds, got {seconds!r}")
    model, iteration = snapshot(source)
    sr = model.config.sample_rate
    n = max(1, int(round(seconds * sr)))
    result = generate(model, n_samples=n, temperature=temperature, seed=seed, prime=prime, n_streams=1,
                      top_k=top_k, top_p=top_p)
    collapse = check_generation(result.audio[0], profile=profile, preset=preset) if profile is not None else None
    return PreviewResult(result.audio, sr, iteration, collapse)
