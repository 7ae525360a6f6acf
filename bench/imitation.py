"""Does two minutes of training on the bundled example give a recognisable imitation?

Trains the app's default model on the example clip with the app's default settings for
a fixed wall-clock time (120 s unless ``--seconds``) on one thread, generates a few
seconds (from silence, and after the clip's first 0.5 s), and measures how much the result
resembles the clip, against two controls:
the untrained model, and the clip cut into its notes (187.5 ms) put back in a random
order (the right notes and timbre, the wrong tune).

* ``timbre``: correlation of the mean log-mel spectra (the spectral envelope);
* ``pitch_classes``: cosine similarity of the mean chroma (which notes sound, how much);
* ``tune``: cosine similarity of the pitch-class transition matrices (which note follows
  which, from the strongest chroma bin of each frame, counted where it changes).

Each is 1 for the clip against itself.  Writes ``bench/imitation.json`` (and with
``--keep`` the generated audio, ``bench/imitation_generated.wav``).

    python bench/imitation.py [--seconds 120] [--keep] [--from-wav FILE]
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
from wavenet_gui.resources import example_clip_path  # noqa: E402

PRIME_SECONDS = 0.5  # like the window's "Start of a file" (which primes one receptive field)
NOTE_SECONDS = 0.1875  # the example's eighth notes at 160 bpm (scripts/make_resources.py)


def _features(audio: np.ndarray, sr: int):
    audio = audio.astype(np.float32)
    mel = librosa.power_to_db(librosa.feature.melspectrogram(y=audio, sr=sr, n_mels=64), ref=1.0, top_db=80.0)
    chroma = librosa.feature.chroma_stft(y=audio, sr=sr, n_fft=2048, hop_length=256)
    pcs = chroma.argmax(axis=0)
    trans = np.zeros((12, 12))
    for a, b in zip(pcs[:-1], pcs[1:], strict=True):
        if a != b:
            trans[a, b] += 1
    return mel.mean(axis=1) + 80.0, chroma.mean(axis=1), trans.ravel()


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a, b)[0, 1])


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    return float(a @ b / (na * nb)) if na > 0 and nb > 0 else 0.0


def similarity(audio: np.ndarray, reference: np.ndarray, sr: int) -> dict:
    fa, fr = _features(audio, sr), _features(reference, sr)
    return {"timbre": round(_corr(fa[0], fr[0]), 3), "pitch_classes": round(_cos(fa[1], fr[1]), 3),
            "tune": round(_cos(fa[2], fr[2]), 3)}


def shuffled_notes(audio: np.ndarray, sr: int, seed: int) -> np.ndarray:
    n = int(round(NOTE_SECONDS * sr))
    notes = [audio[i:i + n] for i in range(0, len(audio) - n + 1, n)]
    order = np.random.default_rng(seed).permutation(len(notes))
    return np.concatenate([notes[i] for i in order])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=120.0, help="training wall-clock time")
    ap.add_argument("--generate", type=float, default=4.5, help="seconds of audio to generate")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-dilations", type=int, default=None, help="try another model (default: the app's)")
    ap.add_argument("--n-blocks", type=int, default=None)
    ap.add_argument("--clip", default=None, help="train on this file instead of the example clip")
    ap.add_argument("--out", default=str(ROOT / "bench" / "imitation.json"))
    ap.add_argument("--keep", action="store_true", help="write the generated audio to bench/")
    ap.add_argument("--temperatures", type=float, nargs="*", default=[0.9, 0.7],
                    help="also generate (from silence) at these temperatures")
    ap.add_argument("--from-wav", help="measure this generated audio instead of training")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    training.warm_up()
    warm_up()
    cfg = WaveNetConfig()
    if args.n_dilations:
        cfg.n_dilations = args.n_dilations
    if args.n_blocks:
        cfg.n_blocks = args.n_blocks
    clip = load_audio(args.clip or example_clip_path(), sample_rate=cfg.sample_rate)
    classes = cfg.quantizer.encode(clip.samples).astype(np.uint8)
    tcfg = TrainingConfig(train_iterations=10**9, seed=args.seed)  # stopped by the clock
    torch.manual_seed(args.seed)
    model = WaveNet(cfg)
    n_gen = int(args.generate * cfg.sample_rate)

    def gen(m, prime=None, temperature=1.0):
        return generate(m, n_samples=n_gen, seed=args.seed, temperature=temperature, prime=prime).audio[0]

    untrained = gen(model)
    report: dict = {}
    if args.from_wav:
        out = load_audio(args.from_wav, sample_rate=cfg.sample_rate).samples
        report["from_wav"] = args.from_wav
    else:
        sampler = make_sampler([classes], receptive_field=model.receptive_field,
                               target_length=tcfg.target_length, config=cfg)
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
        n_prime = int(PRIME_SECONDS * cfg.sample_rate)
        primed = gen(model, prime=classes[:n_prime].astype(np.int64))
        cooler = {t: gen(model, temperature=t) for t in args.temperatures}
        report.update({
            "training_seconds": round(elapsed, 1),
            "iterations": result.iterations,
            "target_samples_per_s": round(result.iterations * tcfg.batch_size * tcfg.target_length / elapsed),
            "mean_loss_at_seconds": {str(k): round(v, 4) for k, v in marks.items()},
            "final_mean_loss": round(result.final_loss, 4),
        })
    sr, ref = cfg.sample_rate, clip.samples
    report["similarity_to_the_clip"] = {
        "generated": similarity(out, ref, sr),
        **({} if args.from_wav else {
            f"generated after a {PRIME_SECONDS} s prime from the clip": similarity(primed, ref, sr),
            **{f"generated at temperature {t}": similarity(a, ref, sr) for t, a in cooler.items()}}),
        "control: the clip's notes in random order (mean of 5)": {
            k: round(float(np.mean([similarity(shuffled_notes(ref, sr, s), ref, sr)[k] for s in range(5)])), 3)
            for k in ("timbre", "pitch_classes", "tune")},
        "control: untrained model": similarity(untrained, ref, sr),
    }
    report["model"] = {"n_dilations": cfg.n_dilations, "n_blocks": cfg.n_blocks,
                       "receptive_field_ms": round(cfg.receptive_field_seconds * 1000)}
    Path(args.out).write_text(json.dumps(report, indent=2))
    if args.keep and not args.from_wav:
        save_audio(ROOT / "bench" / "imitation_generated.wav", out, sample_rate=cfg.sample_rate)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
