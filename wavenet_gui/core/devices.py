"""Where a model trains and generates: the devices present, ``auto``, and mixed precision.

One place answers three questions for the CLI, the window and the trainer:

* :func:`available_devices`: what this machine has (``cpu`` always, then ``cuda`` and
  ``mps`` when torch sees them); the window's Device choice lists exactly these;
* :func:`resolve_device`: a name (``cpu``, ``cuda``, ``cuda:1``, ``mps`` or ``auto``) as a
  :class:`torch.device`, refusing in one line a device that is not here; ``auto`` takes
  CUDA, then MPS, then the CPU;
* :func:`precision_plan`: the autocast dtype of a training run and whether it needs a
  gradient scaler (float16 on CUDA does; bfloat16 and float32 do not).

Model files hold no device: :func:`~wavenet_gui.core.modelfile.save_model` writes every
tensor from the CPU and :func:`~wavenet_gui.core.modelfile.load_model` reads them on the
CPU and moves the model to the device asked for, so a file trained on a GPU opens on a
laptop and the reverse.

Examples
--------
>>> available_devices()[0]
'cpu'
>>> resolve_device("cpu")
device(type='cpu')
>>> precision_plan("float32", resolve_device("cpu"))
PrecisionPlan(dtype=None, grad_scaler=False)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .errors import ConfigError

__all__ = ["DEVICE_KINDS", "PRECISIONS", "PrecisionPlan", "available_devices", "precision_plan",
           "resolve_device"]

#: Device names :func:`resolve_device` understands (besides ``auto``), in ``auto``'s order of preference.
DEVICE_KINDS = ("cuda", "mps", "cpu")

#: Values of the training setting ``precision``.
PRECISIONS = ("auto", "float32", "bfloat16", "float16")


def _cuda_available() -> bool:
    try:
        return bool(torch.cuda.is_available())
    except Exception:  # noqa: BLE001 - a broken driver means no CUDA, not a crash
        return False


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    try:
        return bool(mps is not None and mps.is_available())
    except Exception:  # noqa: BLE001
        return False


def available_devices() -> list[str]:
    """The devices torch can use on this machine: ``"cpu"`` first, then ``"cuda"``, ``"mps"``.

    Examples
    --------
    >>> "cpu" in available_devices()
    True
    """
    devices = ["cpu"]
    if _cuda_available():
        devices.append("cuda")
    if _mps_available():
        devices.append("mps")
    return devices


def resolve_device(name: str | torch.device | None) -> torch.device:
    """A device name as a :class:`torch.device`: ``cpu``, ``cuda``, ``cuda:N``, ``mps`` or ``auto``.

    ``auto`` picks CUDA when present, else MPS, else the CPU.  ``None`` or ``""`` mean
    the CPU.

    Parameters
    ----------
    name : str or torch.device or None
        The device to use.

    Returns
    -------
    torch.device

    Raises
    ------
    ConfigError
        (field ``"device"``) an unknown name, or a device this machine does not have
        (the message lists the ones it has).

    Examples
    --------
    >>> resolve_device("auto").type in ("cuda", "mps", "cpu")
    True
    >>> resolve_device("tpu")
    Traceback (most recent call last):
    ...
    wavenet_gui.core.errors.ConfigError: device: 'tpu' is not one of cpu, cuda, mps, auto
    """
    if isinstance(name, torch.device):
        name = str(name)
    text = str(name or "cpu").strip().lower()
    present = available_devices()
    if text == "auto":
        for kind in DEVICE_KINDS:
            if kind in present:
                return torch.device(kind)
    kind, _, index = text.partition(":")
    if kind not in DEVICE_KINDS or (index and not index.isdigit()):
        raise ConfigError("device", f"{name!r} is not one of cpu, cuda, mps, auto")
    if kind not in present:
        raise ConfigError("device", f"{text} is not available on this machine (available: {', '.join(present)})")
    if kind == "cuda" and index and int(index) >= torch.cuda.device_count():
        raise ConfigError("device", f"{text} is not available on this machine: it has "
                                    f"{torch.cuda.device_count()} CUDA device(s), cuda:0 to "
                                    f"cuda:{torch.cuda.device_count() - 1}")
    return torch.device(text)


@dataclass(frozen=True)
class PrecisionPlan:
    """How a training run computes: the autocast dtype (None: plain float32) and whether a
    :class:`torch.amp.GradScaler` keeps float16 gradients from underflowing."""

    dtype: torch.dtype | None
    grad_scaler: bool


def _cpu_has_native_bfloat16() -> bool:
    native = getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)
    amx = getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    try:
        return bool(native() or amx())
    except Exception:  # noqa: BLE001
        return False


def _cuda_bfloat16(device: torch.device) -> bool:
    try:
        return bool(torch.cuda.is_bf16_supported())
    except Exception:  # noqa: BLE001
        return False


def precision_plan(precision: str, device: torch.device) -> PrecisionPlan:
    """The arithmetic of a training run on ``device`` for the setting ``precision``.

    * ``"float32"``: no autocast;
    * ``"bfloat16"``: autocast to bfloat16 (float32 weights, float32 accumulation);
    * ``"float16"``: autocast to float16 with a gradient scaler; CUDA only (on a CPU it
      is slower than float32 and the fused pass does not take it);
    * ``"auto"``: on CUDA, bfloat16 where the GPU has it (Ampere and later), else float16
      with a scaler; on a CPU, bfloat16 when it has native bfloat16 instructions
      (AVX512-BF16 or AMX), else float32; on MPS, float32.

    Raises
    ------
    ConfigError
        (field ``"precision"``) an unknown value, or float16 on a device other than CUDA.

    Examples
    --------
    >>> precision_plan("bfloat16", torch.device("cpu"))
    PrecisionPlan(dtype=torch.bfloat16, grad_scaler=False)
    """
    if precision not in PRECISIONS:
        raise ConfigError("precision", f"{precision!r} is not one of {', '.join(PRECISIONS)}")
    kind = torch.device(device).type
    if precision == "float32":
        return PrecisionPlan(None, False)
    if precision == "bfloat16":
        return PrecisionPlan(torch.bfloat16, False)
    if precision == "float16":
        if kind != "cuda":
            raise ConfigError("precision", f"float16 training needs a CUDA device (this run is on {kind}); "
                                           "use bfloat16 or float32")
        return PrecisionPlan(torch.float16, True)
    # auto
    if kind == "cuda":
        if _cuda_bfloat16(torch.device(device)):
            return PrecisionPlan(torch.bfloat16, False)
        return PrecisionPlan(torch.float16, True)
    if kind == "cpu" and _cpu_has_native_bfloat16():
        return PrecisionPlan(torch.bfloat16, False)
    return PrecisionPlan(None, False)
