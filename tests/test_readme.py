"""The README stays true: its Python API example runs (tiny model, two small files), its commands match CI's."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import soundfile as sf

README = Path(__file__).resolve().parents[1] / "README.md"

#: The example's values that would take minutes here -> a tiny model and short output.
SHRINK = {
    '"train_iterations": 300': '"train_iterations": 3, "target_length": 64, "n_dilations": 4, "n_blocks": 1, '
                               '"n_hidden": 8, "n_skip": 8, "n_end": 8',
    '"length": 2.0': '"length": 0.05',
}


def _example() -> str:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Python API"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_readme_api_example_runs(tmp_path, monkeypatch, capsys):
    code = _example()
    for old, new in SHRINK.items():
        assert old in code, f"the README example no longer has {old}: update SHRINK"
        code = code.replace(old, new)
    t = np.arange(8000) / 8000
    sf.write(tmp_path / "a.wav", 0.5 * np.sin(2 * np.pi * 220 * t), 8000)
    sf.write(tmp_path / "b.flac", 0.5 * np.sin(2 * np.pi * 330 * t[:6000]), 16000)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code, str(README), "exec"), namespace)  # noqa: S102 - our own README
    session = namespace["session"]
    assert session.state.iteration == 3 and len(session.state.losses) == 3
    saved = namespace["result"].saved
    assert [p.name[-7:] for p in saved] == ["_v1.wav", "_v2.wav"] and all(p.parent.name == "output" for p in saved)
    assert (tmp_path / "my_model.safetensors").is_file()
    assert "reached the iteration limit" in capsys.readouterr().out


def test_ci_runs_the_readme_test_command():
    ci = (README.parent / ".ci" / "run").read_text()
    command = ci.strip().splitlines()[-1]
    assert command.startswith("QT_QPA_PLATFORM=offscreen python3 -m pytest")
    readme_command = command.replace("python3", "python")
    assert readme_command in README.read_text(encoding="utf-8")
