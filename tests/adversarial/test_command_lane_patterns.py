"""Promise under attack: no pattern in a config can hang laneboard. A command lane matches its
`ready:` / `busy:` patterns against every screen it reads, so those run on RE2 too; what RE2
cannot run is refused by `config check` with file:line and exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from laneboard.linear_regex import LinearPattern

pytestmark = pytest.mark.timeout(60)  # a backtracking engine would take minutes here


def test_a_catastrophic_ready_pattern_answers_on_a_long_screen() -> None:
    screen = "\n".join(["a" * 5000 + "!"] * 20)
    assert LinearPattern(r"(a+)+$", multiline=True).search(screen) is None
    assert LinearPattern(r"(a+)+!$", multiline=True).search(screen)


@pytest.mark.parametrize(("pattern", "hit", "miss"), [
    (r"lb\$\Z", "x\nlb$", "lb$\nx"),   # Python's \Z keeps its meaning
    (r"READY>\s*$", "READY>", "nope"),
    (r"\\Z", "a\\Z", "Z"),              # an escaped backslash and a plain Z stay so
])
def test_python_spellings_keep_their_meaning(pattern: str, hit: str, miss: str) -> None:
    p = LinearPattern(pattern, multiline=True)
    assert p.search(hit) and not p.search(miss)


def config(tmp_path: Path, ready: str) -> Path:
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(
        "version: 1\nlanes:\n  sh:\n    role: helper\n    harness: command\n"
        f"    command: [sh]\n    ready: '{ready}'\n"
    )
    return cfg


def check(cfg: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "laneboard", "config", "check", str(cfg)],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("ready", [r"(a)\1", r"(?=x)y", r"(?<!a)b"])
def test_patterns_re2_cannot_run_are_config_errors(tmp_path: Path, ready: str) -> None:
    done = check(config(tmp_path, ready))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert f"{tmp_path / 'cfg.yaml'}:7" in done.stderr and "lanes.sh.ready" in done.stderr


def test_a_python_end_anchor_is_accepted(tmp_path: Path) -> None:
    done = check(config(tmp_path, r"\$\Z"))
    assert done.returncode == 0, done.stderr
