"""First frame first: the cockpit paints its shell before the config is loaded (issue 8:
first frame < 500 ms), loads the core in a worker, then lists the lanes. A config error
still ends in the CLI's precise message. The modules on the first-frame path import no
pydantic, no config and no lanes code."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from textual.widgets import Input

from laneboard.config import LoadedConfig
from laneboard.errors import ConfigError, ConfigProblem, Location
from laneboard.tui.app import make_app
from tests.tui.conftest import wait_for

REPO = Path(__file__).resolve().parents[2]


def notes(app) -> list[str]:  # type: ignore[no-untyped-def]
    return [f"{n.title}: {n.message}" for n in app._notifications]


async def test_shell_paints_before_the_config_is_loaded(state_env: Path,
                                                       loaded: LoadedConfig) -> None:
    release = threading.Event()

    def slow_loader() -> LoadedConfig:
        assert release.wait(10), "the test never released the loader"
        return loaded

    app = make_app(slow_loader, workspace=state_env, autostart=False, motion=False)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = app.main_screen
        table = screen.lane_table
        assert not app.ready
        assert table.border_title == "laneboard · lb-demo"
        assert table.border_subtitle == "loading config…"
        assert table.row_count == 0
        assert isinstance(app.focused, Input) and app.focused.id == "prompt-input"
        await pilot.press(*"hello")
        assert "loading the config" in str(screen.preview.render())
        await pilot.press("enter")  # not sent, not lost
        await wait_for(lambda: any("still loading" in n for n in notes(app)))
        assert screen.prompt_bar.text == "hello"
        await pilot.press("f2")  # screens that need the core wait for it
        assert app.screen is screen
        release.set()
        await wait_for(lambda: app.ready and table.row_count == 4)
        assert table.border_subtitle == ""
        assert table.border_title == f"laneboard · {app.supervisor.session}"
        assert screen.selected == "main"
        await wait_for(lambda: screen.preview.decision is not None)
        assert screen.preview.decision.lane == "main"  # the typed text is routed now
        assert screen.lane_grid.log_for("review") is not None


async def test_config_error_ends_the_app_with_the_error(state_env: Path) -> None:
    problem = ConfigProblem("bad fence", Location("cockpit.yaml", 3, 1), "lanes.main.fence")

    def broken() -> LoadedConfig:
        raise ConfigError([problem])

    app = make_app(broken, workspace=state_env, autostart=False, motion=False)
    async with app.run_test(size=(80, 24)):
        await wait_for(lambda: app.load_error is not None)
        await wait_for(lambda: app.return_code == 2)
    assert isinstance(app.load_error, ConfigError)


def test_cockpit_reports_a_broken_config_with_file_line_and_exit_2(tmp_path: Path) -> None:
    """`laneboard --config broken.yaml` in a real terminal: the app ends and the CLI prints
    the error with its location, exit 2, no traceback."""
    import pexpect

    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\nlanes:\n  main: {harness: codex, fense: plan}\n")
    child = pexpect.spawn(
        sys.executable, ["-m", "laneboard", "--config", str(broken)],
        env={**os.environ, "TERM": "xterm-256color",
             "LANEBOARD_STATE_DIR": str(tmp_path / "state")},
        dimensions=(24, 80), timeout=60, encoding="utf-8", codec_errors="replace",
    )  # fmt: skip
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 2, child.before
    assert f"{broken}:3" in child.before and "fense" in child.before
    assert "Traceback" not in child.before


def test_first_frame_path_imports_no_core() -> None:
    """What runs before the first frame must not import pydantic (~150 ms) or lanes code."""
    code = (
        "import sys\n"
        "import laneboard.cli, laneboard.commands.cockpit\n"
        "assert 'textual' not in sys.modules, 'laneboard --help must not load Textual'\n"
        "import laneboard.tui.app, laneboard.tui.screens.main\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('pydantic', 'yaml', 'libtmux')"
        " or m.startswith(('laneboard.config', 'laneboard.lanes', 'laneboard.artifacts')))\n"
        "assert not bad, bad\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                          check=False, env={"PYTHONPATH": str(REPO), "PATH": ""})
    assert proc.returncode == 0, proc.stderr
