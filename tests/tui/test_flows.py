"""Pilot tests of every binding and flow, on EchoHarness lanes (no tmux).

type → preview → send → answer shown; @lane completion; lane switching (keys and mouse);
grid; attach; escalation (answer and git diff, with the review artifact); model switch
(strict, waiting while busy); multi-line and history; lifecycle keys; notifications;
the command palette; NO_COLOR.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.widgets import Input

from laneboard.artifacts import ArtifactStore
from laneboard.lanes.events import FenceTripped, LaneStateChanged
from laneboard.tui.widgets.lane_table import LaneTable
from tests.tui.conftest import Cockpit, wait_for

SIZE = (100, 30)


def notes(c: Cockpit) -> list[str]:
    return [f"{n.title} {n.message}" for n in c.app._notifications]


async def test_prompt_has_focus_and_lanes_are_listed(cockpit: Callable[..., Cockpit]) -> None:
    c = cockpit()
    async with c.app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(c.app.focused, Input) and c.app.focused.id == "prompt-input"
        table = c.screen.lane_table
        await wait_for(lambda: all(table.info(i).state == "ready" for i in c.sup.lanes))  # type: ignore[union-attr]
        assert table.row_count == 4
        assert c.screen.selected == "main"


async def test_type_preview_send_answer(cockpit: Callable[..., Cockpit]) -> None:
    c = cockpit()
    async with c.app.run_test(size=SIZE) as pilot:
        await pilot.press(*"please build it")
        preview = c.screen.preview
        await wait_for(lambda: preview.decision is not None)
        assert preview.decision.lane == "coder" and preview.decision.rule == "build"
        await pilot.press("backspace", *"")
        await pilot.press(*"t")
        await pilot.press("enter")
        await wait_for(lambda: "echo: please build it" in c.pane_text())
        assert c.screen.selected == "coder"  # the answer streams into the target lane's pane
        assert c.harnesses["coder"].prompts == ["please build it"]
        assert "› you → coder [build] please build it" in c.pane_text()
        await wait_for(lambda: any("coder finished" in n for n in notes(c)))
        assert c.screen.prompt_bar.text == ""
        assert c.screen.lane_table.info("coder").prompts == 1  # type: ignore[union-attr]


async def test_preview_updates_on_every_keystroke(cockpit: Callable[..., Cockpit]) -> None:
    c = cockpit()
    async with c.app.run_test(size=SIZE) as pilot:
        seen = []
        for key in "review x":
            await pilot.press(key)
            d = c.screen.preview.decision
            seen.append(d.lane if d else None)
        assert seen[0] == "main" and seen[-1] == "review"
        assert c.screen.preview.decision.escalate is True
        rendered = str(c.screen.preview.render())
        assert "review" in rendered and "plan" in rendered and "escalates" in rendered


async def test_at_lane_completion_and_explicit_lane(cockpit: Callable[..., Cockpit]) -> None:
    c = cockpit()
    async with c.app.run_test(size=SIZE) as pilot:
        await pilot.press(*"@tri")
        field = c.screen.prompt_bar.input
        await wait_for(lambda: field._suggestion == "@triage ")
        await pilot.press("right")
        assert field.value == "@triage "
        await pilot.press(*"hello", "enter")
        # the lane's harness is made when the send reaches it: absent until then
        await wait_for(lambda: "triage" in c.harnesses
                       and c.harnesses["triage"].prompts == ["hello"])
        assert c.screen.selected == "triage"


async def test_switch_lanes_with_keys_and_mouse(cockpit: Callable[..., Cockpit]) -> None:
    c = cockpit()
    async with c.app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+n")
        await wait_for(lambda: c.screen.selected == "coder")
        await pilot.press("ctrl+down")
        await wait_for(lambda: c.screen.selected == "review")
        await pilot.press("ctrl+b")
        await wait_for(lambda: c.screen.selected == "coder")
        await pilot.press("ctrl+up", "ctrl+up")
        await wait_for(lambda: c.screen.selected == "triage")  # wraps around
        assert c.screen.pane.border_title == "triage"
        # mouse: click the row of "review" (border 1 + header 1 + row index 2)
        await pilot.click(LaneTable, offset=(3, 4))
        await wait_for(lambda: c.screen.selected == "review")


async def test_grid_toggle_shows_every_lane(cockpit: Callable[..., Cockpit]) -> None:
    c = cockpit()
    async with c.app.run_test(size=SIZE) as pilot:
        await pilot.press(*"@coder hi", "enter")
        await wait_for(lambda: "echo: hi" in c.pane_text())
        await pilot.press("ctrl+g")
        assert c.screen.grid and c.screen.lane_grid.display and not c.screen.pane.display
        log = c.screen.lane_grid.log_for("coder")
        assert log is not None and any("echo: hi" in line for line in log.lines)
        await pilot.press(*"@main later", "enter")  # output reaches the grid's log
        main_log = c.screen.lane_grid.log_for("main")
        await wait_for(lambda: any("echo: later" in line for line in main_log.lines))  # type: ignore[union-attr]
        await pilot.press("ctrl+g")
        assert not c.screen.grid and c.screen.pane.display


async def test_attach_suspends_and_targets_the_lane_window(
    cockpit: Callable[..., Cockpit], monkeypatch: pytest.MonkeyPatch
) -> None:
    import contextlib

    c = cockpit()
    suspended: list[bool] = []

    @contextlib.contextmanager
    def fake_suspend():  # type: ignore[no-untyped-def]
        suspended.append(True)
        yield

    monkeypatch.setattr(c.app, "suspend", fake_suspend)
    async with c.app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: c.sup.lanes["main"].state == "ready")
        await pilot.press("ctrl+o")
        await wait_for(lambda: c.attached)
        argv = c.attached[0]
        assert argv[:3] == ["tmux", "-L", c.sup.socket]
        assert f"={c.sup.session}:=main" in argv and "attach-session" in argv
        assert suspended == [True]
        await pilot.press("ctrl+n")  # coder runs one process per prompt: nothing to attach
        await wait_for(lambda: c.screen.selected == "coder")
        await pilot.press("ctrl+o")
        await wait_for(lambda: any("no pane to attach" in n for n in notes(c)))
        assert len(c.attached) == 1


async def test_escalate_last_answer_to_reviewer_and_store_artifact(
    cockpit: Callable[..., Cockpit], tmp_path: Path
) -> None:
    store = ArtifactStore(tmp_path / "artifacts")
    c = cockpit(artifacts=store)
    async with c.app.run_test(size=SIZE) as pilot:
        await pilot.press(*"@main what is 6*7", "enter")
        await wait_for(lambda: "echo: what is 6*7" in c.pane_text())
        await pilot.press("ctrl+r")
        await wait_for(lambda: len(c.harnesses["review"].prompts) == 1)
        sent = c.harnesses["review"].prompts[0]
        assert "echo: what is 6*7" in sent and "lane 'main'" in sent
        await wait_for(lambda: any("review artifact stored" in n for n in notes(c)))
        [artifact] = store.list()
        assert artifact.kind == "review" and artifact.lane == "review"
        # the reviewer's own answer is not escalated to itself
        await wait_for(lambda: c.screen.selected == "review")
        await pilot.press("ctrl+r")
        await wait_for(lambda: any("select the lane" in n for n in notes(c)))
        assert len(c.harnesses["review"].prompts) == 1


async def test_escalate_git_diff(cockpit: Callable[..., Cockpit], state_env: Path) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=state_env, check=True, capture_output=True)

    git("init", "-q")
    (state_env / "a.py").write_text("x = 1\n")
    git("add", "a.py")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one")
    (state_env / "a.py").write_text("x = 2\n")
    c = cockpit()
    async with c.app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: c.sup.lanes["review"].harness is not None)
        # A read-only lane has no worktree, so ctrl+t sends the workspace's `git diff HEAD`
        # (on a writable lane it sends that lane's own branch: tests/tui/test_diff_screen.py).
        for _ in range(len(c.sup.lanes)):
            if c.screen.selected == "triage":
                break
            before = c.screen.selected
            await pilot.press("ctrl+n")
            await wait_for(lambda before=before: c.screen.selected != before)
        assert c.screen.selected == "triage"
        await pilot.press("ctrl+t")
        await wait_for(lambda: c.harnesses["review"].prompts)
        assert "+x = 2" in c.harnesses["review"].prompts[0]


async def test_model_switch_is_strict_and_immediate_when_idle(
    cockpit: Callable[..., Cockpit]
) -> None:
    c = cockpit()
    async with c.app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: c.sup.lanes["main"].state == "ready")
        await pilot.press(*"/model nonsense-model", "enter")
        await wait_for(lambda: any("/model nonsense-model" in n for n in notes(c)))
        assert not c.sup.lanes["main"].explicit
        await pilot.press(*"/model openai-codex/gpt-5.3-codex", "enter")
        await wait_for(lambda: c.sup.lanes["main"].explicit)
        info = c.screen.lane_table.info("main")
        await wait_for(lambda: c.screen.lane_table.info("main").model == "openai-codex/gpt-5.3-codex")  # type: ignore[union-attr]
        assert info is not None
        assert any("model switched" in n for n in notes(c))


async def test_model_switch_waits_while_busy(cockpit: Callable[..., Cockpit]) -> None:
    c = cockpit(gated=("main",))
    async with c.app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: c.sup.lanes["main"].state == "ready")
        await pilot.press(*"@main long task", "enter")
        await wait_for(lambda: c.sup.lanes["main"].state == "busy")
        await pilot.press(*"/model openai-codex/gpt-5.3-codex", "enter")
        table = c.screen.lane_table
        await wait_for(lambda: table.info("main").pending_model is not None)  # type: ignore[union-attr]
        assert "waits for idle" in str(table.get_cell("main", "model"))
        assert any("waiting for idle" in n for n in notes(c))
        assert not c.sup.lanes["main"].explicit
        c.gates["main"].set()
        await wait_for(lambda: c.sup.lanes["main"].explicit)
        await wait_for(lambda: table.info("main").pending_model is None)  # type: ignore[union-attr]
        assert table.info("main").model == "openai-codex/gpt-5.3-codex"  # type: ignore[union-attr]


async def test_multiline_and_history(cockpit: Callable[..., Cockpit]) -> None:
    c = cockpit()
    async with c.app.run_test(size=SIZE) as pilot:
        await pilot.press(*"@main one", "enter")
        await wait_for(lambda: c.harnesses.get("main") and c.harnesses["main"].prompts)
        await pilot.press("up")
        assert c.screen.prompt_bar.input.value == "@main one"
        await pilot.press("down")
        assert c.screen.prompt_bar.input.value == ""
        await pilot.press("ctrl+l")
        assert c.screen.prompt_bar.multiline
        await pilot.press(*"@main first", "enter", *"second")
        assert c.screen.prompt_bar.text == "@main first\nsecond"
        await pilot.press("ctrl+s")
        await wait_for(lambda: len(c.harnesses["main"].prompts) == 2)
        assert c.harnesses["main"].prompts[1] == "first\nsecond"
        await pilot.press("ctrl+l")
        assert not c.screen.prompt_bar.multiline
        assert c.app.focused is c.screen.prompt_bar.input


@pytest.mark.parametrize("key", ["ctrl+s", "ctrl+j", "ctrl+enter"])
async def test_every_send_key_sends_in_multiline_mode(cockpit: Callable[..., Cockpit],
                                                      key: str) -> None:
    c = cockpit()
    async with c.app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+l")
        await wait_for(lambda: c.screen.prompt_bar.multiline)
        await pilot.press(*"@coder one", "enter", *"two", key)
        await wait_for(lambda: c.harnesses.get("coder") and c.harnesses["coder"].prompts)
        assert c.harnesses["coder"].prompts == ["one\ntwo"]
        assert c.screen.prompt_bar.text == ""


def test_every_main_binding_is_in_the_palette() -> None:
    """Every action with a key is also a palette entry (navigation keys aside), and every
    everyday entry's key hint comes from a binding that runs that very action."""
    from laneboard.tui.app import LaneboardApp
    from laneboard.tui.palette import EVERYDAY, key_for
    from laneboard.tui.screens.main import MainScreen
    from laneboard.tui.widgets.prompt_bar import PromptBar

    navigation = {"scroll_pane(-1)", "scroll_pane(1)", "focus_prompt", "send", "history(-1)",
                  "history(1)"}
    in_palette = {action for _, _, action in EVERYDAY}
    bindings = [*LaneboardApp.BINDINGS, *MainScreen.BINDINGS, *PromptBar.BINDINGS]
    for b in bindings:
        if b.action in navigation:  # type: ignore[union-attr]
            continue
        assert b.action in in_palette, f"{b.key} ({b.action}) has no palette entry"  # type: ignore[union-attr]
    for name, _, action in EVERYDAY:
        assert key_for(bindings, action), f"palette entry {name!r} has no key binding"
    assert key_for(bindings, "toggle_grid") == "ctrl+g"
    assert key_for(bindings, "show_help") == "F1"


