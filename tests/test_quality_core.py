"""Issue 10 in the core: the silent past before the first sample (one convention for the model,
the sampler and both generators), silence trimming, the collapse check, presets, the learning-rate
schedule and the preview."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from wavenet_gui.core import silence
from wavenet_gui.core.checks import SILENT_DB, AudioProfile, check_generation, flatness, longest_constant_run
from wavenet_gui.core.data import IGNORE, WindowSampler
from wavenet_gui.core.errors import AudioFileError, ConfigError
from wavenet_gui.core.generation import TorchQueueGenerator, generate, make_generator
from wavenet_gui.core.model import WaveNet, WaveNetConfig
from wavenet_gui.core.presets import PRESETS, imitate_dilations, split_settings, suggest_preset
from wavenet_gui.core.preview import preview
from wavenet_gui.core.quantization import Quantizer
from wavenet_gui.core.session import make_sampler
from wavenet_gui.core.silence import trim_classes, trim_silence
from wavenet_gui.core.training import Trainer, TrainingConfig

DATA = Path(__file__).parent / "data"

SMALL = dict(n_dilations=4, n_blocks=2, n_hidden=8, n_skip=16, n_end=16, n_channels=64)


def _model(seed=0, **kw) -> WaveNet:
    torch.manual_seed(seed)
    model = WaveNet(WaveNetConfig(**{**SMALL, **kw})).eval()
    with torch.no_grad():  # make the biases matter: the silent past is then far from zero vectors
        for p in model.parameters():
            p.add_(0.3 * torch.randn_like(p))
    return model


# --------------------------------------------------------------------------- the silent past
def test_forward_pads_with_silence_and_equals_the_unpadded_path_on_a_padded_input():
    model = _model()
    x = torch.randint(0, 64, (3, 50))
    full = model(x)  # [B, C, T]
    padded = torch.cat([torch.full((3, model.receptive_field - 1), 32), x], dim=1)
    assert torch.allclose(full, model(padded, n_outputs=50), atol=1e-5)
    assert torch.equal(model.pad_silence(x), padded)
    # and the silent past is not zero hidden vectors: an explicit silent prefix changes nothing
    longer = torch.cat([torch.full((3, 7), 32), x], dim=1)
    assert torch.allclose(model(longer)[..., 7:], full, atol=1e-5)


def test_causality_still_holds_under_the_silent_past():
    model = _model(1)
    x = torch.randint(0, 64, (1, 40))
    y = x.clone()
    y[0, 20] = (y[0, 20] + 5) % 64
    a, b = model(x), model(y)
    assert torch.allclose(a[..., :20], b[..., :20], atol=1e-6)
    assert not torch.allclose(a[..., 20], b[..., 20])


@pytest.mark.parametrize("backend", ["torch", "fast"])
def test_greedy_generation_from_nothing_replays_argmax_forward_step_by_step(backend):
    model = _model(2)
    n = 3 * model.receptive_field
    out = generate(model, n_samples=n, temperature=0.0, backend=backend, seed=0).classes[0]
    # generation from nothing = predicting sample 0 from an all-silent past
    logits = model(torch.as_tensor(out[None, :-1]))[0]  # [C, n - 1]: position t predicts out[t + 1]
    first = model(torch.tensor([[32]]))[0, :, 0]  # one more silent sample predicts sample 0
    assert int(first.argmax()) == out[0]
    assert np.array_equal(logits.argmax(0).numpy(), out[1:])


@pytest.mark.parametrize("backend", ["torch", "fast"])
def test_the_generators_start_in_the_steady_state_of_silence(backend):
    model = _model(3)
    gen = make_generator(model, backend=backend)
    x = np.array([17])
    fresh = gen.step_logits(x)
    gen.reset()
    gen.feed(np.full((1, 5 * model.receptive_field), 32))  # an explicit silent past changes nothing
    after = gen.step_logits(x)
    assert np.allclose(fresh, after, atol=1e-4)
    close = getattr(gen, "close", None)
    if close:
        close()


def test_the_samplers_padded_windows_are_what_generation_sees():
    model = _model(4)
    clip = np.random.default_rng(0).integers(0, 64, 200)
    T = 16
    sampler = make_sampler([clip], receptive_field=model.receptive_field, target_length=T, config=model.config)
    batch = sampler.sample(400, np.random.default_rng(1))
    rf = model.receptive_field
    first = (batch[:, :rf] == 32).all(axis=1) & (batch[:, rf] == clip[0])
    window = batch[first][0]  # the window whose first target is sample 0: all its context is silence
    assert np.array_equal(window[model.receptive_field:], clip[:T])
    # training's logits for that window's targets ...
    logits = model(torch.as_tensor(window[None, :-1]), n_outputs=T)[0].T.detach().numpy()  # [T, C]
    # ... equal the generator's, teacher-forced from nothing with the clip
    gen = TorchQueueGenerator(model)
    steps = [gen.step_logits(np.array([32]))[0]]  # the silent past, then the clip
    for c in clip[:T - 1]:
        steps.append(gen.step_logits(np.array([c]))[0])
    assert np.allclose(logits, np.array(steps), atol=1e-4)


def test_padded_targets_are_ignored_by_the_loss():
    model = _model(5)
    trainer = Trainer(model, make_sampler([np.full(10, 3)], receptive_field=model.receptive_field, target_length=32,
                                          config=model.config),
                      TrainingConfig(target_length=32, batch_size=2, precision="float32"))
    x = torch.as_tensor(trainer.sampler.sample(2, np.random.default_rng(0)))
    assert (x == IGNORE).any()
    loss = trainer._loss(x)
    inputs = x[:, :-1].clamp(min=0)
    logits = model.logits_btc(inputs, n_outputs=32)[:, :10]  # only the 10 real targets
    want = torch.nn.functional.cross_entropy(logits.reshape(-1, 64), x[:, -32:-22].reshape(-1))
    assert torch.allclose(loss, want, atol=1e-5)
    loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_a_clip_shorter_than_the_receptive_field_trains_and_replays():
    model = WaveNet(WaveNetConfig(n_dilations=6, n_blocks=2, n_hidden=16, n_skip=32, n_end=32, n_channels=64))
    clip = model.config.quantizer.encode(0.5 * np.sin(np.arange(90) * 0.7) * np.hanning(90))
    assert len(clip) < model.receptive_field
    cfg = TrainingConfig(train_iterations=150, target_length=90, batch_size=2, learning_rate=1e-2, seed=0)
    torch.manual_seed(0)
    trainer = Trainer(model, make_sampler([clip], receptive_field=model.receptive_field, target_length=90,
                                          config=model.config), cfg)
    trainer.run()
    out = generate(model, n_samples=90, temperature=0.0, seed=0).classes[0]
    sound = clip[np.flatnonzero(clip != 32)[0]:]  # its leading silence belongs to the silent past
    assert np.mean(np.abs(out[:len(sound)] - sound) <= 1) > 0.9  # greedy from nothing replays it


# --------------------------------------------------------------------------- silence
def test_trim_silence_cuts_both_ends_and_reports_it():
    sr = 8000
    t = np.arange(sr) / sr
    tone = 0.3 * np.sin(2 * np.pi * 300 * t[:4000])
    audio = np.r_[np.zeros(2000), tone, 0.001 * np.ones(2000)]
    trimmed = trim_silence(audio, sample_rate=sr, name="word.wav")
    frame = 160  # 20 ms: the cut lies within one frame before the sound starts / after it ends
    assert 2000 - frame <= trimmed.lead <= 2000 and 2000 - frame <= trimmed.trail <= 2000
    assert trimmed.lead + len(trimmed.samples) + trimmed.trail == len(audio)
    assert np.array_equal(trimmed.samples, audio[trimmed.lead:len(audio) - trimmed.trail].astype(np.float32))
    assert trimmed.describe().startswith("trimmed 0.2") and "at the end" in trimmed.describe()
    whole = trim_silence(audio, sample_rate=sr, threshold=0.0)
    assert len(whole.samples) == len(audio) and whole.describe() == "no silence to trim"


@pytest.mark.parametrize("block_frames", [1, 3, 4096])
def test_trimming_classes_block_by_block_equals_trimming_the_decoded_audio(monkeypatch, block_frames):
    monkeypatch.setattr(silence, "_BLOCK_FRAMES", block_frames)  # tiny blocks: many block edges
    q = Quantizer(n_channels=256)
    rng = np.random.default_rng(3)
    for _ in range(60):
        n = int(rng.integers(1, 4000))
        x = np.zeros(n)
        for _ in range(int(rng.integers(1, 3))):
            a = int(rng.integers(0, n))
            b = min(n, a + int(rng.integers(1, 600)))
            x[a:b] = 0.1 * rng.standard_normal(b - a)
        classes = q.encode(x).astype(np.uint8)
        try:
            want = trim_silence(q.decode(classes), sample_rate=8000, threshold=0.01)
        except AudioFileError as err:
            with pytest.raises(AudioFileError, match="silent after trimming"):
                trim_classes(classes, quantizer=q, sample_rate=8000, threshold=0.01)
            assert "silent after trimming" in str(err)
            continue
        got = trim_classes(classes, quantizer=q, sample_rate=8000, threshold=0.01)
        assert (got.lead, got.trail) == (want.lead, want.trail)
        assert got.samples.dtype == np.uint8 and np.array_equal(q.decode(got.samples), want.samples)


def test_a_file_silent_after_trimming_is_refused_in_one_line():
    with pytest.raises(AudioFileError) as info:
        trim_silence(np.full(8000, 0.002), sample_rate=8000, name="/tmp/hiss.wav")
    text = str(info.value)
    assert text.startswith("hiss.wav: silent") and "\n" not in text and "threshold" in text
    with pytest.raises(ConfigError, match="silence_threshold"):
        trim_silence(np.zeros(10), sample_rate=8000, threshold=-1)


# --------------------------------------------------------------------------- collapse check
def test_collapse_check_finds_silence_stuck_values_and_noise_but_not_the_clip():
    sr = 8000
    t = np.arange(2 * sr) / sr
    clip = 0.3 * np.sin(2 * np.pi * 200 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 2 * t))
    profile = AudioProfile.of([clip], sample_rate=sr)
    assert check_generation(clip, profile=profile) is None
    assert check_generation(np.zeros(sr), profile=profile).kind == "silence"
    stuck = np.r_[clip[:2000], np.full(4000, 0.4), clip[:2000]]
    assert check_generation(stuck, profile=profile).kind == "stuck"
    noise = np.random.default_rng(0).uniform(-0.3, 0.3, sr)
    found = check_generation(noise, profile=profile)
    assert found.kind == "noise" and "\n" not in found.message and "Imitate" in found.message
    # noise-like training audio: noise is not a collapse
    assert check_generation(noise, profile=AudioProfile.of([noise], sample_rate=sr)) is None
    assert 0.5 < flatness(noise, sr) < 0.62 and longest_constant_run([1, 1, 2, 2, 2, 3]) == 3


def test_mostly_silence_with_a_few_bursts_is_a_collapse_when_the_training_audio_is_not_silent():
    """Speech 16 kHz on a 19 s story after 10 minutes gave 90% silent frames against the story's 8%
    (speech 0.03): under the 95% rule, so it went unreported."""
    sr = 8000
    t = np.arange(4 * sr) / sr
    speechy = 0.3 * np.sin(2 * np.pi * 150 * t) * (np.sin(2 * np.pi * 3 * t) > -0.8)  # about 20% pauses
    profile = AudioProfile.of([speechy], sample_rate=sr)
    assert 0.1 < profile.silent_fraction < 0.3

    def bursts(share: float) -> np.ndarray:  # the clip, kept only in short bursts covering `share` of it
        keep = (np.arange(len(speechy)) % 4000) < share * 4000
        return speechy * keep

    found = check_generation(bursts(0.08), profile=profile)  # about 90% silent frames
    assert found is not None and found.kind == "silence" and "\n" not in found.message
    assert check_generation(bursts(0.3), profile=profile) is None  # about 70%: sparse, not collapsed
    # a training audio that is itself mostly pauses: the same output is no collapse
    sparse = AudioProfile.of([bursts(0.2)], sample_rate=sr)
    assert check_generation(bursts(0.08), profile=sparse) is None


def _lowpassed_noise(n: int, rms: float, *, pole: float = 0.9, seed: int = 0) -> np.ndarray:
    """Noise falling about 6 dB per octave, as the outputs of speech models that collapsed into
    noise do (bench/quality.py); its plain flatness (0.11) is far below white noise's."""
    w = np.random.default_rng(seed).standard_normal(n)
    y = np.zeros(n)
    acc = 0.0
    for i in range(n):
        acc = pole * acc + w[i]
        y[i] = acc
    return y * rms / np.sqrt(np.mean(y ** 2))


