#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what the tests need, then runs
# ruff, mypy, the import contracts and pytest. README.md shows this exact command.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

CLAUDE_VERSION=2.1.328
CODEX_VERSION=0.169.0
NPM_PREFIX="$ROOT/.cache/npm"

echo "== python packages"
python3 -m pip install --quiet --disable-pip-version-check -e '.[dev]'

if ! command -v tmux >/dev/null 2>&1; then
  echo "== tmux (Debian package)"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq tmux >/dev/null
fi

have() { [ -x "$NPM_PREFIX/node_modules/.bin/$1" ] && "$NPM_PREFIX/node_modules/.bin/$1" --version 2>/dev/null | grep -qF "$2"; }
if ! have claude "$CLAUDE_VERSION" || ! have codex "$CODEX_VERSION"; then
  echo "== agent CLIs (npm, repo-local: .cache/npm)"
  mkdir -p "$NPM_PREFIX"
  npm install --silent --no-audit --no-fund --prefix "$NPM_PREFIX" \
    "@anthropic-ai/claude-code@$CLAUDE_VERSION" "@openai/codex@$CODEX_VERSION" >/dev/null
fi
export PATH="$NPM_PREFIX/node_modules/.bin:$PATH"
echo "tmux: $(tmux -V) · claude: $(claude --version) · codex: $(codex --version)"

echo "== ruff"
python3 -m ruff check laneboard tests benchmarks
echo "== mypy (strict on laneboard/)"
python3 -m mypy
echo "== import contracts"
lint-imports
echo "== pytest"
python3 -m pytest -q "$@"
