#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what the tests need, then runs
# ruff, mypy, the import contracts and pytest. README.md shows this exact command.
#
#   bash scripts/test.sh [--latest] [PYTEST ARGS...]
#
# Python packages go into the project's own virtualenv (.venv), pinned by
# requirements/lock.txt (regenerate it with `bash scripts/lock.sh`). `--latest` instead builds
# .venv-latest from the newest versions that pyproject.toml allows, so a dependency's drift
# is seen here before it breaks main.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

CLAUDE_VERSION=2.1.328
CODEX_VERSION=0.169.0
NPM_PREFIX="$ROOT/.cache/npm"

VENV="$ROOT/.venv"
PIN=(-c "$ROOT/requirements/lock.txt")
if [ "${1:-}" = "--latest" ]; then
  shift
  VENV="$ROOT/.venv-latest"
  PIN=(--upgrade --upgrade-strategy eager)
fi

SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
missing=()
command -v tmux >/dev/null 2>&1 || missing+=(tmux)
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
command -v sshd >/dev/null 2>&1 || [ -x /usr/sbin/sshd ] || missing+=(openssh-server)
command -v ssh >/dev/null 2>&1 || missing+=(openssh-client)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)          # `serve` in a real browser
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "== Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

echo "== python packages ($(basename "$VENV"))"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${PIN[@]}" -e '.[dev]'

have() { [ -x "$NPM_PREFIX/node_modules/.bin/$1" ] && "$NPM_PREFIX/node_modules/.bin/$1" --version 2>/dev/null | grep -qF "$2"; }
if ! have claude "$CLAUDE_VERSION" || ! have codex "$CODEX_VERSION"; then
  echo "== agent CLIs (npm, repo-local: .cache/npm)"
  mkdir -p "$NPM_PREFIX"
  npm install --silent --no-audit --no-fund --prefix "$NPM_PREFIX" \
    "@anthropic-ai/claude-code@$CLAUDE_VERSION" "@openai/codex@$CODEX_VERSION" >/dev/null
fi
export PATH="$VENV/bin:$NPM_PREFIX/node_modules/.bin:$PATH"
export VIRTUAL_ENV="$VENV"
echo "python: $(python --version) · tmux: $(tmux -V) · claude: $(claude --version) · codex: $(codex --version)"

echo "== ruff"
python -m ruff check laneboard tests benchmarks
echo "== mypy (strict)"
python -m mypy
echo "== import contracts"
lint-imports
echo "== pytest"
python -m pytest -q "$@"