async def test_lane_lifecycle_keys(cockpit: Callable[..., Cockpit]) -> None:
    c = cockpit()
    async with c.app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: c.sup.lanes["main"].state == "ready")
        c.screen.lane_table.focus()
        await pilot.press("x")
        await wait_for(lambda: c.sup.lanes["main"].state == "stopped")
        await wait_for(lambda: "stopped" in str(c.screen.lane_table.get_cell("main", "state")))
        await pilot.press("s")
        await wait_for(lambda: c.sup.lanes["main"].state == "ready")
        await pilot.press("r")
        await wait_for(lambda: c.sup.lanes["main"].state == "ready" and c.sup.lanes["main"].harness is not None)
        await pilot.press("escape")
        assert c.app.focused is c.screen.prompt_bar.input


async def test_notifications_for_fence_waiting_failed(cockpit: Callable[..., Cockpit]) -> None:
    c = cockpit()
    async with c.app.run_test(size=SIZE):
        await wait_for(lambda: c.sup.lanes["main"].state == "ready")
        c.sup.hub.publish(FenceTripped("main", "denied: rm -rf /"))
        c.sup.hub.publish(LaneStateChanged("review", "waiting", "permission: Bash(git push)"))
        c.sup.lanes["triage"].state = "failed"
        c.sup.hub.publish(LaneStateChanged("triage", "failed", "exited (3)"))
        await wait_for(lambda: len(notes(c)) >= 3)
        text = "\n".join(notes(c))
        assert "main: fence denied denied: rm -rf /" in text
        assert "review needs you" in text
        assert "triage failed exited (3)" in text
        await wait_for(lambda: "fence: denied: rm -rf /" in c.pane_text())


