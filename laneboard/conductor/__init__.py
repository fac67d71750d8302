"""The conductor: lanes delegate to other lanes through laneboard, under the same policy.

An orchestrator lane gets laneboard's MCP server (`laneboard mcp`, server name
`laneboard`); its tools talk over a private unix socket to the control server that the
running supervisor (cockpit or `laneboard up`) exposes. The control server — never the
MCP client — decides who may delegate to whom (`policy`), runs the hop through the same
supervisor, router, dispatch, review and triage code a person's prompt goes through, and
records every hop as an artifact with `run` and `parent` (`runs`).

Modules: `protocol` (socket path, lane tokens, newline-delimited JSON framing),
`policy` (the rules, pure), `runs` (run/hop bookkeeping), `server` (the control server),
`mcp_server` (the MCP front end), `attach` (a lane started by another laneboard process —
`send`, `lanes start`, a cockpit beside `up` — gets the running supervisor's conductor:
its socket and the lane's token are derivable from the state dir). The argv/config that
attaches the MCP server to codex and claude lanes lives in
`laneboard.harnesses.mcp_attach` (the harness layer uses it, and may not import the
conductor, which sits above the lanes).
"""

from __future__ import annotations

__all__ = ["ControlServer", "start_control_server"]

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from laneboard.conductor.server import ControlServer, start_control_server


def __getattr__(name: str) -> object:
    # Lazy: importing the package must not drag the supervisor (and with it the lanes
    # layer) in for a caller that wants one small module.
    if name in __all__:
        from laneboard.conductor import server

        return getattr(server, name)
    raise AttributeError(name)
