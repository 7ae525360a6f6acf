"""Model files: one safetensors file that describes itself.

A model file is a `safetensors <https://huggingface.co/docs/safetensors>`_ file.
Its tensors are the model's weights (and, in a training checkpoint, Adam's
moments under ``optimizer/<name>/exp_avg|exp_avg_sq``); its header's metadata
holds one JSON document under the key ``"wavenet_gui"``: the format version,
the model config (hyperparameters, sample rate, quantization) and the training
state.  Loading parses JSON and raw tensors only: nothing is ever unpickled, so
opening a file cannot run code.  Files are written atomically (temporary file,
then rename), so a good file always exists under the final name.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from .errors import ConfigError, ModelFileError
from .fileio import atomic_write, check_writable_dir
from .model import WaveNet, WaveNetConfig

FORMAT = "wavenet-gui-model"
FORMAT_VERSION = 1
METADATA_KEY = "wavenet_gui"
#: File name used inside a model folder (the original's ``--model DIR``).
MODEL_FILE_NAME = "model.safetensors"

_PICKLE_MAGIC = (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")


@dataclass
class LoadedModel:
    model: WaveNet
    header: dict
    """The JSON document: ``format``, ``format_version``, ``config``, ``training``, ..."""
    optimizer_state: dict | None = None
    """``{"step": int, "lr": float, "moments": {param_name: (exp_avg, exp_avg_sq)}}`` or None."""
    losses: list[float] = field(default_factory=list)
    path: Path | None = None

    @property
    def training(self) -> dict:
        return self.header.get("training", {})


def resolve_model_path(path: str | Path) -> Path:
    """A model file, or a folder holding ``model.safetensors``."""
    path = Path(path)
    if path.is_dir():
        candidate = path / MODEL_FILE_NAME
        if not candidate.exists():
            raise ModelFileError(path, f"folder has no {MODEL_FILE_NAME}")
        return candidate
    return path


def adam_state(model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> dict | None:
    """Adam's state keyed by parameter name: ``{"step", "lr", "moments": {name: (exp_avg, exp_avg_sq)}}``.

    The form :func:`save_model` writes, :func:`load_model` returns and
    :class:`~wavenet_gui.core.training.Trainer` resumes from (None before the first step).
    """
    names = {id(p): n for n, p in model.named_parameters()}
    moments, step = {}, 0
    for p, state in optimizer.state.items():
        if id(p) in names and "exp_avg" in state:
            moments[names[id(p)]] = (state["exp_avg"].detach().cpu().clone(), state["exp_avg_sq"].detach().cpu().clone())
            step = int(state["step"].item() if torch.is_tensor(state["step"]) else state["step"])
    if not moments:
        return None
    return {"step": step, "lr": float(optimizer.param_groups[0]["lr"]), "moments": moments}


def save_model(path: str | Path, model: WaveNet, *, training: dict | None = None,
               optimizer: torch.optim.Optimizer | None = None, optimizer_state: dict | None = None,
               losses: list[float] | None = None) -> Path:
    """Write ``model`` (and optionally Adam's state and the loss history) atomically.

    Parameters
    ----------
    path : path-like
        The ``.safetensors`` file, or a folder (``model.safetensors`` inside it).
    training : dict, optional
        JSON-serialisable training state (iteration, learning rate, ...).
    optimizer : torch.optim.Adam, optional
        Saved so that training can resume where it stopped.
    optimizer_state : dict, optional
        The same, as :meth:`Trainer.optimizer_state` gives it (``{"step", "lr", "moments"}``).
    losses : list of float, optional
        Training loss per iteration, restored with the model.

    Examples
    --------
    >>> from wavenet_gui.core.model import WaveNet, WaveNetConfig
    >>> import tempfile, os
    >>> model = WaveNet(WaveNetConfig(n_dilations=2, n_blocks=1, n_hidden=4, n_skip=4, n_end=4))
    >>> p = save_model(os.path.join(tempfile.mkdtemp(), "m.safetensors"), model)
    >>> load_model(p).model.config == model.config
    True
    """
    path = Path(path)
    if path.is_dir() or path.suffix == "":
        path = path / MODEL_FILE_NAME
    tensors = {name: t.detach().to("cpu", torch.float32).contiguous() for name, t in model.state_dict().items()}
    header: dict = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "config": model.config.to_dict(),
        "receptive_field": model.receptive_field,
        "n_parameters": model.n_parameters(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "training": dict(training or {}),
    }
    from .. import __version__

    header["app_version"] = __version__
    if optimizer is not None and optimizer_state is None:
        optimizer_state = adam_state(model, optimizer)
    if optimizer_state and optimizer_state.get("moments"):
        for name, (exp_avg, exp_avg_sq) in optimizer_state["moments"].items():
            tensors[f"optimizer/{name}/exp_avg"] = exp_avg.detach().to("cpu", torch.float32).contiguous()
            tensors[f"optimizer/{name}/exp_avg_sq"] = exp_avg_sq.detach().to("cpu", torch.float32).contiguous()
        header["optimizer"] = {"kind": "adam", "step": int(optimizer_state["step"]),
                               "lr": float(optimizer_state["lr"])}
    if losses:
        tensors["training/losses"] = torch.tensor(list(losses), dtype=torch.float32)
    data = st_save(tensors, metadata={METADATA_KEY: json.dumps(header)})
    check_writable_dir(path.parent)
    with atomic_write(path) as f:
        f.write(data)
    return path


def _read_header(path: Path, data: bytes) -> dict:
    if len(data) == 0:
        raise ModelFileError(path, "file is empty")
    if data[:2] in _PICKLE_MAGIC or data[:2] == b"PK":
        raise ModelFileError(path, "is a pickle/PyTorch file, which could run code when opened; "
                                   "wavenet-gui only opens its own safetensors model files")
    if len(data) < 8:
        raise ModelFileError(path, "is too short to be a model file (truncated?)")
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8 or n > 100_000_000:
        raise ModelFileError(path, "is not a safetensors model file (bad header; truncated or another format)")
    try:
        raw = json.loads(data[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ModelFileError(path, "is not a safetensors model file (header is not JSON)") from None
    meta = raw.get("__metadata__") if isinstance(raw, dict) else None
    if not isinstance(meta, dict) or METADATA_KEY not in meta:
        raise ModelFileError(path, "is a safetensors file but not a wavenet-gui model (no wavenet_gui metadata)")
    try:
        header = json.loads(meta[METADATA_KEY])
    except (TypeError, json.JSONDecodeError):
        raise ModelFileError(path, "model description is not valid JSON") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ModelFileError(path, "is not a wavenet-gui model (unknown format)")
    version = header.get("format_version")
    if not isinstance(version, int):
        raise ModelFileError(path, "model description has no format version")
    if version > FORMAT_VERSION:
        raise ModelFileError(path, f"was written by a newer wavenet-gui (model format {version}); "
                                   f"this version reads format {FORMAT_VERSION} — please update")
    return header


def load_model(path: str | Path, *, device: str | torch.device = "cpu") -> LoadedModel:
    """Open a model file (or a folder holding ``model.safetensors``) without running code.

    Raises :class:`ModelFileError` with one line saying what is wrong when the file is
    missing, empty, truncated, corrupt, a pickle, foreign, of a newer format version, or
    when its weights do not match its config.

    Examples
    --------
    >>> load_model("/nonexistent/model.safetensors")
    Traceback (most recent call last):
    ...
    wavenet_gui.core.errors.ModelFileError: model.safetensors: does not exist (no such model file or folder)
    """
    path = resolve_model_path(path)
    if not path.exists():
        raise ModelFileError(path, "does not exist (no such model file or folder)")
    if path.is_dir():
        raise ModelFileError(path, "is a folder, not a model file")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ModelFileError(path, f"cannot be read ({e.strerror or e})") from None
    header = _read_header(path, data)
    try:
        config = WaveNetConfig.from_dict(header.get("config") or {})
    except ConfigError as e:
        raise ModelFileError(path, f"has an invalid config ({e})") from None
    try:
        tensors = st_load(data)
    except (SafetensorError, Exception) as e:  # noqa: BLE001 - any parse failure means corrupt
        raise ModelFileError(path, f"weights are corrupt or truncated ({str(e).splitlines()[0][:120]})") from None

    model = WaveNet(config)
    expected = model.state_dict()
    weights = {k: v for k, v in tensors.items() if "/" not in k}
    missing = sorted(set(expected) - set(weights))
    extra = sorted(set(weights) - set(expected))
    if missing or extra:
        what = f"missing {missing[0]}" if missing else f"unexpected {extra[0]}"
        raise ModelFileError(path, f"weights do not match its config ({what}); the file is damaged or foreign")
    for name, t in weights.items():
        if tuple(t.shape) != tuple(expected[name].shape):
            raise ModelFileError(path, f"weights do not match its config: {name} has shape {tuple(t.shape)}, "
                                       f"the config needs {tuple(expected[name].shape)}")
        if not torch.isfinite(t).all():
            raise ModelFileError(path, f"weights contain NaN or infinite values ({name})")
    model.load_state_dict(weights)
    model.to(device)
    model.eval()

    optimizer_state = None
    opt = header.get("optimizer")
    if isinstance(opt, dict):
        moments = {}
        for name in dict(model.named_parameters()):
            a, b = tensors.get(f"optimizer/{name}/exp_avg"), tensors.get(f"optimizer/{name}/exp_avg_sq")
            if a is not None and b is not None and a.shape == expected[name].shape == b.shape:
                moments[name] = (a, b)
        if moments:
            optimizer_state = {"step": int(opt.get("step", 0)), "lr": float(opt.get("lr", 1e-3)), "moments": moments}
    losses_t = tensors.get("training/losses")
    losses = [float(v) for v in losses_t.tolist()] if losses_t is not None and losses_t.dim() == 1 else []
    losses = [v for v in losses if math.isfinite(v)]
    return LoadedModel(model=model, header=header, optimizer_state=optimizer_state, losses=losses, path=path)
