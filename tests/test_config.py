"""The one table of settings drives validation, the dataclasses, argparse and presets."""

from __future__ import annotations

import argparse
import doctest

import pytest
import torch

from wavenet_gui.core import config, presets
from wavenet_gui.core.config import SETTINGS
from wavenet_gui.core.errors import ConfigError
from wavenet_gui.core.model import WaveNet, WaveNetConfig
from wavenet_gui.core.training import TrainingConfig


def test_dataclass_defaults_come_from_the_table():
    m, t = WaveNetConfig(), TrainingConfig()
    for s in SETTINGS.values():
        if s.group == "model":
            assert getattr(m, s.name) == s.default, s.name
        elif s.group == "training" and s.name not in config.DATA_SETTINGS:
            assert getattr(t, config.TRAINING_FIELD_NAMES.get(s.name, s.name)) == s.default, s.name


@pytest.mark.parametrize("name", [s.name for s in SETTINGS.values() if s.kind in ("int", "float")])
def test_bounds_are_the_same_for_every_caller(name):
    """The dataclasses refuse what the table refuses (one rule, one message)."""
    s = SETTINGS[name]
    bad = None
    if s.maximum is not None:
        bad = s.maximum + (1 if s.kind == "int" else s.maximum)
    elif s.minimum is not None:
        bad = s.minimum - 1
    if bad is None:
        pytest.skip("unbounded")
    with pytest.raises(ConfigError) as table:
        config.check(name, bad)
    assert str(table.value).startswith(name)
    if name in config.MODEL_SETTINGS:
        with pytest.raises(ConfigError) as dc:
            WaveNetConfig(**{name: bad}).validate()
        assert str(dc.value) == str(table.value)
    fields = config.training_values({name: bad})
    if fields and name != "device":
        with pytest.raises(ConfigError) as dc:
            TrainingConfig(**fields).validate()
        assert str(dc.value) == str(table.value)


def test_parse_reads_text_from_forms_settings_files_and_flags():
    assert config.parse("learning_rate", " 1e-3 ") == 0.001
    assert config.parse("n_hidden", "48") == 48 and config.parse("n_hidden", 48.0) == 48
    assert config.parse("target_loss", "") is None and config.parse("seed", "random") is None
    assert config.parse("bias", "false") is False and config.parse("save_weights", "true") is True
    for name, raw, words in (("learning_rate", "fast", "not a number"), ("n_blocks", "2.5", "whole"),
                             ("quantization", "alaw", "not one of"), ("length", "inf", "finite"),
                             ("seed", "99999999999999999999999", "between"), ("bias", "maybe", "true or false")):
        with pytest.raises(ConfigError, match=words):
            config.parse(name, raw)
    assert config.errors({"n_blocks": 0, "n_hidden": 32, "nonsense": 1}) == {
        "n_blocks": config.errors({"n_blocks": 0})["n_blocks"]}


def test_parameter_count_and_receptive_field_without_torch():
    for kw in ({}, {"bias": False}, {"n_dilation_channels": 5, "n_skip": 9, "n_end": 7, "n_blocks": 3,
                                     "n_dilations": 3, "n_channels": 64}):
        values = {**config.defaults(), **kw}
        model = WaveNet(WaveNetConfig(**config.model_values(values)))
        assert config.parameter_count(values) == model.n_parameters()
        assert config.receptive_field(values) == model.receptive_field


def test_argparse_flags_are_the_table():
    parser = argparse.ArgumentParser()
    config.add_arguments(parser)
    flags = {a.dest for a in parser._actions if a.dest != "help"}
    assert flags == {s.name for s in SETTINGS.values() if s.cli}
    args = parser.parse_args(["--n_hidden", "48", "--bias", "false", "--target_loss", "none"])
    assert config.values_from_args(args) == {"n_hidden": 48, "bias": False, "target_loss": None}
    assert "default 32" in next(a.help for a in parser._actions if a.dest == "n_hidden")


def test_presets_interface_and_values():
    assert set(presets.PRESETS) == {"imitate", "variations", "speech16k"}
    for name, p in presets.PRESETS.items():
        assert p.name == name and p.label and p.description.endswith(".")
        values = p.settings(clip_seconds=[2.0, 10.0])
        assert set(values) <= set(SETTINGS), set(values) - set(SETTINGS)
        full = config.preset_values(name, clip_seconds=[2.0, 10.0])
        config.validate(full)  # every value a preset gives is valid
    assert presets.suggest_preset([1.0, 2.5]) == "imitate"
    assert presets.suggest_preset([1.0, 4.5]) == "variations" and presets.suggest_preset([]) == "variations"
    # imitate sizes the receptive field to cover the clip (windows may start before a file, so
    # the field may be longer than the clip), up to 2 x 13 dilations, 2 s at 8 kHz
    for seconds in (0.5, 1.0, 3.0):
        v = config.preset_values("imitate", clip_seconds=[seconds])
        assert config.receptive_field(v) >= min(seconds, 2.0) * v["sample_rate"]
        assert v["n_blocks"] == 2 and v["n_dilations"] <= 13
        assert v["target_length"] <= max(1024, seconds * v["sample_rate"])


def test_a_preset_naming_unknown_or_refused_settings_is_taken_gracefully(monkeypatch):
    fancy = presets.Preset("fancy", "Fancy", "Has settings this version lacks.",
                           values={"n_hidden": 48, "silence_threshold": -40, "ema": 0.999, "n_blocks": 0,
                                   "output_dir": "/elsewhere"})
    monkeypatch.setitem(presets.PRESETS, "fancy", fancy)
    v = config.preset_values("fancy")
    assert v["n_hidden"] == 48 and "ema" not in v
    assert v["silence_threshold"] == SETTINGS["silence_threshold"].default  # -40 refused: the default stays
    assert v["n_blocks"] == SETTINGS["n_blocks"].default  # refused: the default stays
    assert "output_dir" not in v  # presets never move the output folder
    with pytest.raises(ConfigError, match="preset"):
        config.preset_values("nope")


@pytest.mark.parametrize("module", ["config", "presets", "weights", "trainstate", "session", "checks"])
def test_the_docstring_examples_run(module):
    import importlib

    mod = importlib.import_module(f"wavenet_gui.core.{module}")
    failed, _ = doctest.testmod(mod)
    assert failed == 0


def test_torch_is_not_needed_for_the_table():
    import subprocess
    import sys

    code = ("import sys; from wavenet_gui.core import config, presets, session, trainstate; "
            "config.validate(config.preset_values('imitate', clip_seconds=[1.0])); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr
    assert torch  # (this test module itself may use torch)
