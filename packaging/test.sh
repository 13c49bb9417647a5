#!/usr/bin/env bash
# Runs the whole test suite as CI does: installs what is missing (packaging/install.sh), then
# pytest with no display (Qt offscreen). The tests start their own PulseAudio virtual
# microphone and local imitations of AssemblyAI's services; nothing leaves 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
bash packaging/install.sh
export QT_QPA_PLATFORM=offscreen
unset ASSEMBLYAI_API_KEY
exec .venv/bin/python -m pytest -p no:cacheprovider "$@"
