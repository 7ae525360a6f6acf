"""Presets: named bundles of settings, each explained in one sentence, chosen by measurement.

Every value here comes from ``bench/quality.py`` (see the README's "What a user can
expect" table); the comments say which measurement.  A preset fills in the form (or the
CLI's defaults with ``--preset``); the user can still change every field.

Keys are setting names of :data:`wavenet_gui.core.config.SETTINGS` (the CLI flags
without ``--``): model (:class:`~wavenet_gui.core.model.WaveNetConfig` fields), training
(:class:`~wavenet_gui.core.training.TrainingConfig` fields) and generation and input
settings (``temperature``, ``prime``, ``length`` in seconds, ``silence_threshold``);
:func:`wavenet_gui.core.config.preset_values` lays a preset over the table's defaults,
:func:`split_settings` sorts a preset's own keys.  Give the presets the clips' durations
after trimming (as the file list shows them).

Examples
--------
>>> suggest_preset([0.6, 0.8])
'imitate'
>>> s = PRESETS["imitate"].settings(clip_seconds=[0.6])
>>> s["n_blocks"], s["n_dilations"], s["temperature"], s["prime"]
(2, 12, 0.0, 'silence')
>>> PRESETS["variations"].settings(clip_seconds=[30.0])["lr_schedule"]
'cosine'
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError
from .silence import DEFAULT_SILENCE_THRESHOLD

__all__ = ["PRESETS", "Preset", "imitate_dilations", "split_settings", "suggest_preset"]

#: Clips up to this long (each) are imitated; longer material gets Variations.
IMITATE_MAX_SECONDS = 4.0
#: Imitate's receptive field grows with the longest clip up to 2 blocks of this many dilations
#: (2 s at 8 kHz: longer clips get every pause shorter than that covered).
IMITATE_MAX_DILATIONS = 13
IMITATE_MIN_DILATIONS = 10


def imitate_dilations(longest_seconds: float, sample_rate: int) -> int:
    """Dilations per block (2 blocks) whose receptive field covers a clip this long, 10 to 13.

    ``2 * (2**n - 1) + 1 >= samples``: 0.6 s at 8 kHz needs 12 (1.02 s), 1.5 s needs 13 (2.05 s);
    longer clips get 13, which covers every pause up to 2 s.

    Examples
    --------
    >>> [imitate_dilations(s, 8000) for s in (0.2, 0.6, 1.5, 4.0, 9.0)]
    [10, 12, 13, 13, 13]
    """
    samples = max(1.0, longest_seconds * sample_rate)
    n = math.ceil(math.log2((samples + 1) / 2)) if samples > 1 else 1
    return int(min(max(n, IMITATE_MIN_DILATIONS), IMITATE_MAX_DILATIONS))


def _check_seconds(clip_seconds: Sequence[float]) -> list[float]:
    try:
        secs = [float(s) for s in clip_seconds]
    except (TypeError, ValueError):
        raise ConfigError("clip_seconds", f"must be a list of durations in seconds, got {clip_seconds!r}") from None
    if any(not math.isfinite(s) or s < 0 for s in secs):
        raise ConfigError("clip_seconds", "durations must be finite and not negative")
    return secs


#: Iterations of about two minutes of one core by dilations per block (batch 4, up to 4096
#: targets): measured 0.33 / 0.51 / 0.71 CPU s per iteration for 11 / 12 / 13 (bench/quality.py
#: SPEED); 10 is estimated from the 2 x 10 model's 0.18 s at 2048 targets.
_IMITATE_TWO_MINUTES = {10: 500, 11: 350, 12: 240, 13: 170}


def _imitate(clip_seconds: Sequence[float]) -> dict[str, Any]:
    secs = _check_seconds(clip_seconds)
    sr = 8000
    longest = max(secs, default=1.0)
    shortest = min(secs, default=1.0)
    n = imitate_dilations(longest, sr)
    # long windows amortise the long receptive field (2 x 12 at 4096 targets costs 1.7x the default
    # per target), but shorter than the shortest clip (with a margin for its leading silence
    # samples): targets padded after a clip's end are computed and then ignored (wasted work)
    target = int(min(4096, max(1024, (shortest * sr // 256 - 1) * 256)))
    return {
        "sample_rate": sr,
        "n_blocks": 2,
        "n_dilations": n,  # the receptive field covers the longest clip (as the original 2 x 14 did)
        "n_hidden": 32,
        "n_skip": 128,
        "n_end": 128,
        "batch_size": 4,
        "target_length": target,
        "learning_rate": 1e-2,
        "lr_warmup": 20,
        "lr_schedule": "cosine",
        "train_iterations": _IMITATE_TWO_MINUTES[n],  # about 2 minutes of one core (bench/quality.py)
        "silence_threshold": DEFAULT_SILENCE_THRESHOLD,
        "prime": "silence",  # with silence trimmed, this starts at the first non-silent sample
        "temperature": 0.0,  # greedy: replays; see the README for what higher temperatures do
        "length": round(longest, 2),  # seconds to generate: the longest clip (after it, it drifts)
    }


def _variations(clip_seconds: Sequence[float]) -> dict[str, Any]:
    _check_seconds(clip_seconds)
    return {
        "sample_rate": 8000,
        "n_blocks": 2,
        "n_dilations": 10,
        "n_hidden": 32,
        "n_skip": 128,
        "n_end": 128,
        "batch_size": 4,
        "target_length": 2048,
        "learning_rate": 3e-3,
        "lr_warmup": 50,
        "lr_schedule": "cosine",
        "train_iterations": 680,  # about 2 minutes of one core
        "silence_threshold": DEFAULT_SILENCE_THRESHOLD,
        "prime": "silence",
        # bench/quality.py, sentence, 2 minutes: at 1.0 and 0.7 the output is noise-like (log-mel
        # 17 dB, voice 0.55-0.58, no speech); at 0.5 it is speech-like (10 dB, voice 0.79)
        "temperature": 0.5,
    }


def _speech16k(clip_seconds: Sequence[float]) -> dict[str, Any]:
    secs = _check_seconds(clip_seconds)
    short = bool(secs) and max(secs) <= IMITATE_MAX_SECONDS
    return {
        "sample_rate": 16000,
        "n_blocks": 2,
        "n_dilations": 11,  # 256 ms, as the 8 kHz default
        "n_hidden": 32,
        "n_skip": 128,
        "n_end": 128,
        "batch_size": 4,
        "target_length": 4096,
        "learning_rate": 3e-3,
        "lr_warmup": 50,
        "lr_schedule": "cosine",
        # about 10 minutes of one core in float32 (0.37 CPU s per iteration; bfloat16 about half):
        # bench/quality.py, 16 kHz sentence: after 2 minutes (323 iterations) every temperature gave
        # noise or silence; after 10 minutes (1617) temperatures up to 0.3 replay it (2.2 dB, voice 1.00)
        "train_iterations": 1600,
        "silence_threshold": DEFAULT_SILENCE_THRESHOLD,
        "prime": "silence",
        # bench/quality.py, 16 kHz sentence (3.5 s), 10 minutes: 0 and 0.3 replay it (speech 0.98 as the
        # clip's, voice 1.00), 0.5 is half speech (0.49, voice 0.78), 0.7 and 1.0 are noise (speech 0-0.01,
        # voice 0.51, reported). Longer material (the 19 s story at 16 kHz, 10 minutes, loss 2.6): 1.0 gives
        # 88-93% silence with a few bursts, 0.3 and 0.5 silence (all reported): none works yet, 1.0 as before
        "temperature": 0.3 if short else 1.0,
    }


@dataclass(frozen=True)
class Preset:
    """A named bundle of settings with a one-sentence explanation.

    Examples
    --------
    >>> p = PRESETS["speech16k"]
    >>> p.label, p.settings(clip_seconds=[3.0])["sample_rate"]
    ('Speech 16 kHz', 16000)
    """

    name: str
    """``"imitate"``, ``"variations"`` or ``"speech16k"``."""
    label: str
    description: str
    """One sentence for the user."""
    _make: Callable[[Sequence[float]], dict[str, Any]] | None = dataclasses.field(repr=False, compare=False,
                                                                                 default=None)
    values: dict[str, Any] = dataclasses.field(default_factory=dict, repr=False, compare=False)
    """Fixed values (under what ``_make`` computes from the clips' durations)."""

    def settings(self, *, clip_seconds: Sequence[float]) -> dict[str, Any]:
        """The preset's setting values for clips of these durations (seconds), already valid."""
        out = dict(self.values)
        if self._make is not None:
            out.update(self._make(clip_seconds))
        return out


PRESETS: dict[str, Preset] = {
    "imitate": Preset(
        "imitate", "Imitate",
        "For clips up to a few seconds: a receptive field as long as the longest clip, so the model learns "
        "each clip whole and replays it from its first sound (greedy by default; raise the temperature "
        "for looser copies).",
        _imitate),
    "variations": Preset(
        "variations", "Variations",
        "For longer material: a smaller receptive field trained with a learning-rate warm-up and decay, "
        "which makes new audio in the style of the input rather than copies of it.",
        _variations),
    "speech16k": Preset(
        "speech16k", "Speech 16 kHz",
        "Speech at 16 kHz: twice the sample rate of the others for clearer consonants, at about twice the "
        "time per iteration, trained for about 10 minutes of one core by default (shorter runs give noise).",
        _speech16k),
}


def suggest_preset(clip_seconds: Sequence[float]) -> str:
    """The preset that suits these clips: ``"imitate"`` when each is at most 4 s, else ``"variations"``
    (also with no clips: the general-purpose model).

    Examples
    --------
    >>> suggest_preset([0.6, 3.9]), suggest_preset([0.6, 12.0]), suggest_preset([])
    ('imitate', 'variations', 'variations')
    """
    secs = _check_seconds(clip_seconds)
    return "imitate" if secs and all(s <= IMITATE_MAX_SECONDS for s in secs) else "variations"


def split_settings(settings: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Sort settings into (model, training, other) keyword dicts.

    Model keys are :class:`WaveNetConfig` fields, training keys :class:`TrainingConfig`
    fields; everything else (``temperature``, ``prime``, ``silence_threshold`` ...) is
    returned in the third dict.

    Examples
    --------
    >>> m, t, g = split_settings({"n_blocks": 2, "learning_rate": 0.01, "temperature": 0.0})
    >>> m, t, g
    ({'n_blocks': 2}, {'learning_rate': 0.01}, {'temperature': 0.0})
    """
    from .model import WaveNetConfig
    from .training import TrainingConfig

    model_keys = {f.name for f in dataclasses.fields(WaveNetConfig)}
    training_keys = {f.name for f in dataclasses.fields(TrainingConfig)}
    m = {k: v for k, v in settings.items() if k in model_keys}
    t = {k: v for k, v in settings.items() if k in training_keys and k not in model_keys}
    g = {k: v for k, v in settings.items() if k not in model_keys and k not in training_keys}
    return m, t, g
