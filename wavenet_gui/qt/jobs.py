"""The background jobs the window runs, as plain functions over the core.

Every job has the worker signature ``fn(*args, progress, cancel)`` (see
:mod:`wavenet_gui.qt.workers`), imports the core lazily (so the window shows
before torch is loaded) and returns a small result object.  Nothing here
imports Qt widgets; jobs never touch the window.
"""

from __future__ import annotations

import logging
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

_warm_lock = threading.Lock()
_warmed = False


# ---------------------------------------------------------------- core
@dataclass
class CoreInfo:
    devices: list[str]
    config_cls: Any  # core.model.WaveNetConfig
    training_config_cls: Any  # core.training.TrainingConfig
    count_parameters: Any


def count_parameters(cfg) -> int:
    """Parameter count of a WaveNet built from ``cfg``, without allocating its weights."""
    import torch

    from wavenet_gui.core.model import WaveNet

    try:
        with torch.device("meta"):
            net = WaveNet(cfg)
    except Exception:  # noqa: BLE001 - a model that cannot be built on meta: build it for real
        net = WaveNet(cfg)
    if hasattr(net, "n_parameters"):
        return int(net.n_parameters())
    return int(sum(p.numel() for p in net.parameters()))


def _warm_up() -> None:
    global _warmed
    with _warm_lock:
        if _warmed:
            return
        _warmed = True
    try:
        from wavenet_gui.core import generation, training

        training.warm_up()
        generation.warm_up()
    except Exception as exc:  # noqa: BLE001 - generation still works, only the first call is slower
        if "after shutdown" in str(exc) or sys.is_finalizing():  # the process is ending: nothing to report
            return
        log.warning("warming up the generator failed", exc_info=True)


def _leave_a_core_for_the_ui() -> None:
    """On small machines, keep torch's worker threads off one core so the window stays responsive.

    torch's OpenMP threads spin after each parallel region; with as many of them as cores
    the UI thread waits for a time slice (measured: 150-300 ms gaps on 2 cores).
    """
    import os

    import torch

    cores = os.cpu_count() or 1
    if cores <= 4 and torch.get_num_threads() >= cores:
        torch.set_num_threads(max(1, cores - 1))


def _leave_a_core_for_the_ui_numba() -> None:
    """Same as above for numba's threads (several variations): the setting is per calling thread."""
    import os

    cores = os.cpu_count() or 1
    if cores <= 4:
        try:
            import numba

            from wavenet_gui.core.warmup import keep_torch_threads

            with keep_torch_threads():
                numba.set_num_threads(max(1, min(numba.get_num_threads(), cores - 1)))
        except Exception:  # noqa: BLE001 - numba missing: the torch backend is used
            pass


def load_core(*, progress, cancel) -> CoreInfo:  # noqa: ARG001
    """Import torch and the core; start compiling the generator kernels in a daemon thread."""
    from wavenet_gui.core import model, training  # imports torch

    _leave_a_core_for_the_ui()

    devices = ["cpu"]
    try:
        from wavenet_gui.core import session

        devices = list(session.available_devices()) or ["cpu"]
    except Exception:  # noqa: BLE001
        log.warning("could not list devices", exc_info=True)
    # Daemon thread: compilation cannot be interrupted and must not hold up closing the window.
    threading.Thread(target=_warm_up, name="wavenet-warm-up", daemon=True).start()
    return CoreInfo(devices=devices, config_cls=model.WaveNetConfig, training_config_cls=training.TrainingConfig,
                    count_parameters=count_parameters)


# ---------------------------------------------------------------- files
@dataclass
class ProbeResult:
    infos: list[Any] = field(default_factory=list)  # core.audio.AudioInfo
    refused: list[str] = field(default_factory=list)  # one line each, naming the file
    notes: list[str] = field(default_factory=list)  # skipped non-audio files in folders etc.


def probe_files(paths: list[str | Path], sample_rate: int | None = None, *, progress, cancel) -> ProbeResult:  # noqa: ARG001
    """Expand folders, read each file's header and (with ``sample_rate``) load it the way
    training will, so a file that training would refuse is refused now, naming it."""
    from wavenet_gui.core.audio import audio_info, find_audio_files, load_audio
    from wavenet_gui.core.errors import WaveNetError

    result = ProbeResult()
    files: list[Path] = []
    for p in paths:
        p = Path(p)
        try:
            found, skipped = find_audio_files([p])
        except WaveNetError as exc:
            result.refused.append(str(exc))
            continue
        files.extend(found)
        if p.is_dir():
            result.notes.extend(skipped)
        else:
            result.refused.extend(skipped)
    for f in files:
        if cancel.is_set():
            break
        try:
            info = audio_info(f)
            if getattr(info, "frames", 1) == 0:
                raise ValueError("file holds no audio (zero frames)")
            if sample_rate:
                loaded = load_audio(f, sample_rate=int(sample_rate))
                result.notes.extend(f"{f.name}: {n}" for n in loaded.notes)
                del loaded
        except WaveNetError as exc:
            result.refused.append(str(exc))
            continue
        except Exception as exc:  # noqa: BLE001 - the core missed a case: still one line naming the file
            result.refused.append(f"{f.name}: cannot be used ({exc})")
            continue
        result.infos.append(info)
    return result


def load_display_audio(path: str | Path, sample_rate: int, *, progress, cancel):  # noqa: ARG001
    """Load a file as mono float32 at its own rate, for the plot and playback."""
    from wavenet_gui.core.audio import load_audio

    return load_audio(path, sample_rate=int(sample_rate))


