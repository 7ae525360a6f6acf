"""Device choice (``--device auto``, the window's list), mixed precision and model files across devices.

No GPU is present here: CUDA and MPS are faked by patching torch's availability checks.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from wavenet_gui.core import devices
from wavenet_gui.core.devices import available_devices, precision_plan, resolve_device
from wavenet_gui.core.errors import ConfigError
from wavenet_gui.core.model import WaveNet, WaveNetConfig
from wavenet_gui.core.modelfile import load_model, save_model


def fake(monkeypatch, *, cuda: bool = False, mps: bool = False, count: int = 1, bf16: bool = True) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: count if cuda else 0)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: bf16)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)


@pytest.mark.parametrize("cuda, mps, listed, auto", [
    (False, False, ["cpu"], "cpu"),
    (True, False, ["cpu", "cuda"], "cuda"),
    (False, True, ["cpu", "mps"], "mps"),
    (True, True, ["cpu", "cuda", "mps"], "cuda"),  # CUDA before MPS
])
def test_auto_takes_cuda_then_mps_then_cpu_and_the_list_holds_only_what_is_present(monkeypatch, cuda, mps,
                                                                                   listed, auto):
    fake(monkeypatch, cuda=cuda, mps=mps)
    assert available_devices() == listed
    assert resolve_device("auto") == torch.device(auto)
    assert resolve_device("AUTO") == torch.device(auto)
    from wavenet_gui.core import session  # the window and the CLI read the list from here

    assert session.available_devices() == listed


def test_an_absent_or_unknown_device_is_one_line_naming_what_is_here(monkeypatch):
    fake(monkeypatch, cuda=False, mps=False)
    with pytest.raises(ConfigError, match=r"^device: cuda is not available on this machine \(available: cpu\)$"):
        resolve_device("cuda")
    with pytest.raises(ConfigError, match="not one of cpu, cuda, mps, auto"):
        resolve_device("tpu")
    with pytest.raises(ConfigError, match="not one of"):
        resolve_device("cuda:x")
    fake(monkeypatch, cuda=True, count=2)
    assert resolve_device("cuda:1") == torch.device("cuda:1")
    with pytest.raises(ConfigError, match="2 CUDA device"):
        resolve_device("cuda:2")
    assert resolve_device(None) == torch.device("cpu")


def test_a_broken_driver_means_no_cuda_rather_than_a_crash(monkeypatch):
    def broken():
        raise RuntimeError("CUDA driver version is insufficient")

    monkeypatch.setattr(torch.cuda, "is_available", broken)
    assert available_devices()[0] == "cpu" and "cuda" not in available_devices()


def test_cli_device_auto_on_this_machine(tmp_path):
    from wavenet_gui.cli import build_parser

    args = build_parser().parse_args(["--device", "auto", "--precision", "float16"])
    assert args.device == "auto" and args.precision == "float16"


@pytest.mark.parametrize("precision, kind, bf16, dtype, scaler", [
    ("float32", "cuda", True, None, False),
    ("bfloat16", "cuda", True, torch.bfloat16, False),
    ("float16", "cuda", True, torch.float16, True),
    ("auto", "cuda", True, torch.bfloat16, False),   # Ampere and later
    ("auto", "cuda", False, torch.float16, True),    # older GPUs: float16 needs the scaler
    ("auto", "mps", True, None, False),
    ("bfloat16", "cpu", True, torch.bfloat16, False),
])
def test_precision_plan_picks_autocast_dtype_and_grad_scaler_by_device(monkeypatch, precision, kind, bf16,
                                                                       dtype, scaler):
    fake(monkeypatch, cuda=True, bf16=bf16)
    plan = precision_plan(precision, torch.device(kind))
    assert plan.dtype == dtype and plan.grad_scaler is scaler


def test_cpu_auto_precision_follows_native_bfloat16(monkeypatch):
    monkeypatch.setattr(devices, "_cpu_has_native_bfloat16", lambda: True)
    assert precision_plan("auto", torch.device("cpu")).dtype == torch.bfloat16
    monkeypatch.setattr(devices, "_cpu_has_native_bfloat16", lambda: False)
    assert precision_plan("auto", torch.device("cpu")).dtype is None


def test_float16_off_cuda_is_refused_before_training():
    with pytest.raises(ConfigError, match="^precision: float16 training needs a CUDA device"):
        precision_plan("float16", torch.device("cpu"))
    with pytest.raises(ConfigError, match="^precision:"):
        precision_plan("int8", torch.device("cpu"))


def test_cli_refuses_float16_on_the_cpu_in_one_line(tmp_path, capsys):
    from wavenet_gui.cli import main

    code = main(["--precision", "float16", "--device", "cpu", "--train_iterations", "1",
                 "--output_dir", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "float16 training needs a CUDA device" in err[0]


def test_the_scaled_float16_step_trains(monkeypatch):
    """The GradScaler branch of Trainer.step, run on the CPU's GradScaler with the autograd path
    (CUDA's float16 cannot run here; this covers the step's bookkeeping, not float16 itself)."""
    from wavenet_gui.core.session import make_sampler
    from wavenet_gui.core.training import Trainer, TrainingConfig

    monkeypatch.setattr("wavenet_gui.core.training.precision_plan",
                        lambda precision, device: devices.PrecisionPlan(None, True))
    torch.manual_seed(0)
    model = WaveNet(WaveNetConfig(n_dilations=3, n_blocks=1, n_hidden=8, n_skip=8, n_end=8))
    tone = model.config.quantizer.encode(0.5 * np.sin(np.arange(4000) * 0.1))
    cfg = TrainingConfig(train_iterations=30, target_length=64, batch_size=2, learning_rate=1e-2,
                         precision="float32")
    trainer = Trainer(model, make_sampler([tone], receptive_field=model.receptive_field, target_length=64,
                                           config=model.config), cfg)
    trainer.fused = False
    assert trainer.scaler is not None
    before = [p.detach().clone() for p in model.parameters()]
    result = trainer.run()
    assert result.iterations == 30
    assert trainer.losses[-1] < trainer.losses[0]
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


class _Recorder:
    """Fake CUDA for Module.to: records the devices asked for and keeps the tensors on the CPU."""

    def __init__(self, monkeypatch):
        self.asked: list[torch.device] = []
        real = torch.nn.Module.to

        def to(module, *args, **kwargs):
            dev = args[0] if args else kwargs.get("device")
            if dev is not None and torch.device(dev).type == "cuda":
                self.asked.append(torch.device(dev))
                return real(module, "cpu")
            return real(module, *args, **kwargs)

        monkeypatch.setattr(torch.nn.Module, "to", to)


def _trained_file(tmp_path):
    torch.manual_seed(1)
    model = WaveNet(WaveNetConfig(n_dilations=3, n_blocks=1, n_hidden=8, n_skip=8, n_end=8))
    opt = torch.optim.Adam(model.parameters())
    x = torch.randint(0, 256, (2, model.receptive_field + 9))
    from wavenet_gui.core.fused import fused_loss

    fused_loss(model, x, 8).backward()
    opt.step()
    from wavenet_gui.core.modelfile import adam_state

    path = save_model(tmp_path / "m.safetensors", model, training={"iteration": 1},
                      optimizer_state=adam_state(model, opt), losses=[5.0])
    return model, path


def test_a_model_file_opens_on_the_device_asked_for_auto_on_a_faked_gpu(monkeypatch, tmp_path):
    model, path = _trained_file(tmp_path)
    fake(monkeypatch, cuda=True)
    rec = _Recorder(monkeypatch)
    loaded = load_model(path, device=resolve_device("auto"))
    assert rec.asked == [torch.device("cuda")]
    for a, b in zip(model.state_dict().values(), loaded.model.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    # saved again from "the GPU": the file holds the same tensors, readable on the CPU
    again = save_model(tmp_path / "again.safetensors", loaded.model, training=loaded.training,
                       optimizer_state=loaded.optimizer_state, losses=loaded.losses)
    monkeypatch.undo()
    back = load_model(again, device="cpu")
    for a, b in zip(model.state_dict().values(), back.model.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert back.optimizer_state["step"] == 1


def test_a_model_file_really_lands_on_another_device(tmp_path):
    """``meta`` is a real non-CPU device on every machine: the weights go where they are asked."""
    model, path = _trained_file(tmp_path)
    loaded = load_model(path, device="meta")
    assert {p.device.type for p in loaded.model.parameters()} == {"meta"}
