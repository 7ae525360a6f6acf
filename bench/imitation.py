"""Does two minutes of training on the bundled example give a recognisable imitation?

Trains the app's default model on the example clip with the app's default settings for
a fixed wall-clock time (120 s unless ``--seconds``) on one thread, generates a few
seconds, and measures how much the result sounds like the clip, by pitch:

* ``in_melody``: the fraction of voiced frames (librosa.pyin) whose nearest MIDI note is
  one of the melody's notes (E4 G4 B4 A4 D4);
* ``voiced``: the fraction of frames with a detected pitch (a plucked tone, not noise);
* ``notes_per_s``: note changes per second (the clip plays 5.3 notes a second);
* ``melody_steps``: the fraction of note changes that are steps of the melody
  (E4->G4, G4->B4, B4->A4, A4->G4, G4->E4, E4->D4, D4->E4), i.e. the tune's own moves.

The same measures for the clip itself and for the untrained model frame the numbers.
Writes ``bench/imitation.json`` and the generated audio next to it (``--keep``).

    python bench/imitation.py [--seconds 120] [--keep]
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import librosa  # noqa: E402

from wavenet_gui.core import training  # noqa: E402
from wavenet_gui.core.audio import load_audio, save_audio  # noqa: E402
from wavenet_gui.core.generation import generate, warm_up  # noqa: E402
from wavenet_gui.core.model import WaveNet, WaveNetConfig  # noqa: E402
from wavenet_gui.core.session import make_sampler  # noqa: E402
from wavenet_gui.core.training import Trainer, TrainingConfig  # noqa: E402
from wavenet_gui.resources_api import example_clip_path  # noqa: E402

MELODY = [64, 67, 71, 69, 67, 64, 62, 64]  # the example's tune (scripts/make_resources.py)
NOTES = set(MELODY)
STEPS = {(a, b) for a, b in zip(MELODY, MELODY[1:] + MELODY[:1]) if a != b}


def pitch_measures(audio: np.ndarray, sample_rate: int) -> dict:
    f0, voiced, _ = librosa.pyin(audio.astype(np.float64), fmin=librosa.note_to_hz("C3"),
                                 fmax=librosa.note_to_hz("C6"), sr=sample_rate, frame_length=1024,
                                 hop_length=128)
    frames = len(f0)
    notes = np.round(librosa.hz_to_midi(f0[voiced])).astype(int) if voiced.any() else np.array([], int)
    # note runs of at least 3 frames (48 ms), so vibrato and onsets do not count as changes
    runs: list[int] = []
    i = 0
    while i < len(notes):
        j = i
        while j < len(notes) and notes[j] == notes[i]:
            j += 1
        if j - i >= 3:
            if not runs or runs[-1] != notes[i]:
                runs.append(int(notes[i]))
        i = j
    changes = list(zip(runs, runs[1:]))
    seconds = len(audio) / sample_rate
    return {
        "voiced": float(voiced.mean()) if frames else 0.0,
        "in_melody": float(np.isin(notes, list(NOTES)).mean()) if len(notes) else 0.0,
        "notes_per_s": len(changes) / seconds,
        "melody_steps": float(np.mean([c in STEPS for c in changes])) if changes else 0.0,
        "distinct_notes": sorted(set(runs)),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=120.0, help="training wall-clock time")
    ap.add_argument("--generate", type=float, default=4.5, help="seconds of audio to generate")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep", action="store_true", help="write the generated audio to bench/")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    training.warm_up()
    warm_up()
    cfg = WaveNetConfig()
    clip = load_audio(example_clip_path(), sample_rate=cfg.sample_rate)
    classes = cfg.quantizer.encode(clip.samples).astype(np.uint8)
    tcfg = TrainingConfig(train_iterations=10**9, seed=args.seed)  # stopped by the clock
    torch.manual_seed(args.seed)
    model = WaveNet(cfg)
    n_gen = int(args.generate * cfg.sample_rate)

    def gen(m):
        return generate(m, n_samples=n_gen, seed=args.seed, temperature=1.0).audio[0]

    untrained = gen(model)
    sampler = make_sampler([classes], receptive_field=model.receptive_field, target_length=tcfg.target_length,
                           config=cfg)
    trainer = Trainer(model, sampler, tcfg)
    cancel = threading.Event()
    timer = threading.Timer(args.seconds, cancel.set)
    marks: dict[int, float] = {}
    t0 = time.perf_counter()

    def progress(p):
        for s in (15, 30, 60, 90, 120):
            if s not in marks and time.perf_counter() - t0 >= s:
                marks[s] = p.mean_loss

    timer.start()
    result = trainer.run(callback=progress, cancel=cancel)
    elapsed = time.perf_counter() - t0
    out = gen(model)
    report = {
        "training_seconds": round(elapsed, 1),
        "iterations": result.iterations,
        "target_samples_per_s": round(result.iterations * tcfg.batch_size * tcfg.target_length / elapsed),
        "mean_loss_at_seconds": {str(k): round(v, 4) for k, v in marks.items()},
        "final_mean_loss": round(result.final_loss, 4),
        "clip": pitch_measures(clip.samples, cfg.sample_rate),
        "generated": pitch_measures(out, cfg.sample_rate),
        "untrained": pitch_measures(untrained, cfg.sample_rate),
    }
    (ROOT / "bench" / "imitation.json").write_text(json.dumps(report, indent=2))
    if args.keep:
        save_audio(ROOT / "bench" / "imitation_generated.wav", out, sample_rate=cfg.sample_rate)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
