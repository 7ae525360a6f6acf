"""Issue 16 row 11: reading a 6-hour 44.1 kHz stereo WAV, with bounded memory.

    python bench/long_audio.py              # 6 hours (3.8 GB, a sparse file in /tmp), writes bench/long_audio.json
    python bench/long_audio.py --hours 0.5  # shorter

The file is a 16-bit stereo WAV with a one-second tone burst every minute and zeros (holes
of a sparse file, so it takes almost no disk) between; it is deleted afterwards.  Each
measurement runs in a fresh process and reports its peak RSS above the baseline (after
imports) and its wall time:

* ``load_audio_classes`` at 8 kHz: one byte per sample (what training keeps);
* ``load_audio`` at 8 kHz: float32, the existing contract (the window's and the prime's);
* ``display_envelope`` of those classes to 2000 pixels.

Numbers taken while other work runs on the machine are marked in the JSON (load average).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

_MEASURE = """
import json, resource, sys, time
import numpy as np
import soxr  # noqa: F401 (imported before the baseline)
from wavenet_gui.core.audio import display_envelope, load_audio, load_audio_classes
from wavenet_gui.core.quantization import Quantizer
what, path = sys.argv[1], sys.argv[2]
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
if what == "classes":
    n = len(load_audio_classes(path, sample_rate=8000, quantizer=Quantizer(256)).classes)
elif what == "float":
    n = len(load_audio(path, sample_rate=8000).samples)
else:
    c = load_audio_classes(path, sample_rate=8000, quantizer=Quantizer(256)).classes
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    n = len(display_envelope(c, n_buckets=2000, quantizer=Quantizer(256)).lo)
seconds = time.perf_counter() - t0
grew = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
print(json.dumps({"samples": n, "seconds": round(seconds, 2), "peak_rss_growth_mb": round(grew, 1)}))
"""


def write_sparse_wav(path: Path, *, hours: float, rate: int = 44100, channels: int = 2) -> int:
    """A 16-bit WAV of ``hours``: a 440 Hz burst (1 s) every minute, holes between.  Returns frames."""
    import struct

    frames = int(hours * 3600 * rate)
    data = frames * 2 * channels
    if data > 0xFFFFFFFF - 36:
        raise SystemExit("longer than a WAV file can be")
    header = (b"RIFF" + struct.pack("<I", 36 + data) + b"WAVE" + b"fmt "
              + struct.pack("<IHHIIHH", 16, 1, channels, rate, rate * 2 * channels, 2 * channels, 16)
              + b"data" + struct.pack("<I", data))
    burst = (8000 * np.sin(np.arange(rate) * 2 * np.pi * 440 / rate)).astype("<i2")
    frame = np.repeat(burst[:, None], channels, axis=1).tobytes()
    with open(path, "wb") as f:
        f.write(header)
        for start in range(0, frames - rate, 60 * rate):
            f.seek(44 + start * 2 * channels)
            f.write(frame)
        f.truncate(44 + data)
    return frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=6.0)
    parser.add_argument("--out", default=str(ROOT / "bench" / "long_audio.json"))
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    with tempfile.TemporaryDirectory(dir="/tmp" if os.path.isdir("/tmp") else None) as folder:
        path = Path(folder) / "six hours.wav"
        frames = write_sparse_wav(path, hours=args.hours)
        result = {"file": {"hours": args.hours, "rate": 44100, "channels": 2, "frames": frames,
                           "bytes": path.stat().st_size},
                  "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                              "python": platform.python_version(),
                              "load_average_at_start": os.getloadavg()}}
        for what in ("classes", "float", "envelope"):
            proc = subprocess.run([sys.executable, "-c", _MEASURE, what, str(path)], capture_output=True,
                                  text=True, env=env, cwd=ROOT)
            if proc.returncode != 0:
                raise SystemExit(proc.stderr)
            result[what] = json.loads(proc.stdout.splitlines()[-1])
            print(what, result[what], flush=True)
        result["machine"]["load_average_at_end"] = os.getloadavg()
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
