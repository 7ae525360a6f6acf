"""Bundled resources: the application icon and the example clip (see README.md here).

This package holds the files and finds them (Qt-free): :func:`example_clip_path`,
:func:`icon_path`, :func:`resource_path`.  They are found with
:func:`importlib.resources.files`, so they work installed, in editable mode and in the
PyInstaller bundle (the spec collects this package's data files).  If the package
ever lives in a zip, a file is extracted once to a temporary file that lives until
the interpreter exits.

Examples
--------
>>> from wavenet_gui.resources import example_clip_path, icon_path
>>> example_clip_path().name
'example.wav'
>>> icon_path(32).name
'icon-32.png'
"""

from __future__ import annotations

import atexit
import contextlib
from importlib import resources
from pathlib import Path

__all__ = [
    "RESOURCE_PACKAGE",
    "ICON_SIZES",
    "EXAMPLE_CLIP",
    "example_clip_path",
    "icon_path",
    "resource_path",
]

RESOURCE_PACKAGE = "wavenet_gui.resources"
#: Sizes (pixels) for which a rendered PNG of the icon ships.
ICON_SIZES: tuple[int, ...] = (16, 32, 64, 256)
EXAMPLE_CLIP = "example.wav"

_extracted = contextlib.ExitStack()
atexit.register(_extracted.close)
_cache: dict[str, Path] = {}


def resource_path(name: str) -> Path:
    """Return a real filesystem path to the resource file ``name``.

    Parameters
    ----------
    name : str
        File name inside ``wavenet_gui.resources``, e.g. ``"icon.svg"``.

    Returns
    -------
    Path
        An existing file.

    Raises
    ------
    FileNotFoundError
        If the package does not contain ``name`` (a broken install or bundle).

    Examples
    --------
    >>> resource_path("icon.svg").suffix
    '.svg'
    """
    if name in _cache and _cache[name].is_file():
        return _cache[name]
    resource = resources.files(RESOURCE_PACKAGE).joinpath(name)
    if not resource.is_file():
        raise FileNotFoundError(
            f"{name}: missing from {RESOURCE_PACKAGE} (the installation is incomplete; "
            "reinstall wavenet-gui)"
        )
    if isinstance(resource, Path):
        path = resource
    else:  # e.g. a zip import: extract once, keep until exit
        path = Path(_extracted.enter_context(resources.as_file(resource)))
    _cache[name] = path
    return path


def example_clip_path() -> Path:
    """Return the path of the example clip (4.5 s of a plucked melody, 16 kHz mono WAV).

    Examples
    --------
    >>> import soundfile
    >>> soundfile.info(str(example_clip_path())).samplerate
    16000
    """
    return resource_path(EXAMPLE_CLIP)


def icon_path(size: int | None = None) -> Path:
    """Return the application icon: the SVG, or a rendered PNG of ``size`` pixels.

    Parameters
    ----------
    size : int or None
        ``None`` gives ``icon.svg``.  Otherwise the PNG of the smallest shipped size
        that is at least ``size`` (the largest one when ``size`` exceeds them all).

    Raises
    ------
    ValueError
        If ``size`` is not a positive integer.

    Examples
    --------
    >>> icon_path().name
    'icon.svg'
    >>> icon_path(48).name
    'icon-64.png'
    """
    if size is None:
        return resource_path("icon.svg")
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
        raise ValueError(f"icon size: must be a positive integer, not {size!r}")
    chosen = next((s for s in ICON_SIZES if s >= size), ICON_SIZES[-1])
    return resource_path(f"icon-{chosen}.png")
