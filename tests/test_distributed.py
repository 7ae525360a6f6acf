"""DistributedDataParallel through torchrun, on this CPU with gloo (what CI checks).

Each launch starts real processes (``python -m torch.distributed.run``, i.e. ``torchrun``)
on a tiny model for a few iterations.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from wavenet_gui.core.distributed import TorchrunEnv, rank_rng, torchrun_env
from wavenet_gui.core.errors import ConfigError

TINY = ["--n_dilations", "3", "--n_blocks", "1", "--n_hidden", "8", "--n_skip", "8", "--n_end", "8",
        "--target_length", "64", "--batch_size", "2", "--learning_rate", "0.01",
        "--precision", "float32", "--length", "0.01", "--train_seed", "3"]


def torchrun(nproc: int, *args: str, timeout: float = 240, **popen) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1]), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(nproc),
           "-m", "wavenet_gui.cli", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, **popen)


def test_torchrun_environment_is_read_and_checked():
    assert torchrun_env({"RANK": "0", "WORLD_SIZE": "4", "LOCAL_RANK": "0"}) == TorchrunEnv(0, 4, 0)
    assert torchrun_env({"RANK": "3", "WORLD_SIZE": "4"}) == TorchrunEnv(3, 4, 3)
    assert torchrun_env({"WORLD_SIZE": "4"}) is None
    with pytest.raises(ConfigError, match="inconsistent"):
        torchrun_env({"RANK": "4", "WORLD_SIZE": "4"})
    with pytest.raises(ConfigError, match="RANK='x' is not a whole number"):
        torchrun_env({"RANK": "x", "WORLD_SIZE": "4"})


class UnionSampler:
    """One process's view of a launch: each step, every rank's windows in rank order."""

    def __init__(self, sampler, *, seed: int, iteration: int, world: int) -> None:
        self.inner = sampler
        self.window = sampler.window
        self.receptive_field = sampler.receptive_field
        self.pad_class = sampler.pad_class
        self.rngs = [rank_rng(seed, iteration, r) for r in range(world)]

    def sample(self, batch_size: int, rng) -> np.ndarray:  # noqa: ARG002 - the ranks' generators decide
        per = batch_size // len(self.rngs)
        return np.concatenate([self.inner.sample(per, r) for r in self.rngs])

    def validation_batches(self, batch_size: int):
        return []


def single_process_reference(iterations: int, *, world: int, batch: int, seed: int = 3):
    from wavenet_gui.core.model import WaveNet, WaveNetConfig
    from wavenet_gui.core.session import load_training_audio, make_sampler
    from wavenet_gui.core.training import Trainer, TrainingConfig
    from wavenet_gui.resources import example_clip_path

    cfg = WaveNetConfig(n_dilations=3, n_blocks=1, n_hidden=8, n_skip=8, n_end=8).validate()
    torch.manual_seed(seed)
    model = WaveNet(cfg)
    signals, _ = load_training_audio([example_clip_path()], sample_rate=cfg.sample_rate,
                                     quantizer=cfg.quantizer, min_samples=cfg.receptive_field + 1)
    sampler = make_sampler(signals, receptive_field=cfg.receptive_field, target_length=64, config=cfg)
    tcfg = TrainingConfig(train_iterations=iterations, batch_size=world * batch, target_length=64,
                          learning_rate=0.01, seed=seed, precision="float32")
    trainer = Trainer(model, UnionSampler(sampler, seed=seed, iteration=0, world=world), tcfg)
    trainer.run()
    return trainer


def test_two_processes_train_like_one_process_on_their_windows_together(tmp_path):
    out = tmp_path / "ddp"
    done = torchrun(2, *TINY, "--train_iterations", "6", "--output_dir", str(out))
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert lines[0] == "training on 2 processes (world size 2, gloo)"
    assert sum("saved" in line for line in lines) == 1  # only rank 0 speaks
    files = sorted(p.name for p in out.iterdir())
    assert files.count("model.safetensors") == 1 and not [f for f in files if f.endswith(".tmp")]

    from wavenet_gui.core.modelfile import load_model

    loaded = load_model(out)
    assert loaded.training["iteration"] == 6
    ref = single_process_reference(6, world=2, batch=2)
    np.testing.assert_allclose(loaded.losses, ref.losses, rtol=1e-5)
    for (name, a), b in zip(ref.model.state_dict().items(), loaded.model.state_dict().values(), strict=True):
        torch.testing.assert_close(b, a, rtol=1e-4, atol=2e-5, msg=name)
    # and it is not what one process on rank 0's windows alone would give
    alone = single_process_reference(6, world=1, batch=2)
    assert not np.allclose(alone.losses, ref.losses, rtol=1e-3)

    # resume with another number of processes: one (torchrun), then a plain single run; continuing
    # names its audio (without --wav it is refused rather than trained on the example clip)
    from wavenet_gui.resources import example_clip_path

    again = torchrun(1, *TINY, "--model", str(out), "--train", "true", "--train_iterations", "3",
                     "--output_dir", str(out), "--wav", str(example_clip_path()))
    assert again.returncode == 0, again.stderr[-3000:]
    assert again.stdout.splitlines()[0] == "training on 1 process (world size 1, gloo)"
    resumed = load_model(out)
    assert resumed.training["iteration"] == 9 and len(resumed.losses) == 9
    assert resumed.losses[:6] == pytest.approx(loaded.losses)
    assert resumed.optimizer_state["step"] == 9


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _rank_of(pid: int) -> int | None:
    try:
        env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return None
    for item in env:
        if item.startswith(b"RANK="):
            return int(item[5:])
    return None


@pytest.mark.parametrize("whom", ["rank0", "terminal"])
def test_ctrl_c_stops_every_rank_cleanly_and_rank_0_saves(tmp_path, whom):
    """Ctrl+C on rank 0 alone, or a terminal's Ctrl+C (every process, then torchrun forwards
    it once more): all ranks stop after the same iteration, rank 0 writes the model."""
    out = tmp_path / "stop"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1]), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "wavenet_gui.cli", *TINY, "--train_iterations", "1000000", "--output_dir", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)
    try:
        # training has begun once rank 0 prints its first progress line (stderr)
        deadline = time.monotonic() + 180
        seen = ""
        while "train [" not in seen and time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
            seen += line
        assert "train [" in seen, seen
        time.sleep(0.5)
        if whom == "rank0":
            workers = _children(proc.pid)
            rank0 = [p for p in workers if _rank_of(p) == 0]
            assert rank0, workers
            os.kill(rank0[0], signal.SIGINT)
        else:
            os.killpg(proc.pid, signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert "stopped at iteration" in stdout, stdout + stderr[-2000:]
    assert "Traceback" not in stdout and "KeyboardInterrupt" not in stderr, stderr[-3000:]
    if whom == "rank0":
        assert proc.returncode == 0, stderr[-3000:]
    from wavenet_gui.core.modelfile import load_model

    loaded = load_model(out)
    assert 0 < loaded.training["iteration"] < 1000000
    assert len(loaded.losses) == loaded.training["iteration"]
