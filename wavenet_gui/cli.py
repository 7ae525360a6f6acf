"""``wavenet-cli``: train a WaveNet on audio files and generate new audio, from a terminal.

A short script over :class:`wavenet_gui.core.session.Session`, which the window drives
too.  It mirrors the original run.py so its users can switch: the same flag names
(every setting of :data:`wavenet_gui.core.config.SETTINGS` is a flag), Ctrl+C stops
training and goes on to generation, ``--model DIR`` skips training.  Bad input exits
with status 2 and one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

EXIT_BAD_INPUT = 2
#: Training and generation ran, but a checkpoint asked for (--save_weights) could not be written.
EXIT_CHECKPOINT_FAILED = 3


def _bool(text: str) -> bool:
    value = str(text).strip().lower()
    if value in ("1", "true", "yes", "on", "y", "t"):
        return True
    if value in ("0", "false", "no", "off", "n", "f"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (no usage block), exit status 2."""

    def error(self, message: str):  # noqa: D401 - argparse API
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from . import __version__
    from .core import config
    from .core.presets import IMITATE_MAX_SECONDS, PRESETS

    p = _Parser(
        prog="wavenet-cli",
        description="Train an unconditioned WaveNet on audio files and generate new audio "
                    "(pred_[timestamp].wav in --output_dir).",
        epilog="Ctrl+C during training stops it and goes on to generation; "
               "Ctrl+C during generation stops it and saves what was generated. "
               "SIGTERM or SIGHUP stops training (writing the final checkpoint with --save_weights) or "
               "generation (writing the audio made so far), then exits with status 128 + the signal number. "
               "Exit status: 0 done; 2 bad input (one line on stderr); "
               f"{EXIT_CHECKPOINT_FAILED} done, but a checkpoint (--save_weights) could not be written.")
    p.add_argument("--version", action="version", version=f"wavenet-cli {__version__}")
    io = p.add_argument_group("audio and files")
    io.add_argument("--wav", nargs="+", metavar="PATH",
                    help="audio files or folders to train on (default when training a new model: the bundled "
                         "example clip); files in a folder that are not usable audio are skipped with a note")
    io.add_argument("--model", metavar="DIR", help="load a saved model (folder or .safetensors); skips training")
    io.add_argument("--train", type=_bool, default=None, metavar="true|false",
                    help="train (default true; false when --model is given, true with --model resumes it)")
    io.add_argument("--plot", type=_bool, nargs="?", const=True, default=False, metavar="true|false",
                    help="also write a PNG plot of the input and generated waveforms")
    names = "; ".join(f"{name}: {preset.description.rstrip('.')}" for name, preset in PRESETS.items())
    io.add_argument("--preset", choices=[*PRESETS, "auto"], default=None,
                    help=f"start from a preset's settings; flags given still win. auto: the one that suits the "
                         f"files (imitate when each clip lasts up to {IMITATE_MAX_SECONDS:g} s after trimming "
                         f"its silence, else variations). Presets: {names}"
                    .replace("%", "%%"))
    config.add_arguments(p, groups={"model": "model", "training": "training", "generation": "generation",
                                    "output": io})
    p.add_argument("--backend", default="auto", choices=["auto", "fast", "torch"], help=argparse.SUPPRESS)
    return p


