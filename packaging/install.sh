#!/usr/bin/env bash
# Installs everything Live Translate needs on Debian/Ubuntu: system packages (apt) and a virtual
# environment in .venv with the app and its test tools. Safe to run again; it only adds what is missing.
#   bash packaging/install.sh            install
#   bash packaging/install.sh --launch   install, then open the app
#   bash packaging/install.sh --build    install, and what packaging/build needs to make the packages
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=false; [ "${1:-}" = "--build" ] && BUILD=true

APT_PACKAGES=(
  python3 python3-venv python3-dev gcc            # the interpreter and what builds pyaudio
  portaudio19-dev                                 # pyaudio has no Linux wheel
  libgl1 libegl1 libxkbcommon0 libfontconfig1 libglib2.0-0 libdbus-1-3 fonts-dejavu-core  # Qt
  libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-xinerama0  # Qt on X11
  pulseaudio pulseaudio-utils libasound2-plugins  # the virtual microphone the tests speak into
  espeak-ng sox                                   # speech WAVs for the tests
)
if $BUILD; then
  APT_PACKAGES+=(
    binutils                                      # objdump and strip, for PyInstaller
    desktop-file-utils appstream                  # validate the menu and software-centre entries
    xvfb xauth                                    # the packaged window's smoke test on a real X server
  )
fi

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "Installing system packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
EXTRAS=test; $BUILD && EXTRAS=test,build      # build: PyInstaller (never part of the user's install)
.venv/bin/python -m pip install -q -e ".[$EXTRAS]"
echo "Installed. Start the app with: .venv/bin/live-translate"

if [ "${1:-}" = "--launch" ]; then
  exec .venv/bin/live-translate
fi
