"""Every path that sends text to a model redacts it first — checked on what the model
endpoint actually received.

Real parts: the real `laneboard send` CLI in a subprocess and an in-process Supervisor
(the object the cockpit's prompt bar, ctrl+r / ctrl+t, dispatch, review and the helpers
all send through) driving a real Ollama-dialect HTTP lane against the stand-in endpoint.
The assertion is on the raw request bytes the stand-in recorded, so no formatting or
decoding on the way can hide a leak. The redaction happens in `Supervisor.send`, the one
choke point; a path that skipped it would fail here.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from laneboard.artifacts import ArtifactRecord, ArtifactStore
from laneboard.lanes.dispatch import dispatch
from laneboard.lanes.loading import load_file
from laneboard.lanes.router import Router
from laneboard.lanes.supervisor import Supervisor
from laneboard.standins import Reply, StandinServer

CONFIG = """\
version: 1
providers:
  ollama: {{harness: ollama, base_url: "{url}"}}
models:
  ollama/qwen3:7b: {{alias: small, tier: local}}
lanes:
  helper: {{role: helper, harness: ollama, model: small, fence: read-only}}
routing:
  default: helper
artifacts: {{dir: "{artifacts}"}}
"""


def secrets_and_text() -> tuple[list[str], str]:
    """Fresh secrets of several formats (random each run), and a prompt carrying them."""
    pw = "Pw" + secrets.token_hex(3)
    stripe = "sk_" + "live_" + secrets.token_urlsafe(24).replace("-", "a").replace("_", "b")
    hf = "hf_" + "".join(secrets.choice("abcdefghijkLMNOPQ") for _ in range(34))
    db = "Db" + secrets.token_hex(4)
    text = (
        f"please debug: postgres://app:{db}@db/app fails\n"
        f"export DB_PASSWORD={pw}\n"
        f"my stripe key is {stripe} and my token {hf}\n"
        f'payload: {json.dumps(json.dumps({"password": pw}))}\n'
    )
    return [pw, stripe, hf, db], text


def raw_requests(standin: StandinServer) -> bytes:
    return b"\n".join(call.raw for call in standin.calls())


def assert_no_secret(standin: StandinServer, values: list[str]) -> None:
    raw = raw_requests(standin)
    assert raw, "the model endpoint got no request"
    for v in values:
        assert v.encode() not in raw, f"{v!r} reached the model"
    assert b"[REDACTED:" in raw


@pytest.fixture
def config(tmp_path: Path, standin: StandinServer) -> Path:
    path = tmp_path / "laneboard.yaml"
    path.write_text(CONFIG.format(url=standin.url, artifacts=tmp_path / "artifacts"))
    return path


@pytest.fixture
def lb_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env = {"LANEBOARD_STATE_DIR": str(tmp_path / "state"),
           "LANEBOARD_TMUX_SOCKET": f"lb-redact-{secrets.token_hex(4)}"}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("LANEBOARD_CONFIG", raising=False)
    return {**os.environ, **env}


def test_laneboard_send_delivers_no_secret(
    config: Path, lb_env: dict[str, str], standin: StandinServer, tmp_path: Path
) -> None:
    values, text = secrets_and_text()
    standin.script(Reply.text("noted"), dialect="ollama")
    done = subprocess.run(
        [sys.executable, "-m", "laneboard", "send", "helper", "-", "--wait", "--json",
         "--config", str(config)],
        input=text, capture_output=True, text=True, env=lb_env, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["state"] == "done"
    assert_no_secret(standin, values)


@pytest.fixture
async def supervisor(config: Path, lb_env: dict[str, str], tmp_path: Path
                     ) -> AsyncIterator[Supervisor]:
    sup = Supervisor(load_file(str(config)), workspace=tmp_path)
    yield sup
    await sup.close()


async def test_dispatch_the_cockpit_path_delivers_no_secret_and_counts_it(
    supervisor: Supervisor, standin: StandinServer, tmp_path: Path
) -> None:
    values, text = secrets_and_text()
    standin.script(Reply.text("noted"), dialect="ollama")
    decision = Router(supervisor.cfg).route(text)
    done = await dispatch(supervisor, decision, timeout=60)
    assert done.result is not None and done.result.state == "done"
    assert_no_secret(standin, values)
    # The count rides on the turn and lands in the artifact's front matter.
    assert int(done.result.extra["prompt_redactions"]) >= len(values)  # type: ignore[call-overload]
    store = ArtifactStore(tmp_path / "artifacts", index=False)
    sent = standin.last_prompt("ollama") or ""  # the prompt as sent: already redacted
    record = ArtifactRecord.from_turn(done.result, kind="review", lane="helper", prompt=sent)
    prepared = store.prepare(record)
    front = prepared.data.decode()
    for v in values:
        assert v not in front
    redactions = next(line for line in front.splitlines() if line.startswith("redactions:"))
    assert int(redactions.split(":")[1]) >= len(values)


async def test_a_direct_send_the_escalation_path_delivers_no_secret(
    supervisor: Supervisor, standin: StandinServer
) -> None:
    """ctrl+r / ctrl+t and review call `Supervisor.send` directly, not dispatch."""
    values, text = secrets_and_text()
    standin.script(Reply.text("reviewed"), dialect="ollama")
    result = await supervisor.send("helper", f"Review this answer:\n{text}", timeout=60,
                                   route={"lane": "helper", "escalate": True})
    assert result.state == "done"
    assert_no_secret(standin, values)