# ---------------------------------------------------------------- training
@dataclass
class TrainOutcome:
    model: Any
    result: Any  # core.training.TrainingResult
    notes: list[str]
    files: list[str]
    iteration_offset: int
    optimizer_state: dict | None = None  # Adam's state, to continue training later


def train(paths: list[str], model_kwargs: dict, training_kwargs: dict, model=None, iteration_offset: int = 0,
          optimizer_state: dict | None = None, *, progress, cancel) -> TrainOutcome:
    """Load the audio, build (or continue) the model and train it until done or cancelled.

    Continuing a model (``model`` with the same config) also continues Adam from
    ``optimizer_state`` (from the previous run or a loaded checkpoint)."""
    from wavenet_gui.core.model import WaveNet, WaveNetConfig
    from wavenet_gui.core.session import load_training_audio, make_sampler
    from wavenet_gui.core.training import Trainer, TrainingConfig

    _leave_a_core_for_the_ui()  # in this thread too: OpenMP's thread count is per thread
    cfg = WaveNetConfig(**model_kwargs).validate()
    tcfg = TrainingConfig(**training_kwargs).validate()
    if tcfg.save_weights and tcfg.output_dir:
        from wavenet_gui.core.fileio import check_writable_dir

        check_writable_dir(tcfg.output_dir)
    progress(("status", f"Loading {len(paths)} file(s) at {cfg.sample_rate} Hz…"))
    signals, loaded = load_training_audio(paths, sample_rate=cfg.sample_rate, quantizer=cfg.quantizer)
    notes = [n for la in loaded for n in getattr(la, "notes", [])]
    names = [Path(getattr(la, "path", p)).name for la, p in zip(loaded, paths)]
    sampler = make_sampler(signals, receptive_field=cfg.receptive_field, target_length=tcfg.target_length,
                           holdout=tcfg.holdout, names=names, config=cfg)
    if model is None or model.config != cfg:
        model = WaveNet(cfg)
        iteration_offset = 0
        optimizer_state = None
    trainer = Trainer(model, sampler, tcfg, optimizer_state=optimizer_state)
    progress(("status", "Training…"))
    result = trainer.run(callback=lambda p: progress(("progress", p)), cancel=cancel)
    return TrainOutcome(model=model, result=result, notes=notes, files=[str(p) for p in paths],
                        iteration_offset=iteration_offset, optimizer_state=trainer.optimizer_state())


# ---------------------------------------------------------------- generation
@dataclass
class GenerationOutcome:
    result: Any  # core.generation.GenerationResult
    saved: list[Path]
    note: str
    save_error: str = ""


def generate(model, *, n_samples: int, temperature: float, seed: int | None, n_streams: int, start_from: str,
             prime_file: str | None, output_dir: str | None, weight_format: str = "float32", progress,
             cancel) -> GenerationOutcome:
    """Generate ``n_streams`` sequences; save each as pred_[timestamp].wav in ``output_dir``."""
    from wavenet_gui.core import generation
    from wavenet_gui.core.errors import WaveNetError

    _leave_a_core_for_the_ui_numba()
    cfg = model.config
    prime = None
    note = ""
    if start_from in ("input", "file"):
        if prime_file:
            from wavenet_gui.core.audio import load_audio

            la = load_audio(prime_file, sample_rate=cfg.sample_rate)
            classes = np.asarray(cfg.quantizer.encode(la.samples))
            prime = classes[:1] if start_from == "input" else classes[: model.receptive_field]
            note = f"started from {Path(prime_file).name}"
        else:
            note = "started from silence (no input file)"
    else:
        note = "started from silence"

    def on_chunk(gp, chunk) -> None:
        progress(("chunk", gp, np.array(chunk, dtype=np.float32, copy=True)))

    result = generation.generate(model, n_samples=int(n_samples), temperature=float(temperature), seed=seed,
                                 prime=prime, n_streams=int(n_streams), callback=on_chunk, cancel=cancel,
                                 weight_format=weight_format)
    saved: list[Path] = []
    save_error = ""
    audio = np.asarray(result.audio)
    if output_dir and audio.ndim == 2 and audio.shape[1] > 0:
        from wavenet_gui.core.session import write_prediction

        try:
            for k in range(audio.shape[0]):
                saved.append(write_prediction(output_dir, audio[k], sample_rate=result.sample_rate))
        except WaveNetError as exc:
            save_error = str(exc)
    return GenerationOutcome(result=result, saved=saved, note=note, save_error=save_error)


# ---------------------------------------------------------------- files of models and audio
def load_model_file(path: str | Path, *, progress, cancel):  # noqa: ARG001
    """A ``core.modelfile.LoadedModel`` (model, header, losses, ...)."""
    from wavenet_gui.core.modelfile import load_model

    return load_model(path, device="cpu")


def save_model_file(path: str | Path, model, training: dict, losses: list[float],
                    optimizer_state: dict | None = None, *, progress, cancel) -> Path:  # noqa: ARG001
    from wavenet_gui.core.modelfile import save_model

    return Path(save_model(path, model, training=training, losses=list(losses) or None,
                           optimizer_state=optimizer_state))


def export_audio(path: str | Path, samples: np.ndarray, sample_rate: int, subtype: str | None, *,
                 progress, cancel) -> Path:  # noqa: ARG001
    from wavenet_gui.core.audio import save_audio

    return Path(save_audio(path, np.asarray(samples, np.float32), sample_rate=int(sample_rate), subtype=subtype))