async def test_command_palette_runs_actions(cockpit: Callable[..., Cockpit]) -> None:
    c = cockpit()
    async with c.app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        await pilot.press(*"grid view")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(lambda: c.screen.grid)
        await pilot.press("ctrl+p", *"select lane review")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(lambda: c.screen.selected == "review")


async def test_pane_follows_only_at_bottom(cockpit: Callable[..., Cockpit]) -> None:
    from laneboard.tui.messages import OutputReceived

    c = cockpit(autostart=False)
    async with c.app.run_test(size=SIZE) as pilot:
        screen = c.screen
        screen.post_message(OutputReceived("main", "".join(f"line {i}\n" for i in range(200))))
        await wait_for(lambda: len(screen.pane.lines) > 150)
        await pilot.pause()
        assert screen.pane.is_vertical_scroll_end
        await pilot.press("pageup")
        await pilot.pause()
        top = screen.pane.scroll_y
        screen.post_message(OutputReceived("main", "more\n"))
        await wait_for(lambda: any("more" in line for line in screen.pane.lines))
        await pilot.pause()
        assert screen.pane.scroll_y == top  # reading scrollback is not yanked away
        await pilot.press("pagedown", "pagedown")
        screen.post_message(OutputReceived("main", "again\n"))
        await wait_for(lambda: any("again" in line for line in screen.pane.lines))
        await pilot.pause()
        assert screen.pane.is_vertical_scroll_end


