"""`laneboard mcp`: the MCP server (stdio) that gives a lane laneboard's conductor tools.

A thin front end on purpose: each tool forwards its arguments, with the lane token from
the environment, to the running supervisor's control socket, and returns what the server
answers. No policy lives here — this process runs with the agent's environment, and an
agent can be steered by what it reads, so every decision is the server's. A refusal comes
back as a tool error (`is_error`) whose text starts with `refused by rule '<rule>'`, and
no socket means a tool error saying so: this process never starts a supervisor.

Every tool is annotated read-only (`readOnlyHint`), on purpose. Claude Code 2.1.328 in plan
mode — what laneboard runs a fenced claude lane in — refuses any MCP tool not marked
read-only, whatever `--allowedTools` or a PreToolUse hook says ("Cannot call
mcp__laneboard__delegate while in plan mode", observed), so a fenced claude orchestrator
could not delegate at all. The hint is true from the calling lane's side: a tool changes
nothing of the caller's, and what a delegate may change is bounded by the control server's
`fence` rule (a delegation never reaches a wider fence than the caller's own unless
`lanes.<caller>.delegate_wider` names the pair). The hint alone grants nothing — plan
mode still needs laneboard's `--allowedTools mcp__laneboard__*` — and no other tool gains
anything by it.
"""

from __future__ import annotations

import functools
import json
import os
from typing import Any

from laneboard.conductor.protocol import SOCKET_ENV, TOKEN_ENV, ControlError, Refused, call

__all__ = ["build_server", "serve"]

INSTRUCTIONS = (
    "laneboard's conductor: hand work to the other lanes of this laneboard session under "
    "its router and fences. lanes() lists them; route(task) is a dry run; delegate(task, "
    "lane?) hands a task over and returns the answer; review() asks the plan-mode reviewer; "
    "triage(text) and commit_message(diff?) use the local helper. A refusal names the rule."
)


def build_server(socket: str, token: str, ready: str | None = None) -> Any:
    """The MCPServer named `laneboard` with the conductor's tools, bound to `socket`;
    `ready`: a file to touch once the client has listed the tools (see `mcp_attach`)."""
    from mcp.server import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError
    from mcp.types import ToolAnnotations

    class Server(MCPServer):
        async def list_tools(self) -> Any:
            tools = await super().list_tools()
            if ready:
                _touch(ready)
            return tools

    server = Server(name="laneboard", instructions=INSTRUCTIONS)
    # See the module docstring: the caller's fence is the control server's to hold.
    # `structured_output=False`: each result is one JSON document as text. With the SDK's
    # default a `str` result is also sent as structured content `{"result": "<json>"}`,
    # and Claude Code 2.1.328 hands the model that (observed): the answer JSON-in-JSON.
    tool = functools.partial(
        server.tool, annotations=ToolAnnotations(read_only_hint=True, destructive_hint=False),
        structured_output=False)

    async def forward(method: str, params: dict[str, Any]) -> str:
        clean = {k: v for k, v in params.items() if v is not None}
        try:
            result = await call(socket, token, method, clean)
        except Refused as e:
            raise ToolError(str(e)) from None
        except ControlError as e:
            raise ToolError(f"laneboard: {e}") from None
        return json.dumps(result, indent=1, default=str)

    @tool(description="Every lane: id, role, model, tier, fence, input, state, what it is for.")
    async def lanes() -> str:
        return await forward("lanes", {})

    @tool(description="The router's decision for a task, with its reason (a dry run).")
    async def route(task: str, untrusted: bool = False) -> str:
        return await forward("route", {"task": task, "untrusted": untrusted})

    @tool(description="Hand a task to another lane (the router picks when lane is "
                 "omitted); returns run, lane, rule, answer, artifact, usage. wait=false "
                 "returns {run} at once: ask result(run) later.")
    async def delegate(task: str, lane: str | None = None, wait: bool = True,
                       timeout_s: float | None = None, untrusted: bool = False) -> str:
        return await forward("delegate", {"task": task, "lane": lane, "wait": wait,
                                          "timeout_s": timeout_s, "untrusted": untrusted})

    @tool(description="Ask the plan-mode reviewer to review the diff against base; "
                 "returns its findings and the review artifact.")
    async def review(base: str | None = None, focus: str | None = None) -> str:
        return await forward("review", {"base": base, "focus": focus})

    @tool(description="ESCALATE or SKIP for untrusted text, from the local helper "
                 "(fails closed: anything but a clean SKIP is ESCALATE).")
    async def triage(text: str) -> str:
        return await forward("triage", {"text": text})

    @tool(description="A commit message for the diff (default: the staged diff) "
                 "from the local helper.")
    async def commit_message(diff: str | None = None) -> str:
        return await forward("commit_message", {"diff": diff})

    @tool(description="The state or answer of a run started with wait=false.")
    async def result(run: str) -> str:
        return await forward("result", {"run": run})

    return server


def _touch(path: str) -> None:
    """Create the readiness marker (0600, never through a symlink); a failure only
    leaves the harness waiting out its bound, so it is not an error of the tool list."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError:
        return
    os.close(fd)


def serve(socket: str | None = None) -> None:
    """Run the stdio MCP server; the socket and token come from the environment that
    laneboard set for the lane (`LANEBOARD_CONTROL_SOCKET`, `LANEBOARD_LANE_TOKEN`)."""
    from laneboard.harnesses.mcp_attach import READY_ENV

    path = socket or os.environ.get(SOCKET_ENV, "")
    token = os.environ.get(TOKEN_ENV, "")
    build_server(path, token, os.environ.get(READY_ENV) or None).run("stdio")
