"""The core runs without Qt: importing it and training + generating loads no PySide6, pyqtgraph or sounddevice."""

import subprocess
import sys

SCRIPT = r"""
import sys
import numpy as np
from wavenet_gui.core import audio, data, generation, model, modelfile, quantization, session, training
m = model.WaveNet(model.WaveNetConfig(n_dilations=3, n_blocks=1, n_hidden=8, n_skip=8, n_end=8))
tone = m.config.quantizer.encode(0.5 * np.sin(np.arange(4000) * 0.2))
cfg = training.TrainingConfig(train_iterations=3, target_length=64, batch_size=2)
sampler = session.make_sampler([tone], receptive_field=m.receptive_field, target_length=64)
training.Trainer(m, sampler, cfg).run()
generation.generate(m, n_samples=200, seed=0)
bad = sorted(name for name in sys.modules if name.split(".")[0] in ("PySide6", "pyqtgraph", "sounddevice", "shiboken6"))
print("LOADED:" + ",".join(bad))
"""


def test_core_imports_no_gui_or_audio_output_packages():
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "LOADED:"


def test_import_linter_contract():
    """import-linter's forbidden contract in pyproject.toml: the core imports nothing from Qt."""
    proc = subprocess.run(["lint-imports"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
