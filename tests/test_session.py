"""The Qt-free Session: one owner of files, settings, model + training state and results; its rules."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest
import soundfile as sf
import torch

from wavenet_gui.core import session as session_module
from wavenet_gui.core.errors import ConfigError, WaveNetError
from wavenet_gui.core.generation import generate
from wavenet_gui.core.modelfile import load_model
from wavenet_gui.core.progress import drain
from wavenet_gui.core.session import Session

TINY = dict(sample_rate=8000, n_channels=64, n_dilations=4, n_blocks=1, n_hidden=8, n_skip=16, n_end=16,
            train_iterations=4, batch_size=2, target_length=128, length=0.05, seed=3, prime="silence")


def _tone(path, seconds=1.0, freq=220.0, rate=16000):
    t = np.arange(int(seconds * rate)) / rate
    sf.write(path, 0.5 * np.sin(2 * np.pi * freq * t), rate, subtype="PCM_16")
    return path


@pytest.fixture
def session(tmp_path):
    s = Session({**TINY, "output_dir": str(tmp_path / "out")})
    s.add_files([_tone(tmp_path / "a.wav"), _tone(tmp_path / "b.wav", freq=330.0)])
    return s


def test_each_file_is_decoded_once_and_again_only_when_it_changes(tmp_path, monkeypatch):
    calls = []
    real = session_module.load_audio_classes
    monkeypatch.setattr(session_module, "load_audio_classes", lambda p, **kw: calls.append(p) or real(p, **kw))
    s = Session({**TINY, "prime": "first", "output_dir": str(tmp_path / "out")})
    a = _tone(tmp_path / "a.wav")
    s.add_files([a])
    s.run_training()
    s.run_training()
    s.run_generation()  # primes with the first sample of a.wav: from the cache too
    assert len(calls) == 1
    _tone(a, freq=440.0, seconds=1.2)  # the file changed on disk
    os.utime(a, ns=(os.stat(a).st_atime_ns, os.stat(a).st_mtime_ns + 10**9))
    s.run_training()
    assert len(calls) == 2
    assert len(s._decoded) == 1  # the stale decode was dropped, no float copy is kept
    assert s._decoded[next(iter(s._decoded))].classes.dtype == np.uint8
    # rates tried one after another keep the newest two decodes of a file, not one per rate
    for rate in (8000, 11025, 16000, 22050):
        s._decode(a, rate, s.model.config.quantizer)
    assert sorted(k[3] for k in s._decoded) == [16000, 22050]


def test_continuing_keeps_the_whole_history_and_adams_moments(session):
    first = session.run_training()
    assert first.new_model and session.unsaved
    model = session.model
    losses = list(session.state.losses)
    second = session.run_training()
    assert not second.new_model and session.model is model
    assert session.state.iteration == 8 and len(session.state.losses) == 8
    assert session.state.losses[:4] == losses
    assert session.state.optimizer_state["step"] == 8
    assert second.result.iterations == 8 and "8" in second.result.message


def test_a_model_is_replaced_only_when_asked(session):
    session.run_training()
    model = session.model
    session.update_settings({"n_hidden": 16})
    assert session.model_mismatch() == ["n_hidden"]
    with pytest.raises(ConfigError) as err:
        session.train()
    assert err.value.field == "model" and "n_hidden" in str(err.value)
    assert session.model is model and not session.busy
    outcome = session.run_training(replace=True)
    assert outcome.new_model and session.model is not model and session.model.config.n_hidden == 16
    assert session.state.iteration == 4 and len(session.state.losses) == 4


def test_the_training_seed_seeds_the_weights(tmp_path):
    def first_weights(seed):
        s = Session({**TINY, "train_seed": seed, "train_iterations": 1, "output_dir": str(tmp_path)})
        s.add_files([_tone(tmp_path / "a.wav")])
        torch.manual_seed(999)  # the global generator does not matter, and is left alone
        state = torch.random.get_rng_state()
        s.run_training()
        assert torch.equal(state, torch.random.get_rng_state())
        return s.state.losses[0]

    assert first_weights(0) == first_weights(0) != first_weights(1)


def test_save_and_load_carry_iterations_losses_validation_and_adam(session, tmp_path):
    session.update_settings({"holdout": 0.2, "train_iterations": 6})
    session.run_training()
    session.settings["train_iterations"] = 3
    session.run_training()
    assert session.state.val_losses and session.state.iteration == 9
    path = session.save_model(tmp_path / "m.safetensors")
    assert not session.unsaved and session.model_path == path
    other = Session()
    other.load_model(path)
    assert other.state.iteration == 9 and other.state.losses == pytest.approx(session.state.losses)
    assert other.state.val_losses == pytest.approx(session.state.val_losses)
    assert other.state.optimizer_state["step"] == 9
    assert other.settings["n_hidden"] == 8 and other.settings["n_channels"] == 64  # the file decides
    assert load_model(path).training["iteration"] == 9  # one key for the count


def test_a_clip_primes_with_its_last_receptive_field(session, tmp_path):
    session.run_training()
    clip = _tone(tmp_path / "clip.wav", seconds=0.5, freq=500.0)
    session.update_settings({"prime": str(clip), "temperature": 1.0, "seed": 11})
    out = session.run_generation().results
    assert out.note == "continued clip.wav"
    cfg = session.model.config
    classes = cfg.quantizer.encode(session_module.load_audio(clip, sample_rate=8000).samples)
    whole = generate(session.model, n_samples=out.n_samples, temperature=1.0, seed=11, prime=classes)
    np.testing.assert_array_equal(out.audio(0), whole.audio[0])  # the same as feeding the whole clip
    tail = generate(session.model, n_samples=out.n_samples, temperature=1.0, seed=11,
                    prime=classes[-cfg.receptive_field:])
    np.testing.assert_array_equal(out.audio(0), tail.audio[0])


def test_variations_are_written_with_one_name_rule(session):
    session.run_training()
    session.update_settings({"variations": 3})
    results = session.run_generation().results
    names = [p.name for p in results.saved]
    stamp = names[0][:len("pred_YYYYmmdd-HHMMSS")]
    assert names == [f"{stamp}_v{k}.wav" for k in (1, 2, 3)]
    assert session.export(results.saved[0].with_name("x.flac"), variation=2).exists()
    one = session.update_settings({"variations": 1}) or session.run_generation().results
    assert "_v" not in one.saved[0].name


def test_stop_keeps_the_model_and_what_was_generated(session):
    session.update_settings({"train_iterations": 100_000})
    gen = session.train()
    for p in gen:
        if not isinstance(p, str) and p.iteration == 3:
            session.stop()
    assert session.state.iteration == 3 and session.model is not None and not session.busy
    session.update_settings({"length": 600.0})
    seen = 0
    gen = session.generate()
    for p in gen:
        seen = p.done
        session.stop()
    r = session.results
    assert r.cancelled and 0 < r.length == seen < r.n_samples and r.saved
    assert sf.info(r.saved[0]).frames == r.length


def test_events_say_what_changed(session, tmp_path):
    heard = []
    session.subscribe(heard.append)
    session.add_files([_tone(tmp_path / "c.wav", freq=550.0)])
    session.run_training()
    session.run_generation()
    session.remove_files([tmp_path / "c.wav"])
    session.apply_preset("variations")
    assert heard[0] == "files" and "model" in heard and "results" in heard and heard[-2:] == ["files", "settings"]
    assert [f.path.name for f in session.files] == ["a.wav", "b.wav"]


def test_files_are_refused_one_by_one_and_duplicates_once(tmp_path):
    s = Session(TINY)
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio" * 50)
    good = _tone(tmp_path / "good.wav")
    report = s.add_files([good, bad, good])
    assert [i.path.name for i in report.added] == ["good.wav"]
    assert len(report.refused) == 1 and report.refused[0].startswith("bad.wav")
    assert s.add_files([good]).duplicates == ["good.wav"]
    with pytest.raises(WaveNetError, match="bad.wav"):
        Session(TINY).add_files([bad], strict=True)


def test_busy_session_refuses_a_second_job(session):
    gen = session.train()
    next(gen)
    with pytest.raises(WaveNetError, match="training"):
        session.generate()
    with pytest.raises(WaveNetError):
        session.save_model("x.safetensors")
    session.stop()
    for _ in gen:
        pass
    assert not session.busy


def test_the_cancel_of_a_caller_also_stops(session):
    cancel = threading.Event()
    cancel.set()
    outcome = drain(session.train(cancel=cancel))
    assert outcome.result.reason == "cancelled" and session.state.iteration == 0


def test_generation_longer_than_memory_allows_is_refused_in_one_line(session):
    from wavenet_gui.core.generation import MAX_IN_MEMORY_SAMPLES

    session.run_training()
    sr = session.model.config.sample_rate
    session.update_settings({"variations": 64, "length": MAX_IN_MEMORY_SAMPLES / sr / 64 + 1})
    with pytest.raises(ConfigError, match="length: .* keeps in memory") as err:
        session.generate()
    assert "\n" not in str(err.value) and not session.busy


# ------------------------------------------------------------------ issue 10: silence and collapse
def _word(path, *, lead=0.3, sound=0.4, trail=0.5, rate=8000):
    """A burst of tone between silences, like a spoken word."""
    t = np.arange(int(sound * rate)) / rate
    audio = np.r_[np.zeros(int(lead * rate)), 0.5 * np.sin(2 * np.pi * 300 * t), np.zeros(int(trail * rate))]
    sf.write(path, audio, rate, subtype="PCM_16")
    return path


def test_silence_is_trimmed_for_training_presets_and_the_first_sample(tmp_path):
    s = Session({**TINY, "prime": "first", "output_dir": str(tmp_path / "out")})
    report = s.add_files([_word(tmp_path / "word.wav")])
    assert any(n.startswith("word.wav: trimmed 0.") and "at the end" in n for n in report.notes), report.notes
    (seconds,) = s.clip_seconds()
    assert 0.4 <= seconds <= 0.45  # what is left after trimming, as the presets see it
    s.update_settings({"silence_threshold": 0.0})
    assert s.clip_seconds() == [pytest.approx(1.2)]  # 0 keeps everything
    s.update_settings({"silence_threshold": 0.01})
    outcome = s.run_training()
    assert any("trimmed" in n for n in outcome.notes)
    prime, note = s._prime("first", s.model.config)
    cfg = s.model.config
    trimmed = s._trim(s._decode(s.files[0].path, cfg.sample_rate, cfg.quantizer).classes, s.files[0].path,
                      cfg.sample_rate, cfg.quantizer)
    assert 0.2 * 8000 <= trimmed.lead <= 0.3 * 8000  # the sound starts within a frame after the cut
    assert prime.tolist() == [int(trimmed.samples[0])] and "first sample of word.wav" in note


def test_a_file_silent_after_trimming_is_refused_in_one_line(tmp_path):
    s = Session(TINY)
    hiss = tmp_path / "hiss.wav"
    sf.write(hiss, 0.002 * np.random.default_rng(0).standard_normal(8000), 8000, subtype="PCM_16")
    report = s.add_files([hiss, _tone(tmp_path / "good.wav")])
    assert [i.path.name for i in report.added] == ["good.wav"]
    assert report.refused[0].startswith("hiss.wav: silent after trimming") and "\n" not in report.refused[0]
    s.update_settings({"silence_threshold": 0.0})  # trimming off: the file is taken
    assert [i.path.name for i in s.add_files([hiss]).added] == ["hiss.wav"]


def test_clips_shorter_than_the_receptive_field_are_trained_on(tmp_path):
    s = Session({**TINY, "n_dilations": 8, "output_dir": str(tmp_path / "out")})  # 256 samples
    s.add_files([_word(tmp_path / "tiny.wav", lead=0.0, sound=0.02, trail=0.0)])  # 160 samples
    outcome = s.run_training()
    assert outcome.result.iterations == TINY["train_iterations"] and np.isfinite(outcome.result.final_loss)


def test_a_collapsed_generation_is_reported_with_what_to_try(session, monkeypatch):
    session.run_training()
    session.update_settings({"variations": 2})
    from wavenet_gui.core import generation

    def silent(model, *, n_samples, n_streams, **kw):  # a model that says nothing
        yield np.full((n_streams, n_samples), model.config.quantizer.centre, dtype=np.int64)

    monkeypatch.setattr(generation, "iter_generate", silent)
    results = session.run_generation().results
    assert len(results.warnings) == 2
    assert results.warnings[0].startswith("variation 1: The generated audio is 100% silence")
    assert "receptive field" in results.warnings[0] and "\n" not in results.warnings[0]


def test_a_preview_while_training_leaves_the_weights_and_results_alone(session):
    with pytest.raises(ConfigError, match="model"):
        session.preview()
    gen = session.train()
    previews = []
    for item in gen:
        if not isinstance(item, str) and item.iteration == 2:  # mid-run, from the progress loop
            before = [p.detach().clone() for p in session.model.parameters()]
            previews.append(session.preview(seconds=0.05))
            assert all(torch.equal(a, b) for a, b in zip(before, session.model.parameters(), strict=True))
    assert previews and previews[0].iteration == 2 and previews[0].audio.shape == (1, 400)
    assert session.results is None and session.state.iteration == TINY["train_iterations"]
    again = session.preview(seconds=0.05)  # after training: from the model, the same settings, the same audio
    assert np.array_equal(again.audio, session.preview(seconds=0.05).audio)


def test_an_imitate_preview_lasts_the_clip_and_does_not_advise_imitate(tmp_path, monkeypatch):
    """A 0.4 s word: the preview stops at the clip's length (after it a replay babbles), and a
    collapse's advice does not name the preset in use; another model still gets the suggestion."""
    s = Session({"output_dir": str(tmp_path / "out")})
    s.add_files([_word(tmp_path / "word.wav")])
    s.apply_preset("imitate")
    s.update_settings({"train_iterations": 1, "batch_size": 1})
    s.run_training()
    from wavenet_gui.core import generation

    def silent(model, *, n_samples, n_streams, **kw):  # a model that says nothing
        yield np.full((n_streams, n_samples), model.config.quantizer.centre, dtype=np.int64)

    monkeypatch.setattr(generation, "iter_generate", silent)
    length = s.checked("generation")["length"]
    assert 0.4 <= length <= 0.45
    result = s.preview()
    assert result.audio.shape == (1, int(round(length * 8000)))
    assert result.collapse is not None and "Imitate" not in result.collapse.message, result.collapse
    assert "more training" in result.collapse.message
    warning = s.run_generation().results.warnings[0]
    assert "Imitate" not in warning and "more training" in warning
    s.update_settings({"length": 5.0})
    assert s.preview().audio.shape == (1, 8000)  # at most a second
    s.update_settings({"n_dilations": 5})  # another model: the preset is suggested
    s.run_training(replace=True)
    assert "the Imitate preset" in s.preview().collapse.message


