"""The conductor end to end: `laneboard mcp` (a real stdio MCP server, started by the SDK's
own client) talking to the control server inside a real `laneboard up --headless`, whose
lanes are real command-lane processes in tmux. Every tool is called as the `main` lane
(its token in the MCP server's env); the delegated answers come from the lanes' panes,
and every hop leaves an artifact that `laneboard runs` rebuilds into a tree.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from typing import Any

import pytest
from mcp import Client, StdioServerParameters

from tests.fixtures.conductor import Session, conductor_session  # noqa: F401 (fixture)
from tests.fixtures.tmux import async_wait_until, wait_until

pytestmark = [pytest.mark.tmux, pytest.mark.slow]


def _params(session: Session, lane: str) -> StdioServerParameters:
    return StdioServerParameters(command=sys.executable, args=["-m", "laneboard", "mcp"],
                                 env=session.mcp_env(lane), cwd=str(session.workspace))


async def _call(client: Client, tool: str, args: dict[str, Any]) -> tuple[bool, Any]:
    res = await client.call_tool(tool, args)
    text = "".join(getattr(c, "text", "") for c in res.content)
    if res.is_error:
        return True, text
    return False, json.loads(text)


async def test_every_tool_through_the_mcp_server(conductor_session: Session) -> None:  # noqa: F811
    s = conductor_session
    mode = os.stat(s.socket).st_mode
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600
    async with Client(_params(s, "main"), read_timeout_seconds=120) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert names == {"lanes", "route", "delegate", "review", "triage", "commit_message",
                         "result"}

        err, doc = await _call(client, "lanes", {})
        assert not err, doc
        assert doc["you"] == "main"
        assert {r["id"] for r in doc["lanes"]} == {"main", "coder", "worker", "commit", "review"}
        assert {"id", "role", "model", "tier", "fence", "input", "state", "for"} <= set(doc["lanes"][0])

        err, doc = await _call(client, "route", {"task": "build the parser"})
        assert not err and doc["lane"] == "coder" and doc["rule"] == "build" and doc["allowed"]

        err, doc = await _call(client, "delegate", {"task": "write the parser", "lane": "worker"})
        assert not err, doc
        assert doc["lane"] == "worker" and doc["state"] == "done"
        assert "answer[worker]: write the parser" in doc["answer"]
        # The hop's artifact is named in the reply and written right after it.
        artifact = doc["artifact"]
        assert artifact
        await async_wait_until(lambda: os.path.exists(artifact), timeout=10)
        first_run = doc["run"]

        # Without a lane the router picks (the `build` rule → coder).
        err, doc = await _call(client, "delegate", {"task": "build it now"})
        assert not err and doc["lane"] == "coder" and "answer[coder]: build it now" in doc["answer"]

        # wait: false returns the run at once; result(run) gives the answer later.
        err, doc = await _call(client, "delegate", {"task": "later please", "lane": "worker",
                                                    "wait": False})
        assert not err and doc["state"] == "running"
        run = doc["run"]

        async def finished() -> bool:
            e, d = await _call(client, "result", {"run": run})
            return not e and d["state"] == "done" and "later please" in (d["answer"] or "")

        await async_wait_until(finished, timeout=60, interval=0.1)

        err, doc = await _call(client, "triage", {"text": "newsletter: 10% off"})
        assert not err and doc["verdict"] == "SKIP", doc  # the helper's own answer, not fail-closed

        err, doc = await _call(client, "commit_message", {"diff": "--- a/x\n+++ b/x\n+hello\n"})
        assert not err and doc["lane"] == "commit" and doc["message"].startswith("answer[commit]")

        err, doc = await _call(client, "review", {})
        assert not err and doc["lane"] == "review", doc

    # Provenance: every hop is an artifact with run and parent; `runs` rebuilds the tree.
    out = subprocess.run([sys.executable, "-m", "laneboard", "--config", str(s.config), "runs",
                          "show", first_run, "--json"], cwd=s.workspace, env=s.env,
                         capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    tree = json.loads(out.stdout)
    assert tree["run"] == first_run
    assert [(h["caller"], h["lane"], h["parent"]) for h in tree["hops"]] == [("main", "worker", None)]

    def listed_runs() -> int:
        listed = subprocess.run([sys.executable, "-m", "laneboard", "--config", str(s.config),
                                 "runs", "list", "--json"], cwd=s.workspace, env=s.env,
                                capture_output=True, text=True, timeout=60, check=False)
        assert listed.returncode == 0, listed.stderr
        return len(json.loads(listed.stdout)["runs"])

    # (the last hop's artifact may still be being written when its answer arrived)
    wait_until(lambda: listed_runs() >= 6, timeout=30, interval=0.2)


async def test_a_nested_hop_records_its_parent(conductor_session: Session) -> None:  # noqa: F811
    """main → coder, and coder (a real lane process, with its own token) → worker."""
    s = conductor_session
    async with Client(_params(s, "main"), read_timeout_seconds=120) as client:
        err, doc = await _call(client, "delegate", {"task": "ASK worker tidy up", "lane": "coder"})
        assert not err, doc
        assert "relayed:" in doc["answer"] and "answer[worker]: tidy up" in doc["answer"]
        err, res = await _call(client, "result", {"run": doc["run"]})
    assert not err
    hops = res["hops"]
    assert [(h["caller"], h["lane"]) for h in hops] == [("main", "coder"), ("coder", "worker")]
    assert hops[0]["parent"] is None and hops[1]["parent"] == hops[0]["hop"]


async def test_no_supervisor_is_a_tool_error_not_a_second_supervisor(
    tmp_path: Any, tmux_socket: str
) -> None:
    env = {"LANEBOARD_LANE_TOKEN": "0" * 64,
           "LANEBOARD_CONTROL_SOCKET": str(tmp_path / "nothing.sock"),
           "LANEBOARD_STATE_DIR": str(tmp_path / "state"), "LANEBOARD_TMUX_SOCKET": tmux_socket}
    params = StdioServerParameters(command=sys.executable, args=["-m", "laneboard", "mcp"],
                                   env=env, cwd=str(tmp_path))
    async with Client(params, read_timeout_seconds=60) as client:
        err, text = await _call(client, "lanes", {})
    assert err and "no laneboard supervisor is listening" in text
    tmux = subprocess.run(["tmux", "-L", tmux_socket, "list-sessions"], capture_output=True,
                          check=False)
    assert tmux.returncode != 0  # no tmux server: nothing was started
