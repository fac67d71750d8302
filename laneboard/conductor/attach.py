"""Give laneboard's MCP server to a lane run by a process that does not serve the conductor.

Why: only the process holding the control server (the cockpit, `laneboard up`) filled in
`Supervisor.conductor`, so a codex exec lane that `laneboard send` runs — a fresh `codex
exec` started by the sending process — had no `laneboard` MCP server and could not
delegate, though a supervisor was running beside it. Everything the attachment needs is
findable without that process: the control socket lives at a path derived from the tmux
socket and session (`protocol.control_socket_path`), and a lane's token is an HMAC under
the state dir's private key (`protocol.lane_token`), which this user can read.

`attach_running` attaches only lanes that may delegate, and only when something listens
on the control socket (a stale socket file of a supervisor that died attaches nothing).
When it cannot attach, it returns one line saying why, for the caller to print: a lane
silently missing its tools looks like a model that forgot how to delegate.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

from laneboard.conductor import policy
from laneboard.conductor.protocol import NotListening, control_socket_path, lane_token
from laneboard.errors import LaneboardError

if TYPE_CHECKING:
    from laneboard.lanes.supervisor import Supervisor

__all__ = ["PROBE_TIMEOUT_S", "attach_every", "attach_running", "lanes_named"]

#: Seconds to wait for the running control server to accept the probe's connection.
PROBE_TIMEOUT_S = 10.0


def lanes_named(sup: Supervisor, lane: str) -> list[str]:
    """The runtime lanes `lane` names: itself, or the replicas of a replicated group."""
    if lane in sup.cfg.lanes:
        return [lane]
    return list(sup.groups.get(lane, []))


async def attach_running(sup: Supervisor, lane: str) -> str | None:
    """Attach the running supervisor's conductor to `lane` (and its replicas) when they may
    delegate; the reason it was not attached (one line), or None when attached or when the
    lane may not delegate anyway (then there is nothing to miss). Never raises a
    LaneboardError: a lane without the tools still runs."""
    return await _attach(sup, lanes_named(sup, lane), f"{lane} runs")


async def attach_every(sup: Supervisor) -> str | None:
    """`attach_running` for every lane that may delegate, with one probe (a cockpit opened
    beside `laneboard up` starts and restarts lanes too)."""
    return await _attach(sup, list(sup.cfg.lanes), "the lanes that may delegate run")


async def _attach(sup: Supervisor, lanes: list[str], who_run: str) -> str | None:
    """Attach those of `lanes` that may delegate; `who_run` starts the note ("main runs")."""
    targets = [lid for lid in lanes if policy.allowed_delegates(sup.cfg, lid)]
    if not targets or all(lid in sup.conductor for lid in targets):
        return None
    lead = f"laneboard: {who_run} without laneboard's MCP server (no conductor tools): "
    try:
        path = control_socket_path(sup.socket, sup.session)
        await asyncio.wait_for(_probe(path), PROBE_TIMEOUT_S)
        tokens = {lid: lane_token(lid, sup.session) for lid in targets}
    except NotListening:
        return (lead + f"no supervisor is running for session {sup.session!r} (nothing "
                f"listens on its control socket); start `laneboard up --headless` or the "
                "cockpit to let it delegate")
    except (LaneboardError, OSError, TimeoutError) as e:
        return lead + (str(e) or "the control socket did not answer in time")
    for lid in targets:
        sup.conductor[lid] = (str(path), tokens[lid])
    return None


async def _probe(path: Path) -> None:
    """Whether a server listens on `path` (a connect, no request: the path is derived from
    this state dir and session, so its server holds the same token key — the tokens we
    compute are the ones it checks). NotListening when nothing does."""
    try:
        _reader, writer = await asyncio.open_unix_connection(str(path))
    except (FileNotFoundError, ConnectionRefusedError):
        raise NotListening(f"nothing listens on {path}") from None
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
