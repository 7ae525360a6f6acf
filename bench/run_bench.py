"""Benchmark suite of issue 4: generation and training speed, peak training memory.

    python bench/run_bench.py            # full run (about 6 minutes on 2 idle cores), writes bench/results.json
    python bench/run_bench.py --quick    # short run (fewer samples and repeats)

Every number is the median of several repeats, measured in this one run, with 1 thread and
with all threads (``torch.set_num_threads`` / ``numba.set_num_threads`` / our ``threads=``).
Generation: samples/s of one stream (K=8 rows: total over the 8 streams), temperature 1; the Speech 16 kHz
preset's model (speech16k) for generation only: real time at 16 kHz on one and on two threads.
Training: target samples/s of one step (forward, cross-entropy, backward, Adam), float32 and
bfloat16 separately, each against the baseline; the table names the one this CPU trains in.
Training under load: the default model as the CLI trains it, alone and beside a busy process.

    python bench/run_bench.py --load     # only the training-under-load comparison
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import wavenet_gui  # noqa: E402,F401 - first, as in the app: OpenMP's wait policy is set before torch loads

# isort: split

import numba  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from baselines import (  # noqa: E402
    BaselineWaveNet,
    TorchStepGenerator,
    autograd_train_step,
    baseline_train_step,
    naive_generate,
    ours_train_step,
    windowed_train_step,
)

from wavenet_gui.core import fastgen, training  # noqa: E402
from wavenet_gui.core.allocator import reuse_freed_memory  # noqa: E402
from wavenet_gui.core.model import WaveNet, WaveNetConfig  # noqa: E402
from wavenet_gui.core.warmup import keep_torch_threads  # noqa: E402


def configs() -> dict[str, WaveNetConfig]:
    return {
        "seed": WaveNetConfig(n_dilations=14, n_blocks=2, n_hidden=128, n_dilation_channels=128, n_skip=128,
                              n_end=128, n_channels=256, bias=True),
        "small": WaveNetConfig(n_dilations=10, n_blocks=4, n_hidden=32, n_dilation_channels=32, n_skip=256,
                               n_end=256, n_channels=256, bias=True),
        "default": WaveNetConfig(),
        # the Speech 16 kHz preset's model (core/presets.py): generation only, for real time at 16 kHz
        "speech16k": WaveNetConfig(n_dilations=11, n_blocks=2, n_hidden=32, n_skip=128, n_end=128,
                                   sample_rate=16000),
    }


#: configurations measured for generation only (their training is the default model's size)
GENERATION_ONLY = ("speech16k",)


def set_threads(n: int) -> None:
    """numba, keeping torch's count (launching numba's OpenMP layer can reset it: a "1 thread"
    training step then ran on 2 cores), then torch, checked."""
    with keep_torch_threads():
        numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    torch.set_num_threads(n)
    if torch.get_num_threads() != n:
        raise RuntimeError(f"torch runs {torch.get_num_threads()} threads, not {n}")


def macs_per_sample(cfg: WaveNetConfig) -> int:
    """Multiply-adds of one cached generation step (one stream): every layer's dilated
    convolution (2 taps), skip and residual 1x1 (none for the last layer), the output stack."""
    R, D, S, E, C, L = (cfg.n_hidden, cfg.dilation_channels, cfg.n_skip, cfg.n_end, cfg.n_channels,
                        cfg.n_layers)
    return L * (2 * R * 2 * D + D * S) + (L - 1) * D * R + S * E + E * C


def gemm_gflops(repeats: int = 5) -> float:
    """float32 GFLOP/s of a large torch matrix product on the current threads: what this
    machine's cores reach with a tuned GEMM, to compare the generator's arithmetic rate with."""
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    return 2 * 2048**3 / 1e9 * median_rate(lambda: torch.mm(a, b), 1.0, repeats)


def median_rate(fn, amount: float, repeats: int) -> float:
    """amount / median wall time of ``repeats`` calls of fn (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return amount / statistics.median(times)


def make_model(cfg: WaveNetConfig, seed: int = 0) -> WaveNet:
    torch.manual_seed(seed)
    return WaveNet(cfg).eval()


# ---------------------------------------------------------------------------------------
def bench_generation(name, model, threads, quick, rows):
    cfg = model.config
    rep = 2 if quick else 3
    n1 = {"seed": 2048, "small": 8192, "default": 8192, "speech16k": 16384}[name] // (4 if quick else 1)
    rng = np.random.default_rng(0)
    res = {}
    for fmt in fastgen.WEIGHT_FORMATS:
        for K in (1, 8):
            n = max(64, n1 // (4 if K > 1 else 1))
            g = fastgen.FastGenerator(model, n_streams=K, weight_format=fmt, threads=threads)
            state = {"cur": np.full(K, cfg.n_channels // 2)}

            def go(g=g, n=n, K=K, state=state):
                out = g.run(n, first_input=state["cur"], uniforms=rng.random((K, n)), temperature=1.0)
                state["cur"] = out[:, -1]

            res[f"ours_{fmt}_K{K}"] = median_rate(go, K * n, rep)
            g.close()
    step = TorchStepGenerator(model)
    n_step = {"seed": 150, "small": 300, "default": 400, "speech16k": 400}[name] // (3 if quick else 1)
    res["torch_step"] = median_rate(lambda: step.generate(n_step, first_input=cfg.n_channels // 2), n_step, rep)
    n_naive = {"seed": 1, "small": 6, "default": 12, "speech16k": 12}[name] // (1 if name == "seed" or not quick else 2)
    prime = [cfg.n_channels // 2] * cfg.receptive_field
    res["naive"] = median_rate(lambda: naive_generate(model, n_naive, prime=prime), n_naive, rep)
    for key, val in res.items():
        rows.append(dict(kind="generation", config=name, threads=threads, what=key, samples_per_s=val))
    return res


WINDOW_OUTPUTS = 16  # outputs per window in the public-repo style baseline


def bench_training(name, model, threads, quick, rows, batch, target):
    """Target samples/s of one training step (forward, loss, backward, Adam).

    ours: one window of receptive field + target samples through the fused pass, float32
    and bfloat16 products (what TrainingConfig(precision="auto") picks on a CPU with native
    bfloat16); autograd_bf16: the same model through autograd and bfloat16 autocast;
    baseline: the same window through the straightforward padded model;
    windowed: public-repo style, windows of receptive field + 16 outputs, as many per batch
    (up to 16) as fit in 65,536 input samples, so the activations fit in memory."""
    cfg = model.config
    rep = 1 if quick else 2
    window = torch.randint(0, cfg.n_channels, (batch, cfg.receptive_field + target))
    n_windows = max(1, min(16, 65536 // (cfg.receptive_field + WINDOW_OUTPUTS)))
    windows = torch.randint(0, cfg.n_channels, (n_windows, cfg.receptive_field + WINDOW_OUTPUTS))
    ours = make_model(cfg).train()
    ours.load_state_dict(model.state_dict())
    base = BaselineWaveNet.from_model(model).train()
    steps = {
        "ours": (ours, lambda m, o: ours_train_step(m, o, window, target), batch * target),
        "ours_bf16": (ours, lambda m, o: ours_train_step(m, o, window, target, torch.bfloat16), batch * target),
        "autograd_bf16": (ours, lambda m, o: autograd_train_step(m, o, window, target, torch.bfloat16),
                          batch * target),
        "baseline": (base, lambda m, o: baseline_train_step(m, o, window, target), batch * target),
        "windowed": (base, lambda m, o: windowed_train_step(m, o, windows, WINDOW_OUTPUTS),
                     n_windows * WINDOW_OUTPUTS),
    }
    res = {}
    for key, (m, stepfn, amount) in steps.items():
        opt = torch.optim.Adam(m.parameters(), lr=1e-3)
        # ours as the Trainer runs it: freed memory kept for the next step (core/allocator.py);
        # the baselines with the allocator's defaults
        with reuse_freed_memory() if key in ("ours", "ours_bf16", "autograd_bf16") else contextlib.nullcontext():
            res[key] = median_rate(lambda m=m, opt=opt, stepfn=stepfn: stepfn(m, opt), amount, rep)
    for key, val in res.items():
        rows.append(dict(kind="training", config=name, threads=threads, what=key, samples_per_s=val,
                         batch=batch, target=target))
    return res


def _vm_hwm_mb() -> float:
    """Peak resident set of this process (VmHWM; ru_maxrss would carry the parent's over exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory_child(minutes: float, iterations: int) -> None:
    """Peak RSS of training the default model on a synthetic `minutes`-long file (own process)."""
    from wavenet_gui.core.data import WindowSampler
    from wavenet_gui.core.training import Trainer, TrainingConfig

    cfg = WaveNetConfig()
    n = int(minutes * 60 * cfg.sample_rate)
    t = np.arange(n) / cfg.sample_rate
    audio = (0.5 * np.sin(2 * np.pi * 220 * t) * np.sin(2 * np.pi * 0.3 * t)
             + 0.05 * np.random.default_rng(0).standard_normal(n))
    audio = np.clip(audio, -1, 1).astype(np.float32)
    classes = cfg.quantizer.encode(audio)
    del audio, t
    rss_before = _vm_hwm_mb()
    model = WaveNet(cfg)
    tc = TrainingConfig(train_iterations=iterations)
    sampler = WindowSampler([classes], receptive_field=cfg.receptive_field, target_length=tc.target_length,
                            n_channels=cfg.n_channels)
    t0 = time.perf_counter()
    result = Trainer(model, sampler, tc).run()
    print(json.dumps(dict(peak_rss_mb=_vm_hwm_mb(),
                          rss_before_training_mb=rss_before, file_minutes=minutes, file_samples=n,
                          batch_size=tc.batch_size, target_length=tc.target_length, iterations=result.iterations,
                          seconds=time.perf_counter() - t0)))


def load_child(seconds: float) -> None:
    """Training rate of the default model as the CLI trains it (the Trainer's batch and target
    length, its precision for this CPU, every core) for about ``seconds``: its own process, so
    that the OpenMP settings in the environment apply (see :func:`bench_load`)."""
    from wavenet_gui.core.training import TrainingConfig, resolve_precision

    cfg = WaveNetConfig()
    tc = TrainingConfig()
    dtype = resolve_precision(tc.precision, torch.device("cpu")) or torch.float32
    training.warm_up()
    model = make_model(cfg).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    gen = torch.Generator().manual_seed(0)
    window = torch.randint(0, cfg.n_channels, (tc.batch_size, cfg.receptive_field + tc.target_length), generator=gen)
    with reuse_freed_memory():  # as the Trainer
        ours_train_step(model, opt, window, tc.target_length, dtype)  # warm-up
        n, cpu0, t0 = 0, time.process_time(), time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            ours_train_step(model, opt, window, tc.target_length, dtype)
            n += 1
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    print(json.dumps(dict(samples_per_s=n * tc.batch_size * tc.target_length / wall, iterations=n,
                          cpu_s_per_iteration=cpu / max(n, 1), threads=torch.get_num_threads(),
                          precision=str(dtype).replace("torch.", ""))))


#: the OpenMP settings compared under load: (name, environment, torch threads (0: every core)).
#: "ours": what the app and the CLI run with (wavenet_gui sets OMP_WAIT_POLICY=PASSIVE unless
#: the user set it or GOMP_SPINCOUNT); "spinning": OpenMP's own default (libgomp spins 300,000
#: times before it sleeps); "1 thread": ours on one thread.
LOAD_SETTINGS = (
    ("ours", {"OMP_WAIT_POLICY": "PASSIVE"}, 0),
    ("spinning", {"GOMP_SPINCOUNT": "300000"}, 0),
    ("1 thread", {}, 1),
)


def bench_load(quick: bool) -> dict:
    """Training rate (:func:`load_child`) alone and beside a competing busy process (one
    Python loop spinning on a core), for each of :data:`LOAD_SETTINGS`.  Settings and
    conditions alternate, twice over (once in a quick run); medians."""
    seconds = 4.0 if quick else 8.0
    res: dict = {}
    for _ in range(1 if quick else 2):
        for busy in (False, True):
            hog = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if busy else None
            try:
                for name, env_extra, thr in LOAD_SETTINGS:
                    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
                    env.update(env_extra)
                    cmd = [sys.executable, __file__, "--load-child", str(seconds)]
                    cmd += ["--load-threads", str(thr)] if thr else []
                    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
                    try:
                        r = json.loads(out.stdout.strip().splitlines()[-1])
                    except Exception:  # noqa: BLE001 - report, do not stop the bench
                        r = {"error": (out.stderr or out.stdout).strip().splitlines()[-1:]}
                    res.setdefault(f"{name} {'busy' if busy else 'alone'}", []).append(r)
            finally:
                if hog is not None:
                    hog.kill()
                    hog.wait()
    summary = {}
    for key, runs in res.items():
        ok = [r for r in runs if "samples_per_s" in r]
        summary[key] = dict(samples_per_s=statistics.median(r["samples_per_s"] for r in ok),
                            cpu_s_per_iteration=statistics.median(r["cpu_s_per_iteration"] for r in ok),
                            threads=ok[0]["threads"], precision=ok[0]["precision"]) if ok else runs[-1]
    return summary


# ---------------------------------------------------------------------------------------
def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="short run: fewer samples and repeats")
    ap.add_argument("--configs", default="seed,small,default,speech16k")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results.json"))
    ap.add_argument("--load", action="store_true", help="only the training-under-load comparison")
    ap.add_argument("--memory-child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--load-child", type=float, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--load-threads", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.memory_child:
        memory_child(10.0, 3 if args.quick else 10)
        return 0
    if args.load_child is not None:
        if args.load_threads:
            set_threads(args.load_threads)
        load_child(args.load_child)
        return 0
    if args.load:
        print(json.dumps(bench_load(args.quick), indent=1))
        return 0

    t_start = time.perf_counter()
    fastgen.warm_up()
    training.warm_up()
    all_threads = os.cpu_count() or 1
    thread_settings = [1] if all_threads == 1 else [1, all_threads]
    target = 4000 if args.quick else 16000
    rows: list[dict] = []
    summary: dict = {}
    for name in args.configs.split(","):
        cfg = configs()[name]
        model = make_model(cfg)
        summary[name] = {"parameters": model.n_parameters(), "receptive_field": cfg.receptive_field,
                         "sample_rate": cfg.sample_rate}
        for thr in thread_settings:
            set_threads(thr)
            g = bench_generation(name, model, thr, args.quick, rows)
            g["gemm_gflops"] = gemm_gflops()
            g["macs_per_sample"] = macs_per_sample(cfg)
            tr = {} if name in GENERATION_ONLY else bench_training(name, model, thr, args.quick, rows, batch=1,
                                                                    target=target)
            summary[name][f"threads_{thr}"] = {"generation": g, "training": tr}
            print(f"[{time.perf_counter() - t_start:6.1f}s] {name} threads={thr} done", file=sys.stderr, flush=True)
    load = bench_load(args.quick)
    print(f"[{time.perf_counter() - t_start:6.1f}s] training under load done", file=sys.stderr, flush=True)
    mem = subprocess.run([sys.executable, __file__, "--memory-child"] + (["--quick"] if args.quick else []),
                         capture_output=True, text=True)
    try:
        memory = json.loads(mem.stdout.strip().splitlines()[-1])
    except Exception:
        memory = {"error": (mem.stderr or mem.stdout).strip().splitlines()[-1:]}

    # ---- table
    lines = []
    lines.append(f"machine: {platform.processor() or platform.machine()}, {all_threads} cores, "
                 f"torch {torch.__version__}, numba {numba.__version__}; medians; batch 1, "
                 f"target {target} for training")
    from wavenet_gui.core.training import resolve_precision

    auto = resolve_precision("auto", torch.device("cpu"))
    gets = "bfloat16" if auto == torch.bfloat16 else "float32"
    lines.append(f"this CPU {'has' if gets == 'bfloat16' else 'lacks'} native bfloat16: training "
                 f"(precision \"auto\") runs in {gets}, the \"train {'bf16' if gets == 'bfloat16' else 'f32'}\" column")
    hdr = (f"{'config':9} {'thr':>3} | {'ours f32':>9} {'ours bf16':>9} {'torch step':>10} {'naive':>7} | "
           f"{'x step':>6} {'x naive':>7} | {'K=8 f32':>8} {'K=8 bf16':>8} {'K8/K1':>5} | "
           f"{'train f32':>9} {'x base':>6} {'train bf16':>10} {'x base':>6} {'autograd':>8} {'baseline':>8} "
           f"{'windowed':>8} {'x':>6}")
    lines.append(hdr)
    lines.append("-" * len(hdr))
    for name in summary:
        for thr in thread_settings:
            s = summary[name][f"threads_{thr}"]
            g, tr = s["generation"], s["training"]
            f32, bf = g["ours_float32_K1"], g.get("ours_bfloat16_K1", float("nan"))
            train = "(generation only)" if not tr else (
                f"{tr['ours']:9.0f} {tr['ours'] / tr['baseline']:6.2f} {tr['ours_bf16']:10.0f} "
                f"{tr['ours_bf16'] / tr['baseline']:6.2f} {tr['autograd_bf16']:8.0f} {tr['baseline']:8.0f} "
                f"{tr['windowed']:8.0f} {tr['ours' if gets == 'float32' else 'ours_bf16'] / tr['windowed']:6.1f}")
            lines.append(
                f"{name:9} {thr:>3} | {f32:9.0f} {bf:9.0f} {g['torch_step']:10.0f} {g['naive']:7.1f} | "
                f"{f32 / g['torch_step']:6.1f} {f32 / g['naive']:7.0f} | {g['ours_float32_K8']:8.0f} "
                f"{g.get('ours_bfloat16_K8', float('nan')):8.0f} {g['ours_float32_K8'] / f32:5.2f} | {train}")
    for name in summary:
        sr = summary[name]["sample_rate"]
        best = max(v for thr in thread_settings for k, v in summary[name][f"threads_{thr}"]["generation"].items()
                   if k.startswith("ours") and k.endswith("K1"))
        lines.append(f"{name}: {summary[name]['parameters']:,} parameters, receptive field "
                     f"{summary[name]['receptive_field']}, best single stream {best:.0f} samples/s = "
                     f"{best / sr:.2f}x real time at {sr} Hz")
        if all_threads > 1:  # one stream with every thread (FastGenerator(threads=...)), each format
            g = summary[name][f"threads_{all_threads}"]["generation"]
            lines.append(f"  one stream, {all_threads} threads: " + ", ".join(
                f"{fmt} {g[f'ours_{fmt}_K1']:.0f}/s = {g[f'ours_{fmt}_K1'] / sr:.2f}x real time"
                for fmt in fastgen.WEIGHT_FORMATS))
    for name in summary:
        for thr in thread_settings:
            g = summary[name][f"threads_{thr}"]["generation"]
            rate = 2 * g["macs_per_sample"] / 1e9
            lines.append(f"{name} thr={thr}: generation float32 at {g['ours_float32_K1'] * rate:.0f} GFLOP/s (K=1) and "
                         f"{g['ours_float32_K8'] * rate:.0f} GFLOP/s (K=8); "
                         f"torch float32 GEMM {g['gemm_gflops']:.0f} GFLOP/s")
    lines.append("training the default model as the CLI does (batch, target, precision \"auto\"), alone and beside "
                 "a competing busy process (samples/s, CPU s per iteration):")
    for key, v in load.items():
        if "samples_per_s" in v:
            lines.append(f"  {key:16} {v['samples_per_s']:8.0f}/s {v['cpu_s_per_iteration']:6.3f} CPU s "
                         f"({v['threads']} threads, {v['precision']})")
        else:
            lines.append(f"  {key:16} failed: {v}")
    lines.append(f"peak RSS training the default model on a 10-minute file: {memory}")
    lines.append(f"total bench time {time.perf_counter() - t_start:.0f} s")
    print("\n".join(lines))
    Path(args.out).write_text(json.dumps(dict(
        machine=dict(processor=platform.processor(), machine=platform.machine(), cores=all_threads,
                     torch=torch.__version__, numba=numba.__version__, python=platform.python_version()),
        quick=args.quick, training=dict(batch=1, target=target, auto_precision=gets), summary=summary, rows=rows,
        memory=memory, load=load,
        table="\n".join(lines)), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
