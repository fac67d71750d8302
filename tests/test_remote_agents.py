"""Remote agent lanes (issue 17): the REAL codex 0.169.0 and claude 2.1.328 on a lane's
host, over SSH — exec and interactive.

Real parts: a real sshd on 127.0.0.1 (tests/fixtures/sshd.py) is the "host"; the
supervisor's real ControlMaster; laneboard's real gateway (in the test's private tmux
server, on THIS machine's loopback); the Responses stand-in is the only model.

What they hold:
- a codex exec lane with `host: box` runs `codex exec` on the host, through a reverse
  forward: the lane's base URL names the HOST's port of the forward, not the gateway's
  (nor the stand-in's), and the stand-in still gets the prompt; the answer comes from the
  `-o` file on the host, read back through the link; the lane's CODEX_HOME is a private
  directory on the host (its rollout lands there, never in the local isolated home);
  `laneboard lanes status --json` and `laneboard send --json` (another process with its
  own link and forward) show the lane and its answer; stopping the lane closes the
  forward;
- a claude exec lane the same way (Anthropic stand-in): its PreToolUse fence hook's
  settings and deny list are files in laneboard's private dir ON THE HOST, and its
  transcript, read back through the link (bounded: a 64-byte read says it was cut),
  holds the answer;
- interactive claude and codex lanes in panes of the host's tmux: the answer comes from
  the transcript / rollout on the host, mirrored here over the master; after a killed
  master the lane is re-adopted (no restart, same reverse-forward port) and the next
  answer is the new one;
- the lane's binary is looked up on the host: `codex` is on this machine's PATH (the
  test's npm cache) but not on the host's login PATH, so a lane without an env PATH fails
  to start with "not found on host 'box'", and preflight's host.binaries says so, while
  this machine's `shutil.which("codex")` finds it;
- a fenced command lane on the host: preflight starts bubblewrap THERE (host.sandbox).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from laneboard.config import parse_config
from laneboard.lanes.preflight.hosts import host_checks
from laneboard.lanes.supervisor import Supervisor
from laneboard.standins import Reply, StandinServer
from tests.fixtures.sshd import Sshd, sshd  # noqa: F401  (the fixture)
from tests.fixtures.standins import standin  # noqa: F401  (the fixture)
from tests.fixtures.tmux import async_wait_until
from tests.test_remote_supervisor import remote_env  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.slow, pytest.mark.tmux]

NPM_BIN = Path(__file__).resolve().parents[1] / ".cache" / "npm" / "node_modules" / ".bin"
#: The PATH the lane gets ON THE HOST (its env), where the pinned codex is.
HOST_PATH = f"{NPM_BIN}:/usr/local/bin:/usr/bin:/bin"


def _config(sshd: Sshd, tmp: Path, base_url: str, *, lane_path: str | None) -> str:  # noqa: F811
    ws = tmp / "ws"
    ws.mkdir(exist_ok=True)
    path = f", PATH: \"{lane_path}\"" if lane_path else ""
    return textwrap.dedent(
        f"""\
        version: 1
        hosts:
          box: {{ssh: "{sshd.user}@127.0.0.1", port: {sshd.port}, identity_file: "{sshd.identity}"}}
        providers:
          standin: {{harness: codex, base_url: "{base_url}", api_key_env: LB_TEST_OPENAI_KEY}}
        models:
          standin/gpt-standin: {{alias: big, tier: orchestrator}}
        lanes:
          coder:
            role: coder
            harness: codex
            mode: exec
            model: big
            fence: read-only
            cwd: {ws}
            host: box
            worktree: false
            env: {{LB_TEST_OPENAI_KEY: sk-standin-remote{path}}}
        routing:
          default: coder
        artifacts: {{dir: {tmp / 'artifacts'}}}
        """
    )


def _cli(cfg_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "LANEBOARD_CONFIG"}
    return subprocess.run(
        [sys.executable, "-m", "laneboard.cli", *args, "--config", str(cfg_file)],
        cwd=cfg_file.parent, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


async def test_remote_codex_exec_lane_answers_through_a_reverse_forward(
    sshd: Sshd, remote_env: Path, standin: StandinServer  # noqa: F811
) -> None:
    tmp = remote_env
    assert NPM_BIN.joinpath("codex").exists(), "the pinned codex (scripts/test.sh installs it)"
    cfg_file = tmp / "laneboard.yaml"
    cfg_file.write_text(_config(sshd, tmp, standin.openai_base_url, lane_path=HOST_PATH))
    standin.script(Reply.text("REMOTE-ANSWER-7 from the stand-in"), dialect="responses")
    sup = Supervisor(parse_config(cfg_file.read_bytes(), str(cfg_file)), workspace=tmp)
    try:
        await sup.start(["coder"])
        rt = sup.lanes["coder"]
        assert rt.state == "ready", rt.last_error
        assert sup.gateway is not None
        spec = sup.spec_for(rt)
        assert spec.base_url is not None
        url = urlsplit(spec.base_url)
        link = sup.relays.links["box"]
        # the lane's URL is the host's end of a reverse forward to the gateway here
        assert url.hostname == "127.0.0.1"
        assert url.port not in (sup.gateway.port, standin.port)
        assert link.reverse_ports() == {url.port: sup.gateway.port}

        result = await sup.send("coder", "say the remote word", timeout=240)
        assert result.state == "done", result.error
        assert "REMOTE-ANSWER-7" in result.reply, result
        assert any("say the remote word" in p for p in standin.prompts("responses"))

        # codex ran with a CODEX_HOME on the host: its rollout is there, not here
        harness = rt.harness
        assert harness is not None
        remote_home = Path(harness.remote_env()["CODEX_HOME"])  # type: ignore[attr-defined]
        local_home = Path(harness.codex_home)  # type: ignore[attr-defined]
        assert remote_home != local_home
        assert list(remote_home.glob("sessions/**/rollout-*.jsonl")), remote_home
        assert not list(local_home.glob("sessions/**/rollout-*.jsonl"))
        assert (remote_home / "rules").is_dir()  # the fences.deny execpolicy went along
        assert str(remote_home).startswith(str(Path.home() / ".cache" / "laneboard" / "run"))
        assert (remote_home.stat().st_mode & 0o077) == 0

        # another process: `lanes status` sees the lane; `send` runs it with its own link
        out = _cli(cfg_file, "lanes", "status", "--json")
        assert out.returncode == 0, out.stderr
        row = {r["id"]: r for r in json.loads(out.stdout)["lanes"]}["coder"]
        assert row["state"] == "ready" and row["harness"] == "codex", row
        standin.script(Reply.text("SECOND-REMOTE-ANSWER"), dialect="responses")
        sent = _cli(cfg_file, "send", "coder", "and once more", "--wait", "--json")
        assert sent.returncode == 0, sent.stdout + sent.stderr
        assert "SECOND-REMOTE-ANSWER" in sent.stdout, sent.stdout

        port = url.port
        await sup.stop_lane("coder")
        assert link.reverse_ports() == {}

        async def refused() -> bool:
            import asyncio

            try:
                _r, w = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                return True
            w.close()
            return False

        await async_wait_until(refused, timeout=30)
    finally:
        await sup.close()


CLAUDE_KEY = "sk-ant-standin-remote-0123456789abcdef"


async def test_remote_claude_exec_lane_answers_with_its_hook_and_transcript_on_the_host(
    sshd: Sshd, remote_env: Path, standin: StandinServer  # noqa: F811
) -> None:
    from laneboard.harnesses.claude.launch import seed_isolated_config
    from laneboard.harnesses.claude.transcript import project_dir_name
    from laneboard.harnesses.remote_host import RemoteHost
    from laneboard.harnesses.remote_tmux import RemoteTmuxRelay

    tmp = remote_env
    ws = tmp / "ws"
    ws.mkdir()
    config_dir = tmp / "claude-config"  # a path on the host (the same machine here)
    seed_isolated_config(config_dir, ws, api_key=CLAUDE_KEY)
    cfg_file = tmp / "laneboard.yaml"
    cfg_file.write_text(textwrap.dedent(
        f"""\
        version: 1
        hosts:
          box: {{ssh: "{sshd.user}@127.0.0.1", port: {sshd.port}, identity_file: "{sshd.identity}"}}
        providers:
          anth: {{harness: claude-code, base_url: "{standin.url}", api_key_env: LB_TEST_ANTHROPIC_KEY}}
        models:
          anth/claude-standin-1: {{alias: cs, tier: orchestrator}}
        fences:
          deny: ["rm -rf"]
        lanes:
          rev:
            role: coder
            harness: claude-code
            mode: exec
            model: cs
            fence: read-only
            cwd: {ws}
            host: box
            worktree: false
            env: {{LB_TEST_ANTHROPIC_KEY: {CLAUDE_KEY}, PATH: "{HOST_PATH}",
                   CLAUDE_CONFIG_DIR: "{config_dir}", CLAUDE_CODE_MAX_RETRIES: "0"}}
        routing:
          default: rev
        artifacts: {{dir: {tmp / 'artifacts'}}}
        """
    ))  # fmt: skip
    standin.script(Reply.text("CLAUDE-REMOTE-ANSWER 11"), dialect="anthropic")
    sup = Supervisor(parse_config(cfg_file.read_bytes(), str(cfg_file)), workspace=tmp)
    try:
        await sup.start(["rev"])
        rt = sup.lanes["rev"]
        assert rt.state == "ready", rt.last_error
        assert sup.gateway is not None
        url = urlsplit(sup.spec_for(rt).base_url or "")
        assert url.port not in (None, sup.gateway.port, standin.port)
        link = sup.relays.links["box"]
        assert link.reverse_ports() == {url.port: sup.gateway.port}

        result = await sup.send("rev", "answer from the host", timeout=240)
        assert result.state == "done", result.error
        assert "CLAUDE-REMOTE-ANSWER 11" in result.reply, result
        assert any("answer from the host" in p for p in standin.prompts("anthropic"))

        relay = sup.relay_for(rt)
        assert isinstance(relay, RemoteTmuxRelay)
        host = RemoteHost(relay)
        state = await host.state_dir()
        # the fence hook ran from files on the host, in laneboard's private dir there
        settings = await host.read_file(f"{state}/claude-hooks/rev/settings.json")
        assert settings is not None and "pre-tool-use" in settings.text
        deny = await host.read_file(f"{state}/claude-hooks/rev/deny.json")
        assert deny is not None and json.loads(deny.text) == {"deny": ["rm -rf"]}
        # the transcript is on the host; read back through the link, it holds the answer
        session = str(result.extra["session_id"])
        path = f"{config_dir}/projects/{project_dir_name(str(ws))}/{session}.jsonl"
        transcript = await host.read_file(path)
        assert transcript is not None and not transcript.truncated
        assert "CLAUDE-REMOTE-ANSWER 11" in transcript.text
        cut = await host.read_file(path, limit=64)
        assert cut is not None and cut.truncated and len(cut.text.encode()) <= 64
    finally:
        await sup.close()


async def test_remote_interactive_claude_lane_reads_its_transcript_through_the_link(
    sshd: Sshd, remote_env: Path, standin: StandinServer  # noqa: F811
) -> None:
    """Claude Code in a pane of the host's tmux; the answer comes from its transcript on
    the host, mirrored here over the master (`remote_files.RemoteMirror`). After the
    master is killed the lane is re-adopted (same pane), the mirror restarts, and the
    next answer is read the same way."""
    import os
    import signal

    from laneboard.harnesses.claude.launch import seed_isolated_config

    tmp = remote_env
    ws = tmp / "ws"
    ws.mkdir()
    config_dir = tmp / "claude-config"
    seed_isolated_config(config_dir, ws, api_key=CLAUDE_KEY)
    cfg_file = tmp / "laneboard.yaml"
    cfg_file.write_text(textwrap.dedent(
        f"""\
        version: 1
        hosts:
          box: {{ssh: "{sshd.user}@127.0.0.1", port: {sshd.port}, identity_file: "{sshd.identity}"}}
        providers:
          anth: {{harness: claude-code, base_url: "{standin.url}", api_key_env: LB_TEST_ANTHROPIC_KEY}}
        models:
          anth/claude-standin-1: {{alias: cs, tier: orchestrator}}
        lanes:
          rev:
            role: reviewer
            harness: claude-code
            model: cs
            fence: plan
            cwd: {ws}
            host: box
            worktree: false
            env: {{LB_TEST_ANTHROPIC_KEY: {CLAUDE_KEY}, PATH: "{HOST_PATH}",
                   CLAUDE_CONFIG_DIR: "{config_dir}", CLAUDE_CODE_MAX_RETRIES: "0"}}
        routing:
          default: rev
        artifacts: {{dir: {tmp / 'artifacts'}}}
        """
    ))  # fmt: skip
    standin.script(Reply.text("PANE-ANSWER-ONE"), Reply.text("PANE-ANSWER-TWO"),
                   dialect="anthropic")
    sup = Supervisor(parse_config(cfg_file.read_bytes(), str(cfg_file)), workspace=tmp)
    try:
        await sup.start(["rev"])
        rt = sup.lanes["rev"]
        assert rt.state == "ready", rt.last_error
        harness = rt.harness
        assert harness is not None and harness.mirror is not None  # type: ignore[attr-defined]
        mirror = harness.mirror  # type: ignore[attr-defined]
        assert mirror.remote_path.startswith(str(config_dir))
        first = await sup.send("rev", "first question over ssh", timeout=240)
        assert first.state == "done", first.error
        assert "PANE-ANSWER-ONE" in first.reply, first
        assert mirror.path.read_text().count("PANE-ANSWER-ONE") >= 1

        link = sup.relays.links["box"]
        master = link.master_pid
        assert master is not None
        os.kill(master, signal.SIGKILL)
        await async_wait_until(
            lambda: rt.harness is not None and rt.harness is not harness and rt.state == "ready",
            timeout=120,
        )
        assert rt.harness is not None and rt.harness.adopted and rt.restarts == 0
        assert not mirror.path.exists()  # the old harness let go of its mirror
        second = await sup.send("rev", "second question after the drop", timeout=240)
        assert second.state == "done", second.error
        assert "PANE-ANSWER-TWO" in second.reply and "PANE-ANSWER-ONE" not in second.reply
        prompts = standin.prompts("anthropic")
        assert any("second question after the drop" in p for p in prompts), prompts
    finally:
        await sup.close()


async def test_remote_interactive_codex_lane_reads_its_rollout_through_the_link(
    sshd: Sshd, remote_env: Path, standin: StandinServer  # noqa: F811
) -> None:
    """Codex in a pane of the host's tmux, its CODEX_HOME (trust seeded) on the host; the
    rollout is found THERE (`find` over the link) and mirrored here; after a dropped
    master the lane is re-adopted and its next answer is not the old one."""
    import os
    import signal

    tmp = remote_env
    cfg_file = tmp / "laneboard.yaml"
    cfg_file.write_text(
        _config(sshd, tmp, standin.openai_base_url, lane_path=HOST_PATH)
        .replace("    mode: exec\n", "")
    )
    standin.script(Reply.text("ROLLOUT-ONE"), Reply.text("ROLLOUT-TWO"), dialect="responses")
    sup = Supervisor(parse_config(cfg_file.read_bytes(), str(cfg_file)), workspace=tmp)
    try:
        await sup.start(["coder"])
        rt = sup.lanes["coder"]
        assert rt.state == "ready", rt.last_error
        assert rt.config.mode == "interactive"
        first = await sup.send("coder", "first codex question over ssh", timeout=240)
        assert first.state == "done", first.error
        assert "ROLLOUT-ONE" in first.reply, first
        harness = rt.harness
        assert harness is not None and harness.mirror is not None  # type: ignore[attr-defined]
        remote_home = harness.remote_env()["CODEX_HOME"]  # type: ignore[attr-defined]
        assert harness.mirror.remote_path.startswith(f"{remote_home}/sessions/")  # type: ignore[attr-defined]
        local_home = Path(harness.codex_home)  # type: ignore[attr-defined]
        assert not list(local_home.glob("sessions/**/rollout-*.jsonl"))

        link = sup.relays.links["box"]
        forwards = link.reverse_ports()
        assert len(forwards) == 1
        master = link.master_pid
        assert master is not None
        os.kill(master, signal.SIGKILL)
        await async_wait_until(
            lambda: rt.harness is not None and rt.harness is not harness and rt.state == "ready",
            timeout=120,
        )
        assert rt.harness is not None and rt.harness.adopted and rt.restarts == 0
        # the new master asked for the same host port: the running pane's base URL holds
        assert link.reverse_ports() == forwards and link.master_pid not in (None, master)
        second = await sup.send("coder", "second codex question", timeout=240)
        assert second.state == "done", second.error
        assert "ROLLOUT-TWO" in second.reply and "ROLLOUT-ONE" not in second.reply, second
    finally:
        await sup.close()


async def test_a_binary_present_here_but_not_on_the_host_is_missing_for_the_remote_lane(
    sshd: Sshd, remote_env: Path, standin: StandinServer  # noqa: F811
) -> None:
    tmp = remote_env
    assert shutil.which("codex") is not None  # on THIS machine's PATH (tests/conftest.py)
    cfg_file = tmp / "laneboard.yaml"
    cfg_file.write_text(_config(sshd, tmp, standin.openai_base_url, lane_path=None))
    loaded = parse_config(cfg_file.read_bytes(), str(cfg_file))

    sup = Supervisor(loaded, workspace=tmp)
    try:
        await sup.start(["coder"])
        rt = sup.lanes["coder"]
        assert rt.state == "failed"
        assert "not found on host 'box'" in (rt.last_error or ""), rt.last_error
        assert standin.prompts("responses") == []
    finally:
        await sup.close()

    checks = await host_checks(loaded, offline=False, timeout=30,
                               targets={"box": sshd.target("box")})
    binaries = [c for c in checks if c.id == "host.binaries"]
    assert [(c.status, c.subject) for c in binaries] == [("fail", "lanes.coder")], checks
    assert "not on host 'box'" in binaries[0].message

    # with the lane's env PATH naming where codex is on the host: found there, versioned
    cfg_file.write_text(_config(sshd, tmp, standin.openai_base_url, lane_path=HOST_PATH))
    ok = await host_checks(parse_config(cfg_file.read_bytes(), str(cfg_file)), offline=False,
                           timeout=30, targets={"box": sshd.target("box")})
    found = [c for c in ok if c.id == "host.binaries"]
    assert [c.status for c in found] == ["ok"] and "codex-cli 0.169.0" in found[0].message


def test_laneboard_preflight_checks_a_remote_lanes_binary_on_its_host_not_here(
    sshd: Sshd, remote_env: Path, standin: StandinServer  # noqa: F811
) -> None:
    """The real `laneboard preflight --json` process: a config whose only codex lane runs
    on the host has no local `cli.installed` check for codex (it would say ok: codex is
    on this machine's PATH) and a failing host.binaries for the lane."""
    tmp = remote_env
    cfg_file = tmp / "laneboard.yaml"
    cfg_file.write_text(_config(sshd, tmp, standin.openai_base_url, lane_path=None))
    out = _cli(cfg_file, "preflight", "--json")
    doc = json.loads(out.stdout)
    checks = doc["checks"] if isinstance(doc, dict) else doc
    by_id: dict[str, list[dict[str, str]]] = {}
    for c in checks:
        by_id.setdefault(c["id"], []).append(c)
    assert [c["subject"] for c in by_id.get("cli.installed", [])] == [], by_id["cli.installed"]
    assert [(c["status"], c["subject"]) for c in by_id["host.binaries"]] == [
        ("fail", "lanes.coder")
    ], by_id["host.binaries"]
    assert by_id["host.reachable"][0]["status"] == "ok"


async def test_a_fenced_command_lane_has_its_sandbox_started_on_the_host(
    sshd: Sshd, remote_env: Path  # noqa: F811
) -> None:
    tmp = remote_env
    sshd.trust_host_key()
    text = textwrap.dedent(
        f"""\
        version: 1
        hosts:
          box: {{ssh: "{sshd.user}@127.0.0.1", port: {sshd.port}, identity_file: "{sshd.identity}"}}
        lanes:
          sh:
            role: helper
            harness: command
            command: [cat]
            fence: read-only
            cwd: {tmp}
            host: box
        """
    )
    checks = await host_checks(parse_config(text.encode(), str(tmp / "x.yaml")),
                               offline=False, timeout=30, targets={"box": sshd.target("box")})
    sandbox = [c for c in checks if c.id == "host.sandbox"]
    assert [c.status for c in sandbox] == ["ok"], checks
    assert "bwrap" in sandbox[0].message and "on box" in sandbox[0].message

