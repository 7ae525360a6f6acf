"""Training on several processes (GPUs or machines) with PyTorch's DistributedDataParallel.

``torchrun`` starts one process per GPU (or several CPU processes) and tells each its
place through the environment (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``,
``MASTER_PORT``).  ``wavenet-cli`` notices that environment (:func:`torchrun_env`) and
trains with a :class:`DistributedTrainer`:

* the process group uses NCCL on CUDA and gloo on the CPU; each process trains on its
  own GPU (``cuda:LOCAL_RANK``);
* every process builds the same model (the same seed) and DDP broadcasts rank 0's weights
  once more at the start, so a resumed model is the same everywhere;
* each process draws its own ``batch_size`` windows from a generator seeded by
  ``(seed, iteration, rank)`` (:func:`rank_rng`): one step trains on ``world_size x
  batch_size`` windows;
* the loss goes through :class:`torch.nn.parallel.DistributedDataParallel`, which
  all-reduces (averages) the gradients during the backward pass.  On the CPU the loss is
  the fused pass (:func:`~wavenet_gui.core.fused.fused_loss`), an autograd function with a
  hand-written backward: DDP's gradient hooks sit on the parameters, so they fire for it
  as for any autograd graph; on a GPU it is autograd with autocast.  Averaging gradients
  of per-process mean losses over equal batches is the gradient of the mean loss over all
  the windows, so N processes train like one process on their windows together;
* the loss each process records is the mean over all processes (one small all-reduce per
  step), so the divergence rule, the loss history and the target loss are the same
  everywhere and every process takes the same decisions;
* stopping is collective (:class:`SharedStop`): a stop asked on any process (Ctrl+C, which
  a terminal sends to every process and torchrun forwards once more) is seen by all at the
  same iteration, so none is left waiting in an all-reduce;
* only rank 0 writes checkpoints (atomically, as always) and prints progress.

A checkpoint holds no trace of the number of processes (weights, Adam's state, iteration
count and losses), so a run can be resumed with any number of processes, or in the window.

Examples
--------
>>> torchrun_env({"RANK": "1", "WORLD_SIZE": "2", "LOCAL_RANK": "1"})
TorchrunEnv(rank=1, world_size=2, local_rank=1)
>>> torchrun_env({}) is None
True
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist

from .errors import ConfigError
from .training import Trainer

__all__ = ["DistributedRun", "DistributedTrainer", "SharedStop", "TorchrunEnv", "rank_rng", "torchrun_env"]


@dataclass(frozen=True)
class TorchrunEnv:
    """Where this process stands in a ``torchrun`` launch."""

    rank: int
    world_size: int
    local_rank: int


def _int(environ: Mapping[str, str], name: str) -> int:
    text = environ.get(name, "")
    try:
        return int(text)
    except ValueError:
        raise ConfigError(name, f"the torchrun environment variable {name}={text!r} is not a whole number") from None


def torchrun_env(environ: Mapping[str, str] | None = None) -> TorchrunEnv | None:
    """The launch this process belongs to, or None when it was not started by ``torchrun``.

    Raises :class:`ConfigError` for an inconsistent environment (e.g. ``RANK`` >= ``WORLD_SIZE``).
    """
    environ = os.environ if environ is None else environ
    if "RANK" not in environ or "WORLD_SIZE" not in environ:
        return None
    rank, world = _int(environ, "RANK"), _int(environ, "WORLD_SIZE")
    local = _int(environ, "LOCAL_RANK") if "LOCAL_RANK" in environ else rank
    if world < 1 or not 0 <= rank < world or local < 0:
        raise ConfigError("RANK", f"torchrun environment is inconsistent (RANK={rank}, WORLD_SIZE={world}, "
                                  f"LOCAL_RANK={local})")
    return TorchrunEnv(rank=rank, world_size=world, local_rank=local)


def rank_rng(seed: int, iteration: int, rank: int) -> np.random.Generator:
    """The window generator of process ``rank`` from ``iteration`` on (a resume continues it).

    Examples
    --------
    >>> a, b = rank_rng(0, 0, 0), rank_rng(0, 0, 1)
    >>> int(a.integers(1 << 30)) != int(b.integers(1 << 30))
    True
    """
    return np.random.default_rng([int(seed), int(iteration), int(rank), 15])


class DistributedRun:
    """The process group of one ``torchrun`` launch: backend, device, rank; a context manager.

    Parameters
    ----------
    env : TorchrunEnv
        From :func:`torchrun_env`.
    device : torch.device
        The device asked for (``cuda`` becomes ``cuda:LOCAL_RANK``).
    timeout_s : float, keyword-only
        How long a collective may wait for the other processes (default 30 minutes).
    """

    def __init__(self, env: TorchrunEnv, device: torch.device, *, timeout_s: float = 1800.0) -> None:
        self.env = env
        kind = torch.device(device).type
        if kind == "mps":
            raise ConfigError("device", "distributed training runs on CUDA (nccl) or the CPU (gloo), not on mps")
        if kind == "cuda":
            if env.local_rank >= torch.cuda.device_count():
                raise ConfigError("device", f"LOCAL_RANK {env.local_rank} has no GPU: this machine has "
                                            f"{torch.cuda.device_count()} (start at most that many processes "
                                            "per node)")
            self.device = torch.device("cuda", env.local_rank)
            torch.cuda.set_device(self.device)
            self.backend = "nccl"
        else:
            self.device = torch.device("cpu")
            self.backend = "gloo"
        self._timeout = timedelta(seconds=timeout_s)
        self._owns_group = False

    @property
    def rank(self) -> int:
        return self.env.rank

    @property
    def world_size(self) -> int:
        return self.env.world_size

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that writes checkpoints and prints."""
        return self.env.rank == 0

    def describe(self) -> str:
        """The first line a launch prints, e.g. ``training on 2 processes (world size 2, gloo)``."""
        n = self.world_size
        return f"training on {n} process{'es' if n != 1 else ''} (world size {n}, {self.backend})"

    def __enter__(self) -> DistributedRun:
        if not dist.is_initialized():
            dist.init_process_group(self.backend, rank=self.rank, world_size=self.world_size,
                                    timeout=self._timeout,
                                    device_id=self.device if self.backend == "nccl" else None)
            self._owns_group = True
        return self

    def close(self) -> None:
        """Leave the process group: every process waits for the others first (rank 0 may still be
        writing the final checkpoint), so none tears down its connections while a peer still uses
        them (a gloo process leaving early could abort at exit: "terminate called without an
        active exception").  A peer that never comes (it failed) is waited for up to 60 s."""
        if self._owns_group and dist.is_initialized():
            try:
                if dist.get_backend() == "gloo":
                    dist.monitored_barrier(timeout=timedelta(seconds=60))
                else:
                    dist.barrier()
            except Exception:  # noqa: BLE001 - a peer that failed: leave anyway
                pass
            dist.destroy_process_group()
        self._owns_group = False

    def __exit__(self, *exc) -> None:
        self.close()


