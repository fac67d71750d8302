"""`laneboard triage`: ESCALATE or SKIP for untrusted text, from the local triage lane.

Text on stdin (mail, a web page, a chat — untrusted) is redacted and handed to
`laneboard.lanes.triage.triage` on the lane `routing.triage.lane`, with
`routing.triage.timeout_s`. The verdict, ESCALATE or SKIP, is printed on stdout.
It fails closed: an unreachable model, a timeout or an unclear answer is ESCALATE.
Exit 0 whenever a verdict is printed (a fail-closed ESCALATE included: the gate did
its job; stderr and `--json` say why), 2 when no triage lane is configured or stdin
is empty.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import click

from laneboard.commands._common import config_option, emit_json, load_config_for, read_stdin, run

if TYPE_CHECKING:
    from laneboard.config import LoadedConfig
    from laneboard.lanes.triage import TriageVerdict


@click.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@config_option
def triage(as_json: bool, config_path: str | None) -> None:
    """Read untrusted text on stdin; print ESCALATE or SKIP from the local triage lane.

    Fails closed: when the model is down, slow, or unclear, the answer is ESCALATE.
    """
    from laneboard.errors import UsageError

    loaded = load_config_for(config_path)
    cfg = loaded.config
    tcfg = cfg.routing.triage if cfg.routing else None
    if tcfg is None:
        raise UsageError("no triage lane: set routing.triage.lane (a local helper lane) in "
                         "the config, as in the shipped one")
    text = read_stdin()
    if not text.strip():
        raise UsageError("nothing to triage: pipe the text on stdin (`laneboard triage < mail.txt`)")
    doc = run(_triage(loaded, text))
    if as_json:
        emit_json(doc)
    else:
        click.echo(str(doc["verdict"]))
        if doc.get("failed_closed"):
            click.echo(f"laneboard: triage failed closed: {doc.get('reason')}", err=True)


async def _triage(loaded: LoadedConfig, text: str) -> dict[str, Any]:
    """Run the fail-closed triage (the same core call the cockpit makes) and store a
    triage artifact."""
    from laneboard.artifacts import ArtifactRecord
    from laneboard.core.route import Route
    from laneboard.lanes.dispatch import TRIAGE_RULE, triage_on_lane
    from laneboard.lanes.redaction import open_store
    from laneboard.lanes.supervisor import Supervisor

    cfg = loaded.config
    sup = Supervisor(loaded)
    started = time.time()
    try:
        outcome = await triage_on_lane(sup, text)
    finally:
        await sup.close()
    lane = outcome.lane
    replies = [t.reply for t in outcome.turns if t.state == "done"]
    doc = verdict_doc(outcome.verdict, lane, outcome.answer)
    last = outcome.turns[-1] if outcome.turns else None
    route: dict[str, object] = Route(lane, TRIAGE_RULE, "untrusted text: local ESCALATE/SKIP gate",
                                     cfg.lanes[lane].fence).as_dict()
    store = open_store(cfg)
    try:
        artifact = await store.write(ArtifactRecord(
            kind="triage", lane=lane, prompt=text, answer="\n".join(replies) or "(no answer)",
            harness=cfg.lanes[lane].harness, model=last.model if last else None,
            state="done" if last is not None and last.state == "done" else "failed",
            route=route, started=started, usage=last.usage if last else None,
            error=None if not doc["failed_closed"] else str(doc["reason"]),
            title=f"triage: {doc['verdict']}", extra={"verdict": doc["verdict"],
                                                       "failed_closed": doc["failed_closed"]}))
    finally:
        store.close()
    doc["artifact"] = str(artifact.path)
    return doc


def verdict_doc(verdict: TriageVerdict, lane: str, answer: str | None) -> dict[str, Any]:
    """The `--json` document: the verdict, why, and whether it is a fail-closed ESCALATE
    (the model did not itself answer a clean ESCALATE or SKIP)."""
    from laneboard.lanes.triage import parse_verdict

    clean = answer is not None and parse_verdict(answer).reason in (
        parse_verdict("ESCALATE").reason, parse_verdict("SKIP").reason)
    return {"verdict": verdict.verdict, "reason": verdict.reason, "lane": lane,
            "failed_closed": verdict.escalate and not clean}