async def test_output_for_hidden_lanes_is_buffered_not_rendered(
    cockpit: Callable[..., Cockpit]
) -> None:
    from laneboard.tui.messages import OutputReceived

    c = cockpit(autostart=False)
    async with c.app.run_test(size=SIZE) as pilot:
        screen = c.screen
        screen.post_message(OutputReceived("coder", "\x1b[31mred\x1b[0m text\x1b[2J\x1b]0;t\x07\n"))
        await pilot.pause(0.25)
        assert not any("red" in line for line in screen.pane.lines)  # main is shown
        await pilot.press("ctrl+n")
        await wait_for(lambda: screen.selected == "coder")
        assert screen.pane.lines[0] == "\x1b[31mred\x1b[0m text"  # colour kept, the rest gone


def _colours(widget) -> set[tuple[int, int, int]]:  # type: ignore[no-untyped-def]
    """Every foreground/background RGB in the lines the widget paints (filters applied)."""
    from textual.geometry import Region

    out: set[tuple[int, int, int]] = set()
    for strip in widget.render_lines(Region(0, 0, widget.size.width, widget.size.height)):
        for seg in strip:
            for colour in (seg.style.color, seg.style.bgcolor) if seg.style else ():
                if colour is not None and colour.triplet is not None:
                    out.add(tuple(colour.triplet))  # type: ignore[arg-type]
    return out


