"""`laneboard send LANE PROMPT`: deliver a prompt to a lane, starting it if needed."""

from __future__ import annotations

import time

import click

from laneboard.commands._common import config_option, emit_json, load_config_for, read_prompt, run


@click.command()
@click.argument("lane")
@click.argument("prompt")
@click.option("--wait", is_flag=True, help="Wait for the turn to end and print the reply.")
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@click.option("--timeout", type=float, default=600.0, show_default=True, help="Seconds to wait.")
@config_option
def send(lane: str, prompt: str, wait: bool, as_json: bool, timeout: float, config_path: str | None) -> None:
    """Send PROMPT (`-` reads stdin) to LANE.

    The lane is started (or adopted from tmux) if needed and keeps running afterwards.
    Exit 0 when the turn completed, 1 when it failed or timed out.
    """
    from laneboard.errors import UsageError
    from laneboard.lanes.supervisor import Supervisor

    loaded = load_config_for(config_path)
    if lane not in loaded.config.lanes:
        raise UsageError(f"no lane named {lane!r} (lanes: {', '.join(loaded.config.lanes)})")
    text = read_prompt(prompt)

    async def go() -> dict[str, object]:
        sup = Supervisor(loaded)
        started = time.monotonic()
        try:
            if wait or sup.lanes[lane].is_exec:
                result = await sup.send(lane, text, timeout=timeout)
                return {
                    "lane": lane,
                    "state": result.state,
                    "reply": result.reply,
                    "error": result.error,
                    "model": result.model,
                    "usage": result.usage.as_dict(),
                    "elapsed_s": round(time.monotonic() - started, 3),
                }
            state = await sup.deliver(lane, text, timeout=timeout)
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

    doc = run(go())
    if as_json:
        emit_json(doc)
    elif doc["reply"] is not None:
        click.echo(str(doc["reply"]))
    elif doc["state"] == "delivered":
        click.echo(f"sent to {lane} (the lane keeps working; `laneboard send --wait` waits)", err=True)
    if doc["error"]:
        click.echo(f"laneboard: {lane}: {doc['error']}", err=True)
    if doc["state"] not in ("done", "delivered"):
        raise SystemExit(1)