class Progress:
    """A one-line progress bar on stderr (a line every few seconds when not a terminal)."""

    def __init__(self, label: str, total: int, start: int = 0) -> None:
        self.label, self.total, self.start = label, total, start
        self.tty = sys.stderr.isatty()
        self.last = 0.0

    def update(self, done: int, text: str = "", *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < (0.1 if self.tty else 5.0):
            return
        self.last = now
        span = max(self.total - self.start, 1)
        frac = min(max(done - self.start, 0) / span, 1.0)
        bar = "#" * int(frac * 24) + "." * (24 - int(frac * 24))
        line = f"{self.label} [{bar}] {done}/{self.total} {text}"
        if self.tty:
            sys.stderr.write("\r" + line[:120].ljust(120))
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def close(self) -> None:
        if self.tty:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _fmt_time(seconds: float | None) -> str:
    if seconds is None or seconds != seconds:
        return "?"
    seconds = int(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}"


class Terminated(BaseException):
    """SIGTERM or SIGHUP outside training and generation (or a second one): the run ends at once.

    A ``BaseException``, so no ``except Exception`` on the way swallows it.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = int(signum)

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name


class _Signals:
    """Ctrl+C (SIGINT), SIGTERM and SIGHUP: stop the step running, keep what was made.

    During training or generation (a :meth:`phase`) the first signal sets the phase's cancel
    event: training stops after the current step and writes its final checkpoint
    (``--save_weights``), generation stops after the current chunk and writes the audio made
    so far.  After Ctrl+C the run goes on (training to generation); after SIGTERM or SIGHUP
    (a logout, ``kill``, a job scheduler) it ends once everything is written, with exit status
    128 + the signal's number.  A second signal, or one outside a phase, ends the run at once.
    """

    NAMES = ("SIGINT", "SIGTERM", "SIGHUP")

    def __init__(self) -> None:
        self.event: threading.Event | None = None
        self.message = ""
        self.terminated = 0
        self.previous: dict[int, Callable[[int, FrameType | None], Any] | int | None] = {}
        self.escalate = True

    def install(self) -> _Signals:
        for name in self.NAMES:
            signum = getattr(signal, name, None)
            if signum is None:  # no SIGHUP on Windows
                continue
            try:
                self.previous[signum] = signal.signal(signum, self._handler)
            except ValueError:  # not the main thread (an embedding program): leave signals alone
                break
        return self

    def restore(self) -> None:
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)
        self.previous.clear()

    def phase(self, message: str, *, escalate: bool = True) -> _Phase:
        """``escalate=False`` under torchrun, which forwards the terminal's Ctrl+C once more:
        there every Ctrl+C is a stop request, never an abort."""
        self.escalate = escalate
        return _Phase(self, message)

    def _handler(self, signum, frame) -> None:
        if signum != signal.SIGINT and not self.terminated:
            self.terminated = signum
        if self.event is not None and self.event.is_set() and signum == signal.SIGINT and not self.escalate:
            return
        if self.event is None or self.event.is_set():
            if signum == signal.SIGINT:
                raise KeyboardInterrupt
            raise Terminated(signum)
        self.event.set()
        if signum == signal.SIGINT:
            sys.stderr.write(f"\nCtrl+C: {self.message}\n")
        else:
            sys.stderr.write(f"\n{signal.Signals(signum).name}: stopping after this step; keeping what was made, "
                             "then exiting\n")
        sys.stderr.flush()


class _Phase:
    def __init__(self, owner: _Signals, message: str) -> None:
        self.owner, self.message = owner, message

    def __enter__(self) -> threading.Event:
        event = threading.Event()
        if self.owner.terminated:  # a SIGTERM earlier: stop at once, keep what there is
            event.set()
        self.owner.event, self.owner.message = event, self.message
        return event

    def __exit__(self, *exc) -> None:
        self.owner.event = None


def _settings(args: argparse.Namespace, clip_seconds: list[float] | None = None) -> dict:
    """The session's settings: the table's defaults, a preset's values, then the flags given.

    ``clip_seconds``: the files' durations after trimming their silence, as the window's file
    list gives them to the presets (:meth:`Session.clip_seconds`); None before the files are read
    (the presets' sample rate and silence threshold do not depend on them).
    """
    from .core import config
    from .core.presets import suggest_preset

    values = config.defaults()
    values["output_dir"] = "output"
    if args.preset:
        seconds = list(clip_seconds or [])
        name = suggest_preset(seconds) if args.preset == "auto" else args.preset
        values.update(config.preset_values(name, clip_seconds=seconds))
    values.update(config.values_from_args(args))
    return values


def _read_files(session, args: argparse.Namespace, train: bool) -> bool:
    """Add the audio to the session, printing each note once; with ``--preset``, lay it out for the
    files' trimmed durations (as the window does).  Returns whether any file was read.

    With ``--wav``: those files and folders (a file named there that is refused ends the run; one
    found in a folder is skipped with a note).  Without: the example clip when training a new
    model; nothing when generating from ``--model`` (it starts from silence).
    """
    from .core import config

    if args.wav:
        paths = list(args.wav)
    elif train and not args.model:
        from .resources import example_clip_path

        paths = [example_clip_path()]
    else:
        return False
    report = session.add_files(paths, strict=True)
    for note in report.notes:
        _note(note)
    for line in report.refused:
        _note(f"{line}; skipped")
    for line in report.same_content:
        _note(line)
    if report.duplicates:
        _note(f"{', '.join(report.duplicates)}: given twice; read once")
    if args.preset:
        values = _settings(args, session.clip_seconds())
        if session.model is not None:  # a loaded model decides its own model settings
            values = {k: v for k, v in values.items() if k not in config.MODEL_SETTINGS}
        session.update_settings(values)
    return True


_printed: set[str] = set()


def _note(text: str) -> None:
    """A ``note:`` line on stderr, once per run (adding files and training report the same trims)."""
    if text in _printed:
        return
    _printed.add(text)
    print(f"note: {text}", file=sys.stderr)


def run(args: argparse.Namespace, signals: _Signals | None = None) -> int:
    from .core import config
    from .core.errors import ConfigError
    from .core.generation import warm_up
    from .core.progress import drain
    from .core.session import Session

    signals = signals or _Signals()
    session = Session(_settings(args))
    session.backend = args.backend
    train = args.train if args.train is not None else args.model is None
    checkpoint_failed = False
    # scale (issue 15): under torchrun, train with DistributedDataParallel (core/distributed.py).
    launch = _distributed_launch(session, train)
    if launch is not None:
        print(launch.describe(), flush=True)
    session.corpus_progress = lambda i, n, name: print(f"decoding {i + 1}/{n}: {name}", file=sys.stderr)
    given = config.values_from_args(args)
    _printed.clear()
    # Check every setting before any slow work, so a typo fails at once.
    session.checked()
    if not args.model:  # a loaded model's rate decides how much audio is made: checked once it is loaded
        session.check_generation(need_model=False)
    if train and args.model and not args.wav:
        raise ConfigError("wav", "continuing a model (--model with --train true) needs the audio to train on: "
                                 "give it with --wav")
    if args.model:
        loaded = session.load_model(args.model)
        ignored = [f"--{name}" for name in config.MODEL_SETTINGS if name in given
                   and given[name] != getattr(loaded.model.config, name)]
        print(f"loaded {loaded.path} ({loaded.model.n_parameters():,} parameters, "
              f"trained {session.state.iteration} iterations)")
        if ignored:
            print(f"note: {', '.join(ignored)} ignored: the model file decides its own settings", file=sys.stderr)
        from .core.session import KEPT_GENERATION_SETTINGS, restored_generation

        kept = {k: v for k, v in restored_generation(loaded.training).items()
                if k not in given and v != config.SETTINGS[k].default}
        session.update_settings({k: v for k, v in given.items() if k in KEPT_GENERATION_SETTINGS})  # flags win
        if kept:
            shown = ", ".join(f"{config.SETTINGS[k].label.lower()} {v:g}" if isinstance(v, (int, float))
                              else f"{config.SETTINGS[k].label.lower()} {v}" for k, v in kept.items())
            _note(f"generating as the model was trained to ({shown}; flags override it)")
        session.check_generation(need_model=False)  # at the model's rate
    if train:
        session.check_training()  # settings, output folder (before reading any audio)

    # Audio: to train on, to start from (prime "first") and to judge the output against (the
    # collapse check).  Generating from --model without --wav reads none: no example clip.
    if _read_files(session, args, train):
        if args.preset:  # the preset laid out for the files' trimmed durations: checked again
            session.checked()
            session.check_generation(need_model=False)
            if train:
                session.check_training()
        cfg = session.model.config if session.model is not None else session.model_config()
        total = sum(session.clip_seconds())
        what = "training on" if train else "input:"
        print(f"{what} {len(session.files)} file(s), {total:.1f} s; model: {config.parameter_count(cfg.to_dict()):,} "
              f"parameters, receptive field {cfg.receptive_field} samples "
              f"({cfg.receptive_field_seconds * 1000:.0f} ms) at {cfg.sample_rate} Hz", flush=True)

    # Compile (or load from disk) the fast generator while training or loading runs; only in the
    # process that generates (the other ranks of a distributed run return after training, and a
    # process that exits while numba is inside LLVM can abort: "terminate called ...").
    global _warming
    if launch is None or launch.is_main:
        _warming = threading.Thread(target=warm_up, name="warm-up", daemon=True)
        _warming.start()
    if train:
        bar = None

        warned = False

        def on_progress(p):
            nonlocal bar, warned
            if isinstance(p, str):
                corpus = session.corpus
                if p.startswith("Training") and corpus is not None:
                    print(f"{'decoded into' if corpus.decoded else 'read from'} the cache {corpus.directory} "
                          f"({corpus.nbytes / 1e6:,.0f} MB, memory-mapped)", file=sys.stderr)
                return
            if p.checkpoint_error and not warned:  # once; training goes on with the model in memory
                warned = True
                if bar is not None:
                    bar.close()
                print(f"warning: {p.checkpoint_error} (training goes on; the model stays in memory)",
                      file=sys.stderr, flush=True)
            if bar is None:
                bar = Progress("train", p.total_iterations, start=p.total_iterations - session.checked(
                    "training")["train_iterations"])
            val = f" val {p.val_loss:.3f}" if p.val_loss is not None else ""
            bar.update(p.iteration, f"loss {p.loss:.3f} (mean {p.mean_loss:.3f}){val} "
                                    f"{p.samples_per_s / 1000:.1f}k samples/s ETA {_fmt_time(p.eta)}")

        stop_text = ("stopping training after this step, then generating "
                     "(Ctrl+C during generation stops it and keeps what was made)") if launch is None else \
            "stopping every process after this step; rank 0 saves the model"
        with signals.phase(stop_text, escalate=launch is None) as cancel:
            outcome = drain(session.train(cancel=cancel), on_progress)
        result = outcome.result
        if bar is not None:
            bar.update(result.iterations, f"loss {result.final_loss or float('nan'):.3f}", force=True)
            bar.close()
        for note in outcome.notes:
            _note(note)
        print(f"training: {result.message} ({result.elapsed:.1f} s)")
        if result.checkpoint:
            print(f"saved {result.checkpoint}")
        if result.checkpoint_error:
            checkpoint_failed = True
            print(f"warning: {result.checkpoint_error}; generating from the model in memory "
                  f"(exit status {EXIT_CHECKPOINT_FAILED})", file=sys.stderr, flush=True)
        if result.reason == "diverged":
            print(f"warning: {result.message}", file=sys.stderr)
        if launch is not None:  # scale (issue 15): rank 0 goes on to generate alone
            launch.close()
            session.distributed = None
            if not launch.is_main:
                return 0
            if result.reason == "cancelled":
                where = result.checkpoint or session.settings["output_dir"]
                print(f"stopped; to generate, run wavenet-cli --model {where} (one process)")
                return 0
        if signals.terminated:
            print(f"wavenet-cli: {signal.Signals(signals.terminated).name}: training stopped and kept; "
                  "not generating", file=sys.stderr, flush=True)
            return 128 + signals.terminated
    if session.model is None:
        raise ConfigError("model", "there is no model: train (--train true) or load one (--model)")

    n_samples = max(1, int(round(session.checked("generation")["length"] * session.model.config.sample_rate)))
    bar = Progress("generate", n_samples)

    def on_chunk(p):
        bar.update(p.done, f"{p.samples_per_s:,.0f} samples/s ({p.realtime_factor:.2f}x real time)")

    with signals.phase("stopping generation and saving what was made (press again to abort)") as cancel:
        outcome = drain(session.generate(cancel=cancel), on_chunk)
    results = outcome.results
    bar.update(results.length, f"{results.samples_per_s:,.0f} samples/s", force=True)
    bar.close()
    done = 128 + signals.terminated if signals.terminated else EXIT_CHECKPOINT_FAILED if checkpoint_failed else 0
    if results.length == 0:
        print("generation cancelled before any sample was made; nothing written", file=sys.stderr)
        return done
    if results.save_error:
        raise ConfigError("output_dir", results.save_error)
    state = "cancelled, kept" if results.cancelled else "generated"
    print(f"{state} {results.length / results.sample_rate:.2f} s (seed {results.seed}, {results.note}, "
          f"{results.samples_per_s:,.0f} samples/s)")
    for path in results.saved:
        print(f"wrote {path}")
    if not session.files:
        _note("not checked for a collapse into silence or noise: that check compares the output with the "
              "training audio (give it with --wav)")
    for warning in results.warnings:  # a collapse into silence, a stuck value or noise
        print(f"warning: {warning}", file=sys.stderr)
    if args.plot:
        from .core.audio import load_audio
        from .qt.plotting import plot_waveforms_png

        source = load_audio(session.files[0].path, sample_rate=results.sample_rate).samples if session.files else None
        for k, path in enumerate(results.saved):
            png = plot_waveforms_png(Path(path).with_suffix(".png"), source, results.audio(k),
                                     sample_rate=results.sample_rate)
            print(f"wrote {png}")
    return done


def _distributed_launch(session, train: bool):
    """scale (issue 15): the :class:`~wavenet_gui.core.distributed.DistributedRun` of a torchrun
    launch, its process group started (None outside torchrun).  Every process trains on its own
    device and always saves (rank 0 writes); ranks other than 0 print nothing but their errors."""
    from .core import config
    from .core.distributed import DistributedRun, torchrun_env
    from .core.errors import ConfigError
    from .core.session import resolve_device

    env = torchrun_env()
    if env is None:
        return None
    if not train:
        raise ConfigError("train", "a torchrun launch trains: drop --train false (generate with one process)")
    device = resolve_device(config.parse("device", session.settings["device"]))
    launch = DistributedRun(env, device)
    if not launch.is_main:
        import os

        global _RANK_PREFIX
        _RANK_PREFIX = f"rank {env.rank}: "
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - for the life of the process
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115
    session.update_settings({"device": str(launch.device), "save_weights": True})
    launch.__enter__()
    session.distributed = launch
    return launch


_RANK_PREFIX = ""


#: The warm-up thread of this run (see :func:`run`), or None.
_warming: threading.Thread | None = None


def main(argv: list[str] | None = None) -> int:
    signals = _Signals().install()  # before the slow imports: a SIGTERM now ends the run cleanly
    try:
        code = _main(argv, signals)
    except Terminated as t:  # a signal ends the run at once, compiling or not
        print(f"\nwavenet-cli: {t.name}: stopped", file=sys.stderr)
        return 128 + t.signum
    finally:
        signals.restore()
    # An error before generation (or a run that did not generate) may leave the warm-up compiling:
    # let it finish, as exiting while numba is inside LLVM can abort the process.
    if _warming is not None and _warming.is_alive():
        _warming.join()
    return code


def _main(argv: list[str] | None, signals: _Signals) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from .core.errors import WaveNetError

    try:
        return run(args, signals)
    except WaveNetError as e:
        print(f"wavenet-cli: error: {_RANK_PREFIX}{e}", file=sys.__stderr__ if _RANK_PREFIX else sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("\nwavenet-cli: aborted", file=sys.stderr)
        return 130
    except MemoryError:
        print("wavenet-cli: error: out of memory; try a smaller model, batch size or target length",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
