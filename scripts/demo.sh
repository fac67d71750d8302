#!/usr/bin/env bash
# laneboard demo from this checkout, on the real agent CLIs when they are here.
#
#   bash scripts/demo.sh [--install-clis | --print-config]
#
# Reuses what `bash scripts/test.sh` set up: the project's virtualenv (.venv, from the pinned
# requirements/lock.txt; created here if missing) and the pinned claude/codex in .cache/npm,
# which `laneboard demo` finds by itself. Without them the demo imitates those lanes;
# `--install-clis` installs the pinned versions into the demo's own cache (never globally).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV="$ROOT/.venv"
if [ ! -x "$VENV/bin/laneboard" ]; then
  echo "== python packages (.venv, pinned by requirements/lock.txt)"
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    -c "$ROOT/requirements/lock.txt" -e .
fi
exec "$VENV/bin/laneboard" demo "$@"
