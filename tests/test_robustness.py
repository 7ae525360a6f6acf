"""The user's work survives: Stop at any moment, a kill during a checkpoint write, a bad output folder."""

import errno
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import torch

from wavenet_gui.core.errors import OutputError
from wavenet_gui.core.generation import generate
from wavenet_gui.core.model import WaveNet, WaveNetConfig
from wavenet_gui.core.modelfile import load_model, save_model
from wavenet_gui.core.session import make_sampler, write_prediction
from wavenet_gui.core.training import Trainer, TrainingConfig

CFG = WaveNetConfig(n_dilations=4, n_blocks=1, n_hidden=8, n_skip=16, n_end=16, n_channels=64)


def _trainer(out, **kw):
    model = WaveNet(CFG)
    tone = CFG.quantizer.encode(0.5 * np.sin(np.arange(8000) * 0.3)).astype(np.uint8)
    cfg = TrainingConfig(train_iterations=10_000, batch_size=2, target_length=128, save_weights=True,
                         checkpoint_every=2, output_dir=str(out), **kw)
    return Trainer(model, make_sampler([tone], receptive_field=model.receptive_field, target_length=128,
                                       config=CFG), cfg)


def test_stop_at_random_moments_leaves_a_usable_model_and_a_loadable_checkpoint(tmp_path):
    rng = np.random.default_rng(0)
    for i, delay in enumerate(rng.uniform(0.0, 0.4, size=8)):
        out = tmp_path / f"run{i}"
        trainer = _trainer(out)
        cancel = threading.Event()
        box = {}
        worker = threading.Thread(target=lambda box=box, trainer=trainer, cancel=cancel:
                                  box.update(result=trainer.run(cancel=cancel)))
        worker.start()
        time.sleep(delay)
        cancel.set()
        worker.join(timeout=30)
        assert not worker.is_alive()
        result = box["result"]
        assert result.reason == "cancelled"
        gen = generate(trainer.model, n_samples=32, seed=0)
        assert np.isfinite(gen.audio).all()
        if result.iterations > 0:  # a final checkpoint is written on stop
            loaded = load_model(out)
            assert loaded.training["iteration"] == result.iterations
            for k, v in trainer.model.state_dict().items():
                assert torch.equal(v.cpu(), loaded.model.state_dict()[k])
        assert not list(out.glob(".*tmp*")) if out.exists() else True


WRITER = r"""
import sys, torch
from wavenet_gui.core.model import WaveNet, WaveNetConfig
from wavenet_gui.core.modelfile import save_model
model = WaveNet(WaveNetConfig(n_dilations=8, n_blocks=2, n_hidden=64, n_skip=128, n_end=128))
opt = torch.optim.Adam(model.parameters())
model(torch.zeros(1, 600, dtype=torch.long)).sum().backward(); opt.step()
print("ready", flush=True)
i = 0
while True:
    i += 1
    save_model(sys.argv[1], model, training={"iteration": i}, optimizer=opt, losses=[1.0] * 5000)
"""


def test_killed_during_checkpoint_writes_previous_checkpoint_stays_loadable(tmp_path):
    path = tmp_path / "model.safetensors"
    rng = np.random.default_rng(1)
    seen = set()
    for delay in rng.uniform(0.05, 0.6, size=6):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True)
        try:
            assert proc.stdout.readline().strip() == "ready"
            time.sleep(delay)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        if path.exists():
            loaded = load_model(path)  # never half-written
            seen.add(loaded.training["iteration"])
    assert seen, "the writer never finished a checkpoint"


def test_unwritable_output_folder_is_a_clear_error_and_writes_nothing(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with pytest.raises(OutputError) as err:
        write_prediction(blocker / "sub", np.zeros(100, np.float32), sample_rate=8000)
    assert "\n" not in str(err.value)
    with pytest.raises(OutputError):
        save_model(blocker / "model.safetensors", WaveNet(CFG))
    assert blocker.read_text() == "x"


def test_full_disk_while_saving_leaves_the_old_checkpoint_and_no_temp_file(tmp_path, monkeypatch):
    path = save_model(tmp_path / "model.safetensors", WaveNet(CFG), training={"iteration": 1})
    real_fsync = os.fsync

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OutputError, match="disk is full"):
        save_model(path, WaveNet(CFG), training={"iteration": 2})
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert load_model(path).training["iteration"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]
