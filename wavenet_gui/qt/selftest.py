"""``wavenet-gui --self-test``: a headless end-to-end check of an installation or a bundle.

Trains a tiny WaveNet for a few iterations on the shipped example clip, saves and reloads
it, generates one second of audio, writes it as a WAV file and reads it back, checks that
PortAudio loads for playback, and creates the main window on Qt's offscreen platform.
Prints one line per check (``ok``, ``warn``, ``FAIL`` or ``skip``) and a summary line.

Examples
--------
>>> run_self_test()  # doctest: +SKIP
ok    versions: wavenet-gui 0.1.0, Python 3.11.7, torch 2.3.0, numpy 1.26.4, Qt 6.7.0
...
self-test passed: 9 checks in 6.1 s
0
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

__all__ = ["run_self_test", "SELF_TEST_SAMPLE_RATE"]

#: The tiny model trains and generates at this rate (the example clip is resampled to it).
SELF_TEST_SAMPLE_RATE = 8000
_TRAIN_ITERATIONS = 5


class _Skip(Exception):
    """A check that cannot run because an earlier one failed."""


class _Warn(Exception):
    """A check that found something worth saying but not a failure."""


@dataclass
class _Run:
    out: TextIO
    state: dict[str, Any] = field(default_factory=dict)
    failures: int = 0
    checks: int = 0

    def check(self, name: str, fn: Callable[[], str]) -> None:
        self.checks += 1
        t0 = time.perf_counter()
        try:
            detail = fn()
            status = "ok"
        except _Skip as skip:
            status, detail = "skip", str(skip)
        except _Warn as warn:
            status, detail = "warn", str(warn)
        except BaseException as exc:  # noqa: BLE001 - report everything, keep going
            if isinstance(exc, KeyboardInterrupt):
                raise
            self.failures += 1
            status = "FAIL"
            detail = f"{type(exc).__name__}: {exc}"
            self.state.setdefault("tracebacks", []).append(traceback.format_exc())
        dt = time.perf_counter() - t0
        timing = f" ({dt:.1f} s)" if dt >= 0.5 else ""
        print(f"{status:<5} {name}: {detail}{timing}", file=self.out, flush=True)

    def need(self, *keys: str) -> list[Any]:
        missing = [k for k in keys if k not in self.state]
        if missing:
            raise _Skip(f"needs {', '.join(missing)} from an earlier check")
        return [self.state[k] for k in keys]


def run_self_test(*, out_dir: Path | None = None, window: bool = True,
                  stream: TextIO | None = None) -> int:
    """Run the headless checks; print one line per check; return 0 if none failed, else 1.

    Parameters
    ----------
    out_dir : Path, optional
        Where to write the generated second of audio.  By default a temporary folder
        that is removed afterwards.
    window : bool
        Also create the main window offscreen (``QT_QPA_PLATFORM=offscreen`` is set
        when no platform is chosen).
    stream : text file, optional
        Where the lines go (default ``sys.stdout``).

    Returns
    -------
    int
        The process exit status: 0 when every check passed (warnings allowed), 1 otherwise.
    """
    out = stream if stream is not None else sys.stdout
    run = _Run(out=out)
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="wavenet-gui-selftest-") as tmp:
        folder = Path(out_dir) if out_dir is not None else Path(tmp)
        run.state["tmp"] = Path(tmp)
        run.state["out_dir"] = folder
        run.check("versions", _check_versions)
        run.check("log folder", _check_log_dir)
        run.check("example clip", lambda: _check_example_clip(run))
        run.check("model", lambda: _check_model(run))
        run.check("training", lambda: _check_training(run))
        run.check("model file", lambda: _check_model_file(run))
        run.check("generation", lambda: _check_generation(run))
        run.check("output file", lambda: _check_output(run))
        run.check("playback", _check_portaudio)
        if window:
            with _QuietQtNoise():
                run.check("main window", lambda: _check_window(run))
    elapsed = time.perf_counter() - t_start
    for tb in run.state.get("tracebacks", []):
        print(tb, file=sys.stderr)
    if run.failures:
        print(f"self-test FAILED: {run.failures} of {run.checks} checks failed ({elapsed:.1f} s)",
              file=out, flush=True)
        return 1
    print(f"self-test passed: {run.checks} checks in {elapsed:.1f} s", file=out, flush=True)
    return 0


# ---------------------------------------------------------------------------- checks


def _check_versions() -> str:
    from wavenet_gui.appinfo import versions

    v = versions()
    frozen = " (bundle)" if getattr(sys, "frozen", False) else ""
    return (f"wavenet-gui {v['app']}{frozen}, Python {v['Python'].split()[0]}, torch {v['torch']}, "
            f"numpy {v['numpy']}, numba {v['numba']}, Qt {v.get('Qt', '?')}")


def _check_log_dir() -> str:
    from wavenet_gui.appinfo import log_file_path

    path = log_file_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8"):
            pass
    except OSError as exc:
        raise _Warn(f"cannot write {path}: {exc} (the app falls back to the temporary folder)") from exc
    return str(path)


def _check_example_clip(run: _Run) -> str:
    from wavenet_gui.core.model import WaveNetConfig
    from wavenet_gui.core.session import load_training_audio
    from wavenet_gui.resources import example_clip_path

    path = example_clip_path()
    quantizer = WaveNetConfig(sample_rate=SELF_TEST_SAMPLE_RATE).quantizer
    signals, loaded = load_training_audio([path], sample_rate=SELF_TEST_SAMPLE_RATE,
                                          quantizer=quantizer)
    audio = loaded[0]
    seconds = audio.duration
    if seconds < 1.0:
        raise RuntimeError(f"{path.name}: only {seconds:.2f} s")
    run.state["signals"] = signals
    return f"{path.name}, {seconds:.1f} s at {audio.sample_rate} Hz, {len(signals[0])} classes"


def _check_model(run: _Run) -> str:
    import torch

    from wavenet_gui.core.model import WaveNet, WaveNetConfig

    torch.manual_seed(0)
    config = WaveNetConfig(n_dilations=6, n_blocks=1, n_hidden=16, n_skip=32, n_end=32,
                           sample_rate=SELF_TEST_SAMPLE_RATE)
    model = WaveNet(config)
    run.state["model"] = model
    return f"{model.n_parameters()} parameters, receptive field {model.receptive_field} samples"


def _check_training(run: _Run) -> str:
    import math

    from wavenet_gui.core.session import make_sampler
    from wavenet_gui.core.training import Trainer, TrainingConfig

    model, signals = run.need("model", "signals")
    config = TrainingConfig(train_iterations=_TRAIN_ITERATIONS, batch_size=2, target_length=256,
                            learning_rate=3e-3, seed=0, device="cpu")
    sampler = make_sampler(signals, receptive_field=model.receptive_field,
                           target_length=config.target_length)
    losses: list[float] = []
    trainer = Trainer(model, sampler, config)
    result = trainer.run(callback=lambda p: losses.append(p.loss))
    if result.iterations != _TRAIN_ITERATIONS or len(losses) != _TRAIN_ITERATIONS:
        raise RuntimeError(f"ran {result.iterations} iterations ({result.reason}: {result.message})")
    if not all(math.isfinite(x) for x in losses):
        raise RuntimeError(f"loss is not finite: {losses}")
    return (f"{result.iterations} iterations ({'fused pass' if trainer.fused else 'autograd'}), "
            f"loss {losses[0]:.2f} -> {losses[-1]:.2f} nats (ln 256 = {math.log(256):.2f})")


def _check_model_file(run: _Run) -> str:
    import torch

    from wavenet_gui.core.modelfile import load_model, save_model

    (model,) = run.need("model")
    path = run.state["tmp"] / "selftest.safetensors"
    save_model(path, model)
    loaded = load_model(path, device="cpu")
    before = model.state_dict()
    after = loaded.model.state_dict()
    if before.keys() != after.keys() or not all(torch.equal(before[k].cpu(), after[k].cpu())
                                                for k in before):
        raise RuntimeError("the reloaded weights differ from the saved ones")
    run.state["model"] = loaded.model.eval()
    return f"saved and reloaded {path.name} ({path.stat().st_size // 1024} KB)"


def _check_generation(run: _Run) -> str:
    import numpy as np

    from wavenet_gui.core.generation import generate, make_generator

    (model,) = run.need("model")
    n = model.config.sample_rate  # one second
    backend = type(make_generator(model)).__name__
    result = generate(model, n_samples=n, temperature=1.0, seed=0)
    audio = np.asarray(result.audio)
    if audio.shape != (1, n):
        raise RuntimeError(f"expected shape (1, {n}), got {audio.shape}")
    if not np.all(np.isfinite(audio)) or np.max(np.abs(audio)) > 1.0:
        raise RuntimeError("generated audio is not finite or not within [-1, 1]")
    run.state["generated"] = audio[0]
    return (f"1 s ({n} samples) with {backend}, {result.samples_per_s:,.0f} samples/s, "
            f"peak {np.max(np.abs(audio)):.2f}")


def _check_output(run: _Run) -> str:
    import numpy as np
    import soundfile as sf

    from wavenet_gui.core.session import write_prediction

    (audio,) = run.need("generated")
    rate = SELF_TEST_SAMPLE_RATE
    path = write_prediction(run.state["out_dir"], audio, sample_rate=rate, suffix="_selftest")
    back, back_rate = sf.read(str(path), dtype="float32")
    if back_rate != rate or back.shape != audio.shape:
        raise RuntimeError(f"read back {back.shape} at {back_rate} Hz, wrote {audio.shape} at {rate} Hz")
    if np.max(np.abs(back - audio)) > 1e-3:
        raise RuntimeError("the audio read back differs from what was written")
    return f"wrote and read back {path}"


def _check_portaudio() -> str:
    try:
        import sounddevice

        version = sounddevice.get_portaudio_version()[1]
    except (ImportError, OSError) as exc:
        if getattr(sys, "frozen", False):
            raise  # the bundle must bring PortAudio
        raise _Warn(f"playback unavailable: {exc} (install PortAudio, e.g. apt install libportaudio2)") from exc
    version = version.split(",")[0]
    try:
        outputs = [d for d in sounddevice.query_devices() if d["max_output_channels"] > 0]
    except Exception as exc:  # noqa: BLE001 - no sound server is fine for a self-test
        raise _Skip(f"no audio output device ({version} loaded, but it lists no devices: {exc}); "
                    "playback is off, everything else works") from None
    if not outputs:
        # Not a failure (a server or a container has no sound card), but not "ok" either.
        raise _Skip(f"no audio output device ({version} loaded); playback is off, everything else works")
    return f"{version}, {len(outputs)} output device(s)"


#: Qt messages that say nothing to a person reading the self-test (the offscreen
#: platform cannot pass size hints to a window manager: there is none).
_QT_NOISE = ("This plugin does not support propagateSizeHints()",)


class _QuietQtNoise:
    """While active, drop the messages in :data:`_QT_NOISE`; pass on every other one."""

    def __enter__(self) -> _QuietQtNoise:
        self._previous = None
        self._installed = False
        try:
            from PySide6.QtCore import qInstallMessageHandler
        except ImportError:  # the window check reports that
            return self
        self._previous = qInstallMessageHandler(self._handle)
        self._installed = True
        return self

    def _handle(self, mode, context, message: str) -> None:
        if message in _QT_NOISE:
            return
        if self._previous is not None:
            self._previous(mode, context, message)
        else:
            print(message, file=sys.stderr, flush=True)

    def __exit__(self, *exc: object) -> None:
        if self._installed:
            from PySide6.QtCore import qInstallMessageHandler

            qInstallMessageHandler(self._previous)


def _join_background_threads(timeout: float = 120.0) -> None:
    """Let the window's background threads (e.g. the generator warm-up) finish.

    A daemon thread still compiling or submitting work while the interpreter shuts
    down can raise or deadlock at exit; the self-test must end cleanly.
    """
    import threading

    deadline = time.perf_counter() + timeout
    for thread in threading.enumerate():
        if thread is threading.current_thread() or not thread.name.startswith("wavenet-"):
            continue
        thread.join(max(0.0, deadline - time.perf_counter()))


def _check_window(run: _Run) -> str:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # headless by definition
    from PySide6.QtCore import QSettings, QStandardPaths
    from PySide6.QtWidgets import QApplication

    # Keep the user's settings, recent files and folders untouched.
    QStandardPaths.setTestModeEnabled(True)
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "wavenet-gui"])
    from wavenet_gui.qt.window import MainWindow

    settings = QSettings(str(run.state["tmp"] / "selftest-settings.ini"), QSettings.Format.IniFormat)
    try:
        window = MainWindow(settings)
    except TypeError:  # a window without the settings parameter
        window = MainWindow()
    notes = []
    try:
        window.show()
        # First launch: the window loads the model code in the background and
        # preloads the example clip.  Give both a moment.
        deadline = time.perf_counter() + 60.0
        while time.perf_counter() < deadline:
            app.processEvents()
            files = getattr(window, "files", None)
            core_done = getattr(window, "core", None) is not None or bool(getattr(window, "core_error", ""))
            if core_done and (files is None or files):
                break
            time.sleep(0.02)
        size = window.size()
        files = getattr(window, "files", None)
        if files is not None:
            names = [Path(getattr(f, "path", f)).name for f in files]
            if "example.wav" not in names:
                raise RuntimeError(f"the example clip was not preloaded (files: {names})")
            notes.append("example clip preloaded")
        core_error = getattr(window, "core_error", "")
        if core_error:
            raise RuntimeError(core_error)
        if getattr(window, "core", None) is not None:
            notes.append("model code loaded")
    finally:
        if hasattr(window, "shutdown"):
            window.shutdown()
        window.close()
        window.deleteLater()
        app.processEvents()
        _join_background_threads()
    extra = f", {', '.join(notes)}" if notes else ""
    return f"{type(window).__name__} {size.width()}x{size.height()} on {QApplication.platformName()}{extra}"
