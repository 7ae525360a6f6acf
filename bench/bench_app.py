"""Benchmark the window's launch and close (issue 3: shown in under 2 s; closing is quick).

    python bench/bench_app.py [--runs 7]

Starts ``python -m wavenet_gui.qt.app`` offscreen ``--runs`` times and prints the medians of
- start to window shown (the app's own clock, from its first line of code), and
- window closed to process ended (the app closes itself once idle).
Run on a quiet machine; the first run also warms the file cache and is reported apart.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _env(tmp: str, **extra: str) -> dict:
    return {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": tmp,
            "WAVENET_GUI_LOG_DIR": str(Path(tmp) / "log"), "PYTHONPATH": str(ROOT), **extra}


def launch_once() -> tuple[float, float]:
    """(seconds from start to window shown, seconds from close to process end)."""
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.Popen([sys.executable, "-m", "wavenet_gui.qt.app"], stderr=subprocess.PIPE, text=True,
                                env=_env(tmp, WAVENET_GUI_TIMING="1", WAVENET_GUI_QUIT_WHEN_READY="1"))
        shown = closing = None
        for line in proc.stderr:
            if line.startswith("window shown after"):
                shown = float(line.split()[3])
            elif line.startswith("closing at "):
                closing = float(line.split()[2])
                break
        proc.stderr.read()
        proc.wait(timeout=120)
        ended = time.time()
        if shown is None or closing is None:
            raise RuntimeError(f"the app did not report its timing (exit {proc.returncode})")
        return shown, ended - closing


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    first = launch_once()
    runs = [launch_once() for _ in range(args.runs)]
    shown = statistics.median(r[0] for r in runs)
    closed = statistics.median(r[1] for r in runs)
    print(f"first (cold) run: shown after {first[0]:.2f} s, ended {first[1]:.2f} s after close")
    print(f"median of {args.runs}: window shown {shown:.2f} s after start; "
          f"process ended {closed:.2f} s after the window closed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
