"""Untrusted text in the cockpit goes through triage first, the core's way
(`laneboard.lanes.dispatch`): the triage lane is asked, ESCALATE sends the text to the
lane the router chose (an orchestrator-tier lane that takes untrusted input), SKIP sends
nothing, and anything else fails closed (ESCALATE). The verdict shows in the pane and as
a toast."""

from __future__ import annotations

from collections.abc import Callable

from laneboard.lanes.triage import MAX_TEXT_CHARS
from tests.tui.conftest import Cockpit, wait_for

SIZE = (110, 30)
MAIL = "Hi, the invoice for March is attached, can you confirm by Friday?"


def notes(c: Cockpit) -> list[str]:
    return [f"{n.title}: {n.message}" for n in c.app._notifications]


async def type_untrusted(c: Cockpit, pilot, text: str = MAIL) -> None:  # type: ignore[no-untyped-def]
    await wait_for(lambda: c.sup.lanes["triage"].state == "ready")
    await pilot.press("f5")  # untrusted input on
    assert c.screen.untrusted
    await pilot.press(*text)
    preview = c.screen.preview
    await wait_for(lambda: preview.decision is not None)
    assert preview.decision.triage and preview.decision.lane == "main"
    rendered = str(preview.render())
    assert "untrusted" in rendered and "triage first" in rendered
    await pilot.press("enter")


async def test_escalate_sends_to_the_untrusted_lane(cockpit: Callable[..., Cockpit]) -> None:
    c = cockpit(replies={"triage": lambda prompt: "ESCALATE"})
    async with c.app.run_test(size=SIZE) as pilot:
        await type_untrusted(c, pilot)
        await wait_for(lambda: c.harnesses["main"].prompts == [MAIL])
        [asked] = c.harnesses["triage"].prompts
        assert MAIL in asked and "ESCALATE or SKIP" in asked  # the bounded, fenced prompt
        assert c.screen.selected == "main"
        await wait_for(lambda: f"echo: {MAIL}" in c.pane_text())
        text = c.pane_text()
        assert "untrusted text for main: triage first, on lane triage" in text
        assert "⚖ triage (triage): ESCALATE — the triage model answered ESCALATE → sent to main" in text
        assert "› you → main [default]" in text
        assert any(n.startswith("triage: ESCALATE") for n in notes(c))
        # the verdict travels with the turn (artifacts, TurnFinished) in its route
        await wait_for(lambda: c.sup.lanes["main"].prompts == 1)
        for h in ("coder", "review"):
            assert c.harnesses[h].prompts == []


async def test_skip_sends_nothing(cockpit: Callable[..., Cockpit]) -> None:
    c = cockpit(replies={"triage": lambda prompt: "SKIP"})
    async with c.app.run_test(size=SIZE) as pilot:
        await type_untrusted(c, pilot, "Weekly newsletter: 10 tips for spring cleaning")
        await wait_for(lambda: any(n.startswith("triage: SKIP") for n in notes(c)))
        await wait_for(lambda: "; not sent" in c.pane_text())
        assert "⚖ triage (triage): SKIP — the triage model answered SKIP; not sent" in c.pane_text()
        assert len(c.harnesses["triage"].prompts) == 1
        # the dispatch worker has ended (finished workers leave the manager) without a send
        await wait_for(lambda: not any(w.group == "send" for w in c.app.workers))
        assert c.harnesses["main"].prompts == []
        assert c.sup.lanes["main"].prompts == 0
        assert not any("main finished" in n for n in notes(c))


async def test_unclear_answer_fails_closed(cockpit: Callable[..., Cockpit]) -> None:
    # "skip" is not exactly SKIP: a model that does not follow the instruction is not
    # trusted to drop the text.
    c = cockpit(replies={"triage": lambda prompt: "skip"})
    async with c.app.run_test(size=SIZE) as pilot:
        await type_untrusted(c, pilot)
        await wait_for(lambda: c.harnesses["main"].prompts == [MAIL])
        [toast] = [n for n in c.app._notifications if n.title == "triage: ESCALATE"]
        assert "fails closed" in toast.message and toast.severity == "warning"


async def test_failed_triage_lane_fails_closed(cockpit: Callable[..., Cockpit]) -> None:
    def broken(prompt: str) -> str:
        raise RuntimeError("ollama unreachable")

    c = cockpit(replies={"triage": broken})
    async with c.app.run_test(size=SIZE) as pilot:
        await type_untrusted(c, pilot)
        await wait_for(lambda: c.harnesses["main"].prompts == [MAIL])
        assert any("triage: ESCALATE" in n and "fails closed" in n for n in notes(c))


async def test_trusted_text_skips_triage(cockpit: Callable[..., Cockpit]) -> None:
    c = cockpit(replies={"triage": lambda prompt: "SKIP"})
    async with c.app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: c.sup.lanes["main"].state == "ready")
        await pilot.press(*MAIL, "enter")
        await wait_for(lambda: c.harnesses["main"].prompts == [MAIL])
        assert c.harnesses["triage"].prompts == []
        await pilot.press("f5", "f5")  # on, then off again
        assert not c.screen.untrusted


async def test_long_untrusted_text_is_bounded_for_triage(cockpit: Callable[..., Cockpit]) -> None:
    c = cockpit(replies={"triage": lambda prompt: "ESCALATE"})
    long_mail = "x" * (MAX_TEXT_CHARS + 500)
    async with c.app.run_test(size=SIZE):
        await wait_for(lambda: c.sup.lanes["triage"].state == "ready")
        c.screen.untrusted = True
        c.screen.prompt_bar.input.value = long_mail
        c.screen.prompt_bar.action_send()
        await wait_for(lambda: c.harnesses["main"].prompts == [long_mail])  # sent whole
        [asked] = c.harnesses["triage"].prompts
        assert "500 more characters not shown" in asked  # the triage model saw a bounded text
