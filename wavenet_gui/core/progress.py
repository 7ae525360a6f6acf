"""Running the core's progress generators to their end (the command line, tests, scripts).

The slow verbs (:meth:`Trainer.steps <wavenet_gui.core.training.Trainer.steps>`,
:meth:`Session.train <wavenet_gui.core.session.Session.train>`, :meth:`Session.generate
<wavenet_gui.core.session.Session.generate>`) are generators: they yield progress and return
their outcome.  The window's workers iterate them one item at a time; everything else drains
them with :func:`drain`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any


def drain(gen: Iterator[Any], callback: Callable[[Any], None] | None = None) -> Any:
    """Iterate ``gen`` to its end, calling ``callback`` with each item it yields; its return value.

    Parameters
    ----------
    gen : generator
        Yields progress items and returns the outcome.
    callback : callable, optional
        Called with each item, in the calling thread (None: the items are dropped).

    Examples
    --------
    >>> def count():
    ...     yield 1
    ...     yield 2
    ...     return "done"
    >>> seen = []
    >>> drain(count(), seen.append), seen
    ('done', [1, 2])
    """
    while True:
        try:
            item = next(gen)
        except StopIteration as stop:
            return stop.value
        if callback is not None:
            callback(item)
