"""Model files: one safetensors file that describes itself.

A model file is a `safetensors <https://huggingface.co/docs/safetensors>`_ file.
Its tensors are the model's weights (and, in a training checkpoint, Adam's
moments under ``optimizer/<name>/exp_avg|exp_avg_sq``); its header's metadata
holds one JSON document under the key ``"wavenet_gui"``: the format version,
the model config (hyperparameters, sample rate, quantization) and the training
state.  Loading parses JSON and raw tensors only: nothing is ever unpickled, so
opening a file cannot run code.  Files are written atomically (temporary file,
then rename), so a good file always exists under the final name.

Opening a file is done in an order that a hostile file cannot abuse:

1. only a regular file is opened (a FIFO, a device such as ``/dev/zero``, a socket or a
   folder is refused without reading from it);
2. its first bytes are checked (a pickle or a PyTorch zip is refused), then its header
   is parsed by safetensors' own :func:`safetensors.safe_open`, which maps the file
   and reads nothing else; a header above :data:`MAX_HEADER_BYTES` or tensors that do
   not exactly cover the file are refused;
3. every field of the JSON description is checked against a schema (types, ranges,
   finiteness; see :func:`load_model`);
4. the config's parameter count is checked against
   :data:`~wavenet_gui.core.model.MAX_PARAMETERS`, and every tensor's name, shape and
   dtype against the shapes that config builds (computed on torch's ``meta`` device);
5. only then are the model allocated and the tensors read, one at a time, cast to
   float32 and checked to be finite (Adam's second moments also non-negative).
"""

from __future__ import annotations

import json
import math
import os
import stat
import struct
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as st_save

from .errors import ConfigError, ModelFileError
from .fileio import atomic_write, check_writable_dir, path_length_problem, shorten
from .model import WaveNet, WaveNetConfig

FORMAT = "wavenet-gui-model"
FORMAT_VERSION = 1
METADATA_KEY = "wavenet_gui"
#: File name used inside a model folder (the original's ``--model DIR``).
MODEL_FILE_NAME = "model.safetensors"

#: A safetensors header (tensor table + description) larger than this is refused; a real
#: one is a few kB (about 30 kB for the largest legal layer count).
MAX_HEADER_BYTES = 16 * 1024 * 1024
#: The longest loss history a model file may carry (one value per training iteration).
MAX_LOSSES = 10_000_000