class SharedStop:
    """A stop request seen by every process at the same moment.

    ``is_set()`` is a collective: every process must call it at the same point of the
    loop (the trainer asks once per iteration).  It all-reduces this process's own
    request (``local``, e.g. set by Ctrl+C) with MAX, so a stop on any process, rank 0's
    Stop included, stops all of them after the same iteration.  Once seen, it stays set
    without further communication.
    """

    def __init__(self, local: threading.Event | None, device: torch.device) -> None:
        self.local = local if local is not None else threading.Event()
        self._device = device
        self._seen = False

    def set(self) -> None:
        self.local.set()

    def is_set(self) -> bool:
        if self._seen:
            return True
        flag = torch.tensor([1.0 if self.local.is_set() else 0.0], device=self._device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        self._seen = bool(flag.item() > 0)
        return self._seen


class _LossModule(torch.nn.Module):
    """What DDP wraps: the model, with the trainer's loss as ``forward``."""

    def __init__(self, model: torch.nn.Module, loss) -> None:
        super().__init__()
        self.model = model
        self._loss_fn = loss

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._loss_fn(x)


class DistributedTrainer(Trainer):
    """A :class:`~wavenet_gui.core.training.Trainer` for one process of a ``torchrun`` launch.

    Takes the same arguments plus ``run`` (a :class:`DistributedRun` whose process group
    is initialised).  ``config.batch_size`` is per process.  See the module docstring for
    what it does differently; everything else (Adam, divergence rollback, validation,
    target loss) is the Trainer's.
    """

    def __init__(self, *args, run: DistributedRun, **kwargs) -> None:
        if not dist.is_initialized():
            raise ConfigError("distributed", "the process group is not initialised (use DistributedRun)")
        super().__init__(*args, **kwargs)
        self.run_info = run
        self.rng = rank_rng(self.config.seed, self.iteration, run.rank)
        device_ids = [self.device.index] if self.device.type == "cuda" else None
        self.ddp = torch.nn.parallel.DistributedDataParallel(
            _LossModule(self.model, super()._loss), device_ids=device_ids)

    def _loss(self, x: torch.Tensor) -> torch.Tensor:
        if not torch.is_grad_enabled():  # validation: every process scores the same windows alone
            return super()._loss(x)
        loss = self.ddp(x)
        # The value is the mean over all processes, the gradient this process's own (DDP averages it).
        mean = loss.detach().clone().float()
        dist.all_reduce(mean)
        mean /= self.run_info.world_size
        return loss + (mean.to(loss.dtype) - loss.detach())

    def save_checkpoint(self, path: str | Path | None = None) -> Path | None:
        """Rank 0 writes the checkpoint (atomically); the other processes write nothing."""
        if not self.run_info.is_main:
            return None
        return super().save_checkpoint(path)

    def steps(self, *, cancel=None):
        stop = cancel if isinstance(cancel, SharedStop) else SharedStop(cancel, self.device)
        return super().steps(cancel=stop)
