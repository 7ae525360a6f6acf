"""The README stays true: its Python API example runs, and its commands match CI's."""

import re
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_python_api_example_runs(tmp_path, monkeypatch):
    (code,) = re.findall(r"```python\n(.*?)```", README, re.S)
    t = np.arange(2 * 16000) / 16000
    sf.write(tmp_path / "a.wav", 0.4 * np.sin(2 * np.pi * 262 * t), 16000)
    sf.write(tmp_path / "b.flac", 0.3 * np.sin(2 * np.pi * 330 * t), 22050)
    monkeypatch.chdir(tmp_path)
    code = re.sub(r"train_iterations=\d+", "train_iterations=3", code)  # keep the test short
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert namespace["result"].iterations == 3
    assert namespace["out"].audio.shape == (1, 16000)
    (pred,) = (tmp_path / "output").glob("pred_*.wav")
    assert sf.info(pred).samplerate == 8000


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    command = ci.strip().splitlines()[-1]
    assert command.startswith("QT_QPA_PLATFORM=offscreen python3 -m pytest")
    readme_command = command.replace("python3", "python")
    assert readme_command in README
