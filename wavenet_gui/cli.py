"""``wavenet-cli``: train a WaveNet on audio files and generate new audio, from a terminal.

Mirrors the original run.py so its users can switch: the same flag names, Ctrl+C
stops training and goes on to generation, ``--model DIR`` skips training.
Bad input exits with status 2 and one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from pathlib import Path

EXIT_BAD_INPUT = 2


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
    from .core.model import WaveNetConfig
    from .core.training import TrainingConfig

    m, t = WaveNetConfig(), TrainingConfig()
    p = _Parser(
        prog="wavenet-cli",
        description="Train an unconditioned WaveNet on audio files and generate new audio "
                    "(pred_[timestamp].wav in --output_dir).",
        epilog="Ctrl+C during training stops it and goes on to generation; "
               "Ctrl+C during generation stops it and saves what was generated.")
    p.add_argument("--version", action="version", version=f"wavenet-cli {__version__}")
    io = p.add_argument_group("audio and files")
    io.add_argument("--wav", nargs="+", metavar="PATH",
                    help="audio files or folders to train on (default: the bundled example clip)")
    io.add_argument("--sample_rate", type=int, default=m.sample_rate, help="Hz (default %(default)s)")
    io.add_argument("--output_dir", default="output", help="where pred_*.wav and checkpoints go (default %(default)s)")
    io.add_argument("--model", metavar="DIR", help="load a saved model (folder or .safetensors); skips training")
    io.add_argument("--train", type=_bool, default=None, metavar="true|false",
                    help="train (default true; false when --model is given, true with --model resumes it)")
    io.add_argument("--save_weights", type=_bool, nargs="?", const=True, default=False, metavar="true|false",
                    help="save checkpoints to --output_dir while training")
    io.add_argument("--cache_dir", default="auto", metavar="DIR|auto|off",
                    help="decode the training audio once into a memory-mapped cache of classes (one byte per "
                         "sample) in DIR; auto: in the user's cache folder when the files last 10 minutes or "
                         "more; off: decode into memory every run (default %(default)s)")
    io.add_argument("--plot", type=_bool, nargs="?", const=True, default=False, metavar="true|false",
                    help="also write a PNG plot of the input and generated waveforms")
    mo = p.add_argument_group("model")
    mo.add_argument("--n_channels", type=int, default=m.n_channels, help="quantization classes (default %(default)s)")
    mo.add_argument("--quantization", choices=["mu_law", "linear"], default=m.quantization)
    mo.add_argument("--n_dilations", type=int, default=m.n_dilations, help="layers per block (default %(default)s)")
    mo.add_argument("--n_blocks", type=int, default=m.n_blocks, help="(default %(default)s)")
    mo.add_argument("--n_hidden", type=int, default=m.n_hidden, help="residual channels (default %(default)s)")
    mo.add_argument("--n_dilation_channels", type=int, default=m.n_dilation_channels,
                    help="gate channels, 0 = n_hidden (default %(default)s)")
    mo.add_argument("--n_skip", type=int, default=m.n_skip, help="skip channels (default %(default)s)")
    mo.add_argument("--n_end", type=int, default=m.n_end, help="end channels (default %(default)s)")
    tr = p.add_argument_group("training")
    tr.add_argument("--learning_rate", type=float, default=t.learning_rate, help="(default %(default)s)")
    tr.add_argument("--target_loss", type=float, default=None,
                    help="stop when the mean loss of the last 20 iterations reaches this")
    tr.add_argument("--train_iterations", type=int, default=t.train_iterations, help="(default %(default)s)")
    tr.add_argument("--batch_size", type=int, default=t.batch_size, help="(default %(default)s)")
    tr.add_argument("--target_length", type=int, default=t.target_length,
                    help="samples scored per training window (default %(default)s)")
    tr.add_argument("--holdout", type=float, default=0.0,
                    help="fraction at the end of each file held out for a validation loss, e.g. 0.1 "
                         "(default %(default)s)")
    tr.add_argument("--checkpoint_every", type=int, default=t.checkpoint_every, help="(default %(default)s)")
    ge = p.add_argument_group("generation")
    ge.add_argument("--length", type=float, default=2.0, help="seconds to generate (default %(default)s)")
    ge.add_argument("--temperature", type=float, default=1.0, help="0 = greedy (default %(default)s)")
    ge.add_argument("--seed", type=int, default=None, help="same seed, same audio (default random)")
    ge.add_argument("--variations", type=int, default=1, help="how many variations to generate at once (default %(default)s)")
    ge.add_argument("--prime", default="first", metavar="first|silence|FILE",
                    help="start from the first sample of the input (as the original), silence, or a clip")
    ge.add_argument("--weight_format", choices=["float32", "bfloat16", "float16"], default="float32",
                    help="how the fast generator stores the weights: float32 is exact; bfloat16 is faster on "
                         "big models, computed in float32 from 16-bit weights (default %(default)s)")
    p.add_argument("--device", default="cpu",
                   help="cpu, cuda, cuda:N, mps or auto: CUDA, then MPS, then the CPU (default %(default)s)")
    p.add_argument("--precision", default="auto", choices=["auto", "float32", "bfloat16", "float16"],
                   help="training arithmetic: auto is bfloat16 on GPUs that have it (else float16 with a "
                        "gradient scaler) and on CPUs with native bfloat16, else float32; float16 needs CUDA "
                        "(default %(default)s)")
    p.add_argument("--backend", default="auto", choices=["auto", "fast", "torch"], help=argparse.SUPPRESS)
    return p


class Progress:
    """A one-line progress bar on stderr (a line every few seconds when not a terminal)."""

    def __init__(self, label: str, total: int) -> None:
        self.label, self.total = label, total
        self.tty = sys.stderr.isatty()
        self.last = 0.0

    def update(self, done: int, text: str = "", *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < (0.1 if self.tty else 5.0):
            return
        self.last = now
        frac = min(done / max(self.total, 1), 1.0)
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


class _Interrupt:
    """First Ctrl+C sets the event; a second one interrupts for real (not under torchrun,
    which forwards the terminal's Ctrl+C once more: there every Ctrl+C is a stop request)."""

    def __init__(self, message: str, *, escalate: bool = True) -> None:
        self.event = threading.Event()
        self.message = message
        self.escalate = escalate

    def __enter__(self) -> threading.Event:
        def handler(signum, frame):
            if self.event.is_set():
                if self.escalate:
                    raise KeyboardInterrupt
                return
            self.event.set()
            sys.stderr.write(f"\nCtrl+C: {self.message}\n")

        try:
            self.previous = signal.signal(signal.SIGINT, handler)
        except ValueError:  # not the main thread
            self.previous = None
        return self.event

    def __exit__(self, *exc) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)


