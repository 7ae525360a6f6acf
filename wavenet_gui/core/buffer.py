"""A mono audio buffer that one thread appends to while others read (Qt-free).

The session writes generated audio into one :class:`AudioBuffer` per variation as it
is made; the window's plot and the player read the same buffers, so playback and the
waveform can follow generation live.
"""

from __future__ import annotations

import threading

import numpy as np

__all__ = ["AudioBuffer"]


class AudioBuffer:
    """Mono float32 samples that one thread appends to while another reads.

    Writers call :meth:`append` then :meth:`finish`; readers use :attr:`length`
    and :attr:`data` (read ``length`` first: ``data`` always holds at least
    ``length`` valid samples, even across a reallocation).

    >>> b = AudioBuffer(8000, capacity=4)
    >>> b.append(np.ones(6, np.float32)); b.finish()
    >>> b.length, b.complete, float(b.view().sum())
    (6, True, 6.0)
    """

    def __init__(self, sample_rate: int, *, capacity: int = 0) -> None:
        self.sample_rate = int(sample_rate)
        self.data = np.zeros(max(int(capacity), 1), np.float32)
        self.length = 0
        self.complete = False
        self._lock = threading.Lock()

    @classmethod
    def from_array(cls, samples: np.ndarray, sample_rate: int) -> AudioBuffer:
        samples = np.ascontiguousarray(samples, dtype=np.float32).reshape(-1)
        buf = cls(sample_rate, capacity=len(samples))
        buf.append(samples)
        buf.finish()
        return buf

    def append(self, chunk: np.ndarray) -> None:
        chunk = np.asarray(chunk, dtype=np.float32).reshape(-1)
        with self._lock:
            end = self.length + len(chunk)
            if end > len(self.data):
                grown = np.zeros(max(end, 2 * len(self.data)), np.float32)
                grown[: self.length] = self.data[: self.length]
                self.data = grown  # new array holds the old samples before length grows
            self.data[self.length:end] = chunk
            self.length = end

    def finish(self) -> None:
        self.complete = True

    def view(self) -> np.ndarray:
        """The valid samples (a view; copy it if you keep it)."""
        n = self.length
        return self.data[:n]

    @property
    def duration(self) -> float:
        return self.length / self.sample_rate
