"""Entry script of the PyInstaller bundle (see wavenet_gui.spec): runs wavenet-gui."""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()  # harmless; needed if anything ever spawns processes
    from wavenet_gui.qt.app import main

    sys.exit(main())
