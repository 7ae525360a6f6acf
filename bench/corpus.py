"""Hours of training audio: the decoded cache's size, start-up time and peak memory.

Makes a synthetic corpus (tones with drifting pitch plus noise, 16-bit WAV files), then
measures, each in a fresh process:

1. ``cold``: start-up with an empty cache (find the files, decode them once into the
   memory-mapped cache, build the sampler), then a few training iterations;
2. ``warm``: the same again, the cache now filled (nothing is decoded);
3. ``memory`` (with ``--in-memory``): the old way, every file decoded into RAM.

For each: start-up seconds, training seconds per iteration, the peak RSS (``VmHWM``) of
start-up and, reset after it, of training, and at the end the anonymous (private) and
file-backed resident memory.  The cache's size on
disk is reported once.

Usage::

    nice -n 10 python bench/corpus.py --hours 10 --audio /tmp/corpus10h --out bench/corpus.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def make_corpus(folder: Path, *, hours: float, files: int, rate: int) -> list[Path]:
    """``files`` WAV files of ``hours`` in all (kept when they already exist)."""
    import soundfile as sf

    folder.mkdir(parents=True, exist_ok=True)
    seconds = hours * 3600 / files
    n = int(round(seconds * rate))
    paths = []
    for i in range(files):
        path = folder / f"take{i:03d}.wav"
        paths.append(path)
        if path.exists() and sf.info(path).frames == n:
            continue
        rng = np.random.default_rng(i)
        tmp = path.with_suffix(".tmp.wav")
        with sf.SoundFile(tmp, "w", samplerate=rate, channels=1, subtype="PCM_16") as f:
            phase, block = 0.0, rate * 60
            for start in range(0, n, block):
                m = min(block, n - start)
                t = (start + np.arange(m)) / rate
                freq = 110.0 * (1 + i % 7) * (1 + 0.05 * np.sin(2 * np.pi * t / 13.0))
                ph = phase + 2 * np.pi * np.cumsum(freq) / rate
                phase = float(ph[-1])
                x = 0.35 * np.sin(ph) + 0.1 * np.sin(3 * ph) + 0.04 * rng.standard_normal(m)
                f.write(x.astype(np.float32))
        os.replace(tmp, path)
    return paths


def _status() -> dict[str, int]:
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS", "RssAnon", "RssFile"):
            out[key] = int(value.split()[0]) * 1024
    return out


def child(args: argparse.Namespace) -> None:
    """One measured run in this (fresh) process; prints one JSON line."""
    t0 = time.perf_counter()
    import torch

    from wavenet_gui.core.audio import find_audio_files
    from wavenet_gui.core.model import WaveNet, WaveNetConfig
    from wavenet_gui.core.session import load_training_audio, make_sampler
    from wavenet_gui.core.training import Trainer, TrainingConfig

    t_import = time.perf_counter() - t0
    cfg = WaveNetConfig(sample_rate=args.rate).validate()
    files, _ = find_audio_files([args.audio])
    t1 = time.perf_counter()
    corpus = None
    if args.mode == "memory":
        signals, audio = load_training_audio(files, sample_rate=cfg.sample_rate, quantizer=cfg.quantizer,
                                             min_samples=cfg.receptive_field + 1)
        names = [a.path.name for a in audio]
        del audio
    else:
        from wavenet_gui.core.corpus_cache import open_corpus

        corpus = open_corpus(files, sample_rate=cfg.sample_rate, quantizer=cfg.quantizer, cache_dir=args.cache,
                             min_samples=cfg.receptive_field + 1)
        signals, names = corpus.signals(), corpus.names
    tcfg = TrainingConfig(train_iterations=args.iterations, batch_size=4, target_length=2048, precision="float32")
    sampler = make_sampler(signals, receptive_field=cfg.receptive_field, target_length=tcfg.target_length,
                           names=names, config=cfg)
    del signals
    if corpus is not None:
        corpus.release_pages()
    startup = time.perf_counter() - t1
    after_startup = _status()
    try:  # reset VmHWM: what follows is the peak while training
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
    torch.manual_seed(0)
    trainer = Trainer(WaveNet(cfg), sampler, tcfg)
    trainer.step()  # compile / load the kernels outside the timing
    t2 = time.perf_counter()
    trainer.run()
    train_s = time.perf_counter() - t2
    end = _status()
    print(json.dumps({
        "mode": args.mode, "files": len(files), "hours": round(sampler.total_samples / cfg.sample_rate / 3600, 3),
        "import_s": round(t_import, 2), "startup_s": round(startup, 2),
        "s_per_iteration": round(train_s / args.iterations, 3),
        "startup_peak_rss_mb": round(after_startup["VmHWM"] / 1e6, 1),
        "rss_after_startup_mb": round(after_startup["VmRSS"] / 1e6, 1),
        "training_peak_rss_mb": round(end["VmHWM"] / 1e6, 1),
        "end_rss_anon_mb": round(end["RssAnon"] / 1e6, 1), "end_rss_file_mb": round(end["RssFile"] / 1e6, 1),
        "decoded": None if corpus is None else corpus.decoded,
    }))


def run_child(mode: str, args: argparse.Namespace) -> dict:
    cmd = [sys.executable, __file__, "--child", mode, "--audio", str(args.audio), "--cache", str(args.cache),
           "--rate", str(args.rate), "--iterations", str(args.iterations)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{mode} run failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print(json.dumps(result), flush=True)
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hours", type=float, default=10.0)
    p.add_argument("--files", type=int, default=60)
    p.add_argument("--rate", type=int, default=16000)
    p.add_argument("--audio", type=Path, default=Path(tempfile.gettempdir()) / "wavenet-corpus")
    p.add_argument("--cache", type=Path, default=None, help="cache folder (default: a fresh temporary one)")
    p.add_argument("--iterations", type=int, default=10)
    p.add_argument("--in-memory", action="store_true", help="also measure decoding into memory")
    p.add_argument("--out", type=Path)
    p.add_argument("--child", choices=["cold", "warm", "memory"], help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        args.mode = args.child
        child(args)
        return
    t = time.perf_counter()
    paths = make_corpus(args.audio, hours=args.hours, files=args.files, rate=args.rate)
    print(f"corpus: {len(paths)} files, {args.hours} h at {args.rate} Hz, "
          f"{sum(p.stat().st_size for p in paths) / 1e9:.2f} GB of WAV ({time.perf_counter() - t:.0f} s)", flush=True)
    own_cache = args.cache is None
    if own_cache:
        args.cache = Path(tempfile.mkdtemp(prefix="wavenet-corpus-cache-"))
    else:
        shutil.rmtree(args.cache, ignore_errors=True)
    try:
        results = {"machine": f"{os.cpu_count()} CPU cores (shared, busy)", "hours": args.hours,
                   "files": args.files, "rate": args.rate, "iterations": args.iterations,
                   "wav_bytes": sum(p.stat().st_size for p in paths)}
        results["cold"] = run_child("cold", args)
        entries = [e for e in args.cache.iterdir() if e.is_dir()]
        results["cache_bytes"] = sum(f.stat().st_size for e in entries for f in e.iterdir())
        print(f"cache on disk: {results['cache_bytes'] / 1e6:,.0f} MB", flush=True)
        results["warm"] = run_child("warm", args)
        if args.in_memory:
            results["memory"] = run_child("memory", args)
    finally:
        if own_cache:
            shutil.rmtree(args.cache, ignore_errors=True)
    if args.out:
        args.out.write_text(json.dumps(results, indent=1) + "\n")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
