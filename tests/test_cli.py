"""wavenet-cli end to end on a tiny model, and its answers to bad input."""

import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile as sf

from wavenet_gui.cli import main

TINY = ["--n_dilations", "4", "--n_blocks", "1", "--n_hidden", "8", "--n_skip", "16", "--n_end", "16",
        "--n_channels", "64", "--batch_size", "2", "--target_length", "128"]


@pytest.fixture
def tone(tmp_path):
    path = tmp_path / "tone 1.wav"
    t = np.arange(16000) / 16000
    sf.write(path, 0.5 * np.sin(2 * np.pi * 220 * t), 16000, subtype="PCM_16")
    return path


def test_train_then_generate_writes_pred_wav_at_the_right_rate_and_length(tmp_path, tone, capsys):
    out = tmp_path / "out"
    rc = main(["--wav", str(tone), "--sample_rate", "8000", "--train_iterations", "5", "--length", "0.25",
               "--output_dir", str(out), "--save_weights", "--plot", "--seed", "1", *TINY])
    assert rc == 0
    preds = sorted(out.glob("pred_*.wav"))
    assert len(preds) == 1
    info = sf.info(preds[0])
    assert info.samplerate == 8000 and info.frames == 2000 and info.channels == 1
    assert (out / "model.safetensors").exists()
    png = preds[0].with_suffix(".png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    printed = capsys.readouterr().out
    assert "wrote" in printed and str(preds[0]) in printed

    # --model DIR skips training and generates from the saved weights; same seed, same audio.
    rc = main(["--model", str(out), "--wav", str(tone), "--length", "0.1", "--output_dir", str(out),
               "--seed", "5", "--temperature", "0.7"])
    rc2 = main(["--model", str(out), "--wav", str(tone), "--length", "0.1", "--output_dir", str(out),
                "--seed", "5", "--temperature", "0.7"])
    assert rc == rc2 == 0
    new = sorted(set(out.glob("pred_*.wav")) - set(preds))
    assert len(new) == 2
    a, b = (sf.read(p)[0] for p in new)
    assert len(a) == 800 and np.array_equal(a, b)
    assert "training" not in capsys.readouterr().out


def test_variations_write_one_file_each(tmp_path, tone):
    out = tmp_path / "out"
    rc = main(["--wav", str(tone), "--train_iterations", "2", "--length", "0.05", "--variations", "3",
               "--weight_format", "bfloat16", "--output_dir", str(out), *TINY])
    assert rc == 0
    assert len(list(out.glob("pred_*_v*.wav"))) == 3


@pytest.mark.parametrize("args,words", [
    (["--learning_rate", "0"], "learning_rate"),
    (["--n_channels", "1"], "n_channels"),
    (["--sample_rate", "50"], "sample_rate"),
    (["--n_blocks", "0"], "n_blocks"),
    (["--length", "0"], "length"),
    (["--model", "/nonexistent/dir"], "does not exist"),
    (["--device", "tpu"], "device"),
])
def test_bad_settings_exit_2_with_one_line(args, words, capsys):
    assert main(args + ["--output_dir", "/tmp/wavenet-cli-test-unused"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("wavenet-cli: error:") and words in err[-1]
    assert not any("Traceback" in line for line in err)


@pytest.mark.parametrize("args,words", [
    (["--temperature", "-2"], "temperature"),
    (["--variations", "0"], "variations"),
    (["--prime", "/missing/clip.wav"], "prime"),
    (["--output_dir", "{file}/sub"], "not a folder"),
])
def test_generation_settings_are_checked_before_training(args, words, tmp_path, tone, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    args = [a.replace("{file}", str(blocker)) for a in args]
    if "--output_dir" not in args:
        args += ["--output_dir", str(tmp_path / "out")]
    assert main(["--wav", str(tone), "--train_iterations", "100000", *TINY, *args]) == 2
    captured = capsys.readouterr()
    assert "training" not in captured.out  # refused at once, not after a long training run
    last = captured.err.strip().splitlines()[-1]
    assert last.startswith("wavenet-cli: error:") and words in last


def test_argument_errors_are_one_line(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--quantization", "alaw"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--quantization" in err[0] and "--help" in err[0]


def test_bad_audio_and_too_short_audio(tmp_path, capsys):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"this is not audio at all")
    assert main(["--wav", str(bad), "--output_dir", str(tmp_path)]) == 2
    assert "broken.wav" in capsys.readouterr().err
    # a clip shorter than the receptive field is trained on: every sample is a target
    short = tmp_path / "short.wav"
    sf.write(short, np.random.default_rng(0).uniform(-0.5, 0.5, 100), 8000)
    assert main(["--wav", str(short), "--output_dir", str(tmp_path), "--train_iterations", "2",
                 "--length", "0.01"]) == 0
    assert "Traceback" not in capsys.readouterr().err
    assert len(list(tmp_path.glob("pred_*.wav"))) == 1


def test_real_console_script_exit_status_and_no_traceback(tmp_path):
    bad = tmp_path / "empty.wav"
    bad.write_bytes(b"")
    proc = subprocess.run([sys.executable, "-m", "wavenet_gui.cli", "--wav", str(bad), "--output_dir",
                           str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "empty.wav" in proc.stderr and "Traceback" not in proc.stderr


from tests.hostile import HOSTILE_LABELS, HOSTILE_SAMPLE_RATE  # noqa: E402


@pytest.mark.parametrize("label", HOSTILE_LABELS)
def test_hostile_corpus_through_the_cli(label, hostile_corpus, tmp_path, capsys):
    """Every hostile input is either trained on (exit 0, a pred file) or refused (exit 2, one line naming it)."""
    case = next(c for c in hostile_corpus if c.label == label)
    out = tmp_path / "out"
    # The default model: a receptive field of 2047 samples at 8 kHz, as the corpus assumes.
    rc = main(["--wav", str(case.path), "--sample_rate", str(HOSTILE_SAMPLE_RATE), "--train_iterations", "1",
               "--batch_size", "1", "--target_length", "16", "--length", "0.01", "--output_dir", str(out)])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    # the corpus calls these too short for a receptive field; the CLI trains on them (every sample a target)
    expect = "accept" if label.startswith("too_short") else case.expect
    if label == "quiet":  # -52 dBFS: below the default silence threshold (-40 dBFS), a real sound all the same
        assert "quiet.wav: quiet (loudest part -52 dBFS, below the silence threshold -40 dBFS)" in captured.err
    if expect == "accept":
        assert rc == 0, captured.err
        assert len(list(out.glob("pred_*.wav"))) == 1
        if case.note_contains:
            assert case.note_contains in captured.err
    else:
        assert rc == 2
        last = captured.err.strip().splitlines()[-1]
        assert last.startswith("wavenet-cli: error:")
        if case.path.name:
            assert case.path.name in last
        if case.reason_contains:
            assert case.reason_contains in last


def _interrupt_cli(args, tmp_path, *, once_seen: str) -> tuple[int, str]:
    """Run the CLI in a child process, press Ctrl+C once ``once_seen`` is printed; (status, rest of output)."""
    proc = subprocess.Popen([sys.executable, "-u", "-m", "wavenet_gui.cli", *args], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        deadline = time.monotonic() + 120
        while once_seen not in "".join(lines[-1:]):
            line = proc.stdout.readline()
            assert line and time.monotonic() < deadline, f"never saw {once_seen!r}: {''.join(lines)}"
            lines.append(line)
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=120)
    finally:
        proc.kill()
    return proc.returncode, rest


def test_ctrl_c_during_training_goes_on_to_generation(tmp_path, tone):
    rc, rest = _interrupt_cli(["--wav", str(tone), "--train_iterations", "100000", "--length", "0.05",
                               "--output_dir", "out", *TINY], tmp_path, once_seen="train [")
    assert rc == 0, rest
    assert "training: stopped at iteration" in rest
    assert len(list((tmp_path / "out").glob("pred_*.wav"))) == 1


def test_ctrl_c_during_generation_saves_what_was_generated(tmp_path, tone):
    rc, rest = _interrupt_cli(["--wav", str(tone), "--train_iterations", "1", "--length", "3000",
                               "--output_dir", "out", "--backend", "torch", *TINY], tmp_path,
                              once_seen="generate [")
    assert rc == 0, rest
    assert "cancelled, kept" in rest
    (pred,) = (tmp_path / "out").glob("pred_*.wav")
    assert 0 < sf.info(pred).frames < 3000 * 8000


def test_learning_rate_0_9_on_speech_stops_with_one_line_and_a_suggestion(tmp_path, capsys):
    """Issue 11: at learning rate 0.9 on three speech clips the loss exploded and training went
    on.  The CLI now stops training at once, says why in one line with a learning rate to try,
    and still generates from the kept (last good) model."""
    from pathlib import Path

    speech = sorted((Path(__file__).parent / "data").glob("speech*.wav"))
    out = tmp_path / "out"
    rc = main(["--wav", *map(str, speech), "--learning_rate", "0.9", "--train_iterations", "200",
               "--length", "0.1", "--seed", "0", "--output_dir", str(out)])
    captured = capsys.readouterr()
    assert rc == 0
    warnings = [line for line in captured.err.splitlines() if "diverged" in line]
    assert len(warnings) == 1, captured.err
    assert "try 0.09" in warnings[0] and "Traceback" not in captured.err
    assert "iteration 200" not in captured.out  # stopped long before the limit
    assert len(list(out.glob("pred_*.wav"))) == 1


# ---- a new user's trial (cli5): generating from --model, presets, folders, early checks, notes

def _burst(path, *, seconds: float, silence: float, sr: int = 8000):
    """A 220 Hz tone of ``seconds`` with ``silence`` seconds of digital silence before and after."""
    t = np.arange(int(seconds * sr)) / sr
    pad = np.zeros(int(silence * sr))
    sf.write(path, np.concatenate([pad, 0.5 * np.sin(2 * np.pi * 220 * t), pad]), sr, subtype="PCM_16")
    return path


def test_model_without_wav_starts_from_silence_and_reads_no_example_clip(tmp_path, tone, capsys):
    out = tmp_path / "out"
    assert main(["--wav", str(tone), "--train_iterations", "2", "--length", "0.01", "--save_weights",
                 "--output_dir", str(out), *TINY]) == 0
    capsys.readouterr()
    # the README's example: generation from a saved model alone
    rc = main(["--model", str(out), "--length", "0.05", "--temperature", "0.9", "--seed", "7", "--plot",
               "--output_dir", str(out)])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    (line,) = [x for x in captured.out.splitlines() if x.startswith("generated")]
    assert "started from silence" in line and "seed 7" in line
    assert "example" not in captured.out + captured.err  # the bundled clip is neither read nor judged against
    assert "not checked for a collapse" in captured.err
    assert len(list(out.glob("pred_*.png"))) == 1
    # with --wav the clip is read as before: the start is its first sample
    assert main(["--model", str(out), "--wav", str(tone), "--length", "0.05", "--output_dir", str(out)]) == 0
    assert f"started from the first sample of {tone.name}" in capsys.readouterr().out


def test_continuing_a_model_without_wav_is_refused_before_training(tmp_path, tone, capsys):
    out = tmp_path / "out"
    assert main(["--wav", str(tone), "--train_iterations", "1", "--length", "0.01", "--save_weights",
                 "--output_dir", str(out), *TINY]) == 0
    capsys.readouterr()
    assert main(["--model", str(out), "--train", "true", "--train_iterations", "3", "--output_dir", str(out)]) == 2
    captured = capsys.readouterr()
    assert "training" not in captured.out
    last = captured.err.strip().splitlines()[-1]
    assert last.startswith("wavenet-cli: error: wav:") and "--wav" in last


def _window_preset(path, name=None):
    """The model settings the window picks for this file (add it, then apply a preset, as its file list does)."""
    from wavenet_gui.core.session import Session

    session = Session()
    session.add_files([path])
    session.apply_preset(name)
    return session.model_config()


@pytest.mark.parametrize("preset,seconds,silence", [
    ("auto", 1.0, 1.75),     # 4.5 s with its silence, 1 s without: the window imitates
    ("imitate", 0.4, 0.15),  # 0.7 s with its silence (2 x 12), 0.4 s without (2 x 11)
])
def test_presets_use_the_trimmed_durations_as_the_window_does(preset, seconds, silence, tmp_path, capsys):
    clip = _burst(tmp_path / "burst.wav", seconds=seconds, silence=silence)
    window = _window_preset(clip, None if preset == "auto" else preset)
    rc = main(["--wav", str(clip), "--preset", preset, "--train_iterations", "1", "--batch_size", "1",
               "--target_length", "64", "--length", "0.01", "--output_dir", str(tmp_path / "out")])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert f"receptive field {window.receptive_field} samples" in captured.out


def test_help_names_the_imitate_threshold_in_use(capsys):
    from wavenet_gui.core.presets import IMITATE_MAX_SECONDS

    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert f"imitate when each clip lasts up to {IMITATE_MAX_SECONDS:g} s" in text


def test_refused_files_in_a_folder_are_skipped_with_a_note(tmp_path, capsys):
    folder = tmp_path / "sounds"
    folder.mkdir()
    _burst(folder / "good.wav", seconds=0.3, silence=0.0)
    (folder / "fake.wav").write_text("not audio")
    sf.write(folder / "silent.wav", np.zeros(8000), 8000, subtype="PCM_16")
    out = tmp_path / "out"
    rc = main(["--wav", str(folder), "--train_iterations", "1", "--length", "0.01", "--output_dir", str(out), *TINY])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    notes = [x for x in captured.err.splitlines() if x.startswith("note:") and "skipped" in x]
    assert [n.split()[1] for n in notes] == ["fake.wav:", "silent.wav:"]
    assert "training on 1 file(s)" in captured.out and len(list(out.glob("pred_*.wav"))) == 1
    # a folder with nothing usable: one line; a refused file named on the command line: at once
    (folder / "good.wav").unlink()
    assert main(["--wav", str(folder), "--output_dir", str(out), *TINY]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("wavenet-cli: error: wav: no usable audio file") and "2 refused" in err[-1]
    assert main(["--wav", str(folder / "silent.wav"), "--output_dir", str(out), *TINY]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("wavenet-cli: error: silent.wav:")


@pytest.mark.parametrize("args,words", [
    (["--prime", "{file}"], "prime: a-file"),  # exists, but is not audio
    (["--length", "3600", "--variations", "64"], "length"),  # over what generation keeps in memory
])
def test_unusable_generation_settings_are_refused_before_training(args, words, tmp_path, tone, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    args = [a.replace("{file}", str(blocker)) for a in args]
    assert main(["--wav", str(tone), "--train_iterations", "5", "--output_dir", str(tmp_path / "out"),
                 *TINY, *args]) == 2
    captured = capsys.readouterr()
    assert "training" not in captured.out
    last = captured.err.strip().splitlines()[-1]
    assert last.startswith("wavenet-cli: error:") and words in last


def test_session_checks_generation_before_there_is_a_model(tmp_path):
    """The window's Generate and Train check the same, through the session."""
    from wavenet_gui.core.errors import ConfigError
    from wavenet_gui.core.session import Session

    fake = tmp_path / "fake.wav"
    fake.write_text("not audio")
    with pytest.raises(ConfigError, match="prime: fake.wav"):
        Session({"prime": str(fake), "output_dir": str(tmp_path)}).check_generation(need_model=False)
    with pytest.raises(ConfigError, match="length: 3600 s x 64 variations at 16000 Hz"):
        Session({"length": 3600, "variations": 64, "sample_rate": 16000,
                 "output_dir": str(tmp_path)}).check_generation(need_model=False)


def test_each_file_note_is_printed_once(tmp_path, capsys):
    clip = _burst(tmp_path / "padded.wav", seconds=0.3, silence=0.2)
    assert main(["--wav", str(clip), "--train_iterations", "1", "--length", "0.01",
                 "--output_dir", str(tmp_path / "out"), *TINY]) == 0
    err = capsys.readouterr().err
    assert sum("padded.wav: trimmed" in line for line in err.splitlines()) == 1, err


def test_the_plot_marks_round_times_where_they_fall():
    """--plot's time axis: 0, 0.2, 0.4, 0.6 s on a 0.72 s clip (it printed fifths: 0.14, 0.29 ...)."""
    from wavenet_gui.qt.plotting import nice_ticks

    assert nice_ticks(0.72) == [0.0, 0.2, 0.4, 0.6]
    for duration in (0.013, 0.4, 1.0, 3.4, 17.0, 3600.0):
        ticks = nice_ticks(duration)
        assert 2 <= len(ticks) <= 6 and ticks[0] == 0.0 and ticks[-1] <= duration
        step = ticks[1] - ticks[0]
        assert f"{step:.0e}"[0] in "125"
        assert all(abs(b - a - step) < 1e-9 for a, b in zip(ticks, ticks[1:], strict=False))


def test_a_saved_model_generates_as_it_was_trained_to_unless_flags_say_otherwise(tmp_path, tone, capsys):
    """The model file keeps the generation settings (an Imitate model: greedy, from silence, the
    clip's length), so `--model` alone gives the same audio as the run that trained it."""
    out = tmp_path / "out"
    assert main(["--wav", str(tone), "--sample_rate", "8000", "--train_iterations", "5", "--length", "0.3",
                 "--temperature", "0", "--prime", "silence", "--output_dir", str(out), "--save_weights",
                 *TINY]) == 0
    first = sorted(out.glob("pred_*.wav"))
    capsys.readouterr()
    again = tmp_path / "again"
    assert main(["--model", str(out), "--output_dir", str(again), "--seed", "9"]) == 0
    err = capsys.readouterr().err
    assert "generating as the model was trained to (length 0.3, temperature 0, start from silence" in err
    (replay,) = sorted(again.glob("pred_*.wav"))
    assert np.array_equal(sf.read(replay)[0], sf.read(first[0])[0])  # greedy: the very same audio
    # a flag given wins over what the file keeps
    shorter = tmp_path / "shorter"
    assert main(["--model", str(out), "--output_dir", str(shorter), "--length", "0.1"]) == 0
    (cut,) = sorted(shorter.glob("pred_*.wav"))
    assert sf.info(cut).frames == 800 and np.array_equal(sf.read(cut)[0], sf.read(first[0])[0][:800])