def test_noise_with_a_falling_spectrum_is_a_collapse_but_a_noisy_texture_is_not():
    clip, sr = sf.read(DATA / "speech1.wav", dtype="float64")
    profile = AudioProfile.of([clip], sample_rate=sr)
    assert profile.flatness < 0.06 and profile.noisiness < 0.15
    rms = float(np.sqrt(np.mean(clip ** 2)))
    hiss = _lowpassed_noise(len(clip), rms)
    assert flatness(hiss, sr, loud_db=profile.peak_db - SILENT_DB) < 0.3  # the plain flatness rule misses it
    found = check_generation(hiss, profile=profile)
    assert found is not None and found.kind == "noise" and "\n" not in found.message and "Imitate" in found.message
    # the clip, its mu-law round trip and the clip over a little hiss are not collapses
    q = Quantizer(256)
    for fine in (clip, q.decode(q.encode(clip)), clip + _lowpassed_noise(len(clip), 0.03 * rms, seed=1)):
        assert check_generation(fine, profile=profile) is None
    # a brown-noise texture: its outputs are whiter than it (plain flatness 5x and more), no collapse
    rng = np.random.default_rng(2)
    brown = np.cumsum(rng.standard_normal(3 * sr))
    brown = 0.3 * (brown - np.convolve(brown, np.ones(400) / 400, mode="same")) / 40
    texture = AudioProfile.of([brown], sample_rate=sr)
    whiter = brown + 0.02 * rng.standard_normal(len(brown))
    assert flatness(whiter, sr) > 5 * texture.flatness
    assert check_generation(whiter, profile=texture) is None
    assert check_generation(_lowpassed_noise(len(brown), float(np.std(brown))), profile=texture) is None
    # drums (kicks and noise bursts) generating noisier drums
    t = np.arange(int(0.25 * sr)) / sr
    hit = np.r_[np.sin(2 * np.pi * 60 * t) * np.exp(-15 * t), 0.5 * rng.standard_normal(len(t)) * np.exp(-20 * t)]
    drums = np.tile(hit, 6)
    noisier = drums + 0.05 * rng.standard_normal(len(drums)) * (np.abs(drums) > 0.01)
    drum_profile = AudioProfile.of([drums], sample_rate=sr)
    assert check_generation(noisier, profile=drum_profile) is None
    # ... but for snare-like drums (half noise: white noise is less than 2x as flat), white noise at
    # their level is a steady-noise collapse
    snare = np.r_[0.3 * np.sin(2 * np.pi * 60 * t) * np.exp(-15 * t), rng.standard_normal(len(t)) * np.exp(-8 * t)]
    drums = np.tile(snare, 6)
    drum_profile = AudioProfile.of([drums], sample_rate=sr)
    white = float(np.sqrt(np.mean(drums ** 2))) * rng.standard_normal(len(drums))
    assert flatness(white, sr) < 2 * drum_profile.flatness  # the flatness rule cannot tell
    found = check_generation(white, profile=drum_profile)
    assert found is not None and found.kind == "noise" and "steady" in found.message and "\n" not in found.message
    # noise bursts in the drums' rhythm are not steady, and a steady noise is no collapse for a steady texture
    bursts = white * (np.arange(len(white)) % len(snare) < len(snare) // 3)
    assert check_generation(bursts, profile=drum_profile) is None
    steady_texture = AudioProfile.of([0.2 * rng.standard_normal(2 * sr)], sample_rate=sr)
    assert check_generation(white, profile=steady_texture) is None


@pytest.mark.parametrize("clip,output,collapse", [
    ("gen_sentence16k_clip.wav", "gen_sentence16k_T1_noise.wav", "noise"),  # flatness only 0.22
    ("gen_sentence_clip.wav", "gen_sentence_T05_speechlike.wav", None),
    ("gen_texture_clip.wav", "gen_texture_T1.wav", None),
    ("gen_drums_clip.wav", "gen_drums_T1.wav", None),  # flatness 0.45, 1.6x the clip's, in bursts
    ("gen_drums_clip.wav", "white noise", "noise"),  # flatness 0.56, under 2x the clip's, but steady
])
def test_collapse_check_on_real_outputs(clip, output, collapse):
    """Outputs of the app's own models (tests/data/README.md), judged by silero-vad and resemblyzer."""
    ref, sr = sf.read(DATA / clip, dtype="float64")
    if output == "white noise":
        out, sr_out = float(np.std(ref)) * np.random.default_rng(0).standard_normal(len(ref)), sr
    else:
        out, sr_out = sf.read(DATA / output, dtype="float64")
    assert sr == sr_out
    found = check_generation(out, profile=AudioProfile.of([ref], sample_rate=sr))
    assert (found.kind if found is not None else None) == collapse


# --------------------------------------------------------------------------- presets
def test_presets_fill_valid_settings_and_imitate_covers_the_longest_clip():
    for name, preset in PRESETS.items():
        assert preset.name == name and preset.description.count(".") == 1 and preset.description.endswith(".")
        for secs in ([0.4], [0.6, 3.0], [30.0]):
            m, t, g = split_settings(preset.settings(clip_seconds=secs))
            cfg = WaveNetConfig(**m).validate()
            TrainingConfig(**t).validate()
            assert set(g) <= {"temperature", "prime", "silence_threshold", "length"}
            if name == "imitate":  # covers the longest clip, or every pause up to 2 s
                assert cfg.receptive_field >= min(max(secs), 2.0) * cfg.sample_rate
    assert imitate_dilations(0.6, 8000) == 12 and imitate_dilations(60, 8000) == 13
    assert suggest_preset([0.6, 1.0]) == "imitate" and suggest_preset([0.6, 20.0]) == "variations"
    with pytest.raises(ConfigError):
        suggest_preset([float("nan")])


# --------------------------------------------------------------------------- schedule, preview
def _tone_trainer(**kw):
    torch.manual_seed(0)
    model = WaveNet(WaveNetConfig(**SMALL))
    clip = model.config.quantizer.encode(0.5 * np.sin(np.arange(3000) * 0.3))
    cfg = TrainingConfig(**{"train_iterations": 40, "target_length": 64, "batch_size": 2, **kw})
    return Trainer(model, make_sampler([clip], receptive_field=model.receptive_field, target_length=64,
                                       config=model.config), cfg)


def test_learning_rate_warms_up_then_decays_along_a_cosine():
    trainer = _tone_trainer(learning_rate=0.01, lr_warmup=10, lr_schedule="cosine", lr_floor=0.1)
    seen = []
    trainer.run(callback=lambda p: seen.append(trainer.optimizer.param_groups[0]["lr"]))
    assert seen[0] == pytest.approx(0.001) and seen[9] == pytest.approx(0.01)
    assert all(a >= b for a, b in zip(seen[9:], seen[10:], strict=False))  # decays monotonically
    assert seen[-1] == pytest.approx(0.001)
    flat = _tone_trainer(learning_rate=0.01)
    assert {flat.learning_rate_at(i) for i in range(40)} == {0.01}
    for bad in ({"lr_warmup": -1}, {"lr_schedule": "step"}, {"lr_floor": 2.0}):
        with pytest.raises(ConfigError):
            TrainingConfig(**bad).validate()


def test_preview_generates_a_second_without_touching_the_trainer():
    trainer = _tone_trainer(train_iterations=5)
    trainer.run()
    state = [p.detach().clone() for p in trainer.model.parameters()]
    rng_state = trainer.rng.bit_generator.state
    threads = torch.get_num_threads()
    result = preview(trainer, seconds=0.25, seed=1, temperature=1.0)
    assert result.audio.shape == (1, 2000) and result.sample_rate == 8000
    assert all(torch.equal(a, b) for a, b in zip(state, trainer.model.parameters(), strict=True))
    assert trainer.rng.bit_generator.state == rng_state and torch.get_num_threads() == threads
    assert result.collapse is None or "\n" not in result.collapse.message
    again = preview(trainer.model, seconds=0.25, seed=1, temperature=1.0)
    assert np.array_equal(again.audio, result.audio)
    with pytest.raises(ConfigError, match="seconds"):
        preview(trainer, seconds=0)
    assert math.isfinite(float(result.audio.std()))


# --------------------------------------------------------------------------- properties
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lengths=st.lists(st.integers(0, 120), min_size=1, max_size=4), rf=st.integers(1, 40),
       T=st.integers(1, 50), seed=st.integers(0, 2**16))
