"""`laneboard lanes start|stop|restart --json` and `laneboard lanes model LANE REF`.

Real CLI subprocesses, real lanes (Ollama-harness lanes on a stand-in endpoint, a command
lane in real tmux on a private socket), the real state file shared between the processes.
`lanes model` is the cockpit's `/model` on the command line: strict (the choice alone, no
fallback), refused with exit 2 outside the allowlist, kept for every later process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from laneboard.standins import Reply, StandinServer

pytestmark = pytest.mark.tmux

CONFIG = """\
version: 1
tmux: {{socket: {socket}, session: lb}}
providers:
  ollama: {{harness: ollama, base_url: "{url}"}}
models:
  ollama/big:70b: {{alias: big, tier: orchestrator}}
  ollama/bigger:120b: {{alias: bigger, tier: orchestrator}}
  ollama/qwen3:7b: {{alias: small, tier: local}}
lanes:
  main: {{role: orchestrator, harness: ollama, model: big, fallbacks: [small]}}
  shell:
    role: helper
    harness: command
    command: [{python}, -u, -c, "import sys; print('READY>', flush=True); sys.stdin.read()"]
    ready: "READY>\\\\s*$"
  broken: {{role: helper, harness: command, command: [/nonexistent/program]}}
"""


@pytest.fixture
def env(tmp_path: Path, tmux_socket: str, standin: StandinServer) -> dict[str, str]:
    standin.models = ("big:70b", "bigger:120b", "qwen3:7b")
    (tmp_path / "laneboard.yaml").write_text(
        CONFIG.format(socket=tmux_socket, url=standin.url, python=sys.executable)
    )
    e = {**os.environ, "LANEBOARD_STATE_DIR": str(tmp_path / "state"), "HOME": str(tmp_path),
         "LANEBOARD_TMUX_SOCKET": tmux_socket}  # fmt: skip
    e.pop("LANEBOARD_CONFIG", None)
    return e


def lb(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "laneboard", *args, "--config", str(tmp_path / "laneboard.yaml")],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )  # fmt: skip


def test_start_stop_restart_json(tmp_path: Path, env: dict[str, str]) -> None:
    started = lb(tmp_path, env, "lanes", "start", "shell", "--json")
    assert started.returncode == 0, started.stderr
    doc = json.loads(started.stdout)  # one JSON document, no progress lines mixed in
    assert doc["action"] == "start"
    (row,) = doc["lanes"]
    assert (row["id"], row["state"], row["harness"]) == ("shell", "ready", "command")
    assert isinstance(row["pid"], int)

    restarted = lb(tmp_path, env, "lanes", "restart", "shell", "--json")
    assert restarted.returncode == 0, restarted.stderr
    (again,) = json.loads(restarted.stdout)["lanes"]
    assert again["state"] == "ready" and again["pid"] != row["pid"]

    stopped = lb(tmp_path, env, "lanes", "stop", "--all", "--json")
    assert stopped.returncode == 0, stopped.stderr
    doc = json.loads(stopped.stdout)
    assert doc["action"] == "stop"
    assert {r["id"]: r["state"] for r in doc["lanes"]} == {
        "main": "stopped", "shell": "stopped", "broken": "stopped",
    }  # fmt: skip


def test_a_failed_start_is_exit_1_with_the_json_still_whole(tmp_path: Path, env: dict[str, str]) -> None:
    done = lb(tmp_path, env, "lanes", "start", "broken", "--json")
    assert done.returncode == 1
    (row,) = json.loads(done.stdout)["lanes"]
    assert row["state"] == "failed" and row["last_error"]
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("lane", "ref", "message"),
    [
        ("main", "openai/gpt-9", "Model is not allowed"),
        ("main", "ollama/qwen3:14b", "Model is not allowed"),
        ("nosuch", "big", "no lane named 'nosuch'"),
        ("shell", "big", "is a command lane"),
    ],
)
def test_model_outside_the_allowlist_is_refused(
    tmp_path: Path, env: dict[str, str], lane: str, ref: str, message: str
) -> None:
    done = lb(tmp_path, env, "lanes", "model", lane, ref, "--json")
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert message in done.stderr and done.stdout == ""
    assert "Traceback" not in done.stderr
    status = json.loads(lb(tmp_path, env, "lanes", "status", "--json").stdout)
    main = next(r for r in status["lanes"] if r["id"] == "main")
    assert (main["model"], main["explicit"]) == ("ollama/big:70b", False)


def test_model_switch_is_kept_strict_and_used_by_the_next_process(
    tmp_path: Path, env: dict[str, str], standin: StandinServer
) -> None:
    done = lb(tmp_path, env, "lanes", "model", "main", "bigger", "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert (doc["key"], doc["model"], doc["explicit"], doc["applied"]) == (
        "ollama/bigger:120b", "ollama/bigger:120b", True, "next start",
    )  # fmt: skip
    # another process sends: it runs on the chosen model
    standin.script(Reply.text("from bigger"))
    sent = lb(tmp_path, env, "send", "main", "hello", "--wait", "--json")
    assert sent.returncode == 0, sent.stderr
    assert json.loads(sent.stdout)["reply"] == "from bigger"
    assert [c.model for c in standin.calls()] == ["bigger:120b"]
    # strict: when the chosen model fails, the turn fails visibly — no fallback to `small`
    standin.script(Reply.error(500, "overloaded"), Reply.error(500, "overloaded"), Reply.error(500, "overloaded"))
    failed = lb(tmp_path, env, "send", "main", "again", "--wait", "--json")
    assert failed.returncode == 1
    assert "qwen3:7b" not in [c.model for c in standin.calls()]


def test_model_switch_of_a_running_lane_restarts_it_on_the_model(
    tmp_path: Path, env: dict[str, str], standin: StandinServer
) -> None:
    assert lb(tmp_path, env, "lanes", "start", "main").returncode == 0
    done = lb(tmp_path, env, "lanes", "model", "main", "ollama/bigger:120b", "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert (doc["applied"], doc["state"], doc["model"]) == ("restarted", "ready", "ollama/bigger:120b")
    plain = lb(tmp_path, env, "lanes", "model", "main", "big")
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.startswith("main: model ollama/big:70b (explicit, no fallback)")
