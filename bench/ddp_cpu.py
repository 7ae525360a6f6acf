"""Training throughput on this CPU: one process against ``torchrun`` with gloo.

Runs ``wavenet-cli`` on the example clip with the default model, once as one process
(all cores, then one thread) and once per process count given, launched by ``torchrun --standalone``
(one thread each), and reads the training time the CLI prints.  Scored samples per
second = iterations x batch size x target length x processes / training seconds.

Usage::

    nice -n 10 python bench/ddp_cpu.py --iterations 30 --nproc 2 --out bench/ddp_cpu.json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(nproc: int | None, args: argparse.Namespace, out: Path, threads: int | None = None) -> dict:
    cli = ["--train_iterations", str(args.iterations), "--batch_size", str(args.batch_size),
           "--target_length", str(args.target_length), "--precision", "float32", "--length", "0.01",
           "--output_dir", str(out)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if nproc is None:
        if threads:
            env["OMP_NUM_THREADS"] = str(threads)
        cmd = [sys.executable, "-m", "wavenet_gui.cli", *cli]
    else:
        env["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // nproc))
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(nproc),
               "-m", "wavenet_gui.cli", *cli]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    seconds = float(re.search(r"^training: .*\(([\d.]+) s\)$", done.stdout, re.M).group(1))
    world = nproc or 1
    rate = args.iterations * args.batch_size * args.target_length * world / seconds
    first = done.stdout.splitlines()[0]
    result = {"processes": world, "launcher": "torchrun (gloo)" if nproc else "plain",
              "threads_per_process": int(env.get("OMP_NUM_THREADS", os.cpu_count() or 1)), "first_line": first,
              "train_s": seconds, "windows_per_step": args.batch_size * world,
              "samples_per_s": round(rate)}
    print(json.dumps(result), flush=True)
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--iterations", type=int, default=30)
    p.add_argument("--batch_size", type=int, default=4)
    p.add_argument("--target_length", type=int, default=2048)
    p.add_argument("--nproc", type=int, nargs="+", default=[2])
    p.add_argument("--out", type=Path)
    args = p.parse_args()
    results = {"machine": f"{os.cpu_count()} CPU cores (shared with other jobs: busy)", "runs": []}
    with tempfile.TemporaryDirectory() as tmp:
        results["runs"].append(run(None, args, Path(tmp) / "one"))
        results["runs"].append(run(None, args, Path(tmp) / "one1", threads=1))
        for n in args.nproc:
            results["runs"].append(run(n, args, Path(tmp) / f"ddp{n}"))
    if args.out:
        args.out.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