def test_sampler_windows_hold_the_convention_for_any_shapes(lengths, rf, T, seed):
    if sum(lengths) == 0:
        return
    files = [np.arange(1, n + 1) + 1000 * (i + 1) for i, n in enumerate(lengths)]  # never the centre class
    sampler = WindowSampler(files, receptive_field=rf, target_length=T, n_channels=16384)
    batch = sampler.sample(64, np.random.default_rng(seed))
    assert batch.shape == (64, rf + T)
    for row in batch:
        real = row[(row != 8192) & (row != IGNORE)]
        k = int(real[0]) // 1000 - 1
        n = lengths[k]
        first = int(row[rf]) - 1000 * (k + 1) - 1  # index of the first target in its file
        assert np.all(real // 1000 == k + 1) and np.all(np.diff(real) == 1)  # one file, contiguous
        assert 0 <= first <= max(n - T, 0)  # targets inside the file, sample 0 reachable
        lead = rf - min(rf, first)
        assert np.all(row[:lead] == 8192) and (lead == 0 or row[lead] == 1000 * (k + 1) + 1)
        assert np.all(row[rf + min(T, n - first):] == IGNORE)  # padding only after a short file


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(nd=st.integers(1, 4), nb=st.integers(1, 2), R=st.integers(1, 8), D=st.integers(0, 8),
       S=st.integers(1, 8), E=st.integers(1, 8), C=st.integers(2, 16), bias=st.booleans(),
       backend=st.sampled_from(["torch", "fast"]), seed=st.integers(0, 2**16))
def test_generators_from_nothing_equal_the_padded_forward_for_any_shape(nd, nb, R, D, S, E, C, bias, backend, seed):
    torch.manual_seed(seed)
    model = WaveNet(WaveNetConfig(n_dilations=nd, n_blocks=nb, n_hidden=R, n_dilation_channels=D, n_skip=S,
                                  n_end=E, n_channels=C, bias=bias)).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.5 * torch.randn_like(p))
    x = np.random.default_rng(seed).integers(0, C, 2 * model.receptive_field + 3)
    with torch.no_grad():
        ref = model(torch.as_tensor(x[None]))[0].T.numpy()  # [T, C]
    gen = make_generator(model, backend=backend)
    got = np.stack([gen.step_logits(np.array([c]))[0] for c in x])
    close = getattr(gen, "close", None)
    if close:
        close()
    assert np.abs(got - ref).max() <= 1e-4 * max(1.0, np.abs(ref).max())


