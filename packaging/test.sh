#!/usr/bin/env bash
# Runs the whole test suite as CI does: installs what is missing (packaging/install.sh), then
# pytest with no display (Qt offscreen), four workers at a time (the sessions in it wait on real
# time, not on the CPU). The suite includes the house checks (ruff, mypy strict, the import
# contracts: tests/test_house_rules.py). The tests start their own PulseAudio virtual microphones
# and local imitations of AssemblyAI's services; nothing leaves 127.0.0.1.
#   bash packaging/test.sh                      everything (what CI runs): the suite, then the
#                                               packaged app's smoke test (packaging/smoke)
#   bash packaging/test.sh -m "not realtime"    the fast tier, about a minute (given options: the suite only)
#   PYTEST_WORKERS=0 bash packaging/test.sh ... one process, for debugging
set -euo pipefail
cd "$(dirname "$0")/.."
bash packaging/install.sh
export QT_QPA_PLATFORM=offscreen
unset ASSEMBLYAI_API_KEY
if [ "$#" -eq 0 ]; then
  .venv/bin/python -m pytest -p no:cacheprovider -n "${PYTEST_WORKERS:-4}"
  exec bash packaging/smoke
fi
exec .venv/bin/python -m pytest -p no:cacheprovider -n "${PYTEST_WORKERS:-4}" "$@"
