"""Thread hygiene (issue 14): no call of ours leaves torch's or numba's thread count changed.

Launching numba's OpenMP layer can reset the calling thread's OpenMP thread count, which is
torch's (measured: generating several variations switched torch from 1 thread to 2, and the next
training ran at 0.92 instead of 0.40 CPU s per iteration).  Each case runs in a fresh process,
where the first launch happens.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

# not marked "kernels": thread counts, not memory safety (the bounds-checked CI run stays short)

SETUP = """
import numpy as np, torch, numba
torch.set_num_threads({torch_threads})
# as in the app, torch has run before our numba code: (only) then does launching numba's OpenMP
# layer change torch's count
assert torch.get_num_threads() == {torch_threads}
numba_threads = {numba_threads}
if numba_threads is None:  # untouched: our code launches numba's threading layer first
    numba_threads = numba.config.NUMBA_NUM_THREADS
else:
    numba.set_num_threads(numba_threads)  # launches numba's layer: may change torch's count
    torch.set_num_threads({torch_threads})
from wavenet_gui.core.model import WaveNet, WaveNetConfig
model = WaveNet(WaveNetConfig(n_dilations=4, n_blocks=1, n_hidden=8, n_skip=8, n_end=8, n_channels=32))

from wavenet_gui.core.warmup import keep_torch_threads

def check(what):
    t = torch.get_num_threads()
    with keep_torch_threads():  # the check itself may be the first to launch numba's layer
        got = (t, numba.get_num_threads())
    assert got == ({torch_threads}, numba_threads), f"after {{what}}: torch, numba threads {{got}}"
"""

CASES = {
    "training warm-up": """
from wavenet_gui.core import training
training.warm_up()
check("training.warm_up")
""",
    "generation warm-up": """
from wavenet_gui.core import generation
generation.warm_up()
check("generation.warm_up")
""",
    "training": """
from wavenet_gui.core.session import make_sampler
from wavenet_gui.core.training import Trainer, TrainingConfig
sig = model.config.quantizer.encode(0.5 * np.sin(np.arange(20000) * 0.05)).astype(np.uint8)
cfg = TrainingConfig(train_iterations=3, batch_size=2, target_length=4100)  # rows enough for two blocks
sampler = make_sampler([sig], receptive_field=model.receptive_field, target_length=4100, config=model.config)
Trainer(model, sampler, cfg).run()
check("training")
""",
    "generation with K streams": """
from wavenet_gui.core.generation import generate
for k in (3, 1):  # 3 first: the first launch of numba's threading layer happens there
    generate(model, n_samples=200, n_streams=k, seed=0, backend="fast")
    check(f"generation with {k} streams")
""",
}


@pytest.mark.parametrize("torch_threads,numba_threads", [(1, None), (1, 1), (1, 2), (2, 1)])
@pytest.mark.parametrize("case", sorted(CASES))
def test_thread_counts_are_unchanged(case, torch_threads, numba_threads):
    code = textwrap.dedent(SETUP.format(torch_threads=torch_threads, numba_threads=numba_threads)) + CASES[case]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]


IDLE = """
import os, time, wavenet_gui.cli  # the CLI's entry: wavenet_gui is imported before torch loads
import numpy as np, torch, numba
from wavenet_gui.core import trainkernels
from wavenet_gui.core.warmup import keep_torch_threads
torch.set_num_threads(2)
with keep_torch_threads():
    numba.set_num_threads(2)
a = torch.randn(4096, 256)
A = torch.randn(8192, 64)
for _ in range(20):
    a @ a.t()  # torch's OpenMP workers
    trainkernels.gate_backward(A, torch.randn(8192, 32), threads=2)  # numba's
t0 = time.process_time()
time.sleep(0.3)
print(os.environ.get("OMP_WAIT_POLICY"), time.process_time() - t0)
"""


@pytest.mark.parametrize("user_env,policy", [({}, "PASSIVE"), ({"OMP_WAIT_POLICY": "active"}, "active"),
                                             ({"GOMP_SPINCOUNT": "1000"}, None)])
def test_openmp_workers_sleep_when_idle(user_env, policy):
    """Idle OpenMP workers (torch's and numba's runtimes) sleep instead of spinning, unless the
    user chose a policy: spinning workers of one runtime steal the cores from the other and from
    every other program (measured: training 7x slower on a busy machine)."""
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    out = subprocess.run([sys.executable, "-c", IDLE], capture_output=True, text=True, timeout=300,
                         env={**env, **user_env})
    assert out.returncode == 0, out.stderr[-2000:]
    got, cpu = out.stdout.split()
    assert got == str(policy)
    if policy == "PASSIVE":
        assert float(cpu) < 0.02, f"{cpu} CPU s spent while idle for 0.3 s"
