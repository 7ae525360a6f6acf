"""appinfo: per-user log file, crash reporting and versions."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from wavenet_gui import __version__, appinfo


@pytest.fixture
def log_dir(tmp_path, monkeypatch):
    """Send the log to a temporary folder and take our handlers off afterwards."""
    folder = tmp_path / "logs"
    monkeypatch.setenv(appinfo.LOG_DIR_ENV, str(folder))
    yield folder
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, appinfo._HANDLER_TAG, False):
            root.removeHandler(handler)
            handler.close()
    appinfo.uninstall_excepthook()
    appinfo.set_recovery_saver(None)
    appinfo._reset_fault_log()


def test_app_name_and_paths_are_per_user(monkeypatch):
    monkeypatch.delenv(appinfo.LOG_DIR_ENV, raising=False)
    assert appinfo.APP_NAME == "wavenet-gui"
    assert "wavenet-gui" in str(appinfo.user_log_dir())
    assert Path.home() in appinfo.user_log_dir().parents
    assert appinfo.log_file_path() == appinfo.user_log_dir() / "wavenet-gui.log"
    assert appinfo.user_config_dir().name == "wavenet-gui"


def test_log_dir_can_be_overridden(log_dir):
    assert appinfo.user_log_dir() == log_dir
    assert appinfo.log_file_path().parent == log_dir


def test_settings_note_names_settings_and_log(log_dir):
    note = appinfo.user_settings_note("/x/wavenet-gui.conf")
    assert note.splitlines() == [f"Settings: {Path('/x/wavenet-gui.conf')}",
                                 f"Log: {appinfo.log_file_path()}"]
    assert str(appinfo.user_config_dir()) in appinfo.user_settings_note()


def test_setup_logging_writes_to_the_log_file(log_dir, capsys):
    path = appinfo.setup_logging()
    assert path == log_dir / "wavenet-gui.log"
    logging.getLogger("wavenet_gui.test").info("hello log")
    logging.getLogger("wavenet_gui.test").warning("hello stderr")
    for handler in logging.getLogger().handlers:
        handler.flush()
    text = path.read_text(encoding="utf-8")
    assert f"wavenet-gui {__version__} starting" in text
    assert "hello log" in text and "hello stderr" in text
    err = capsys.readouterr().err
    assert "hello stderr" in err and "hello log" not in err


def test_setup_logging_twice_does_not_duplicate_lines(log_dir):
    appinfo.setup_logging()
    path = appinfo.setup_logging()
    logging.getLogger("wavenet_gui.test").info("only once")
    for handler in logging.getLogger().handlers:
        handler.flush()
    assert path.read_text(encoding="utf-8").count("only once") == 1


def test_setup_logging_falls_back_when_the_folder_is_unwritable(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(appinfo.LOG_DIR_ENV, str(blocker / "logs"))
    try:
        path = appinfo.setup_logging()
        assert path != blocker / "logs" / "wavenet-gui.log"
        assert path.name == "wavenet-gui.log"
    finally:
        root = logging.getLogger()
        for handler in list(root.handlers):
            if getattr(handler, appinfo._HANDLER_TAG, False):
                root.removeHandler(handler)
                handler.close()


def test_excepthook_logs_the_traceback_and_calls_show(log_dir):
    path = appinfo.setup_logging()
    shown: list[str] = []
    appinfo.install_excepthook(shown.append)
    try:
        raise ValueError("the disk is made of cheese")
    except ValueError:
        sys.excepthook(*sys.exc_info())
    text = path.read_text(encoding="utf-8")
    assert "Uncaught exception" in text
    assert "Traceback (most recent call last)" in text
    assert "ValueError: the disk is made of cheese" in text
    assert len(shown) == 1
    assert "ValueError: the disk is made of cheese" in shown[0]
    assert str(path) in shown[0]


def test_excepthook_catches_worker_thread_exceptions(log_dir):
    path = appinfo.setup_logging()
    shown: list[str] = []
    appinfo.install_excepthook(shown.append)

    def work():
        raise RuntimeError("worker fell over")

    thread = threading.Thread(target=work, name="trainer")
    thread.start()
    thread.join()
    text = path.read_text(encoding="utf-8")
    assert "in thread trainer" in text and "RuntimeError: worker fell over" in text
    assert len(shown) == 1 and str(path) in shown[0]


def test_excepthook_survives_a_failing_show(log_dir, capsys):
    path = appinfo.setup_logging()

    def broken_show(message):
        raise OSError("no display")

    appinfo.install_excepthook(broken_show)
    try:
        raise KeyError("k")
    except KeyError:
        sys.excepthook(*sys.exc_info())
    assert str(path) in capsys.readouterr().err
    assert "could not be shown" in path.read_text(encoding="utf-8")


def test_uninstall_restores_the_previous_hooks(log_dir):
    before = (sys.excepthook, threading.excepthook)
    appinfo.install_excepthook(None)
    assert sys.excepthook is not before[0]
    appinfo.uninstall_excepthook()
    assert (sys.excepthook, threading.excepthook) == before


def test_crash_in_a_real_process_writes_the_log_and_tells_the_user(tmp_path):
    script = textwrap.dedent(
        """
        from wavenet_gui import appinfo
        appinfo.setup_logging()
        appinfo.install_excepthook(lambda m: print("SHOWN:", m.replace("\\n", " ")))
        def deep():
            raise ZeroDivisionError("deliberate")
        deep()
        """
    )
    env = {**__import__("os").environ, appinfo.LOG_DIR_ENV: str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, timeout=60)
    assert proc.returncode == 1
    log = (tmp_path / "wavenet-gui.log").read_text(encoding="utf-8")
    assert "in deep" in log and "ZeroDivisionError: deliberate" in log
    assert "SHOWN: wavenet-gui hit an unexpected error (ZeroDivisionError: deliberate)" in proc.stdout
    assert str(tmp_path / "wavenet-gui.log") in proc.stdout


def test_crash_message_is_short():
    message = appinfo.crash_message(RuntimeError("x" * 5000), Path("/l/wavenet-gui.log"))
    assert len(message) < 500 and message.endswith("/l/wavenet-gui.log")
    assert "No log file" in appinfo.crash_message(RuntimeError("x"), None)


def test_versions_names_every_library():
    v = appinfo.versions()
    for key in ("app", "Python", "torch", "numpy", "librosa", "soundfile", "numba",
                "PySide6", "Qt", "pyqtgraph", "sounddevice", "PortAudio"):
        assert key in v and v[key], key
    assert v["app"] == __version__
    assert v["numpy"] == __import__("numpy").__version__


def test_versions_tolerates_missing_and_broken_packages(monkeypatch):
    monkeypatch.setattr(appinfo, "_PACKAGES", appinfo._PACKAGES + (
        ("nothere", "wavenet_gui_no_such_module", "wavenet-gui-no-such-dist"),
    ))
    monkeypatch.setitem(sys.modules, "sounddevice", None)  # import fails
    v = appinfo.versions()
    assert v["nothere"] == "not installed"
    assert v["PortAudio"] == "not installed"


def test_versions_text_is_one_line_per_entry():
    lines = appinfo.versions_text().splitlines()
    assert lines[0] == f"app: {__version__}"
    assert len(lines) == len(appinfo.versions())


@pytest.mark.slow
def test_self_test_passes_from_a_fresh_interpreter(tmp_path):
    """``wavenet-gui --self-test`` trains, generates, writes and opens the window headless."""
    env = {**__import__("os").environ, appinfo.LOG_DIR_ENV: str(tmp_path / "log"),
           "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run(
        [sys.executable, "-m", "wavenet_gui.qt.launch", "--self-test", "--out-dir", str(tmp_path / "out")],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[-1].startswith("self-test passed")
    for check in ("training", "generation", "output file", "main window"):
        assert any(line.startswith(f"ok    {check}:") for line in lines), check
    assert len(list((tmp_path / "out").glob("pred_*_selftest.wav"))) == 1


def test_a_fatal_error_leaves_every_threads_stack_in_the_log(tmp_path):
    """Issue 11: a hard crash left nothing in the log.  faulthandler now writes there."""
    script = textwrap.dedent(
        """
        import faulthandler, threading, time
        from wavenet_gui import appinfo
        appinfo.setup_logging()
        assert appinfo.fault_log_path() == appinfo.log_file_path()
        def worker_loop():
            time.sleep(60)
        threading.Thread(target=worker_loop, name="trainer", daemon=True).start()
        time.sleep(0.2)
        faulthandler._sigsegv()
        """
    )
    env = {**__import__("os").environ, appinfo.LOG_DIR_ENV: str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode != 0
    text = (tmp_path / "wavenet-gui.log").read_text(encoding="utf-8")
    assert "starting" in text  # the ordinary log, then the trace in the same file
    assert "Fatal Python error: Segmentation fault" in text
    assert "worker_loop" in text and "<module>" in text  # every thread's stack


def test_the_fault_log_follows_the_log_file_when_it_rotates(log_dir, monkeypatch):
    monkeypatch.setattr(appinfo, "LOG_MAX_BYTES", 2000)
    path = appinfo.setup_logging()
    for i in range(100):
        logging.getLogger("wavenet_gui.test").info("line %d %s", i, "x" * 50)
    assert (log_dir / "wavenet-gui.log.1").exists()
    assert appinfo.fault_log_path() == path


def test_the_recovery_saver_runs_before_the_user_is_told(log_dir):
    path = appinfo.setup_logging()
    shown = []
    appinfo.install_excepthook(shown.append)
    appinfo.set_recovery_saver(lambda: log_dir / "recovered.safetensors")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        sys.excepthook(*sys.exc_info())
    assert "saved to" in shown[0] and "recovered.safetensors" in shown[0]

    def broken():
        raise OSError("disk full")

    appinfo.set_recovery_saver(broken)
    try:
        raise RuntimeError("boom again")
    except RuntimeError:
        sys.excepthook(*sys.exc_info())
    assert "could not be saved" in shown[1] and "disk full" in shown[1]
    for handler in logging.getLogger().handlers:
        handler.flush()
    text = path.read_text(encoding="utf-8")
    assert "Saved the work on the way out" in text and "disk full" in text
