"""Issue 16, the red-team rows that live in the CLI and the window: rows 1, 6, 7, 8, 12 and 15.

Each test is one row of the issue's table (see tests/test_issue16.py for the core rows).
Row 7 (a changed model setting asks before the unsaved model is replaced) is
tests/test_qt_window.py::test_changing_a_model_setting_asks_before_replacing_the_model and
tests/test_session.py::test_a_model_is_replaced_only_when_asked.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from wavenet_gui.core import config
from wavenet_gui.core.errors import ConfigError, OutputError

ROOT = Path(__file__).resolve().parents[1]
LONG = "a" * 300  # over the 255-byte name limit of every common file system


def cli(*args: str, timeout: float = 180, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "wavenet_gui.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=cwd or ROOT)


def one_line_error(proc: subprocess.CompletedProcess, *words: str) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


# ----------------------------------------------------------------------------- row 8: flags at their edges
@pytest.mark.parametrize("flag, value, words", [
    ("--length", "inf", ("length", "finite")),
    ("--length", "nan", ("length", "finite")),
    ("--seed", "-1", ("seed", "between 0")),
    ("--seed", "99999999999999999999999", ("seed", "between 0")),
    ("--batch_size", "100000", ("batch_size", "4096")),
    ("--output_dir", f"/tmp/{LONG}", ("output_dir", "300 bytes", "255")),
    ("--prime", f"/tmp/{LONG}.wav", ("prime", "304 bytes", "255")),
    ("--wav", f"/tmp/{LONG}.wav", ("304 bytes", "255")),
    ("--model", f"/tmp/{LONG}", ("300 bytes", "255")),
    ("--output_dir", "/proc", ("/proc", "cannot be created", "proc")),
])
def test_row08_flags_at_their_edges_exit_2_in_one_line_before_training(tmp_path, flag, value, words):
    # A million iterations: only a refusal before training can finish within the timeout.
    proc = cli("--train_iterations", "1000000", "--save_weights", "--output_dir", str(tmp_path / "out"),
               flag, value, timeout=120, cwd=tmp_path)
    one_line_error(proc, *words)
    assert "training on" not in proc.stdout  # refused before the audio was read


@pytest.mark.parametrize("name, raw", [("output_dir", f"out/{LONG}"), ("prime", f"{LONG}.wav"),
                                       ("output_dir", "x" * 5000)])
def test_row08_path_bounds_live_in_the_settings_table_so_the_form_has_them(name, raw):
    with pytest.raises(ConfigError, match="bytes long"):
        config.parse(name, raw)
    assert name in config.errors({name: raw})  # what the form shows next to the field
    assert config.parse(name, "out/" + "b" * 255 if name == "output_dir" else "first")


def test_row08_a_255_byte_name_is_still_written(tmp_path):
    # The hidden temporary name must not push a legal name over the limit.
    import numpy as np

    from wavenet_gui.core.audio import save_audio
    from wavenet_gui.core.fileio import write_new_file

    name = "n" * 251 + ".wav"
    assert save_audio(tmp_path / name, np.zeros(100), sample_rate=8000).name == name
    assert write_new_file(tmp_path / name, b"x").name == "n" * 249 + "-2.wav"  # numbered, still 255 bytes


# ----------------------------------------------------------------------------- row 15: bad export targets
@pytest.mark.parametrize("folder", ["/proc", "/proc/wavenet-test", "/sys/kernel"])
def test_row15_pseudo_folders_are_refused_with_the_true_reason(folder):
    from wavenet_gui.core.fileio import check_writable_dir

    if not Path("/proc/self/mounts").exists():
        pytest.skip("Linux only")
    with pytest.raises(OutputError) as info:
        check_writable_dir(folder)
    text = str(info.value)
    assert "cannot be created" in text and "does not exist" not in text and "\n" not in text


def test_row15_an_export_name_over_255_bytes_is_one_line(tmp_path):
    import numpy as np

    from wavenet_gui.core.audio import save_audio

    with pytest.raises(OutputError, match="304 bytes long; the limit is 255") as info:
        save_audio(tmp_path / f"{LONG}.wav", np.zeros(10), sample_rate=8000)
    assert len(str(info.value)) < 200
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- row 6: the checkpoint fails
TINY_FLAGS = ("--n_dilations", "3", "--n_blocks", "1", "--n_hidden", "8", "--n_skip", "8", "--n_end", "8",
              "--n_channels", "32", "--target_length", "64", "--batch_size", "2", "--length", "0.05",
              "--seed", "1")


def _tone(path: Path, seconds: float = 1.0) -> Path:
    import numpy as np
    import soundfile as sf

    t = np.arange(int(8000 * seconds)) / 8000
    sf.write(path, 0.5 * np.sin(2 * np.pi * 220 * t), 8000)
    return path


@pytest.fixture
def full_disk_for_models(monkeypatch):
    """Every model write fails as on a full disk (ENOSPC inside the write); audio writes still work."""
    import contextlib
    import errno

    from wavenet_gui.core import fileio, modelfile

    calls = []

    @contextlib.contextmanager
    def full(path, **kwargs):
        calls.append(Path(path))
        with fileio.atomic_write(path, **kwargs) as f:
            raise OSError(errno.ENOSPC, "No space left on device")
            yield f  # pragma: no cover

    monkeypatch.setattr(modelfile, "atomic_write", full)
    return calls


def test_row06_a_failed_checkpoint_keeps_training_and_the_model(tmp_path, full_disk_for_models, monkeypatch):
    from wavenet_gui.core.session import Session

    s = Session({**config.defaults(), "n_dilations": 3, "n_blocks": 1, "n_hidden": 8, "n_skip": 8, "n_end": 8,
                 "n_channels": 32,
                 "target_length": 64, "batch_size": 2, "train_iterations": 7, "checkpoint_every": 2,
                 "save_weights": True, "output_dir": str(tmp_path / "out")})
    s.add_files([_tone(tmp_path / "tone.wav")])
    seen = []
    outcome = s.run_training(callback=lambda p: seen.append(p))
    r = outcome.result
    assert r.reason == "iterations" and r.iterations == 7  # all 7 trained although every checkpoint failed
    assert r.checkpoint is None and "disk is full" in r.checkpoint_error and "\n" not in r.checkpoint_error
    failed = [p.iteration for p in seen if not isinstance(p, str) and p.checkpoint_error]
    assert failed == [2, 4, 6]
    assert len(full_disk_for_models) == 4  # 2, 4, 6 and the final one
    assert s.model is not None and s.unsaved and s.state.iteration == 7
    assert not any((tmp_path / "out").glob("*.safetensors")) and not any((tmp_path / "out").glob(".*tmp*"))
    # ... and the user can save it elsewhere (here: the same write path, the disk no longer full)
    import wavenet_gui.core.modelfile as modelfile
    from wavenet_gui.core import fileio

    monkeypatch.setattr(modelfile, "atomic_write", fileio.atomic_write)
    saved = s.save_model(tmp_path / "elsewhere.safetensors")
    assert saved.exists() and not s.unsaved


def test_row06_the_cli_goes_on_to_generate_and_says_the_checkpoint_failed(tmp_path, full_disk_for_models, capsys):
    from wavenet_gui import cli

    out = tmp_path / "out"
    code = cli.main(["--wav", str(_tone(tmp_path / "tone.wav")), *TINY_FLAGS, "--train_iterations", "5",
                     "--checkpoint_every", "2", "--save_weights", "--output_dir", str(out)])
    err = capsys.readouterr().err
    assert code == cli.EXIT_CHECKPOINT_FAILED, err
    assert "Traceback" not in err
    # (a tiny model may also be warned about its generated audio: the collapse check of issue 10)
    warnings = [line for line in err.splitlines() if line.startswith("warning:") and "checkpoint" in line]
    assert len(warnings) == 2 and all("disk is full" in w for w in warnings), err  # the first failure, the end
    assert "generating from the model in memory" in warnings[-1]
    assert len(list(out.glob("pred_*.wav"))) == 1
    assert not list(out.glob("*.safetensors"))
    assert f"{cli.EXIT_CHECKPOINT_FAILED} done, but a checkpoint" in cli.build_parser().format_help().replace(
        "\n", " ").replace("  ", " ")


def _tmpfs(path: Path, size: str) -> bool:
    path.mkdir()
    if sys.platform != "linux" or os.geteuid() != 0:
        return False
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True).returncode == 0


def test_row06_a_real_full_disk_cli_run(tmp_path):
    """A 96 kB tmpfs: room for the probe and the generated audio, not for a checkpoint."""
    disk = tmp_path / "disk"
    if not _tmpfs(disk, "96k"):
        pytest.skip("cannot mount a tmpfs here (needs root on Linux)")
    try:
        proc = cli("--wav", str(_tone(tmp_path / "tone.wav")), *TINY_FLAGS, "--n_hidden", "64",
                   "--n_skip", "64", "--train_iterations", "3", "--save_weights",  # a 0.3 MB model
                   "--output_dir", str(disk), cwd=tmp_path)
        assert proc.returncode == 3, proc.stderr[-2000:]
        assert "Traceback" not in proc.stderr and "disk is full" in proc.stderr
        assert len(list(disk.glob("pred_*.wav"))) == 1
        assert not list(disk.glob("*.safetensors")) and not list(disk.glob(".*"))
    finally:
        subprocess.run(["umount", str(disk)], check=False)


# ----------------------------------------------------------------------------- row 1: SIGTERM and SIGHUP
def _start_cli(*args: str, cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "wavenet_gui.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=cwd)


def _signal_when(procs: list[tuple[subprocess.Popen, int, float]], marker: str, timeout: float = 240) -> list:
    """Send each process its signal ``delay`` s after ``marker`` starts a line of its stderr; collect
    ``(returncode, stdout, stderr)``."""
    import signal as sig
    import threading
    import time

    out = []

    def watch(proc, signum, delay, box):
        lines = []
        sent = False
        for line in proc.stderr:
            lines.append(line)
            if not sent and line.startswith(marker):
                sent = True
                time.sleep(delay)
                proc.send_signal(signum)
        box.append("".join(lines))

    threads = []
    for proc, signum, delay in procs:
        box: list[str] = []
        t = threading.Thread(target=watch, args=(proc, signum, delay, box), daemon=True)
        t.start()
        threads.append((proc, t, box))
    deadline = time.monotonic() + timeout
    for proc, t, box in threads:
        stdout = proc.stdout.read()
        proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        t.join(10)
        out.append((proc.returncode, stdout, box[0] if box else ""))
    assert sig.SIGTERM == 15
    return out


SIGNALS = [("SIGTERM", 0.0), ("SIGHUP", 0.5), ("SIGTERM", 1.5)]


@pytest.mark.skipif(not hasattr(__import__("signal"), "SIGHUP"), reason="POSIX signals")
def test_row01_sigterm_and_sighup_during_training_save_the_final_checkpoint(tmp_path):
    import signal as sig

    from wavenet_gui.core.modelfile import load_model

    wav = _tone(tmp_path / "tone.wav", seconds=2.0)
    procs = []
    for k, (name, delay) in enumerate(SIGNALS):
        out = tmp_path / f"run{k}"
        proc = _start_cli("--wav", str(wav), *TINY_FLAGS, "--train_iterations", "1000000",
                          "--checkpoint_every", "1000000", "--save_weights", "--output_dir", str(out), cwd=tmp_path)
        procs.append((proc, getattr(sig, name), delay))
    results = _signal_when(procs, "train [")
    for k, ((name, _), (code, stdout, stderr)) in enumerate(zip(SIGNALS, results, strict=True)):
        signum = getattr(sig, name)
        assert code == 128 + signum, (name, code, stderr[-2000:])
        assert "Traceback" not in stderr, stderr
        assert f"{name}: training stopped and kept" in stderr
        assert "stopped at iteration" in stdout and "generate" not in stderr.split(name)[-1]
        iteration = int(stdout.split("stopped at iteration ")[1].split()[0].rstrip(")"))
        loaded = load_model(tmp_path / f"run{k}" / "model.safetensors")  # the final checkpoint, whole
        assert loaded.training["iteration"] == iteration >= 1
        assert not list((tmp_path / f"run{k}").glob(".*tmp*")) and not list((tmp_path / f"run{k}").glob("pred_*"))


@pytest.mark.skipif(not hasattr(__import__("signal"), "SIGHUP"), reason="POSIX signals")
def test_row01_sigterm_and_sighup_during_generation_write_the_audio_made_so_far(tmp_path):
    import signal as sig

    import soundfile as sf

    from wavenet_gui.core.model import WaveNet, WaveNetConfig
    from wavenet_gui.core.modelfile import save_model

    model = save_model(tmp_path / "m.safetensors", WaveNet(WaveNetConfig(
        n_dilations=6, n_blocks=2, n_hidden=16, n_skip=16, n_end=16, n_channels=64)), training={"iteration": 1})
    procs = []
    for k, (name, delay) in enumerate(SIGNALS):
        proc = _start_cli("--model", str(model), "--length", "3600", "--prime", "silence", "--seed", "1",
                          "--output_dir", str(tmp_path / f"run{k}"), cwd=tmp_path)
        procs.append((proc, getattr(sig, name), delay))
    results = _signal_when(procs, "generate [")
    for k, ((name, _), (code, stdout, stderr)) in enumerate(zip(SIGNALS, results, strict=True)):
        assert code == 128 + getattr(sig, name), (name, code, stderr[-2000:])
        assert "Traceback" not in stderr, stderr
        assert "cancelled, kept" in stdout, stdout
        written = list((tmp_path / f"run{k}").glob("pred_*.wav"))
        assert len(written) == 1, stdout
        info = sf.info(written[0])
        assert 0 < info.frames < 3600 * 8000
        assert f"{info.frames / 8000:.2f} s" in stdout
