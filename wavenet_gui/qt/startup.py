"""What the window starts with: the bundled example clip, and the core loaded (its kernels compiled) in the
background."""

from __future__ import annotations

import threading
from pathlib import Path

WARM_UP_THREAD = "wavenet-warm-up"
_warm_thread: threading.Thread | None = None


def example_clip() -> Path | None:
    """The bundled example clip (None if an installation lost it)."""
    from wavenet_gui.resources import example_clip_path

    try:
        p = Path(example_clip_path())
    except (OSError, ModuleNotFoundError):
        return None
    return p if p.exists() else None


def load_core() -> list[str]:
    """Import torch and the model code (in a worker); start compiling the kernels; the devices."""
    from wavenet_gui.core import generation, training
    from wavenet_gui.core.session import available_devices, leave_a_core_free

    leave_a_core_free()
    # The first optimizer imports torch._dynamo (seconds, holding the GIL): do it now, in the
    # background, rather than when Train is pressed (measured: a 300 ms stall of the UI then).
    import torch

    torch.optim.Adam([torch.zeros(1, requires_grad=True)])
    # Compiling the generator's matrix products makes numba load scipy's BLAS (about 0.5 s
    # holding the GIL, measured with py-spy --gil): load it here, while the window says
    # "Loading PyTorch…", not in the warm-up thread while the user trains.
    try:
        from numba.np.linalg import ensure_blas

        ensure_blas()
    except Exception:  # noqa: BLE001 - no scipy BLAS: numba reports it when it compiles
        pass

    def warm_up() -> None:  # daemon: compiling cannot be interrupted and must not hold up closing
        training.warm_up()
        generation.warm_up()

    global _warm_thread
    _warm_thread = threading.Thread(target=warm_up, name=WARM_UP_THREAD, daemon=True)
    _warm_thread.start()
    return available_devices() or ["cpu"]


def warming_up() -> bool:
    """Whether the kernels are still being compiled (or loaded from numba's cache) in the background.

    That thread holds the GIL for stretches of a few hundred milliseconds (measured with py-spy
    --gil: 230-360 ms on 2 cores), so the window can pause for a moment while it runs; the
    window says so.

    >>> warming_up()
    False
    """
    return _warm_thread is not None and _warm_thread.is_alive()