_PICKLE_MAGIC = (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")
#: Tensor dtypes accepted (and cast to float32); integer, bool and 8-bit float tensors are refused.
_FLOAT_DTYPES = ("F16", "BF16", "F32", "F64")
_MOMENT_KINDS = ("exp_avg", "exp_avg_sq")


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
    problem = path_length_problem(path)
    if problem:
        raise ModelFileError(shorten(path.name), problem)
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
            moments[names[id(p)]] = (state["exp_avg"].detach().cpu().clone(),
                                     state["exp_avg_sq"].detach().cpu().clone())
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
    try:
        training = _check_training(_json_safe(dict(training or {})), "training")
    except _BadField as e:
        raise ConfigError("training", str(e)) from None
    tensors = {name: t.detach().to("cpu", torch.float32).contiguous() for name, t in model.state_dict().items()}
    header: dict = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "config": model.config.to_dict(),
        "receptive_field": model.receptive_field,
        "n_parameters": model.n_parameters(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "training": training,
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
        tensors["training/losses"] = torch.tensor(list(losses)[-MAX_LOSSES:], dtype=torch.float32)
    data = st_save(tensors, metadata={METADATA_KEY: json.dumps(header, allow_nan=False)})
    check_writable_dir(path.parent)
    with atomic_write(path) as f:
        f.write(data)
    return path


# ---------------------------------------------------------------------------- the description's schema
class _BadField(ValueError):
    """A field of the JSON description is invalid; ``str()`` says which and why."""


def _shown(value: object) -> str:
    text = repr(value) if not isinstance(value, (dict, list)) else type(value).__name__
    return text if len(text) <= 40 else text[:37] + "..."


def _bad(where: str, what: str, value: object) -> _BadField:
    return _BadField(f"{where} {what}, got {_shown(value)}")


def _whole(value: object, where: str, lo: int, hi: int) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise _bad(where, f"must be a whole number from {lo:,} to {hi:,}", value)
    return value


def _number(value: object, where: str, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not lo < value <= hi:
        raise _bad(where, f"must be a number above {lo:g} and at most {hi:g}", value)
    return float(value)


def _loss_value(value: object, where: str) -> float | None:
    """A loss shown to the user: a number or null (a non-finite loss reads as null)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _bad(where, "must be a number or null", value)
    return float(value) if math.isfinite(value) else None


def _text(value: object, where: str, limit: int) -> str:
    if not isinstance(value, str) or len(value) > limit:
        raise _bad(where, f"must be text of at most {limit:,} characters", value)
    return value


def _plain(value: object, where: str) -> object:
    """A field this version does not know: kept only when it is a plain JSON value."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return _text(value, where, 4096)
    if isinstance(value, list) and len(value) <= 10_000 and all(
            v is None or isinstance(v, (bool, int, str)) or (isinstance(v, float) and math.isfinite(v))
            for v in value):
        return [_text(v, where, 4096) if isinstance(v, str) else v for v in value]
    raise _bad(where, "must be a plain value (text, number, true/false, null or a list of them)", value)


def _names(value: object, where: str) -> list[str]:
    if not isinstance(value, list) or len(value) > 100_000 or not all(isinstance(v, str) for v in value):
        raise _bad(where, "must be a list of file names", value)
    return [_text(v, where, 4096) for v in value]


#: Known fields of ``training``: what :class:`~wavenet_gui.core.training.Trainer` and the window write.
_TRAINING_FIELDS = {
    "iteration": lambda v, w: _whole(v, w, 0, 10**12),
    "iterations": lambda v, w: _whole(v, w, 0, 10**12),
    "learning_rate": lambda v, w: _number(v, w, 0.0, 1e3),
    "batch_size": lambda v, w: _whole(v, w, 1, 10**7),
    "target_length": lambda v, w: _whole(v, w, 1, 10**9),
    "loss": _loss_value,
    "mean_loss": _loss_value,
    "final_loss": _loss_value,
    "training_files": lambda v, w: _names(v, w),
    "app": lambda v, w: _text(v, w, 200),
}


def _check_training(value: object, where: str) -> dict:
    if not isinstance(value, dict):
        raise _bad(where, "must be an object", value)
    out = {}
    for key, v in value.items():
        check = _TRAINING_FIELDS.get(key)
        out[key] = check(v, f"{where}.{key}") if check else _plain(v, f"{where}.{_text(key, where, 100)}")
    return out


def _check_optimizer(value: object) -> dict:
    if not isinstance(value, dict):
        raise _bad("optimizer", "must be an object", value)
    unknown = sorted(set(value) - {"kind", "step", "lr"})
    if unknown:
        raise _bad("optimizer", "has an unknown field", unknown[0])
    if value.get("kind") != "adam":
        raise _bad("optimizer.kind", "must be \"adam\"", value.get("kind"))
    return {"kind": "adam", "step": _whole(value.get("step"), "optimizer.step", 0, 10**12),
            "lr": _number(value.get("lr"), "optimizer.lr", 0.0, 1e3)}


def _check_description(raw: object) -> tuple[dict, WaveNetConfig]:
    """Check every field of the JSON description; return it (clean) and its config.

    Raises ``_BadField`` (the caller names the file) or :class:`ConfigError` for the config.
    """
    if not isinstance(raw, dict):
        raise _bad("the description", "must be an object", raw)
    known = {"format", "format_version", "config", "receptive_field", "n_parameters", "created",
             "app_version", "training", "optimizer"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise _bad("the description", "has a field this version does not know", unknown[0])
    config_dict = raw.get("config")
    if not isinstance(config_dict, dict):
        raise _bad("config", "must be an object of model settings", config_dict)
    config = WaveNetConfig.from_dict(config_dict)  # types, ranges and the parameter limit
    header: dict = {"format": FORMAT, "format_version": raw["format_version"], "config": config.to_dict()}
    for key, expected in (("receptive_field", config.receptive_field), ("n_parameters", config.n_parameters)):
        if key in raw:
            value = _whole(raw[key], key, 0, 10**15)
            if value != expected:
                raise _bad(key, f"does not match the config (which gives {expected:,})", value)
            header[key] = value
    for key in ("created", "app_version"):
        if key in raw:
            header[key] = _text(raw[key], key, 100)
    header["training"] = _check_training(raw.get("training", {}), "training")
    if "optimizer" in raw:
        header["optimizer"] = _check_optimizer(raw["optimizer"])
    return header, config


def _json_safe(value: object) -> object:
    """``value`` with numpy scalars as Python numbers and non-finite floats as None (JSON has neither)."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 1) == 0:
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# ---------------------------------------------------------------------------- reading
def _file_kind(mode: int) -> str | None:
    """Why a file of this ``st_mode`` is not opened, or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a folder, not a model file"
    if stat.S_ISFIFO(mode):
        return "is a named pipe (FIFO), not a model file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device, not a model file"
    if stat.S_ISSOCK(mode):
        return "is a socket, not a model file"
    return "is not a regular file"


def _first_bytes(path: Path) -> tuple[int, bytes]:
    """Size and first 8 bytes of a regular file; anything else is refused without reading it.

    The file is opened non-blocking, so a FIFO does not wait for a writer, and checked
    with ``fstat`` on that same descriptor.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise ModelFileError(path, "does not exist (no such model file or folder)") from None
    except IsADirectoryError:
        raise ModelFileError(path, "is a folder, not a model file") from None
    except PermissionError:
        raise ModelFileError(path, "cannot be read (permission denied)") from None
    except OSError as e:
        raise ModelFileError(path, f"cannot be read ({' '.join(str(e.strerror or e).split())})") from None
    try:
        st = os.fstat(fd)
        kind = _file_kind(st.st_mode)
        if kind:
            raise ModelFileError(path, kind)
        head = os.read(fd, 8)
    except OSError as e:
        raise ModelFileError(path, f"cannot be read ({' '.join(str(e.strerror or e).split())})") from None
    finally:
        os.close(fd)
    return st.st_size, head


def _check_start(path: Path, size: int, head: bytes) -> None:
    if size == 0:
        raise ModelFileError(path, "file is empty")
    if head[:2] in _PICKLE_MAGIC or head[:2] == b"PK":
        raise ModelFileError(path, "is a pickle/PyTorch file, which could run code when opened; "
                                   "wavenet-gui only opens its own safetensors model files")
    if size < 8:
        raise ModelFileError(path, "is too short to be a model file (truncated?)")
    (n,) = struct.unpack("<Q", head)
    if n > MAX_HEADER_BYTES:
        raise ModelFileError(path, "is not a wavenet-gui model file (its header would be "
                                   f"{n:,} bytes; the limit is {MAX_HEADER_BYTES:,})")
    if 8 + n > size:
        raise ModelFileError(path, "is truncated or not a safetensors file (its header is cut off)")


def _safetensors_reason(error: Exception) -> str:
    text = " ".join(str(error).split())
    low = text.lower()
    if "incomplete metadata" in low or "not fully covered" in low:
        return "is truncated or damaged: its tensors do not cover the file exactly"
    if "invalid json" in low or "header too small" in low:
        return "is not a safetensors model file (its header is not valid)"
    if "invalid shape, data type, or offset" in low:
        return "is damaged: a tensor's shape, type or position in the file is invalid"
    return f"is not a valid safetensors file ({text[:120]})"


def _expected_shapes(config: WaveNetConfig) -> dict[str, tuple[int, ...]]:
    """Name -> shape of every weight the config builds, computed without allocating them."""
    with torch.device("meta"):
        return {name: tuple(t.shape) for name, t in WaveNet(config).state_dict().items()}


def _tensor_table(path: Path, f, shapes: dict[str, tuple[int, ...]], has_optimizer: bool) -> list[str]:
    """Check every tensor's name, dtype and shape (from the header only); return the moment names."""
    seen_weights: set[str] = set()
    moments: dict[str, set[str]] = {}
    for key in f.keys():
        sl = f.get_slice(key)
        dtype, shape = sl.get_dtype(), tuple(sl.get_shape())
        if key == "training/losses":
            expected = None if len(shape) == 1 else "one dimension"
            if expected is None and shape[0] > MAX_LOSSES:
                raise ModelFileError(path, f"loss history has {shape[0]:,} values; the limit is {MAX_LOSSES:,}")
        elif key.startswith("optimizer/"):
            pname, _, kind = key[len("optimizer/"):].rpartition("/")
            if pname not in shapes or kind not in _MOMENT_KINDS:
                raise ModelFileError(path, f"has an unexpected tensor {key[:80]!r}; the file is damaged or foreign")
            moments.setdefault(pname, set()).add(kind)
            expected = None if shape == shapes[pname] else f"shape {shapes[pname]}"
        elif key in shapes:
            seen_weights.add(key)
            expected = None if shape == shapes[key] else f"shape {shapes[key]}"
            if expected:
                raise ModelFileError(path, f"weights do not match its config: {key} has shape {shape}, "
                                           f"the config needs {shapes[key]}")
        else:
            raise ModelFileError(path, f"weights do not match its config (unexpected {key[:80]}); "
                                       "the file is damaged or foreign")
        if expected:
            raise ModelFileError(path, f"tensor {key} has shape {shape}; it must have {expected}")
        if dtype not in _FLOAT_DTYPES:
            raise ModelFileError(path, f"tensor {key} is stored as {dtype}; model files hold floating-point "
                                       "numbers (F16, BF16, F32 or F64)")
    missing = sorted(set(shapes) - seen_weights)
    if missing:
        raise ModelFileError(path, f"weights do not match its config (missing {missing[0]}); "
                                   "the file is damaged or foreign")
    for pname, kinds in moments.items():
        if len(kinds) != 2:
            raise ModelFileError(path, f"has only half of Adam's moments for {pname}; the file is damaged")
    if moments and not has_optimizer:
        raise ModelFileError(path, "has Adam's moments but no optimizer entry in its description; "
                                   "the file is damaged")
    return sorted(moments)


def _read_float32(path: Path, f, key: str, what: str) -> torch.Tensor:
    t = f.get_tensor(key).to(torch.float32)  # the finite check is on what the model will use
    if not torch.isfinite(t).all():
        raise ModelFileError(path, f"{what} contain NaN or infinite values as float32 ({key})")
    return t


def load_model(path: str | Path, *, device: str | torch.device = "cpu") -> LoadedModel:
    """Open a model file (or a folder holding ``model.safetensors``) without running code.

    Nothing is allocated for the model before the whole header has been checked (see the
    module docstring for the order).  The JSON description must follow this schema:

    ==================  =============================================================
    ``format``          ``"wavenet-gui-model"``
    ``format_version``  whole number, 1 .. :data:`FORMAT_VERSION`
    ``config``          an object :meth:`WaveNetConfig.from_dict` accepts (types, ranges,
                        at most :data:`~wavenet_gui.core.model.MAX_PARAMETERS` parameters)
    ``receptive_field``, ``n_parameters``
                        optional; whole numbers equal to what ``config`` gives
    ``created``, ``app_version``
                        optional text (100 characters at most)
    ``training``        optional object: ``iteration``/``iterations`` (whole numbers >= 0),
                        ``learning_rate`` (a finite number > 0), ``batch_size``,
                        ``target_length`` (whole numbers >= 1), ``loss``/``mean_loss``/
                        ``final_loss`` (numbers or null), ``training_files`` (a list of
                        names), ``app`` (text); any other field must be a plain value
    ``optimizer``       optional object: ``kind`` ``"adam"``, ``step`` (whole number >= 0),
                        ``lr`` (a finite number > 0); required when moments are present
    ==================  =============================================================

    Tensors: every weight of the config with its exact shape; optionally
    ``optimizer/<weight>/exp_avg`` and ``exp_avg_sq`` in pairs with the weight's shape;
    optionally ``training/losses`` (1-D, at most :data:`MAX_LOSSES`).  Tensors may be
    F16, BF16, F32 or F64; they are cast to float32 and must be finite after the cast.

    Parameters
    ----------
    path : str or Path
        The file, or a folder holding ``model.safetensors``.
    device : str or torch.device, keyword-only
        Where the model goes (default ``"cpu"``).

    Returns
    -------
    LoadedModel

    Raises
    ------
    ModelFileError
        One line naming the file and what is wrong: missing, not a regular file, empty,
        truncated, a pickle, foreign, of a newer format version, an invalid description,
        too large a model, weights that do not match the config or are not finite.

    Examples
    --------
    >>> load_model("/nonexistent/model.safetensors")
    Traceback (most recent call last):
    ...
    wavenet_gui.core.errors.ModelFileError: model.safetensors: does not exist (no such model file or folder)
    """
    path = resolve_model_path(path)
    size, head = _first_bytes(path)
    _check_start(path, size, head)
    try:
        f = safe_open(str(path), framework="pt")
    except SafetensorError as e:
        raise ModelFileError(path, _safetensors_reason(e)) from None
    except OSError as e:
        raise ModelFileError(path, f"cannot be read ({' '.join(str(e.strerror or e).split())})") from None
    with f:
        meta = f.metadata()
        if not isinstance(meta, dict) or METADATA_KEY not in meta:
            raise ModelFileError(path, "is a safetensors file but not a wavenet-gui model (no wavenet_gui metadata)")
        try:
            raw = json.loads(meta[METADATA_KEY])
        except RecursionError:
            raise ModelFileError(path, "model description is nested too deeply to be a wavenet-gui model") from None
        except (TypeError, ValueError):
            raise ModelFileError(path, "model description is not valid JSON") from None
        if not isinstance(raw, dict) or raw.get("format") != FORMAT:
            raise ModelFileError(path, "is not a wavenet-gui model (unknown format)")
        version = raw.get("format_version")
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise ModelFileError(path, "model description has no valid format version")
        if version > FORMAT_VERSION:
            raise ModelFileError(path, f"was written by a newer wavenet-gui (model format {version}); "
                                       f"this version reads format {FORMAT_VERSION} — please update")
        try:
            header, config = _check_description(raw)
        except ConfigError as e:
            if e.field == "model":
                raise ModelFileError(path, f"asks for too large a model ({e.reason})") from None
            raise ModelFileError(path, f"has an invalid config ({e})") from None
        except _BadField as e:
            raise ModelFileError(path, f"has an invalid model description: {e}") from None
        shapes = _expected_shapes(config)
        moment_names = _tensor_table(path, f, shapes, "optimizer" in header)

        # Everything is known to fit: allocate the model and read one tensor at a time.
        model = WaveNet(config)
        state = model.state_dict()
        with torch.no_grad():
            for name in shapes:
                state[name].copy_(_read_float32(path, f, name, "weights"))
        moments = {}
        for name in moment_names:
            exp_avg = _read_float32(path, f, f"optimizer/{name}/exp_avg", "Adam's moments")
            exp_avg_sq = _read_float32(path, f, f"optimizer/{name}/exp_avg_sq", "Adam's moments")
            if bool((exp_avg_sq < 0).any()):
                raise ModelFileError(path, f"Adam's second moments are negative (optimizer/{name}/exp_avg_sq); "
                                           "the file is damaged")
            moments[name] = (exp_avg, exp_avg_sq)
        losses: list[float] = []
        if "training/losses" in f.keys():
            values = f.get_tensor("training/losses").to(torch.float32)
            losses = [v for v in values.tolist() if math.isfinite(v)]
    model.to(device)
    model.eval()
    optimizer_state = None
    if moments:
        opt = header["optimizer"]
        optimizer_state = {"step": opt["step"], "lr": opt["lr"], "moments": moments}
    return LoadedModel(model=model, header=header, optimizer_state=optimizer_state, losses=losses, path=path)
