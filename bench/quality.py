"""Does the generated audio sound like the clip it was trained on?  Judged by proxies, not the loss.

Makes its own clips (espeak-ng words, sentences and a 19 s story in several voices at 8 kHz via sox, a
synthesised melody, a drum loop, a texture; written to ``bench/quality_clips/``, not
committed), trains each preset on each clip it suits for fixed iteration counts (about 2
and about 10 minutes of one core, see :data:`BUDGETS`) through the core API (trim,
sampler, Trainer, generate, check), generates from the preset's default start and
measures the output against the clip:

* ``silent``: share of 32 ms frames (10 ms hop) more than 35 dB below the clip's loudest;
* ``logmel_db`` / ``logmel_dtw_db``: log-mel distance in dB (RMS over 40 bands, 50-4000 Hz,
  floored at -80 dB), frame by frame and after subsequence DTW (slopes 1/2 to 2) of the
  clip inside the output, averaged over the frames where either is non-silent;
* ``envelope_corr``: correlation of the mean log-mel spectra (the spectral envelope);
* ``flatness``: spectral flatness of the non-silent frames (white noise 0.56, speech 0.05);
  ``noisiness``: the same after pre-emphasis (speech 0.08, collapsed speech models' hiss 0.43-0.53);
* ``speech``: silero-vad speech fraction (16 kHz); ``words``: pocketsphinx's hypothesis
  (a hint only: it is unstable on 8 kHz synthetic speech); ``voice``: resemblyzer cosine
  similarity to the clip;
* ``collapse``: what :func:`wavenet_gui.core.checks.check_generation` says (None: nothing).

Each clip is also measured against calibration points: its own mu-law round trip (the
floor: the best any model can score), white noise at its level and digital silence.

    pip install -e '.[bench]' && pip install --no-deps resemblyzer
    python bench/quality.py                       # the full table (hours of one core)
    python bench/quality.py --clips word_en --presets imitate --budgets 2 --quick

Writes ``bench/quality.json`` (``--out``) and, with ``--keep``, the generated audio.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import librosa  # noqa: E402
import soundfile as sf  # noqa: E402
import torch  # noqa: E402

from wavenet_gui.core import checks, training  # noqa: E402
from wavenet_gui.core.audio import load_audio  # noqa: E402
from wavenet_gui.core.generation import generate, warm_up  # noqa: E402
from wavenet_gui.core.model import WaveNet, WaveNetConfig  # noqa: E402
from wavenet_gui.core.presets import PRESETS, split_settings  # noqa: E402
from wavenet_gui.core.quantization import Quantizer  # noqa: E402
from wavenet_gui.core.session import make_sampler  # noqa: E402
from wavenet_gui.core.silence import trim_silence  # noqa: E402
from wavenet_gui.core.training import Trainer  # noqa: E402
from wavenet_gui.core.warmup import keep_torch_threads  # noqa: E402

CLIP_DIR = ROOT / "bench" / "quality_clips"

#: Budgets in minutes of one core -> CPU seconds per iteration measured with
#: ``--measure-speed`` (one thread, batch 4, float32 fused pass) on the machine in the README.
BUDGETS = {"2": 120.0, "10": 600.0}


@dataclass(frozen=True)
class Clip:
    name: str
    kind: str  # "word", "sentence", "melody", "drums", "texture"
    text: str | None
    voice: str | None
    sample_rate: int = 8000

    @property
    def path(self) -> Path:
        return CLIP_DIR / f"{self.name}_{self.sample_rate // 1000}k.wav"


#: Three sentences (19 s at 8 kHz): longer material, for Variations and Speech 16 kHz.
STORY = ("The quick brown fox jumps over the lazy dog by the river. She sells sea shells on the sea shore every "
         "summer morning. A small boat drifted slowly past the old stone bridge, while children laughed and "
         "played on the grassy bank. Later that evening the wind grew stronger and the rain began to fall.")

CLIPS = [
    Clip("word_en", "word", "hello", "en"),
    Clip("word_f3", "word", "water", "en+f3"),
    Clip("word_m2", "word", "seven", "en-us+m2"),
    Clip("sentence_en", "sentence", "the quick brown fox jumps over the lazy dog by the river", "en"),
    Clip("sentence_f3", "sentence", "she sells sea shells on the sea shore every summer morning", "en+f3"),
    Clip("sentence_16k", "sentence", "the quick brown fox jumps over the lazy dog by the river", "en-us+m2", 16000),
    Clip("story_en", "story", STORY, "en"),  # 19 s: longer material, for Variations
    Clip("story_16k", "story", STORY, "en-us+m2", 16000),  # the same story at 16 kHz, for Speech 16 kHz
    Clip("melody", "melody", None, None),
    Clip("drums", "drums", None, None),
    Clip("texture", "texture", None, None),
]

#: Which presets each kind of clip is judged under.
PRESET_KINDS = {
    "imitate": ("word", "sentence"),
    "variations": ("sentence", "story", "melody", "drums", "texture"),
    "speech16k": ("sentence", "story"),
}


# ---------------------------------------------------------------------------------------------
# clips
def _espeak(text: str, voice: str, path: Path, sr: int) -> None:
    # names of this process's own, renamed into place: runs started together may make the same clip
    raw, part = path.with_suffix(f".{os.getpid()}.raw.wav"), path.with_suffix(f".{os.getpid()}.part.wav")
    subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "-w", str(raw), text], check=True)
    subprocess.run(["sox", str(raw), "-r", str(sr), "-c", "1", "-b", "16", str(part)], check=True)
    raw.unlink()
    os.replace(part, path)


def _melody(sr: int, seconds: float = 4.0) -> np.ndarray:
    notes = [60, 64, 67, 72, 71, 67, 64, 62, 60, 65, 69, 72, 70, 67, 64, 60]  # MIDI, eighths at 120 bpm
    n = int(0.25 * sr)
    out = []
    for m in notes[: int(seconds / 0.25)]:
        f = 440.0 * 2 ** ((m - 69) / 12)
        t = np.arange(n) / sr
        env = np.minimum(t / 0.01, 1.0) * np.exp(-3.0 * t)
        out.append(env * (np.sin(2 * np.pi * f * t) + 0.4 * np.sin(4 * np.pi * f * t)
                          + 0.2 * np.sin(6 * np.pi * f * t)))
    return 0.3 * np.concatenate(out)


def _drums(sr: int, seconds: float = 4.0) -> np.ndarray:
    rng = np.random.default_rng(1)
    n = int(seconds * sr)
    out = np.zeros(n)
    step = int(0.125 * sr)  # sixteenths at 120 bpm
    for i in range(n // step):
        t = np.arange(min(step * 2, n - i * step)) / sr
        if i % 8 == 0:  # kick
            hit = np.sin(2 * np.pi * (50 + 100 * np.exp(-30 * t)) * t) * np.exp(-12 * t)
        elif i % 8 == 4:  # snare
            hit = (0.6 * rng.standard_normal(len(t)) * np.exp(-20 * t)
                   + 0.3 * np.sin(2 * np.pi * 190 * t) * np.exp(-25 * t))
        else:  # hat
            hit = 0.2 * np.diff(rng.standard_normal(len(t) + 1)) * np.exp(-60 * t)
        out[i * step: i * step + len(hit)] += hit
    return 0.5 * out / np.abs(out).max()


def _texture(sr: int, seconds: float = 4.0) -> np.ndarray:
    rng = np.random.default_rng(2)
    n = int(seconds * sr)
    noise = rng.standard_normal(n)
    # brown-ish wind with slow swells and a few droplets
    wind = np.cumsum(noise)
    wind -= np.convolve(wind, np.ones(400) / 400, mode="same")
    wind /= np.abs(wind).max()
    swell = 0.6 + 0.4 * np.sin(2 * np.pi * 0.5 * np.arange(n) / sr)
    out = 0.3 * wind * swell
    for k in rng.integers(0, n - 400, 12):
        t = np.arange(400) / sr
        out[k:k + 400] += 0.2 * np.sin(2 * np.pi * rng.uniform(1500, 3000) * t) * np.exp(-80 * t)
    return 0.5 * out / np.abs(out).max()


def make_clip(clip: Clip) -> Path:
    """Write the clip (once) and return its path."""
    CLIP_DIR.mkdir(parents=True, exist_ok=True)
    if not clip.path.exists():
        if clip.text is not None:
            _espeak(clip.text, clip.voice, clip.path, clip.sample_rate)
        else:
            synth = {"melody": _melody, "drums": _drums, "texture": _texture}[clip.kind]
            part = clip.path.with_suffix(f".{os.getpid()}.part.wav")
            sf.write(part, synth(clip.sample_rate).astype(np.float32), clip.sample_rate, subtype="PCM_16")
            os.replace(part, clip.path)
    return clip.path


# ---------------------------------------------------------------------------------------------
# judges
_MEL_CACHE: dict = {}


def log_mel(x: np.ndarray, sr: int) -> np.ndarray:
    """[frames, 40] log-mel in dB: 32 ms frames, 10 ms hop, 50-4000 Hz, floored at -80 dB."""
    n_fft, hop = int(0.032 * sr), int(0.010 * sr)
    key = (sr, n_fft)
    if key not in _MEL_CACHE:
        _MEL_CACHE[key] = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=40, fmin=50, fmax=min(4000, sr / 2))
    x = np.asarray(x, dtype=np.float32)
    if len(x) < n_fft:
        x = np.pad(x, (0, n_fft - len(x)))
    spec = np.abs(librosa.stft(x, n_fft=n_fft, hop_length=hop, center=False, window="hann")) ** 2
    mel = _MEL_CACHE[key] @ spec
    return np.maximum(10 * np.log10(np.maximum(mel, 1e-20)), -80.0).T


def logmel_distances(gen: np.ndarray, ref: np.ndarray, sr: int) -> tuple[float, float]:
    """(plain, DTW-aligned) log-mel distance in dB over the frames where either is non-silent."""
    G, R = log_mel(gen, sr), log_mel(ref, sr)
    rlev = checks.frame_levels_db(ref, sr)
    floor = rlev.max() - checks.SILENT_DB
    glev = checks.frame_levels_db(gen, sr)
    ns_r = np.r_[rlev, np.full(max(0, len(R) - len(rlev)), -200.0)][:len(R)] >= floor
    ns_g = np.r_[glev, np.full(max(0, len(G) - len(glev)), -200.0)][:len(G)] >= floor
    n = min(len(G), len(R))
    d = np.sqrt(np.mean((G[:n] - R[:n]) ** 2, axis=1))
    keep = ns_g[:n] | ns_r[:n]
    plain = float(d[keep].mean()) if keep.any() else 0.0
    # subsequence DTW: the clip (query) inside the output, steps of slope 1/2, 1 and 2; an output
    # shorter than the clip is matched inside the clip instead (the query must be the shorter one)
    cost = np.sqrt(np.mean((R[:, None, :] - G[None, :, :]) ** 2, axis=2))  # [nR, nG]
    steps = np.array([[1, 1], [1, 2], [2, 1]])
    swap = len(R) > len(G)
    _, path = librosa.sequence.dtw(C=cost.T if swap else cost, subseq=True, step_sizes_sigma=steps,
                                   weights_add=np.zeros(3), weights_mul=np.ones(3))
    i, j = (path[:, 1], path[:, 0]) if swap else (path[:, 0], path[:, 1])
    keep = ns_r[i] | ns_g[j]
    dtw = float(cost[i, j][keep].mean()) if keep.any() else 0.0
    return plain, dtw


def envelope_corr(gen: np.ndarray, ref: np.ndarray, sr: int) -> float:
    a, b = log_mel(gen, sr).mean(axis=0), log_mel(ref, sr).mean(axis=0)
    if a.std() == 0 or b.std() == 0:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


class SpeechJudges:
    """silero-vad, pocketsphinx and resemblyzer, loaded once (their weights ship in their wheels)."""

    def __init__(self) -> None:
        from silero_vad import load_silero_vad

        self.vad = load_silero_vad()
        try:
            from resemblyzer import VoiceEncoder
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self.encoder = VoiceEncoder("cpu", verbose=False)
        except Exception as exc:  # pragma: no cover - optional judge
            print(f"note: resemblyzer unavailable ({exc}); no voice similarity", file=sys.stderr)
            self.encoder = None
        self._emb: dict = {}

    @staticmethod
    def to16k(x: np.ndarray, sr: int) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        return x if sr == 16000 else librosa.resample(x, orig_sr=sr, target_sr=16000).astype(np.float32)

    def speech_fraction(self, y16: np.ndarray) -> float:
        n = len(y16) // 512
        if n == 0:
            return 0.0
        self.vad.reset_states()
        with torch.no_grad():
            probs = [float(self.vad(torch.from_numpy(y16[k * 512:(k + 1) * 512].copy()), 16000)) for k in range(n)]
        return float(np.mean(np.array(probs) > 0.5))

    def words(self, y16: np.ndarray) -> str:
        from pocketsphinx import Decoder

        dec = Decoder(samprate=16000, logfn=os.devnull)
        pcm = (np.clip(y16, -1, 1) * 32767).astype(np.int16).tobytes()
        dec.start_utt()
        dec.process_raw(pcm, full_utt=True)
        dec.end_utt()
        hyp = dec.hyp()
        return hyp.hypstr if hyp is not None else ""

    def embedding(self, y16: np.ndarray):
        if self.encoder is None:
            return None
        from resemblyzer import preprocess_wav

        wav = preprocess_wav(y16, source_sr=16000)
        if len(wav) < 1600:  # resemblyzer trims silence; nothing left to embed
            return None
        return self.encoder.embed_utterance(wav)

    def voice(self, y16: np.ndarray, ref_key: str, ref16: np.ndarray) -> float | None:
        if ref_key not in self._emb:
            self._emb[ref_key] = self.embedding(ref16)
        a, b = self.embedding(y16), self._emb[ref_key]
        if a is None or b is None:
            return None
        return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def judge(gen: np.ndarray, ref: np.ndarray, sr: int, *, speech: SpeechJudges | None, ref_key: str) -> dict:
    profile = checks.AudioProfile.of([ref], sample_rate=sr)
    lev = checks.frame_levels_db(gen, sr)
    plain, dtw = logmel_distances(gen, ref, sr)
    out = {
        "silent": round(float(np.mean(lev < profile.peak_db - checks.SILENT_DB)), 3),
        "logmel_db": round(plain, 2),
        "logmel_dtw_db": round(dtw, 2),
        "envelope_corr": round(envelope_corr(gen, ref, sr), 3),
        "flatness": round(checks.flatness(gen, sr, loud_db=profile.peak_db - checks.SILENT_DB), 3),
        "noisiness": round(checks.noisiness(gen, sr, loud_db=profile.peak_db - checks.SILENT_DB), 3),
    }
    if speech is not None:
        y16, r16 = SpeechJudges.to16k(gen, sr), SpeechJudges.to16k(ref, sr)
        out["speech"] = round(speech.speech_fraction(y16), 3)
        out["words"] = speech.words(y16)
        v = speech.voice(y16, ref_key, r16)
        out["voice"] = None if v is None else round(v, 3)
    collapse = checks.check_generation(gen, profile=profile)
    out["collapse"] = None if collapse is None else collapse.kind
    return out


def calibration(ref: np.ndarray, sr: int, *, speech: SpeechJudges | None, ref_key: str) -> dict:
    q = Quantizer(n_channels=256)
    rms = float(np.sqrt(np.mean(ref ** 2)))
    noise = np.random.default_rng(0).standard_normal(len(ref)) * rms
    return {
        "clip": judge(ref, ref, sr, speech=speech, ref_key=ref_key),
        "floor_mulaw_round_trip": judge(q.decode(q.encode(ref)).astype(np.float32), ref, sr, speech=speech,
                                        ref_key=ref_key),
        "white_noise": judge(noise.astype(np.float32), ref, sr, speech=speech, ref_key=ref_key),
        "silence": judge(np.zeros_like(ref), ref, sr, speech=speech, ref_key=ref_key),
    }


# ---------------------------------------------------------------------------------------------
# training and generation through the core
def measure_speed(settings: dict, *, steps: int = 4) -> float:
    """CPU seconds per iteration of one thread for these settings (after a warm-up step)."""
    mcfg, tcfg, _ = split_settings(settings)
    model = WaveNet(WaveNetConfig(**mcfg))
    tc = training.TrainingConfig(**{**tcfg, "train_iterations": steps + 1})
    sig = [np.random.default_rng(0).integers(0, model.config.n_channels, 40_000)]
    trainer = Trainer(model, make_sampler(sig, receptive_field=model.receptive_field,
                                          target_length=tc.target_length, config=model.config), tc)
    trainer.step()
    t0 = time.process_time()
    for _ in range(steps):
        trainer.step()
    return (time.process_time() - t0) / steps


#: CPU seconds per iteration (one thread, float32 fused pass, batch 4) by
#: (sample_rate, n_dilations, n_blocks, n_hidden, target_length), from ``--measure-speed``.
SPEED = {
    (8000, 10, 2, 32, 2048): 0.176,
    (8000, 12, 2, 32, 4096): 0.508,
    (8000, 13, 2, 32, 4096): 0.713,
    (8000, 11, 2, 32, 3840): 0.333,
    (16000, 11, 2, 32, 4096): 0.371,
}


def iterations_for(settings: dict, cpu_seconds: float) -> int:
    """The fixed iteration count that takes about ``cpu_seconds`` of one core for these settings."""
    key = tuple(settings.get(k) for k in ("sample_rate", "n_dilations", "n_blocks", "n_hidden", "target_length"))
    if key not in SPEED:
        SPEED[key] = measure_speed(settings)
        print(f"note: measured {SPEED[key]:.3f} CPU s/iteration for {key} (not in the table)", file=sys.stderr)
    return max(1, int(round(cpu_seconds / SPEED[key])))


class GainAugmented:
    """A screening experiment (``--augment-gain DB``): each training window scaled by a random gain.

    The gain is uniform in ``[-db, +db]`` dB per window, applied to the decoded samples and
    re-quantized (inputs and targets alike, so the model learns the clip at other levels);
    padding (-1) stays padding.  Kept out of the core unless it measurably helps.
    """

    def __init__(self, sampler, quantizer: Quantizer, db: float) -> None:
        self._sampler, self._q, self._db = sampler, quantizer, db

    def __getattr__(self, name):
        return getattr(self._sampler, name)

    def sample(self, batch_size: int, rng: np.random.Generator) -> np.ndarray:
        x = self._sampler.sample(batch_size, rng)
        gain = 10.0 ** (rng.uniform(-self._db, self._db, size=(len(x), 1)) / 20.0)
        pad = x < 0
        y = self._q.encode(np.clip(self._q.decode(np.maximum(x, 0)) * gain, -1.0, 1.0))
        return np.where(pad, x, y).astype(x.dtype)


class InputNoiseTrainer(Trainer):
    """A screening experiment (``--augment-input-noise N``): every input class moved by a random
    whole number in ``[-N, N]`` (clipped to the classes), the targets left clean, so the model
    learns to continue from slightly wrong pasts, as it must when it samples its own.

    Uses the autograd loss (the fused pass reads inputs and targets from one tensor); the
    arithmetic is the same, only slower.
    """

    input_noise = 0

    def _loss(self, x):
        import torch.nn.functional as F

        from wavenet_gui.core.data import IGNORE

        T = self.config.target_length
        C = self.model.config.n_channels
        inputs = torch.where(x < 0, C // 2, x)[:, :-1]
        if self.input_noise:
            g = torch.Generator().manual_seed(int(self.rng.integers(2**31)))
            shift = torch.randint(-self.input_noise, self.input_noise + 1, inputs.shape, generator=g)
            inputs = (inputs + shift).clamp(0, C - 1)
        logits = self.model.logits_btc(inputs, n_outputs=T)
        return F.cross_entropy(logits.float().reshape(-1, C), x[:, -T:].reshape(-1), ignore_index=IGNORE)


def run_case(clip: Clip, preset: str, iterations: int, *, seed: int, overrides: dict, speech, streams: int,
             keep: bool, compare_temperatures: tuple[float, ...] = (), augment_gain_db: float = 0.0,
             compare_top_p: tuple[float, ...] = (), augment_input_noise: int = 0) -> dict:
    p = PRESETS[preset]
    sr = p.settings(clip_seconds=[1.0]).get("sample_rate", 8000)
    audio = load_audio(make_clip(clip), sample_rate=sr)
    threshold = overrides.get("silence_threshold", p.settings(clip_seconds=[1.0]).get("silence_threshold", 0.0))
    trimmed = trim_silence(audio.samples, sample_rate=sr, threshold=threshold, name=clip.path.name)
    # the preset sees the clips as the file list shows them: after trimming
    settings = p.settings(clip_seconds=[trimmed.duration])
    settings.update(overrides)
    mcfg, tcfg, gcfg = split_settings(settings)
    torch.manual_seed(seed)
    model = WaveNet(WaveNetConfig(**mcfg))
    q = model.config.quantizer
    classes = q.encode(trimmed.samples)
    tc = training.TrainingConfig(**{**tcfg, "train_iterations": iterations, "seed": seed})
    sampler = make_sampler([classes], receptive_field=model.receptive_field, target_length=tc.target_length,
                           config=model.config)
    if augment_gain_db > 0:
        sampler = GainAugmented(sampler, q, augment_gain_db)
    if augment_input_noise > 0:
        trainer = InputNoiseTrainer(model, sampler, tc)
        trainer.input_noise, trainer.fused = augment_input_noise, False
    else:
        trainer = Trainer(model, sampler, tc)
    torch.set_num_threads(1)  # one core, whatever earlier generations did to the thread count
    t0 = time.process_time()
    result = trainer.run()
    cpu = time.process_time() - t0
    gen_model = trainer.model
    n = int(round(gcfg.get("length", trimmed.duration) * sr))  # Imitate: the clip's length
    temperature = gcfg.get("temperature", 1.0)
    nucleus = {"top_k": int(gcfg.get("top_k", 0)), "top_p": float(gcfg.get("top_p", 1.0))}
    with keep_torch_threads():  # several streams start numba's threads, which can change torch's
        res = generate(gen_model, n_samples=n, temperature=temperature, seed=seed, n_streams=streams, **nucleus)
    ref = trimmed.samples
    if clip.text is None:
        speech = None  # speech judges only for speech (pocketsphinx can take minutes on music)
    judged = [judge(a, ref, sr, speech=speech, ref_key=f"{clip.name}@{sr}") for a in res.audio]
    out_dir = ROOT / "bench" / "quality_out"
    if keep:
        out_dir.mkdir(exist_ok=True)
        for k, a in enumerate(res.audio):
            sf.write(out_dir / f"{clip.name}_{preset}_{iterations}_{k}.wav", a, sr)
    # the same trained model at other temperatures
    variants = {}
    for temp in compare_temperatures:
        with keep_torch_threads():
            r = generate(gen_model, n_samples=n, temperature=temp, seed=seed, n_streams=streams)
        rows = [judge(a, ref, sr, speech=speech, ref_key=f"{clip.name}@{sr}") for a in r.audio]
        variants[f"T={temp:g}"] = summary(rows)
        if keep:
            sf.write(out_dir / f"{clip.name}_{preset}_{iterations}_T{temp:g}.wav", r.audio[0], sr)
    # ... and at temperature 1 with nucleus (top-p) sampling
    for top_p in compare_top_p:
        with keep_torch_threads():
            r = generate(gen_model, n_samples=n, temperature=1.0, top_p=top_p, seed=seed, n_streams=streams)
        rows = [judge(a, ref, sr, speech=speech, ref_key=f"{clip.name}@{sr}") for a in r.audio]
        variants[f"T=1,top_p={top_p:g}"] = {**summary(rows), "streams_differ": _streams_differ(r.classes)}
    return {
        "variants": variants,
        "clip": clip.name, "preset": preset, "iterations": iterations, "seed": seed,
        "settings": settings, "receptive_field_s": round(model.config.receptive_field_seconds, 3),
        "trimmed": trimmed.describe(), "cpu_s": round(cpu, 1), "final_loss": round(result.final_loss, 4),
        "temperature": temperature, **nucleus, "streams": judged, "augment_gain_db": augment_gain_db,
        "augment_input_noise": augment_input_noise,
        "streams_differ": _streams_differ(res.classes),
    }


def _streams_differ(classes: np.ndarray) -> float:
    """Share of samples where the first two streams differ (0: the variations are one and the same)."""
    return round(float(np.mean(classes[0] != classes[1])), 3) if len(classes) > 1 else float("nan")


def summary(rows: list[dict]) -> dict:
    """Mean over streams of each numeric measure."""
    out = {}
    for k in rows[0]:
        vals = [r[k] for r in rows if isinstance(r[k], (int, float)) and r[k] is not None]
        if vals:
            out[k] = round(float(np.mean(vals)), 3)
    out["words"] = [r.get("words") for r in rows]
    out["collapse"] = [r.get("collapse") for r in rows]
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", default=",".join(c.name for c in CLIPS))
    ap.add_argument("--presets", default=",".join(PRESETS))
    ap.add_argument("--budgets", default=",".join(BUDGETS), help="minutes of one core: 2, 10")
    ap.add_argument("--iterations", type=int, default=None, help="override the iteration count")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override a preset setting (screening experiments)")
    ap.add_argument("--streams", type=int, default=2)
    ap.add_argument("--compare-temperatures", type=float, nargs="*", default=[],
                    help="also judge the same trained model at these temperatures")
    ap.add_argument("--compare-top-p", type=float, nargs="*", default=[],
                    help="also judge the same trained model at temperature 1 with these top-p values")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--augment-gain", type=float, default=0.0, metavar="DB",
                    help="screening: scale each training window by a random gain of up to +-DB dB")
    ap.add_argument("--augment-input-noise", type=int, default=0, metavar="N",
                    help="screening: move every input class by a random -N..N (targets clean)")
    ap.add_argument("--no-speech-judges", action="store_true")
    ap.add_argument("--measure-speed", action="store_true", help="print CPU s/iteration per preset and exit")
    ap.add_argument("--keep", action="store_true", help="write the generated audio to bench/quality_out/")
    ap.add_argument("--out", default=str(ROOT / "bench" / "quality.json"))
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    training.warm_up()
    warm_up()
    overrides = {}
    for kv in args.set:
        k, v = kv.split("=", 1)
        overrides[k] = json.loads(v) if v[:1] in "0123456789-[{tf" else v
    if args.measure_speed:
        for name in args.presets.split(","):
            for secs in ([0.6], [4.0]):
                s = {**PRESETS[name].settings(clip_seconds=secs), **overrides}
                spi = measure_speed(s)
                print(json.dumps({"preset": name, "clip_seconds": secs[0], "cpu_s_per_iteration": round(spi, 3),
                                  **{f"iterations_{b}min": int(round(v / spi)) for b, v in BUDGETS.items()}}))
        return 0
    speech = None if args.no_speech_judges else SpeechJudges()
    wanted = set(args.clips.split(","))
    report = {"calibration": {}, "runs": [],
              "machine": {"threads": 1, "torch": torch.__version__, "cpu": _cpu_name()}}
    for clip in CLIPS:
        if clip.name not in wanted:
            continue
        make_clip(clip)
        ref = trim_silence(load_audio(clip.path, sample_rate=clip.sample_rate).samples,
                           sample_rate=clip.sample_rate, name=clip.path.name).samples
        report["calibration"][clip.name] = calibration(ref, clip.sample_rate,
                                                       speech=speech if clip.text is not None else None,
                                                       ref_key=f"{clip.name}@{clip.sample_rate}")
        print(json.dumps({"clip": clip.name, "calibration": report["calibration"][clip.name]}), flush=True)
        for preset in args.presets.split(","):
            if clip.kind not in PRESET_KINDS[preset]:
                continue
            if (preset == "speech16k") != (clip.sample_rate == 16000):
                continue
            for budget in args.budgets.split(","):
                sr = PRESETS[preset].settings(clip_seconds=[1.0])["sample_rate"]
                secs = len(trim_silence(load_audio(clip.path, sample_rate=sr).samples, sample_rate=sr).samples) / sr
                iters = args.iterations or iterations_for(
                    {**PRESETS[preset].settings(clip_seconds=[secs]), **overrides}, BUDGETS[budget])
                run = run_case(clip, preset, iters, seed=args.seed, overrides=overrides, speech=speech,
                               streams=args.streams, keep=args.keep,
                               compare_temperatures=tuple(args.compare_temperatures),
                               augment_gain_db=args.augment_gain, compare_top_p=tuple(args.compare_top_p),
                               augment_input_noise=args.augment_input_noise)
                run["budget_minutes"] = budget
                run["mean"] = summary(run["streams"])
                report["runs"].append(run)
                print(json.dumps({k: run[k] for k in ("clip", "preset", "budget_minutes", "iterations", "cpu_s",
                                                       "final_loss", "mean", "variants")}), flush=True)
                Path(args.out).write_text(json.dumps(report, indent=1))
    Path(args.out).write_text(json.dumps(report, indent=1))
    return 0


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


if __name__ == "__main__":
    raise SystemExit(main())
