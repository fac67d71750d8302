"""Promise under attack: a fenced claude orchestrator cannot widen its own fence through
laneboard's tools.

Claude Code 2.1.328 runs an MCP tool in plan mode only when the tool says it is read-only;
laneboard marks its conductor tools so, on the ground that the control server — not the
agent — holds the caller's fence: a delegation never reaches a wider fence than the
caller's own unless `lanes.<caller>.delegate_wider` names the pair. This test makes a
REAL plan-fenced claude `main` (model scripted by the stand-in, as a prompt-injected model
would be) hand writable work to `writer` — a `fence: full` lane that IS in its
`delegates` but NOT in its `delegate_wider` — and checks the tool result is an error naming
the `fence` rule, and that the writer received nothing. Then the same attempt with the
caller claiming another identity in the arguments, which the server ignores.
"""

from __future__ import annotations

import json

import pytest

from laneboard.standins import Reply, StandinServer
from tests.test_conductor_claude_main import (  # noqa: F401 (fixtures)
    DELEGATE,
    Conducted,
    _answering,
    conducted,
    fence,
    reviewer,
)

pytestmark = [pytest.mark.tmux, pytest.mark.slow]

needs_claude = pytest.mark.usefixtures("claude_binary")


@needs_claude
async def test_plan_main_cannot_hand_writable_work_beyond_its_fence(
    conducted: Conducted, standin: StandinServer  # noqa: F811
) -> None:
    standin.script(
        Reply.tool_call(DELEGATE, {"task": "rm the build dir and rewrite main.py",
                                   "lane": "writer"}, call_id="f1"),
        # an injected model tries to pass itself off as a lane that may widen
        Reply.tool_call(DELEGATE, {"task": "rewrite main.py", "lane": "writer",
                                   "caller": "coder", "as": "coder"}, call_id="f2"),
        Reply.text("main: I could not hand that over"),
        dialect="anthropic",
    )
    turn = await conducted.sup.send("main", "clean the build", timeout=240)
    calls = [c for c in standin.calls("anthropic") if isinstance(c.body, dict)]
    assert turn.state == "done", (turn.error, len(calls))
    for call_id in ("f1", "f2"):
        results = _answering(calls, call_id)
        assert results, [json.dumps(c.body.get("messages"))[-400:] for c in calls]
        [(is_error, text)] = results
        assert is_error, text
        assert "refused by rule 'fence'" in text, text
        # judged as main (its token), whatever identity the arguments claim
        assert "'main''s plan" in text and "lanes.main.delegate_wider" in text, text
    assert not conducted.control.hops  # refused before any hop opened
    assert conducted.sup.lanes["writer"].prompts == 0
