"""PyInstaller runtime hook: make sounddevice load the PortAudio library shipped in the bundle.

On Linux the sounddevice wheel ships no PortAudio; wavenet_gui.spec copies the system's
libportaudio.so.2 into the bundle, but sounddevice finds its library with
ctypes.util.find_library("portaudio"), which only searches the system.  Prefer the
bundled copy so the bundle works on machines without PortAudio installed.
"""

import ctypes.util
import glob
import os
import sys

_bundled = sorted(glob.glob(os.path.join(getattr(sys, "_MEIPASS", ""), "libportaudio.so*")))
if sys.platform.startswith("linux") and _bundled:
    _system_find_library = ctypes.util.find_library

    def _find_library(name, _bundled=_bundled[0], _system=_system_find_library):
        if name == "portaudio":
            return _bundled
        return _system(name)

    ctypes.util.find_library = _find_library
