"""Project error classes.

Every error a user can cause is a :class:`WaveNetError` whose ``str()`` is one
human line naming the file or field and the reason.  The window and the CLI show
that line and nothing else; anything that is not a ``WaveNetError`` is a bug.
"""

from __future__ import annotations

import os
from pathlib import Path


class WaveNetError(Exception):
    """Base class: ``str(error)`` is a one-line message fit to show a user."""


class AudioFileError(WaveNetError):
    """An audio file could not be used.  The message starts with the file name."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path.name}: {reason}")


class ConfigError(WaveNetError):
    """A hyperparameter or setting is invalid.  The message starts with the field name."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


class ModelFileError(WaveNetError):
    """A model file is corrupt, foreign, unsafe or does not match."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path.name}: {reason}")


class Cancelled(WaveNetError):
    """A long read or job was stopped through its ``cancel`` event (e.g. the window closed)."""


class TrainingError(WaveNetError):
    """Training cannot go on (for example the loss became NaN)."""


class OutputError(WaveNetError):
    """A result could not be written (unwritable or full folder, ...)."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")