def test_a_model_file_keeps_the_generation_settings_it_was_trained_for(tmp_path):
    """Saved and loaded: temperature, length, top-k/p and a start from silence or the first sample
    come back; a start from a file (a path of this machine) is not kept, nor are invalid values."""
    from safetensors import safe_open

    from wavenet_gui.core.session import restored_generation

    s = Session({**TINY, "temperature": 0.25, "length": 0.4, "top_k": 7, "prime": "silence",
                 "output_dir": str(tmp_path / "out")})
    s.add_files([_tone(tmp_path / "a.wav")])
    s.run_training()
    path = s.save_model(tmp_path / "m.safetensors")
    fresh = Session({"output_dir": str(tmp_path / "out2")})
    fresh.load_model(path)
    assert {k: fresh.settings[k] for k in ("temperature", "length", "top_k", "prime")} == \
        {"temperature": 0.25, "length": 0.4, "top_k": 7, "prime": "silence"}
    s.update_settings({"prime": str(tmp_path / "a.wav")})
    with safe_open(str(s.save_model(tmp_path / "n.safetensors")), "np") as f:
        assert str(tmp_path) not in (f.metadata() or {}).get("description", "") + str(f.metadata())
    assert restored_generation({"generate_temperature": "hot", "generate_length": 0,
                                "generate_prime": "/etc/passwd", "generate_top_p": 0.9}) == {"top_p": 0.9}
