"""wavenet-gui: train an unconditioned WaveNet on your own audio and listen to what it makes."""

import os as _os

__version__ = "0.1.0"

# OpenMP's idle worker threads sleep instead of spinning (unless the user chose otherwise).
# torch and numba's OpenMP layer each load their own OpenMP runtime; spinning workers of one
# steal the cores from the other and from any other busy program: measured on 2 busy cores,
# training the default model at 1.9k samples/s and 1.7 CPU s per iteration spinning, 12.7k and
# 0.22 CPU s passive (bench/run_bench.py --load).  OpenMP reads this once, when torch loads,
# which is after this package's import when the app or the CLI starts.
if "OMP_WAIT_POLICY" not in _os.environ and "GOMP_SPINCOUNT" not in _os.environ:
    _os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
