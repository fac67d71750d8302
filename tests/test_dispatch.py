"""`laneboard.lanes.dispatch`: route decision → triage (when asked) → deliver, fail closed.

On a real `Supervisor` whose lanes run the in-process `EchoHarness` (no tmux), with the
TUI tests' config (`routing.triage: {lane: triage}`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from laneboard.errors import LaneError
from laneboard.harnesses.base import HarnessSpec
from laneboard.lanes.dispatch import TRIAGE_RULE, dispatch, triage_on_lane
from laneboard.lanes.events import TurnCompleted
from laneboard.lanes.loading import load_file
from laneboard.lanes.router import Router
from laneboard.lanes.supervisor import Supervisor
from tests.tui.conftest import CONFIG
from tests.tui.fakes import EchoHarness

MAIL = "Your parcel is held at customs; pay the fee at http://example.invalid"

Replies = dict[str, Callable[[str], str]]


@pytest.fixture
async def make_sup(tmp_path: Path,
                   monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Callable[[Replies], Supervisor]]:
    monkeypatch.setenv("LANEBOARD_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("LANEBOARD_TMUX_SOCKET", "lb-dispatch-unused")
    made: list[Supervisor] = []
    harnesses: dict[str, EchoHarness] = {}

    def build(replies: Replies) -> Supervisor:
        def factory(spec: HarnessSpec, sup: Supervisor) -> EchoHarness:
            h = harnesses[spec.lane] = EchoHarness(spec, reply=replies.get(spec.lane))
            return h

        sup = Supervisor(load_file(str(CONFIG)), workspace=tmp_path, factory=factory)
        sup.harnesses = harnesses  # type: ignore[attr-defined]
        made.append(sup)
        return sup

    yield build
    for sup in made:
        await sup.close()


def untrusted(sup: Supervisor, text: str = MAIL):  # type: ignore[no-untyped-def]
    decision = Router(sup.cfg).route(text, untrusted=True)
    assert decision.triage and decision.lane == "main"
    return decision


async def test_escalate_delivers_to_the_routed_lane(make_sup) -> None:  # type: ignore[no-untyped-def]
    sup = make_sup({"triage": lambda p: "ESCALATE"})
    seen: list[tuple[str, ...]] = []
    done = await dispatch(
        sup, untrusted(sup),
        on_verdict=lambda v, lane: seen.append(("verdict", v.verdict, lane)),
        on_send=lambda lane, prompt, route: seen.append(("send", lane, str(route["triage_verdict"]))),
    )
    assert done.sent and done.result is not None and done.result.reply == f"echo: {MAIL}"
    assert done.triage is not None and done.triage.verdict.verdict == "ESCALATE"
    assert done.triage.answer == "ESCALATE"
    assert seen[0] == ("verdict", "ESCALATE", "triage") and seen[1][:2] == ("send", "main")
    assert sup.harnesses["main"].prompts == [MAIL]  # type: ignore[attr-defined]


async def test_skip_delivers_nothing(make_sup) -> None:  # type: ignore[no-untyped-def]
    sup = make_sup({"triage": lambda p: "SKIP"})
    sends: list[str] = []
    done = await dispatch(sup, untrusted(sup), on_send=lambda lane, p, r: sends.append(lane))
    assert not done.sent and done.result is None and sends == []
    assert "main" not in sup.harnesses  # type: ignore[attr-defined]  # never even started


@pytest.mark.parametrize("answer", ["skip", "SKIP.", "I think SKIP", "", "maybe"])
async def test_unclear_answers_fail_closed(make_sup, answer: str) -> None:  # type: ignore[no-untyped-def]
    sup = make_sup({"triage": lambda p: answer})
    done = await dispatch(sup, untrusted(sup))
    assert done.sent
    assert done.triage is not None and done.triage.verdict.failed_closed


async def test_a_failing_triage_lane_fails_closed(make_sup) -> None:  # type: ignore[no-untyped-def]
    def broken(prompt: str) -> str:
        raise RuntimeError("connection refused")

    sup = make_sup({"triage": broken})
    outcome = await triage_on_lane(sup, MAIL)
    assert outcome.verdict.verdict == "ESCALATE" and outcome.verdict.failed_closed
    assert "fails closed" in outcome.verdict.reason


async def test_trusted_text_is_not_triaged(make_sup) -> None:  # type: ignore[no-untyped-def]
    sup = make_sup({"triage": lambda p: "SKIP"})
    decision = Router(sup.cfg).route("please build it")
    done = await dispatch(sup, decision)
    assert done.sent and done.triage is None
    assert "triage" not in sup.harnesses  # type: ignore[attr-defined]
    assert sup.harnesses["coder"].prompts == ["please build it"]  # type: ignore[attr-defined]


async def test_the_triage_turn_and_the_verdict_are_on_the_record(make_sup) -> None:  # type: ignore[no-untyped-def]
    sup = make_sup({"triage": lambda p: "ESCALATE"})
    sub = sup.subscribe()
    turns: list[TurnCompleted] = []

    async def collect() -> None:
        async for ev in sub:
            if isinstance(ev, TurnCompleted):
                turns.append(ev)
                if len(turns) == 2:
                    return

    task = asyncio.ensure_future(collect())
    await dispatch(sup, untrusted(sup))
    await asyncio.wait_for(task, 5)
    triage_turn, main_turn = turns
    assert triage_turn.lane == "triage" and triage_turn.route["rule"] == TRIAGE_RULE
    assert main_turn.lane == "main" and main_turn.route["triage_verdict"] == {
        "verdict": "ESCALATE", "reason": "the triage model answered ESCALATE",
        "failed_closed": False, "lane": "triage"}
    assert "prompt" not in main_turn.route


async def test_secrets_are_redacted_before_the_triage_model_reads_them(make_sup) -> None:  # type: ignore[no-untyped-def]
    sup = make_sup({"triage": lambda p: "ESCALATE"})
    key = "sk-ant-api03-" + "A" * 40
    await triage_on_lane(sup, f"here is my key {key}")
    [asked] = sup.harnesses["triage"].prompts  # type: ignore[attr-defined]
    assert key not in asked


async def test_no_triage_lane_configured_is_an_error(make_sup) -> None:  # type: ignore[no-untyped-def]
    sup = make_sup({})
    sup.cfg = sup.cfg.model_copy(update={"routing": sup.cfg.routing.model_copy(update={"triage": None})})  # type: ignore[union-attr]
    with pytest.raises(LaneError, match=r"routing\.triage"):
        await triage_on_lane(sup, MAIL)