def run(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from .core.audio import find_audio_files, load_audio
    from .core.errors import ConfigError
    from .core.fileio import check_writable_dir
    from .core.generation import generate, warm_up
    from .core.model import WaveNet, WaveNetConfig
    from .core.modelfile import load_model
    from .core.session import load_training_audio, make_sampler, resolve_device, write_prediction
    from .core.devices import precision_plan
    from .core.training import Trainer, TrainingConfig

    device = resolve_device(args.device)
    train = args.train if args.train is not None else args.model is None
    # scale (issue 15): under torchrun, train with DistributedDataParallel (core/distributed.py).
    launch = _distributed_launch(args, device, train)
    if launch is not None:
        device = launch.device
        launch.__enter__()
        print(launch.describe(), flush=True)
    if not args.length > 0:
        raise ConfigError("--length", f"must be positive seconds, got {args.length}")
    if not (args.temperature >= 0 and args.temperature < float("inf")):
        raise ConfigError("--temperature", f"must be 0 (greedy) or positive, got {args.temperature}")
    if not 1 <= args.variations <= 64:
        raise ConfigError("--variations", f"must be between 1 and 64, got {args.variations}")
    if args.prime not in ("first", "silence") and not Path(args.prime).is_file():
        raise ConfigError("--prime", f"{args.prime!r} is not first, silence or an audio file that exists")
    output_dir = check_writable_dir(args.output_dir)
    # Check every setting before any slow work, so a typo fails at once.
    tcfg = TrainingConfig(
        learning_rate=args.learning_rate, target_loss=args.target_loss, train_iterations=args.train_iterations,
        batch_size=args.batch_size, target_length=args.target_length, holdout=args.holdout,
        save_weights=bool(args.save_weights) or launch is not None, checkpoint_every=args.checkpoint_every,
        output_dir=str(output_dir), seed=args.seed if args.seed is not None else 0,
        device=str(device), precision=args.precision).validate()
    precision_plan(tcfg.precision, device)  # float16 off CUDA fails here, before any slow work

    loaded = None
    if args.model:
        loaded = load_model(args.model, device=device)
        model = loaded.model
        print(f"loaded {loaded.path} ({model.n_parameters():,} parameters, "
              f"trained {loaded.training.get('iteration', 0)} iterations)")
    else:
        model_cfg = WaveNetConfig(
            n_channels=args.n_channels, n_dilations=args.n_dilations, n_blocks=args.n_blocks,
            n_hidden=args.n_hidden, n_dilation_channels=args.n_dilation_channels, n_skip=args.n_skip,
            n_end=args.n_end, sample_rate=args.sample_rate, quantization=args.quantization).validate()
        torch.manual_seed(args.seed if args.seed is not None else 0)
        model = WaveNet(model_cfg).to(device)
    cfg = model.config
    quantizer = cfg.quantizer
    prime_clip = None
    if args.prime not in ("first", "silence"):
        prime_clip = quantizer.encode(load_audio(args.prime, sample_rate=cfg.sample_rate).samples)

    # Audio: needed to train, and for the default prime (first sample of the input).
    signals, audio, corpus = [], [], None
    need_audio = train or args.prime == "first" or args.plot
    if need_audio:
        if args.wav:
            files, skipped = find_audio_files(args.wav)
            for note in skipped:
                print(f"note: {note}", file=sys.stderr)
            if not files:
                raise ConfigError("--wav", "no audio files found in " + ", ".join(args.wav))
        else:
            from .resources_api import example_clip_path

            files = [example_clip_path()]
        min_samples = cfg.receptive_field + 1 if train else 1
        cache_dir = _corpus_cache_dir(args.cache_dir, files) if train else None
        if cache_dir is not None:  # scale (issue 15): decoded once, memory-mapped (core/corpus_cache.py)
            from .core.corpus_cache import open_corpus

            if launch is not None and not launch.is_main:
                torch.distributed.barrier()  # rank 0 decodes; the others then open its cache
            corpus = open_corpus(files, sample_rate=cfg.sample_rate, quantizer=quantizer, cache_dir=cache_dir,
                                 min_samples=min_samples,
                                 progress=lambda i, n, name: print(f"decoding {i + 1}/{n}: {name}", file=sys.stderr))
            if launch is not None and launch.is_main:
                torch.distributed.barrier()
            signals, names, notes = corpus.signals(), corpus.names, corpus.notes
            print(f"{'decoded into' if corpus.decoded else 'read from'} the cache {corpus.directory} "
                  f"({corpus.nbytes / 1e6:,.0f} MB, memory-mapped)", file=sys.stderr)
        else:
            signals, audio = load_training_audio(files, sample_rate=cfg.sample_rate, quantizer=quantizer,
                                                 min_samples=min_samples)
            names = [a.path.name for a in audio]
            notes = [f"{a.path.name}: {note}" for a in audio for note in a.notes]
        for note in notes:
            print(f"note: {note}", file=sys.stderr)
        total = sum(len(s) for s in signals)
        what = "training on" if train else "input:"
        print(f"{what} {len(files)} file(s), {total / cfg.sample_rate:.1f} s at {cfg.sample_rate} Hz; "
              f"model: {model.n_parameters():,} parameters, receptive field {cfg.receptive_field} samples "
              f"({cfg.receptive_field_seconds * 1000:.0f} ms)", flush=True)

    # Compile (or load from disk) the fast generator while training or loading runs.
    threading.Thread(target=warm_up, name="warm-up", daemon=True).start()
    if train:
        sampler = make_sampler(signals, receptive_field=cfg.receptive_field, target_length=tcfg.target_length,
                               holdout=tcfg.holdout, names=names, config=cfg)
        if corpus is not None:
            corpus.release_pages()  # the sampler's checking pass read every page; training reads windows
        trainer_cls, extra = Trainer, {}
        if launch is not None:  # scale (issue 15)
            from .core.distributed import DistributedTrainer

            trainer_cls, extra = DistributedTrainer, {"run": launch}
        if loaded is not None:
            trainer = trainer_cls(model, sampler, tcfg, optimizer_state=loaded.optimizer_state,
                                  iteration=int(loaded.training.get("iteration", 0)), losses=loaded.losses, **extra)
        else:
            trainer = trainer_cls(model, sampler, tcfg, **extra)
        bar = Progress("train", trainer.iteration + tcfg.train_iterations)

        def on_progress(p):
            val = f" val {p.val_loss:.3f}" if p.val_loss is not None else ""
            bar.update(p.iteration, f"loss {p.loss:.3f} (mean {p.mean_loss:.3f}){val} "
                                    f"{p.samples_per_s / 1000:.1f}k samples/s ETA {_fmt_time(p.eta)}")

        stop_text = ("stopping training after this step, then generating "
                     "(Ctrl+C during generation stops it and keeps what was made)") if launch is None else \
            "stopping every process after this step; rank 0 saves the model"
        with _Interrupt(stop_text, escalate=launch is None) as cancel:
            result = trainer.run(callback=on_progress, cancel=cancel)
        bar.update(result.iterations, f"loss {result.final_loss or float('nan'):.3f}", force=True)
        bar.close()
        print(f"training: {result.message} ({result.elapsed:.1f} s)")
        if result.checkpoint:
            print(f"saved {result.checkpoint}")
        if result.reason == "diverged":
            print(f"warning: {result.message}", file=sys.stderr)
        if launch is not None:  # scale (issue 15): rank 0 goes on to generate alone
            launch.close()
            if not launch.is_main:
                return 0
            if result.reason == "cancelled":
                print("stopped; to generate, run wavenet-cli --model "
                      f"{result.checkpoint or tcfg.output_dir} (one process)")
                return 0

    # Prime: first sample of the input (as the original), silence, or a clip.
    if args.prime == "first" and signals:
        prime = np.array([int(signals[0][0])])
    elif args.prime in ("first", "silence"):
        prime = None
    else:
        prime = prime_clip

    n_samples = max(1, int(round(args.length * cfg.sample_rate)))
    bar = Progress("generate", n_samples)

    def on_chunk(p, _audio):
        bar.update(p.done, f"{p.samples_per_s:,.0f} samples/s ({p.realtime_factor:.2f}x real time)")

    with _Interrupt("stopping generation and saving what was made (press again to abort)") as cancel:
        gen = generate(model, n_samples=n_samples, temperature=args.temperature, seed=args.seed, prime=prime,
                       n_streams=args.variations, callback=on_chunk, cancel=cancel, backend=args.backend,
                       weight_format=args.weight_format)
    bar.update(gen.classes.shape[1], f"{gen.samples_per_s:,.0f} samples/s", force=True)
    bar.close()
    if gen.classes.shape[1] == 0:
        print("generation cancelled before any sample was made; nothing written", file=sys.stderr)
        return 0
    written = []
    for k in range(gen.audio.shape[0]):
        suffix = f"_v{k + 1}" if gen.audio.shape[0] > 1 else ""
        written.append(write_prediction(output_dir, gen.audio[k], sample_rate=cfg.sample_rate, suffix=suffix))
    state = "cancelled, kept" if gen.cancelled else "generated"
    print(f"{state} {gen.classes.shape[1] / cfg.sample_rate:.2f} s (seed {gen.seed}, "
          f"{gen.samples_per_s:,.0f} samples/s)")
    for path in written:
        print(f"wrote {path}")
    if args.plot:
        from .plotting import plot_waveforms_png

        source = audio[0].samples if audio else (load_audio(files[0], sample_rate=cfg.sample_rate).samples
                                                  if need_audio else None)
        for k, path in enumerate(written):
            png = plot_waveforms_png(path.with_suffix(".png"), source, gen.audio[k], sample_rate=cfg.sample_rate)
            print(f"wrote {png}")
    return 0


#: ``--cache_dir auto`` caches the decoded audio when the files last at least this long (seconds).
CACHE_MIN_SECONDS = 600.0


def _corpus_cache_dir(choice: str, files) -> "Path | None":
    """scale (issue 15): where to cache the decoded training audio (None: decode into memory)."""
    text = str(choice or "auto").strip()
    if text.lower() == "off":
        return None
    if text.lower() != "auto":
        return Path(text).expanduser()
    from .core.audio import audio_info
    from .core.corpus_cache import default_cache_dir

    seconds = 0.0
    for f in files:
        try:
            seconds += audio_info(f).duration
        except Exception:  # noqa: BLE001 - decoding says what is wrong with the file
            return None
    return default_cache_dir() if seconds >= CACHE_MIN_SECONDS else None


def _distributed_launch(args: argparse.Namespace, device, train: bool):
    """scale (issue 15): the :class:`~wavenet_gui.core.distributed.DistributedRun` of a torchrun
    launch (None otherwise); ranks other than 0 print nothing but their errors."""
    from .core.distributed import DistributedRun, torchrun_env

    env = torchrun_env()
    if env is None:
        return None
    if not train:
        from .core.errors import ConfigError

        raise ConfigError("train", "a torchrun launch trains: drop --train false (generate with one process)")
    launch = DistributedRun(env, device)
    if not launch.is_main:
        import os

        global _RANK_PREFIX
        _RANK_PREFIX = f"rank {env.rank}: "
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - for the life of the process
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115
    return launch


_RANK_PREFIX = ""


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from .core.errors import WaveNetError

    try:
        return run(args)
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