# --------------------------------------------------------------------------- quiet files
def _quiet_speech(db: float, *, seconds_silence: float = 0.5, floor: float = 1e-4, seed: int = 0) -> np.ndarray:
    """tests/data/speech1.wav scaled to ``db`` dBFS peak, with silence (a little hiss) on both sides."""
    y, sr = sf.read(DATA / "speech1.wav", dtype="float32")
    assert sr == 8000
    y = y / np.abs(y).max() * 10 ** (db / 20)
    pad = np.zeros(int(seconds_silence * sr), np.float32)
    x = np.concatenate([pad, y, pad])
    return x + floor * np.random.default_rng(seed).standard_normal(len(x)).astype(np.float32)


def test_a_quiet_recording_is_trimmed_relative_to_its_own_level():
    """A -46 dBFS recording (nothing reaches the default -40 dBFS) is trimmed, with a note, not refused."""
    x = _quiet_speech(-46.0)
    loud = _quiet_speech(-3.0)  # the same recording, 43 dB louder (over the same hiss)
    got = trim_silence(x, sample_rate=8000, name="whisper.wav")
    ref = trim_silence(loud, sample_rate=8000, name="loud.wav")
    assert got.note.startswith("quiet (loudest part -") and "below the silence threshold -40 dBFS" in got.note
    assert got.describe().startswith(got.note) and "trimmed" in got.describe() and "\n" not in got.describe()
    assert got.lead >= 0.5 * 8000 and got.trail >= 0.5 * 8000  # the padding is gone
    assert abs(got.lead - ref.lead) <= 0.05 * 8000 and abs(got.trail - ref.trail) <= 0.05 * 8000
    assert ref.note == ""  # loud files keep the set threshold
    q = Quantizer(256)
    c = trim_classes(q.encode(x), quantizer=q, sample_rate=8000, name="whisper.wav")
    assert (c.lead, c.trail) == (got.lead, got.trail) and c.note.startswith("quiet (loudest part -")
    # a steady quiet tone (the hostile corpus's quiet.wav, -52 dBFS) is kept whole
    tone = 0.004 * np.sin(2 * np.pi * 220 * np.arange(2400) / 8000)
    assert trim_silence(tone, sample_rate=8000).duration == pytest.approx(0.3)


