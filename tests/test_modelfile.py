"""Model files: safetensors + JSON, never unpickled; corrupt, foreign and mismatched files are refused."""

import json
import pickle
import struct

import pytest
import torch
from safetensors.torch import save as st_save

from wavenet_gui.core.errors import ModelFileError
from wavenet_gui.core.model import WaveNet, WaveNetConfig
from wavenet_gui.core.modelfile import FORMAT_VERSION, load_model, save_model

CFG = WaveNetConfig(n_dilations=3, n_blocks=2, n_hidden=8, n_skip=8, n_end=8, n_channels=32, sample_rate=16000,
                    quantization="linear")


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    model = WaveNet(CFG)
    return model, save_model(tmp_path / "m.safetensors", model, training={"iteration": 12})


def _refused(path, *words):
    with pytest.raises(ModelFileError) as err:
        load_model(path)
    msg = str(err.value)
    assert "\n" not in msg and path.name in msg
    for w in words:
        assert w in msg, msg
    return msg


def test_round_trip_keeps_weights_config_and_training_state(saved):
    model, path = saved
    loaded = load_model(path)
    assert loaded.model.config == CFG
    assert loaded.training["iteration"] == 12
    for k, v in model.state_dict().items():
        assert torch.equal(v, loaded.model.state_dict()[k])
    header = loaded.header
    assert header["format_version"] == FORMAT_VERSION and header["receptive_field"] == model.receptive_field


def test_folder_means_model_safetensors_inside(tmp_path):
    model = WaveNet(CFG)
    save_model(tmp_path, model)
    assert (tmp_path / "model.safetensors").exists()
    assert load_model(tmp_path).model.config == CFG
    _refused(tmp_path / "missing.safetensors", "does not exist")


def test_pickle_payload_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "model.safetensors"
    path.write_bytes(pickle.dumps(Evil()))
    _refused(path, "pickle")
    torch_file = tmp_path / "torch.safetensors"
    torch.save({"evil": Evil()}, torch_file)
    _refused(torch_file, "pickle")
    assert not marker.exists()


def test_empty_truncated_and_garbage_files(saved, tmp_path):
    _, path = saved
    data = path.read_bytes()
    (tmp_path / "empty.safetensors").write_bytes(b"")
    _refused(tmp_path / "empty.safetensors", "empty")
    (tmp_path / "trunc.safetensors").write_bytes(data[: len(data) // 2])
    _refused(tmp_path / "trunc.safetensors", "truncated")
    (tmp_path / "garbage.safetensors").write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt " * 10)
    _refused(tmp_path / "garbage.safetensors")
    (tmp_path / "short.safetensors").write_bytes(b"abc")
    _refused(tmp_path / "short.safetensors")


def test_foreign_safetensors_and_newer_format(tmp_path):
    foreign = tmp_path / "foreign.safetensors"
    foreign.write_bytes(st_save({"w": torch.zeros(3)}))
    _refused(foreign, "not a wavenet-gui model")
    model = WaveNet(CFG)
    path = save_model(tmp_path / "new.safetensors", model)
    data = path.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = json.loads(header["__metadata__"]["wavenet_gui"])
    meta["format_version"] = FORMAT_VERSION + 1
    tensors = {k: v for k, v in load_model(path).model.state_dict().items()}
    (tmp_path / "newer.safetensors").write_bytes(st_save(tensors, metadata={"wavenet_gui": json.dumps(meta)}))
    _refused(tmp_path / "newer.safetensors", "newer")


def test_weights_that_do_not_match_the_config(tmp_path):
    model = WaveNet(CFG)
    path = save_model(tmp_path / "m.safetensors", model)
    data = path.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    meta = json.loads(json.loads(data[8:8 + n])["__metadata__"]["wavenet_gui"])
    tensors = dict(model.state_dict())
    bigger = {k: v for k, v in meta.items() if k not in ("n_parameters", "receptive_field")}
    bigger["config"] = dict(meta["config"], n_hidden=16)
    (tmp_path / "shape.safetensors").write_bytes(st_save(tensors, metadata={"wavenet_gui": json.dumps(bigger)}))
    _refused(tmp_path / "shape.safetensors", "do not match", "shape")
    fewer = dict(tensors)
    fewer.pop("end2.weight")
    (tmp_path / "few.safetensors").write_bytes(st_save(fewer, metadata={"wavenet_gui": json.dumps(meta)}))
    _refused(tmp_path / "few.safetensors", "missing end2.weight")
    bad_cfg = dict(meta, config=dict(meta["config"], n_channels=1))
    (tmp_path / "cfg.safetensors").write_bytes(st_save(tensors, metadata={"wavenet_gui": json.dumps(bad_cfg)}))
    _refused(tmp_path / "cfg.safetensors", "invalid config", "n_channels")
    nan = dict(tensors)
    nan["end2.bias"] = torch.full_like(tensors["end2.bias"], float("nan"))
    (tmp_path / "nan.safetensors").write_bytes(st_save(nan, metadata={"wavenet_gui": json.dumps(meta)}))
    _refused(tmp_path / "nan.safetensors", "NaN")
