"""`laneboard send LANE PROMPT`: deliver a prompt to a lane, starting it if needed."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import click

from laneboard.commands._common import config_option, emit_json, load_config_for, read_prompt, run

if TYPE_CHECKING:
    from laneboard.lanes.router import RouteDecision
    from laneboard.lanes.supervisor import Supervisor


@click.command()
@click.argument("lane")
@click.argument("prompt")
@click.option("--wait", is_flag=True, help="Wait for the turn to end and print the reply.")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@click.option("--timeout", type=float, default=600.0, show_default=True, help="Seconds to wait.")
@click.option(
    "--untrusted",
    is_flag=True,
    help="PROMPT is mail/web text: only a lane with `input: untrusted` on an orchestrator-tier "
    "chain takes it, after triage when routing.triage is set (waits for the turn).",
)
@click.option(
    "--op-id",
    "op_id",
    default=None,
    help="Idempotency key: a second send with the same ID (from any process, even at the "
    "same moment) sends nothing and reports the first one's outcome.",
)
@click.option(
    "--defer-if-busy",
    "defer_if_busy",
    is_flag=True,
    help="When the lane's screen shows it busy (a turn still running, a dialog open), wait "
    "until it is ready instead of typing into it; the wait counts against --timeout, and a "
    "lane still busy then gets nothing (exit 1, 'stayed busy').",
)
@config_option
def send(
    lane: str, prompt: str, wait: bool, as_json: bool, timeout: float, untrusted: bool,
    config_path: str | None, op_id: str | None = None, defer_if_busy: bool = False,
) -> None:  # fmt: skip
    """Send PROMPT (`-` reads stdin) to LANE.

    The lane is started (or adopted from tmux) if needed and keeps running afterwards.
    Exit 0 when the turn completed (or triage said SKIP for --untrusted text), 1 when it
    failed or timed out, or when LANE may not take untrusted text — the cockpit's gate.
    """
    from laneboard.errors import UsageError
    from laneboard.lanes.supervisor import Supervisor

    loaded = load_config_for(config_path)
    if lane not in loaded.config.lanes:
        raise UsageError(f"no lane named {lane!r} (lanes: {', '.join(loaded.config.lanes)})")
    text = read_prompt(prompt)
    if op_id is not None:
        from laneboard.lanes.op_ids import check_op_id

        problem = check_op_id(op_id)
        if problem is not None:
            raise UsageError(f"--op-id: {problem}")
    if defer_if_busy and untrusted:
        raise UsageError("--defer-if-busy cannot be combined with --untrusted (triage first)")
    deferred: list[bool] = []

    def defer() -> None:
        deferred.append(True)
        click.echo(f"deferred: {lane} is busy; waiting for it", err=True)

    on_busy = defer if defer_if_busy else None
    decision = None
    if untrusted:
        # The cockpit's gate (Router): refused before any lane starts, never rerouted —
        # the person named this lane. Triage and delivery then go through the same
        # `dispatch` the cockpit's prompt bar uses.
        from laneboard.lanes.router import Router

        decision = Router(loaded.config).to_lane(lane, text, untrusted=True)
    from laneboard.commands.route import deny_line
    from laneboard.lanes.fences import fence_summary

    held = fence_summary(loaded.config, lane)
    if not as_json:  # before the turn: what holds this lane, on stderr (stdout is the reply)
        click.echo(f"{lane}: {deny_line(held)}", err=True)

    async def go() -> dict[str, object]:
        sup = Supervisor(loaded)
        from laneboard.conductor.attach import attach_running

        # A lane this process starts (a codex exec run) gets the running supervisor's
        # conductor too, or one line on stderr saying why it cannot delegate.
        note = await attach_running(sup, lane)
        if note:
            click.echo(note, err=True)
        if op_id is not None:
            return await _send_once(sup, op_id, lane, send_it)
        return await send_it(sup)

    async def send_it(sup: Supervisor) -> dict[str, object]:
        started = time.monotonic()
        try:
            if decision is not None:
                return await _send_untrusted(sup, decision, timeout, started)
            if wait or sup.lanes[lane].is_exec:
                result = await sup.send(lane, text, timeout=timeout, defer=on_busy)
                return {
                    "lane": lane,
                    "state": result.state,
                    "reply": result.reply,
                    "error": result.error,
                    "model": result.model,
                    "usage": result.usage.as_dict(),
                    "elapsed_s": round(time.monotonic() - started, 3),
                }
            state = await sup.deliver(lane, text, timeout=timeout, defer=on_busy)
            return {
                "lane": lane,
                "state": state,
                "reply": None,
                "error": None,
                "model": None,
                "usage": None,
                "elapsed_s": round(time.monotonic() - started, 3),
            }
        finally:
            await sup.close()

    doc = {"untrusted": untrusted, "triage": None, **run(go()), "fence": held["fence"], "deny": held["deny"]}
    if defer_if_busy:
        doc["deferred"] = bool(deferred)
    if as_json:
        emit_json(doc)
    elif doc["reply"] is not None:
        click.echo(str(doc["reply"]))
    elif doc["state"] == "skipped":
        click.echo(f"triage said SKIP: nothing was sent to {lane}", err=True)
    elif doc["state"] == "duplicate":
        click.echo(f"op id {op_id!r} was already used for {doc['lane']} "
                   f"({doc['first_state']}): nothing sent again", err=True)
    elif doc["state"] == "delivered":
        click.echo(f"sent to {lane} (the lane keeps working; `laneboard send --wait` waits)", err=True)
    if doc["error"]:
        click.echo(f"laneboard: {lane}: {doc['error']}", err=True)
    if doc["state"] not in ("done", "delivered", "skipped", "duplicate"):
        raise SystemExit(1)


async def _send_once(
    sup: Supervisor, op_id: str, lane: str,
    send_it: Callable[[Supervisor], Awaitable[dict[str, object]]],
) -> dict[str, object]:
    """`send_it` at most once per op id (`laneboard.lanes.op_ids`): the process that claims
    the id sends and records the outcome; any other reports the first one's record."""
    from laneboard.lanes import op_ids

    try:
        claim = op_ids.claim(sup.socket, sup.session, op_id, lane)
    except BaseException:
        await sup.close()
        raise
    if not claim.won:
        await sup.close()
        first = claim.record
        return {"lane": str(first.get("lane", lane)), "state": "duplicate",
                "first_state": str(first.get("state", "sending")), "reply": None,
                "error": None, "model": None, "usage": None, "elapsed_s": 0.0, "op_id": op_id}
    from laneboard.errors import LaneBusy

    try:
        doc = await send_it(sup)
    except LaneBusy:  # a deferred send that typed nothing: a retry with this id may send
        op_ids.release(claim)
        raise
    except BaseException as e:
        op_ids.finish(claim, {"state": "error", "error": str(e) or type(e).__name__})
        raise
    op_ids.finish(claim, {"state": doc["state"], "error": doc["error"]})
    return {**doc, "op_id": op_id}


async def _send_untrusted(
    sup: Supervisor, decision: RouteDecision, timeout: float, started: float
) -> dict[str, object]:
    """Triage (when configured) and the turn, as the cockpit runs them; waits for the end."""
    from laneboard.lanes.dispatch import dispatch

    done = await dispatch(sup, decision, timeout=timeout)
    triage = None
    if done.triage is not None:
        triage = {**done.triage.verdict.as_dict(), "lane": done.triage.lane}
    result = done.result
    return {
        "lane": decision.lane,
        "state": result.state if result is not None else "skipped",
        "reply": result.reply if result is not None else None,
        "error": result.error if result is not None else None,
        "model": result.model if result is not None else None,
        "usage": result.usage.as_dict() if result is not None else None,
        "elapsed_s": round(time.monotonic() - started, 3),
        "triage": triage,
    }
