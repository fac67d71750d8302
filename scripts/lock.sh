#!/usr/bin/env bash
# Re-pin requirements/lock.txt: every package (runtime and dev) at the newest version that
# pyproject.toml allows today. Run it when you change a dependency, then run the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip show uv >/dev/null 2>&1 || python3 -m pip install --quiet uv
python3 -m uv pip compile pyproject.toml --extra dev --python-version 3.11 \
  --no-header --quiet -o requirements/lock.txt
echo "requirements/lock.txt: $(grep -c '==' requirements/lock.txt) pins"
