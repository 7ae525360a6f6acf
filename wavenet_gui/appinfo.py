"""Application identity, per-user paths, logging, crash reporting and versions (Qt-free).

The window calls :func:`setup_logging` once at start, then
:func:`install_excepthook` with a function that shows a message box; its About
dialog shows :func:`log_file_path`, :func:`user_settings_note` and
:func:`versions`.

Fatal errors that no Python code survives (a segmentation fault, a C extension's
``Fatal Python error``) are written by :mod:`faulthandler` to the same log file, with
every thread's stack (:func:`setup_logging` enables it).  Whatever can still save the
work on the way out registers with :func:`set_recovery_saver`: the excepthook calls it
before telling the user, and the log names what it saved.

Set ``WAVENET_GUI_LOG_DIR`` to put the log somewhere else (tests, the self-test
in a bundle, a read-only home).

Examples
--------
>>> from wavenet_gui import appinfo
>>> appinfo.APP_NAME
'wavenet-gui'
>>> appinfo.log_file_path().name
'wavenet-gui.log'
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import logging.handlers
import os
import platform
import sys
import tempfile
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from wavenet_gui import __version__

__all__ = [
    "APP_NAME",
    "APP_VERSION",
    "LOG_DIR_ENV",
    "user_log_dir",
    "user_config_dir",
    "user_settings_note",
    "log_file_path",
    "setup_logging",
    "install_excepthook",
    "uninstall_excepthook",
    "crash_message",
    "set_recovery_saver",
    "fault_log_path",
    "versions",
    "versions_text",
]

APP_NAME = "wavenet-gui"
#: Used as QCoreApplication.organizationName, so QSettings lands in ``<config>/wavenet-gui/``.
ORG_NAME = "wavenet-gui"
APP_VERSION = __version__
LOG_DIR_ENV = "WAVENET_GUI_LOG_DIR"
LOG_FILE_NAME = "wavenet-gui.log"
LOG_MAX_BYTES = 1_000_000
LOG_BACKUPS = 3
LOG_FORMAT = "%(asctime)s %(levelname)-8s %(name)s [%(threadName)s]: %(message)s"

logger = logging.getLogger("wavenet_gui")

_HANDLER_TAG = "_wavenet_gui_handler"


def user_log_dir() -> Path:
    """Return the per-user log folder (not created here).

    ``$WAVENET_GUI_LOG_DIR`` if set, else platformdirs' user log dir, e.g.
    ``~/.local/state/wavenet-gui/log`` on Linux,
    ``~/Library/Logs/wavenet-gui`` on macOS,
    ``%LOCALAPPDATA%\\wavenet-gui\\Logs`` on Windows.

    Examples
    --------
    >>> isinstance(user_log_dir(), Path)
    True
    """
    override = os.environ.get(LOG_DIR_ENV)
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


def user_config_dir() -> Path:
    """Return the per-user settings folder (platformdirs' user config dir; not created).

    Examples
    --------
    >>> user_config_dir().name
    'wavenet-gui'
    """
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def log_file_path() -> Path:
    """Return the path of the log file (``<user_log_dir>/wavenet-gui.log``).

    Examples
    --------
    >>> log_file_path().parent == user_log_dir()
    True
    """
    return user_log_dir() / LOG_FILE_NAME


def user_settings_note(settings_file: str | os.PathLike[str] | None = None) -> str:
    """Return two lines telling the user where settings and the log live (for About).

    Parameters
    ----------
    settings_file : path-like, optional
        The actual settings file, e.g. ``QSettings().fileName()``; when omitted the
        per-user config folder is named instead.

    Examples
    --------
    >>> note = user_settings_note("/home/me/.config/wavenet-gui/wavenet-gui.conf")
    >>> note.startswith("Settings: /home/me/.config/wavenet-gui/wavenet-gui.conf")
    True
    """
    where = Path(settings_file) if settings_file else user_config_dir()
    return f"Settings: {where}\nLog: {_active_log_path() or log_file_path()}"


# ----------------------------------------------------------------------------- logging


def _active_log_path() -> Path | None:
    for handler in logging.getLogger().handlers:
        if getattr(handler, _HANDLER_TAG, False) and isinstance(handler, logging.FileHandler):
            return Path(handler.baseFilename)
    return None


class _LogFileHandler(logging.handlers.RotatingFileHandler):
    """The rotating log file; faulthandler follows it to the new file when it rotates."""

    def doRollover(self) -> None:  # noqa: N802 - logging's name
        super().doRollover()
        if _fault_file is not None:
            _enable_fault_log(Path(self.baseFilename))


# ------------------------------------------------------------------- fatal errors
_fault_file = None  # the open file faulthandler writes to (kept open: it writes from a signal handler)


def _enable_fault_log(path: Path) -> bool:
    """Point :mod:`faulthandler` (all threads) at ``path`` (appending); False if it cannot."""
    global _fault_file
    import faulthandler

    try:
        f = open(path, "a", encoding="utf-8")  # noqa: SIM115 - must outlive this call
    except OSError:
        return False
    old, _fault_file = _fault_file, f
    faulthandler.enable(file=f, all_threads=True)
    if old is not None:
        old.close()
    return True


def _reset_fault_log() -> None:
    """Give :mod:`faulthandler` back to stderr and close the log (tests)."""
    global _fault_file
    import faulthandler

    if _fault_file is not None:
        if sys.__stderr__ is not None:
            faulthandler.enable(file=sys.__stderr__, all_threads=True)
        else:  # pythonw: no stderr to give it back to
            faulthandler.disable()
        _fault_file.close()
        _fault_file = None


def fault_log_path() -> Path | None:
    """The file :mod:`faulthandler` writes fatal errors to (the log file), or None.

    Examples
    --------
    >>> fault_log_path() is None or fault_log_path().name.startswith("wavenet-gui")
    True
    """
    return Path(_fault_file.name) if _fault_file is not None else None


_recovery_saver: Callable[[], object] | None = None


def set_recovery_saver(saver: Callable[[], object] | None) -> None:
    """Register what saves the user's work when the app fails (None: nothing to save).

    The excepthook (:func:`install_excepthook`) calls it once per uncaught exception,
    before the message to the user; its return value (e.g. the path of a saved model)
    goes to the log and the message.  The window sets it while a model is trained,
    e.g. to :meth:`~wavenet_gui.core.training.Trainer.save_checkpoint` into a recovery
    folder; after a fatal error that kills the process outright only the last checkpoint
    and the faulthandler trace in the log remain.

    Examples
    --------
    >>> set_recovery_saver(lambda: "/tmp/recovered.safetensors")
    >>> set_recovery_saver(None)
    """
    global _recovery_saver
    _recovery_saver = saver


def _save_for_recovery() -> str:
    """Run the recovery saver; a sentence for the log and the user ('' if none is set)."""
    saver = _recovery_saver
    if saver is None:
        return ""
    try:
        saved = saver()
    except Exception as exc:  # noqa: BLE001 - the app is failing already: report, never raise
        logger.error("Saving the work on the way out failed: %s", exc, exc_info=True)
        return f"Your work could not be saved ({type(exc).__name__}: {exc})."
    if saved is None:
        return ""
    logger.critical("Saved the work on the way out: %s", saved)
    return f"Your work was saved to {saved}."


def _open_file_handler(path: Path) -> logging.Handler:
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = _LogFileHandler(
        path, maxBytes=LOG_MAX_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8", delay=False
    )
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.setLevel(logging.INFO)
    return handler


def setup_logging(*, level: int = logging.INFO, stderr_level: int = logging.WARNING) -> Path:
    """Log to a rotating file in the per-user log folder and warnings to stderr.

    Idempotent: a second call replaces the handlers it added the first time.  If the
    log folder cannot be written, the log goes to the temporary folder instead, and
    if that fails too, to stderr only (the returned path then does not exist).

    Also points :mod:`faulthandler` at the log file: a fatal error (segmentation
    fault, abort, ``Fatal Python error``) appends every thread's Python stack to it.

    Parameters
    ----------
    level : int
        Level of the file log (and of the root logger).
    stderr_level : int
        Level of what also goes to stderr.

    Returns
    -------
    Path
        The log file in use (also what :func:`log_file_path` would name, unless the
        fallback was used).

    Examples
    --------
    >>> path = setup_logging()  # doctest: +SKIP
    >>> path.name  # doctest: +SKIP
    'wavenet-gui.log'
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _HANDLER_TAG, False):
            root.removeHandler(handler)
            handler.close()

    path = log_file_path()
    try:
        file_handler = _open_file_handler(path)
    except OSError as first:
        path = Path(tempfile.gettempdir()) / APP_NAME / LOG_FILE_NAME
        try:
            file_handler = _open_file_handler(path)
        except OSError:
            file_handler = None
            failure = f"cannot write the log file {log_file_path()}: {first}"
    if file_handler is not None:
        file_handler.setLevel(level)
        setattr(file_handler, _HANDLER_TAG, True)
        root.addHandler(file_handler)
        _enable_fault_log(path)

    stderr_handler = logging.StreamHandler(sys.stderr)
    stderr_handler.setLevel(stderr_level)
    stderr_handler.setFormatter(logging.Formatter(f"{APP_NAME}: %(levelname)s: %(message)s"))
    setattr(stderr_handler, _HANDLER_TAG, True)

    root.addHandler(stderr_handler)
    root.setLevel(min(level, stderr_level))
    logging.captureWarnings(True)
    # Libraries that are chatty at INFO/DEBUG.
    for noisy in ("numba", "matplotlib", "PIL"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if file_handler is None:
        logger.warning("%s; logging to stderr only", failure)
    logger.info(
        "%s %s starting: Python %s on %s (pid %d)",
        APP_NAME, APP_VERSION, platform.python_version(), platform.platform(), os.getpid(),
    )
    return path


# ------------------------------------------------------------------------ excepthook

_previous_hooks: tuple | None = None


def crash_message(exc: BaseException, log_path: Path | None) -> str:
    """The short message shown to the user after an uncaught exception.

    Examples
    --------
    >>> print(crash_message(ValueError("bad"), Path("/tmp/x.log")))  # doctest: +NORMALIZE_WHITESPACE
    wavenet-gui hit an unexpected error (ValueError: bad).
    The details were written to the log file: /tmp/x.log
    """
    what = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if len(what) > 300:
        what = what[:297] + "..."
    where = (
        f"The details were written to the log file: {log_path}"
        if log_path is not None
        else "No log file could be written; the details were printed to the console."
    )
    return f"{APP_NAME} hit an unexpected error ({what}).\n{where}"


def _report(
    exc_type: type[BaseException],
    exc: BaseException,
    tb: TracebackType | None,
    show: Callable[[str], None] | None,
    thread_name: str | None = None,
) -> None:
    where = f" in thread {thread_name}" if thread_name else ""
    log_path = _active_log_path()
    try:
        logger.critical("Uncaught exception%s", where, exc_info=(exc_type, exc, tb))
        for handler in logging.getLogger().handlers:
            handler.flush()
    except Exception:  # never let the hook itself raise
        pass
    if log_path is None:  # logging was not set up: at least print it
        traceback.print_exception(exc_type, exc, tb, file=sys.stderr)
    message = crash_message(exc, log_path)
    saved = _save_for_recovery()
    if saved:
        message += "\n" + saved
    if show is None:
        print(message, file=sys.stderr)
        return
    try:
        show(message)
    except Exception:
        logger.exception("The crash message could not be shown")
        print(message, file=sys.stderr)


def install_excepthook(show: Callable[[str], None] | None = None) -> None:
    """Log any uncaught exception's traceback and tell the user where the log is.

    Installs :data:`sys.excepthook` (which also catches exceptions raised in Qt slots)
    and :data:`threading.excepthook`.  ``KeyboardInterrupt`` keeps its default
    behaviour.  Call :func:`setup_logging` first so the traceback reaches the file.

    Parameters
    ----------
    show : callable(str) or None
        Shows the one-paragraph message to the user, e.g. a ``QMessageBox``.  It may be
        called from a worker thread, so it should hand over to the GUI thread itself
        (e.g. emit a queued signal).  ``None`` prints the message to stderr.

    Examples
    --------
    >>> shown = []
    >>> install_excepthook(shown.append)
    >>> try:
    ...     raise RuntimeError("boom")
    ... except RuntimeError:
    ...     sys.excepthook(*sys.exc_info())  # doctest: +SKIP
    >>> uninstall_excepthook()
    """
    global _previous_hooks
    if _previous_hooks is None:
        _previous_hooks = (sys.excepthook, threading.excepthook)
    default_hook = _previous_hooks[0]

    def excepthook(exc_type, exc, tb):
        if issubclass(exc_type, KeyboardInterrupt):
            default_hook(exc_type, exc, tb)
            return
        _report(exc_type, exc, tb, show)

    def thread_excepthook(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        exc = args.exc_value if args.exc_value is not None else args.exc_type()
        name = args.thread.name if args.thread is not None else None
        _report(args.exc_type, exc, args.exc_traceback, show, thread_name=name)

    sys.excepthook = excepthook
    threading.excepthook = thread_excepthook


def uninstall_excepthook() -> None:
    """Restore the hooks that were in place before :func:`install_excepthook`."""
    global _previous_hooks
    if _previous_hooks is not None:
        sys.excepthook, threading.excepthook = _previous_hooks
        _previous_hooks = None


# -------------------------------------------------------------------------- versions

# (label, import name, distribution name)
_PACKAGES = (
    ("torch", "torch", "torch"),
    ("numpy", "numpy", "numpy"),
    ("librosa", "librosa", "librosa"),
    ("soundfile", "soundfile", "soundfile"),
    ("numba", "numba", "numba"),
    ("safetensors", "safetensors", "safetensors"),
    ("PySide6", "PySide6", "PySide6-Essentials"),
    ("pyqtgraph", "pyqtgraph", "pyqtgraph"),
    ("sounddevice", "sounddevice", "sounddevice"),
)


def _module_version(module_name: str, dist_name: str) -> str:
    module = sys.modules.get(module_name)
    if module is None:
        try:
            return importlib.metadata.version(dist_name)
        except importlib.metadata.PackageNotFoundError:
            pass  # e.g. in a bundle without dist-info: import it
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            return "not installed"
        except Exception as exc:  # e.g. OSError: a shared library is missing
            return f"unavailable ({type(exc).__name__}: {exc})"
    return str(getattr(module, "__version__", "unknown"))


def versions() -> dict[str, str]:
    """Return the versions of the app, Python and the libraries it uses.

    Imports lazily and tolerates absence: a missing package reads ``"not installed"``,
    one that fails to load (e.g. no PortAudio) reads ``"unavailable (...)"``.
    Also reports libsndfile, Qt and PortAudio when their modules load.

    Examples
    --------
    >>> v = versions()
    >>> v["app"] == APP_VERSION and "numpy" in v
    True
    """
    out: dict[str, str] = {
        "app": APP_VERSION,
        "Python": f"{platform.python_version()} ({platform.python_implementation()})",
        "platform": platform.platform(),
    }
    for label, module_name, dist_name in _PACKAGES:
        out[label] = _module_version(module_name, dist_name)

    try:
        import soundfile

        out["libsndfile"] = str(soundfile.__libsndfile_version__)
    except Exception:
        pass
    if out["PySide6"] not in ("not installed",) and not out["PySide6"].startswith("unavailable"):
        try:
            from PySide6 import QtCore

            out["Qt"] = QtCore.qVersion()
        except Exception as exc:
            out["Qt"] = f"unavailable ({type(exc).__name__}: {exc})"
    try:
        import sounddevice

        out["PortAudio"] = str(sounddevice.get_portaudio_version()[1])
    except ImportError:
        out["PortAudio"] = "not installed"
    except Exception as exc:  # OSError: PortAudio library not found
        out["PortAudio"] = f"unavailable ({type(exc).__name__}: {exc})"
        out["sounddevice"] = out["PortAudio"]
    return out


def versions_text() -> str:
    """:func:`versions` as ``name: version`` lines, for About dialogs and bug reports.

    Examples
    --------
    >>> versions_text().splitlines()[0].startswith("app: ")
    True
    """
    return "\n".join(f"{name}: {value}" for name, value in versions().items())
