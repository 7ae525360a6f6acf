"""Command-line options handled before any window exists (Qt-free until needed).

``wavenet_gui.qt.app.main`` calls :func:`handle_early_args` first::

    code = handle_early_args(sys.argv[1:])
    if code is not None:
        return code            # or sys.exit(code)
    ...                        # start the window

Examples
--------
>>> handle_early_args(["--version"])
wavenet-gui 0.1.0
0
>>> handle_early_args([]) is None
True
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from wavenet_gui import __version__

__all__ = ["handle_early_args", "usage"]

_USAGE = """\
usage: wavenet-gui [--version] [--self-test [--out-dir DIR]] [--help] [Qt options] [FILE ...]

Train an unconditioned WaveNet on your own audio files, then listen to, plot and
export what it generates.  Without options, opens the window.

positional arguments:
  FILE              audio files or folders to add to the file list, or a model
                    (.safetensors) to load, as when dropped on the window

options:
  -h, --help        show this help and exit
  -V, --version     print "wavenet-gui {version}" and exit
  --self-test       headless check: train a tiny model a few steps on the example
                    clip, generate one second, write and read it back, and open the
                    main window offscreen; one line per check; exit status 0 if all
                    pass, 1 otherwise
  --out-dir DIR     with --self-test: keep the generated file in DIR (default: a
                    temporary folder that is removed)

Qt options such as -platform offscreen or -style fusion are passed on to Qt.

Log file:  {log}
Settings:  {settings}
"""


def usage() -> str:
    """The ``--help`` text.

    Examples
    --------
    >>> usage().startswith("usage: wavenet-gui")
    True
    """
    from wavenet_gui import appinfo

    return _USAGE.format(
        version=__version__, log=appinfo.log_file_path(), settings=appinfo.user_config_dir()
    )


def handle_early_args(argv: Sequence[str] | None = None) -> int | None:
    """Handle ``--version``, ``--help`` and ``--self-test``; ``None`` means start the window.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments *without* the program name (``sys.argv[1:]``); ``None`` reads
        ``sys.argv[1:]``.  Anything not recognised here (file names, Qt options) is
        left for the window, so the result is then ``None``.

    Returns
    -------
    int or None
        The exit status to end with, or ``None`` to go on and open the window.

    Examples
    --------
    >>> handle_early_args(["-platform", "offscreen"]) is None
    True
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if "-h" in args or "--help" in args:
        print(usage(), end="")
        return 0
    if "-V" in args or "--version" in args:
        print(f"wavenet-gui {__version__}")
        return 0
    if "--self-test" in args:
        out_dir: Path | None = None
        for i, arg in enumerate(args):
            if arg == "--out-dir":
                if i + 1 >= len(args):
                    print("wavenet-gui: --out-dir needs a folder", file=sys.stderr)
                    return 2
                out_dir = Path(args[i + 1])
            elif arg.startswith("--out-dir="):
                out_dir = Path(arg.split("=", 1)[1])
        from wavenet_gui.qt.selftest import run_self_test

        return run_self_test(out_dir=out_dir)
    return None


if __name__ == "__main__":  # python -m wavenet_gui.qt.launch --self-test
    code = handle_early_args()
    sys.exit(0 if code is None else code)
