"""Presets: named bundles of setting values, each explained in one sentence.

A preset fills in the form (the window's choice at the top of the Training tab) or
the defaults of ``wavenet-cli --preset NAME``; the user can still change every
field.  The defaults the window opens with are the preset that suits the files in
the list (:func:`suggest_preset`).  Values may depend on the clips' durations.

Keys are setting names of :data:`wavenet_gui.core.config.SETTINGS` (the CLI flags
without ``--``); :func:`wavenet_gui.core.config.preset_values` lays a preset over
the table's defaults and ignores keys the table does not have.

Examples
--------
>>> suggest_preset([1.5, 2.0])
'imitate'
>>> PRESETS["imitate"].settings(clip_seconds=[2.0])["n_dilations"]
12
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["PRESETS", "Preset", "suggest_preset"]

#: Clips up to this long (seconds) are imitated by default; longer ones give variations.
IMITATE_UP_TO_S = 3.0


@dataclass(frozen=True)
class Preset:
    """A named bundle of setting values.

    Attributes
    ----------
    name : str
        ``"imitate"``, ``"variations"`` or ``"speech16k"``.
    label : str
        What the form shows.
    description : str
        One sentence for the user.
    """

    name: str
    label: str
    description: str
    values: dict[str, Any] = field(default_factory=dict, repr=False)
    sized: Callable[[Sequence[float], dict[str, Any]], dict[str, Any]] | None = field(default=None, repr=False)

    def settings(self, *, clip_seconds: Sequence[float]) -> dict[str, Any]:
        """The values of this preset for clips of these durations (seconds)."""
        out = dict(self.values)
        if self.sized is not None:
            out.update(self.sized(list(clip_seconds), out))
        return out


def _imitate(clip_seconds: Sequence[float], values: dict[str, Any]) -> dict[str, Any]:
    """Size the receptive field to the longest clip: 2 blocks of up to 14 dilations.

    A training window (receptive field + target samples) must fit in the clip, so the
    field covers what is left after the target samples.
    """
    rate = values["sample_rate"]
    longest = int(max(clip_seconds, default=0.0) * rate)
    if longest <= 0:
        return {}
    target = int(min(values["target_length"], max(64, longest // 4)))
    room = max(longest - target, 3)
    blocks = values["n_blocks"]
    # receptive field = blocks * (2**n - 1) + 1 <= room
    n = int(math.floor(math.log2((room - 1) / blocks + 1)))
    return {"n_dilations": max(1, min(14, n)), "target_length": target}


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "imitate", "Imitate",
            "Learn a short clip closely, so that what the model generates sounds like the clip: "
            "the receptive field covers as much of the longest clip as a training window allows.",
            values={"sample_rate": 8000, "n_blocks": 2, "n_dilations": 12, "n_hidden": 32, "n_skip": 128,
                    "n_end": 128, "learning_rate": 3e-3, "train_iterations": 3000, "batch_size": 4,
                    "target_length": 2048, "temperature": 1.0},
            sized=_imitate,
        ),
        Preset(
            "variations", "Variations",
            "Learn the sound of the files and generate new material in their style "
            "(a quarter-second receptive field at 8 kHz).",
            values={"sample_rate": 8000, "n_blocks": 2, "n_dilations": 10, "n_hidden": 32, "n_skip": 128,
                    "n_end": 128, "learning_rate": 3e-3, "train_iterations": 1000, "batch_size": 4,
                    "target_length": 2048, "temperature": 1.0},
        ),
        Preset(
            "speech16k", "Speech 16 kHz",
            "Voices at 16 kHz: a wider model that hears half a second, slower to train.",
            values={"sample_rate": 16000, "n_blocks": 2, "n_dilations": 12, "n_hidden": 64, "n_skip": 256,
                    "n_end": 256, "learning_rate": 1e-3, "train_iterations": 5000, "batch_size": 4,
                    "target_length": 4096, "temperature": 1.0},
        ),
    )
}


def suggest_preset(clip_seconds: Sequence[float]) -> str:
    """The preset that suits clips of these durations: ``"imitate"`` up to ~3 s, else ``"variations"``.

    >>> suggest_preset([]), suggest_preset([4.5])
    ('variations', 'variations')
    """
    longest = max(clip_seconds, default=0.0)
    return "imitate" if 0 < longest <= IMITATE_UP_TO_S else "variations"
