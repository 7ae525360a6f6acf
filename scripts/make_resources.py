#!/usr/bin/env python3
"""Make the files in resources/ that are generated: the example clip and the icon renders.

Usage::

    python scripts/make_resources.py            # both
    python scripts/make_resources.py --clip     # resources/example.wav only
    python scripts/make_resources.py --icons    # icon-*.png and icon.ico from icon.svg

The example clip is synthesised here with numpy alone (no samples, no recordings), so it
is ours to ship under the project's licence.  It is a little plucked-string melody in E
minor at 160 bpm, eight notes played three times: 4.5 s, mono, 16 kHz, 16-bit PCM (about 144 KB).
Each note is a sum of six harmonics whose amplitudes fall as 1/k^1.2 and whose decay
is faster for higher harmonics, so the tone starts bright and mellows, like a pluck.
A strongly repeating, pitched, narrow-band signal is what a small unconditioned
WaveNet learns recognisably within a couple of minutes of CPU training.

The output is deterministic: the same numpy gives the same bytes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

RESOURCES = Path(__file__).resolve().parent.parent / "resources"

SAMPLE_RATE = 16_000
# Eighth notes at 160 bpm: each note (187.5 ms) is shorter than the default model's receptive
# field (2,047 samples at 8 kHz = 256 ms), so the model can learn which note follows which.
# (At 96 bpm, 312.5 ms a note, a model trained two minutes held one note instead of the tune.)
NOTE_SECONDS = 0.1875
# E4 G4 B4 A4 G4 E4 D4 E4 (MIDI note numbers), played three times.
MELODY = (64, 67, 71, 69, 67, 64, 62, 64)
REPEATS = 3
N_HARMONICS = 6
RING_SECONDS = 0.6  # how long a note rings on under the following notes
PEAK = 0.8  # about -2 dBFS


def midi_to_hz(note: int) -> float:
    return 440.0 * 2.0 ** ((note - 69) / 12.0)


def pluck(freq: float, *, seconds: float, sample_rate: int) -> np.ndarray:
    """One plucked harmonic tone of ``seconds`` seconds, peak about 1."""
    t = np.arange(int(round(seconds * sample_rate)), dtype=np.float64) / sample_rate
    tone = np.zeros_like(t)
    for k in range(1, N_HARMONICS + 1):
        if k * freq >= 0.45 * sample_rate:
            break
        amplitude = 1.0 / k**1.2
        decay = 3.0 + 2.5 * (k - 1)  # 1/s: higher harmonics die faster
        tone += amplitude * np.exp(-decay * t) * np.sin(2 * np.pi * k * freq * t)
    attack = np.minimum(1.0, t / 0.004)  # 4 ms attack: no click
    release = np.clip((seconds - t) / 0.05, 0.0, 1.0)  # 50 ms fade at the end of the ring
    return tone * attack * release


def make_clip(sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """The example melody as float32 in [-PEAK, PEAK]."""
    notes = MELODY * REPEATS
    total = int(round(len(notes) * NOTE_SECONDS * sample_rate))
    out = np.zeros(total, dtype=np.float64)
    step = int(round(NOTE_SECONDS * sample_rate))
    for i, note in enumerate(notes):
        tone = pluck(midi_to_hz(note), seconds=RING_SECONDS, sample_rate=sample_rate)
        start = i * step
        end = min(total, start + tone.size)
        out[start:end] += tone[: end - start]
    # Fade the last 80 ms so the clip ends in silence.
    fade = int(0.08 * sample_rate)
    out[-fade:] *= np.linspace(1.0, 0.0, fade)
    out *= PEAK / np.max(np.abs(out))
    return out.astype(np.float32)


def write_clip(path: Path) -> Path:
    import soundfile as sf

    samples = make_clip()
    sf.write(str(path), samples, SAMPLE_RATE, subtype="PCM_16", format="WAV")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", action="store_true", help="write resources/example.wav")
    parser.add_argument("--icons", action="store_true", help="render the icon PNGs and .ico")
    args = parser.parse_args(argv)
    do_all = not (args.clip or args.icons)
    if args.clip or do_all:
        path = write_clip(RESOURCES / "example.wav")
        print(f"wrote resources/{path.name} ({path.stat().st_size} bytes)")
    if args.icons or do_all:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import render_icons

        render_icons.main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