@pytest.mark.parametrize("no_color", [False, True], ids=["colour", "NO_COLOR"])
async def test_no_color_is_respected(cockpit: Callable[..., Cockpit],
                                     monkeypatch: pytest.MonkeyPatch, no_color: bool) -> None:
    """With NO_COLOR set the whole screen — lane colours from the panes included — is
    painted in greys only; without it the pane's red shows."""
    from laneboard.tui.messages import OutputReceived

    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    c = cockpit(autostart=False)
    assert c.app.no_color is no_color
    async with c.app.run_test(size=SIZE) as pilot:
        c.screen.post_message(OutputReceived("main", "\x1b[31;42mred on green\x1b[0m\n"))
        await wait_for(lambda: any("red on green" in line for line in c.screen.pane.lines))
        await pilot.pause()
        painted = set().union(*(_colours(w) for w in (c.screen.pane, c.screen.lane_table,
                                                      c.screen.preview, c.screen.prompt_bar)))
        greys = {rgb for rgb in painted if rgb[0] == rgb[1] == rgb[2]}
        if no_color:
            assert painted and painted == greys
        else:
            assert painted - greys  # colour on screen, the pane's red among it
            assert any(r > 150 and g < 60 for r, g, b in _colours(c.screen.pane))  # ANSI red


async def test_copying_from_a_pane_copies_the_text_shown(cockpit: Callable[..., Cockpit]) -> None:
    """Colour codes are kept in the pane's lines; a selection is on the text shown."""
    from textual.geometry import Offset
    from textual.selection import Selection

    from laneboard.tui.messages import OutputReceived

    c = cockpit(autostart=False)
    async with c.app.run_test(size=SIZE):
        c.screen.post_message(OutputReceived("main", "\x1b[1mok\x1b[0m \x1b[32mgreen\x1b[0m tail\n"))
        await wait_for(lambda: any("green" in line for line in c.screen.pane.lines))
        copied = c.screen.pane.get_selection(Selection(Offset(3, 0), Offset(8, 0)))
        assert copied == ("green", "\n")
