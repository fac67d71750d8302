"""The cockpit's diff view of a lane's worktree, with a real git repository.

A real repository and a real lane worktree (`worktrees.ensure`): the lane modifies a
tracked file, commits a new one and leaves an untracked one; the diff screen lists all
three with their status and line counts, shows the highlighted file's patch coloured as a
diff, follows the cursor, and reloads; opening it changes nothing in either tree. The
ctrl+t text (`lane_patch`) is that lane's branch, not the main tree's diff.
"""

from __future__ import annotations

from pathlib import Path

from rich.syntax import Syntax
from textual.app import App
from textual.widgets import DataTable

from laneboard.lanes import worktrees
from laneboard.tui.screens.diff import DiffScreen
from tests.fixtures.gitrepo import commit_all, make_repo, snapshot


def lane_with_work(tmp_path: Path) -> tuple[Path, Path]:
    repo = make_repo(tmp_path)
    wt = worktrees.ensure(repo, "coder").path
    (wt / "src" / "app.py").write_text("x = 2\ny = 3\n")
    (wt / "new.py").write_text("print('new')\n")
    commit_all(wt, "lane work")
    (wt / "notes.md").write_text("untracked\n")
    return repo, wt


class Host(App[None]):
    CSS_PATH = str(Path(__file__).parents[2] / "laneboard" / "tui" / "cockpit.tcss")

    def __init__(self, screen: DiffScreen) -> None:
        super().__init__()
        self.diff = screen

    def on_mount(self) -> None:
        self.push_screen(self.diff)


async def test_diff_screen_lists_files_and_colours_the_patch(tmp_path: Path) -> None:
    repo, wt = lane_with_work(tmp_path)
    before = (snapshot(repo), snapshot(wt))
    screen = DiffScreen(repo, "coder")
    async with Host(screen).run_test(size=(140, 40)) as pilot:
        await pilot.pause()
        table = screen.query_one("#diff-files", DataTable)
        assert [str(table.get_row_at(i)[3]) for i in range(table.row_count)] == [
            "new.py", "notes.md", "src/app.py"]
        assert [str(table.get_row_at(i)[0]) for i in range(3)] == ["A", "A", "M"]
        assert str(table.get_row_at(2)[1]) == "+2" and str(table.get_row_at(2)[2]) == "-1"
        assert screen.shown == "new.py"
        assert isinstance(screen.syntax, Syntax) and screen.syntax.lexer is not None
        assert screen.syntax.lexer.name == "Diff" and "+print('new')" in screen.syntax.code
        table.focus()
        await pilot.press("down", "down")
        await pilot.pause()
        assert screen.shown == "src/app.py"
        code = screen.syntax.code
        assert "-x = 1" in code and "+x = 2" in code
        (wt / "late.txt").write_text("later\n")
        await pilot.press("r")
        await pilot.pause()
        assert "late.txt" in [str(table.get_row_at(i)[3]) for i in range(table.row_count)]
        (wt / "late.txt").unlink()
    assert (snapshot(repo), snapshot(wt)) == before  # looking changes nothing


async def test_diff_screen_says_when_the_lane_has_no_worktree(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    screen = DiffScreen(repo, "review")
    async with Host(screen).run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        assert "has no worktree" in screen.error
        assert screen.query_one("#diff-files", DataTable).row_count == 0


def test_ctrl_t_text_is_the_lanes_branch_not_the_main_tree(tmp_path: Path) -> None:
    repo, _wt = lane_with_work(tmp_path)
    (repo / "README.md").write_text("main tree edit\n")  # must not reach the reviewer
    assert worktrees.find_for(repo, "coder") and not worktrees.find_for(repo, "main")
    assert not worktrees.find_for(repo, "../x")
    patch = worktrees.lane_patch(repo, "coder")
    assert "+x = 2" in patch and "+print('new')" in patch and "+untracked" in patch
    assert "main tree edit" not in patch