def test_a_long_quiet_file_is_searched_block_by_block():
    sr = 8000
    x = 3e-4 * np.random.default_rng(1).standard_normal(40 * sr)  # 40 s of hiss at -70 dBFS
    burst = _quiet_speech(-50.0, seconds_silence=0.0, floor=0.0)
    x[25 * sr: 25 * sr + len(burst)] += burst  # speech 25 s in: past the first block of frames
    got = trim_silence(x, sample_rate=sr, name="long.wav")
    assert got.note and 24.5 * sr <= got.lead <= 25.3 * sr
    assert got.duration <= len(burst) / sr + 0.1


@pytest.mark.parametrize("name,audio", [
    ("digital silence", np.zeros(8000)),
    ("dither", 3e-5 * np.random.default_rng(2).standard_normal(8000)),  # -90 dBFS
    ("dc", np.full(8000, 0.002)),  # a held value: silence with an offset
    ("steady hiss", 0.002 * np.random.default_rng(3).standard_normal(8000)),  # -54 dBFS white noise
])
def test_silence_in_any_form_is_still_refused_in_one_line(name, audio):
    with pytest.raises(AudioFileError) as info:
        trim_silence(audio, sample_rate=8000, name=f"/tmp/{name}.wav")
    text = str(info.value)
    assert text.startswith(f"{name}.wav: silent after trimming") and "\n" not in text and "threshold" in text
    q = Quantizer(256)
    with pytest.raises(AudioFileError, match="silent after trimming"):
        trim_classes(q.encode(audio), quantizer=q, sample_rate=8000, name=f"{name}.wav")


def test_long_output_is_judged_on_excerpts_and_a_held_value_anywhere_is_found():
    sr = 1000
    rng = np.random.default_rng(3)
    t = np.arange(5 * sr) / sr
    clip = 0.3 * np.sin(2 * np.pi * 50 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 2 * t))
    profile = AudioProfile.of([clip], sample_rate=sr)
    long_fine = np.tile(clip, 30).astype(np.float32)  # 150 s, more than MAX_CHECK_SECONDS
    assert check_generation(long_fine, profile=profile) is None
    stuck = long_fine.copy()
    stuck[104_000:104_000 + sr] = 0.25  # one second held, between two excerpts (100,578-103,578 and 108,315-)
    assert check_generation(stuck, profile=profile).kind == "stuck"
    assert check_generation(np.zeros(150 * sr, np.float32), profile=profile).kind == "silence"
    assert check_generation(rng.uniform(-0.3, 0.3, 150 * sr), profile=profile).kind == "noise"
