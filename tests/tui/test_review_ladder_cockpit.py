"""ctrl+t through the review ladder (issue 19): with `review.ladder` configured the cockpit
sends the diff to the cheap rungs first and to the escalation lane only when a rule fires;
the artifacts screen (F3) then shows the review's rungs and its findings as tables.

Real Supervisor, real git repository, the cockpit's own lanes (EchoHarness stand-ins for
the models, each rung answering as a model would).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.text import Text
from textual.widgets import DataTable

from laneboard.artifacts import ArtifactStore
from laneboard.config import LoadedConfig
from laneboard.lanes.loading import load_file
from laneboard.tui.screens.artifacts import ArtifactsScreen
from tests.tui.conftest import CONFIG, Cockpit, wait_for

SIZE = (140, 44)

LADDER = """
review:
  ladder:
    - {lane: triage, does: classify}
    - {lane: second-review, does: review}
    - {lane: review, does: escalate}
  escalate: {paths: ["auth/**"], lines: 400, severity: HIGH}
"""


@pytest.fixture
def loaded(tmp_path: Path) -> LoadedConfig:
    """The cockpit's test config plus a read-only second reviewer and a ladder."""
    text = CONFIG.read_text()
    anchor = "  triage: {role: helper"
    assert anchor in text
    text = text.replace(anchor, "  second-review: {role: reviewer, harness: codex, mode: exec, "
                                "model: gpt55, fence: read-only}\n" + anchor, 1)
    path = tmp_path / "ladder-cockpit.yaml"
    path.write_text(text + LADDER)
    return load_file(str(path))


def notes(c: Cockpit) -> list[str]:
    return [f"{n.title} {n.message}" for n in c.app._notifications]


def repo_with_change(root: Path, rel: str) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)

    git("init", "-q")
    target = root / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("def login(user):\n    return True\n")
    git("add", rel)
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one")
    target.write_text("def login(user):\n    return user.password == 'admin'\n")


async def select_unwritable_lane(c: Cockpit, pilot) -> None:  # type: ignore[no-untyped-def]
    """Select the triage lane: a read-only lane has no worktree, so ctrl+t sends the
    workspace's `git diff HEAD` (a writable lane's own branch would be its worktree's)."""
    await wait_for(lambda: c.sup.lanes["review"].harness is not None)
    for _ in range(len(c.sup.lanes)):
        if c.screen.selected == "triage":
            return
        before = c.screen.selected
        await pilot.press("ctrl+n")
        await wait_for(lambda before=before: c.screen.selected != before)
    assert c.screen.selected == "triage"


REPLIES: dict[str, Callable[[str], str]] = {
    "triage": lambda p: "CLASS: trivial\none-line change",
    "second-review": lambda p: "[HIGH] auth/login.py:2 - hard-coded password check\n"
                               "[LOW] auth/login.py:40 - naming",
    "review": lambda p: "[CRITICAL] auth/login.py:2 - anyone knowing 'admin' logs in",
}


async def test_ctrl_t_climbs_the_ladder_and_f3_shows_rungs_and_findings(
    cockpit: Callable[..., Cockpit], state_env: Path, tmp_path: Path
) -> None:
    repo_with_change(state_env, "auth/login.py")
    store = ArtifactStore(tmp_path / "artifacts")
    c = cockpit(artifacts=store, replies=REPLIES)
    async with c.app.run_test(size=SIZE) as pilot:
        await select_unwritable_lane(c, pilot)
        await pilot.press("ctrl+t")
        await wait_for(lambda: any("review ladder finished" in n for n in notes(c)), 20)
        # every rung ran, cheapest first; each later rung saw the earlier answers
        assert len(c.harnesses["triage"].prompts) == 1
        assert "CLASS:" in c.harnesses["triage"].prompts[0]
        [second] = c.harnesses["second-review"].prompts
        assert "+    return user.password == 'admin'" in second and "one-line change" in second
        [top] = c.harnesses["review"].prompts
        assert "hard-coded password check" in top
        [summary] = store.list(kind="review")
        artifact = store.load(summary.path)
        assert artifact.extra["stopped"] == "top of the ladder"
        assert any("auth/login.py" in r for r in artifact.extra["escalation_reasons"])

        await pilot.press("f3")
        await wait_for(lambda: isinstance(c.app.screen, ArtifactsScreen))
        screen = c.app.screen
        rungs = screen.query_one("#artifact-rungs", DataTable)
        found = screen.query_one("#artifact-findings", DataTable)
        await wait_for(lambda: rungs.row_count == 3 and found.row_count == 3)
        assert screen.query_one("#artifact-ladder").has_class("-shown")
        lanes = [str(rungs.get_row_at(i)[1]) for i in range(3)]
        assert lanes == ["triage", "second-review", "review"]
        assert "climbed to rung 3" in str(rungs.get_row_at(1)[7])
        assert "auth/login.py" in str(rungs.get_row_at(1)[7])  # why it climbed
        # most severe first, severity coloured with the theme's $error
        first = found.get_row_at(0)
        assert isinstance(first[0], Text) and first[0].plain == "CRITICAL"
        error = c.app.get_css_variables()["error"]
        assert error.lower() in str(first[0].style).lower()
        outside = [found.get_row_at(i) for i in range(3) if "outside the diff" in
                   str(found.get_row_at(i)[1])]
        assert [str(r[1]) for r in outside] == ["auth/login.py:40 (outside the diff)"]


async def test_ctrl_t_trivial_diff_stops_at_rung_one(
    cockpit: Callable[..., Cockpit], state_env: Path, tmp_path: Path
) -> None:
    repo_with_change(state_env, "docs/readme.py")
    store = ArtifactStore(tmp_path / "artifacts")
    c = cockpit(artifacts=store, replies=REPLIES)
    async with c.app.run_test(size=SIZE) as pilot:
        await select_unwritable_lane(c, pilot)
        await pilot.press("ctrl+t")
        await wait_for(lambda: any("review ladder finished" in n for n in notes(c)), 20)
        assert len(c.harnesses["triage"].prompts) == 1
        assert c.harnesses["second-review"].prompts == []
        assert c.harnesses["review"].prompts == []
        [summary] = store.list(kind="review")
        assert "trivial" in store.load(summary.path).extra["stopped"]
        # the cockpit's lanes survive the review (the ladder borrowed the supervisor)
        assert c.sup.lanes["review"].harness is not None
