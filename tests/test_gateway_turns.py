"""Every lane turn through the gateway is a `turn` artifact (issue #14, item 8).

Real parts: the real Claude Code 2.1.328 (exec mode) → the gateway (in-process, on the
test's loop) → the Anthropic stand-in, with a lane registered the way `gateway_spec`
registers it (an artifacts folder). The model asks for an allowed command and a denied
one, then answers; the prompt carries a secret. What is checked: one `turn` artifact per
request the stand-in answered, each naming the lane, the model asked for and the one that
served, the tool calls by name, the refused call, the exact usage and the redaction count;
no secret in any artifact file; and `laneboard artifacts list --kind turn` lists them
(beside a conductor-style hop artifact of the same kind, which keeps working).
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from laneboard.artifacts import ArtifactRecord, ArtifactStore
from laneboard.standins import Reply, StandinServer
from tests.fixtures.gateway import RunningGateway
from tests.fixtures.tmux import async_wait_until
from tests.test_gateway_e2e import _claude_spec, _workdir

SECRET = "sk-ant-api03-" + "Hq7xT2vLm9Rk4Wp7Yc1Nb6Hd3Fg5Js0Ae" * 2 + "-ZyXwVu987AA"


def _turns(root: Path) -> list[dict[str, object]]:
    store = ArtifactStore(root, index=False)
    return [a.meta for a in store.iter_all() if a.kind == "turn"]


@pytest.mark.slow
async def test_claude_turns_become_turn_artifacts(
    standin: StandinServer, gateway: RunningGateway, tmp_path: Path
) -> None:
    from laneboard.harnesses.claude.harness import ClaudeCodeHarness

    workdir = _workdir(tmp_path)
    root = tmp_path / "arts"
    standin.script(
        replace(Reply.tool_call("Bash", {"command": "touch allowed.txt", "description": "ok"}),
                input_tokens=100, output_tokens=10),
        replace(Reply.tool_call("Bash", {"command": "touch canary.txt", "description": "no"},
                                call_id="toolu_2"), input_tokens=200, output_tokens=20),
        Reply.text("All done.", input_tokens=300, output_tokens=30),
    )
    url = gateway.route("coder", "claude-code", base_url=standin.url,
                        deny=["touch canary.txt"], artifacts=str(root))
    h = ClaudeCodeHarness(_claude_spec(url, workdir, tmp_path), state_dir=tmp_path / "state")
    result = await h.send(f"touch the files; the key is {SECRET}", timeout=120)
    assert (workdir / "allowed.txt").exists(), result
    assert not (workdir / "canary.txt").exists(), result

    answered = len(standin.calls("anthropic"))
    assert answered >= 2  # the refusal ends the turn (its stop reason becomes end_turn)
    await async_wait_until(lambda: len(_turns(root)) == answered, timeout=30)
    turns = _turns(root)
    assert {t["lane"] for t in turns} == {"coder"}
    assert all(t["state"] == "done" for t in turns), turns
    extras = [t["extra"] for t in turns]
    assert all(isinstance(e, dict) and e["source"] == "gateway" for e in extras)
    by_tools = {tuple(e["tool_calls"]): e for e in extras if isinstance(e, dict)}
    assert ("Bash",) in by_tools  # the allowed call, by name
    refused = [e for e in extras if isinstance(e, dict) and e["refused_calls"]]
    assert len(refused) == 1 and refused[0]["refused_calls"] == ["Bash"]
    for t in turns:
        e = t["extra"]
        assert isinstance(e, dict)
        assert e["requested_model"] == "claude-standin-1"  # what the CLI asked for
        assert e["served_model"] == "claude-standin-1" and t["model"] == "claude-standin-1"
        assert e["fallback_hops"] == []
    usage = sorted((t["usage"]["input_tokens"], t["usage"]["output_tokens"])  # type: ignore[index]
                   for t in turns if t.get("usage"))
    assert (100, 10) in usage and (200, 20) in usage
    # the prompt carried the secret: the wire redaction is counted, and no file holds it
    assert any(isinstance(t["extra"], dict) and t["extra"]["wire_redactions"] >= 1
               for t in turns)
    for path in root.rglob("*.md"):
        assert SECRET not in path.read_text(), path

    # `artifacts list --kind turn` lists them, beside a conductor hop artifact (same kind)
    hop = await ArtifactStore(root).write(ArtifactRecord(
        kind="turn", lane="coder", prompt="task", answer="hop answer",
        extra={"run": "r1", "hop": "h1", "caller": "main", "tool": "delegate"}))
    config = tmp_path / "laneboard.yaml"
    config.write_text(
        "version: 1\nlanes:\n  cmd: {role: helper, harness: command, command: [cat], fence: read-only}\n"
        f"artifacts: {{dir: {json.dumps(str(root))}}}\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "laneboard", "artifacts", "list", "--kind", "turn", "--json",
         "--limit", "100", "--config", str(config)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    listed = json.loads(done.stdout)["artifacts"]
    assert len(listed) == answered + 1
    assert hop.id in {a["id"] for a in listed}
    assert {a["kind"] for a in listed} == {"turn"}
