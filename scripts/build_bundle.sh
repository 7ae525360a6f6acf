#!/usr/bin/env bash
# Build the one-folder bundle dist/wavenet-gui/ from wavenet_gui.spec and check it.
#
#   scripts/build_bundle.sh            # build, then run the headless self-test
#   scripts/build_bundle.sh --no-check # build only
#
# Needs: the app's dependencies installed (pip install -e .), PyInstaller
# (pip install 'pyinstaller>=6.3', or pip install -e '.[bundle]'), and on Linux the
# system PortAudio (Debian/Ubuntu: apt install libportaudio2), which is copied in.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! python -m PyInstaller --version >/dev/null 2>&1; then
    echo "installing PyInstaller" >&2
    python -m pip install 'pyinstaller>=6.3'
fi

start=$(date +%s)
python -m PyInstaller --noconfirm --clean --log-level WARN wavenet_gui.spec
end=$(date +%s)
echo "built dist/wavenet-gui in $((end - start)) s, $(du -sh dist/wavenet-gui | cut -f1)"

if [[ "${1:-}" != "--no-check" ]]; then
    QT_QPA_PLATFORM=offscreen WAVENET_GUI_LOG_DIR="${TMPDIR:-/tmp}/wavenet-gui-bundle-log" \
        dist/wavenet-gui/wavenet-gui --self-test
fi
