"""Delegation from a lane on another host (issues 15 + 17): the REAL codex 0.169.0 runs
`codex exec` as the orchestrator `main` on the host, starts the REAL `laneboard mcp`
THERE, which reaches the supervisor's control socket HERE through an SSH reverse forward
of the unix socket; `main` delegates to a local command lane and the answer comes back.

Real parts: a real sshd on 127.0.0.1 (tests/fixtures/sshd.py) is the host; the
supervisor's real ControlMaster and its `ssh -O forward -R host-socket:local-socket`; the
real control server in an in-process Supervisor; the conductor's command-lane program in
a private tmux server; laneboard's gateway. Only the model is a stand-in, scripted to
call laneboard's tools.

What they hold:
- the lane's spec names the HOST's socket (in a 0700 `conductor` folder of laneboard's
  private state dir there, the socket itself 0600), never this machine's; the delegate's
  answer is the tool result the stand-in sees; the hop is main → coder;
- a refusal still names its rule from the host (`fence`: a lane wider than main's own);
- the token is not on the host's command line (codex gets it through `env_vars`);
- `laneboard send` (another process, its own link) delegates through its own forward to
  the same running conductor, and closes it when it exits;
- stopping the lane closes the forward and removes the socket file on the host;
- with no laneboard on the host (LANEBOARD_PYTHON names an interpreter without it) the
  lane starts and answers without laneboard's tools, says so once (its last error), and
  preflight's host.conductor says so before the start.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from laneboard.conductor import start_control_server
from laneboard.config import parse_config
from laneboard.lanes.supervisor import Supervisor
from laneboard.standins import Reply, StandinServer
from tests.fixtures.conductor import LANE_SCRIPT
from tests.fixtures.sshd import Sshd, sshd  # noqa: F401  (the fixture)
from tests.fixtures.standins import standin  # noqa: F401  (the fixture)
from tests.fixtures.tmux import async_wait_until
from tests.test_remote_agents import HOST_PATH, NPM_BIN, _cli
from tests.test_remote_supervisor import remote_env  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.slow, pytest.mark.tmux]

#: An interpreter without laneboard (Debian's own python3): "laneboard is not installed".
BARE_PYTHON = "/usr/bin/python3"


@pytest.fixture
def short_state(remote_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:  # noqa: F811
    """A short state dir: the control socket's path must fit a unix socket (107 bytes)."""
    state = Path(tempfile.mkdtemp(prefix="lbr"))
    os.chmod(state, 0o700)
    monkeypatch.setenv("LANEBOARD_STATE_DIR", str(state))
    yield remote_env
    shutil.rmtree(state, ignore_errors=True)


def config_text(sshd: Sshd, tmp: Path, base_url: str, main_env: str = "") -> str:  # noqa: F811
    ws = tmp / "ws"
    ws.mkdir(exist_ok=True)
    lane = (f"    harness: command\n    command: [{sys.executable}, -u, {LANE_SCRIPT}]\n"
            "    ready: \"READY>\\\\s*\\\\Z\"\n    fence: full\n"
            f"    cwd: {ws}\n    worktree: false\n")
    return textwrap.dedent(
        f"""\
        version: 1
        tmux: {{session: lbrc}}
        hosts:
          box: {{ssh: "{sshd.user}@127.0.0.1", port: {sshd.port}, identity_file: "{sshd.identity}"}}
        providers:
          standin: {{harness: codex, base_url: "{base_url}", api_key_env: LB_TEST_OPENAI_KEY}}
        models:
          standin/gpt-standin: {{alias: big, tier: orchestrator}}
        lanes:
          main:
            role: orchestrator
            harness: codex
            mode: exec
            model: big
            fence: read-only
            cwd: {ws}
            host: box
            worktree: false
            delegate_wider: [coder]
            env: {{LB_TEST_OPENAI_KEY: sk-standin-remote, PATH: "{HOST_PATH}"{main_env}}}
        """
    ) + (
        "  coder:\n    role: coder\n" + lane
        + f"    env: {{LANEBOARD_LANE: coder, PYTHONPATH: {Path(__file__).parents[1]}}}\n"
        + "  wide:\n    role: coder\n" + lane
        + f"    env: {{LANEBOARD_LANE: wide, PYTHONPATH: {Path(__file__).parents[1]}}}\n"
        + f"routing:\n  default: main\nartifacts: {{dir: {tmp / 'artifacts'}}}\n"
    )


def _outputs(body: Any) -> list[str]:
    """The function-call outputs a Responses request carries back to the model."""
    found = []
    for item in (body.get("input") if isinstance(body, dict) else None) or []:
        if isinstance(item, dict) and str(item.get("type", "")).endswith("call_output"):
            out = item.get("output")
            found.append(out if isinstance(out, str) else json.dumps(out))
    return found


def _mcp_tools(body: Any) -> list[str]:
    return [x.get("name") for t in body.get("tools", []) if t.get("type") == "namespace"
            and t.get("name") == "mcp__laneboard" for x in t.get("tools", [])]


async def test_remote_codex_main_delegates_to_a_local_lane_through_a_forwarded_socket(
    sshd: Sshd, short_state: Path, standin: StandinServer  # noqa: F811
) -> None:
    assert NPM_BIN.joinpath("codex").exists(), "the pinned codex (scripts/test.sh installs it)"
    tmp = short_state
    cfg_file = tmp / "laneboard.yaml"
    cfg_file.write_text(config_text(sshd, tmp, standin.openai_base_url))
    from laneboard.config import load_config
    from laneboard.lanes.preflight.hosts import host_checks

    checks = await host_checks(load_config(str(cfg_file)), offline=False, timeout=30.0)
    [ok] = [c for c in checks if c.id == "host.conductor"]
    assert ok.status == "ok" and ok.subject == "lanes.main", ok
    sup = Supervisor(parse_config(cfg_file.read_bytes(), str(cfg_file)), workspace=tmp)
    control = await start_control_server(sup)
    try:
        await sup.start(["main", "coder", "wide"])
        rt = sup.lanes["main"]
        assert rt.state == "ready", rt.last_error
        link = sup.relays.links["box"]
        spec = sup.spec_for(rt)
        host_socket = spec.control_socket
        # the host's socket, forwarded to the control socket here — never our own path
        assert host_socket is not None and host_socket != str(control.path)
        assert link.reverse_sockets() == {host_socket: str(control.path)}
        folder = Path(host_socket).parent  # the host is this machine: stat it
        assert folder.name == "conductor" and stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert stat.S_ISSOCK(os.stat(host_socket).st_mode)
        assert stat.S_IMODE(os.stat(host_socket).st_mode) & 0o077 == 0

        standin.script(
            Reply.tool_call("delegate", {"task": "write the parser", "lane": "coder"},
                            call_id="call_r1", namespace="mcp__laneboard"),
            Reply.text("main: the coder wrote it"),
            dialect="responses",
        )
        turn = await sup.send("main", "get the parser written", timeout=240)
        calls = standin.calls("responses")
        assert turn.state == "done", (turn.error, [c.body for c in calls])
        assert "delegate" in _mcp_tools(calls[0].body), calls[0].body.get("tools")
        outputs = _outputs(calls[-1].body)
        assert any("answer[coder]: write the parser" in o for o in outputs), outputs
        assert turn.reply == "main: the coder wrote it"
        [run] = control.runs.values()
        [hop] = [control.hops[h] for h in run.hops]
        assert (hop.caller, hop.lane, hop.state) == ("main", "coder", "done")

        # a refusal from the host still names its rule
        standin.script(
            Reply.tool_call("delegate", {"task": "format the disk", "lane": "wide"},
                            call_id="call_r2", namespace="mcp__laneboard"),
            Reply.text("main: refused, adapting"),
            dialect="responses",
        )
        turn = await sup.send("main", "hand it to wide", timeout=240)
        assert turn.state == "done", turn.error
        outputs = _outputs(standin.calls("responses")[-1].body)
        assert any("refused by rule 'fence'" in o for o in outputs), outputs
        assert not any(h.lane == "wide" for h in control.hops.values())

        # another process (`laneboard send`, its own link): its own forward, to the same
        # running conductor; closed with that process (only ours is left on the host)
        standin.script(
            Reply.tool_call("delegate", {"task": "write the docs", "lane": "coder"},
                            call_id="call_r3", namespace="mcp__laneboard"),
            Reply.text("main: docs delegated from the CLI"),
            dialect="responses",
        )
        sent = await asyncio.to_thread(_cli, cfg_file, "send", "main", "docs please",
                                       "--wait", "--json")
        assert sent.returncode == 0, sent.stdout + sent.stderr
        assert "docs delegated from the CLI" in sent.stdout, sent.stdout
        outputs = _outputs(standin.calls("responses")[-1].body)
        assert any("answer[coder]: write the docs" in o for o in outputs), outputs
        assert sorted(p.name for p in folder.iterdir()) == [Path(host_socket).name]

        # the token never reaches the host's command line
        from laneboard.harnesses.codex.launch import build_exec_argv

        argv = build_exec_argv(spec, output_file="/x", prompt="p", remote_python="py")
        assert spec.lane_token and not any(spec.lane_token in a for a in argv)
        assert any('env_vars=["LANEBOARD_LANE_TOKEN"]' in a for a in argv)

        # the forward closes with the last lane that used it, and its file goes
        await sup.stop_lane("main")
        assert link.reverse_sockets() == {}
        assert not os.path.exists(host_socket)
    finally:
        await control.close()
        await sup.close()


async def test_remote_lane_without_laneboard_on_its_host_starts_without_the_tools(
    sshd: Sshd, short_state: Path, standin: StandinServer  # noqa: F811
) -> None:
    bare = subprocess.run([BARE_PYTHON, "-I", "-c", "import laneboard"], capture_output=True,
                          check=False, cwd="/")
    assert bare.returncode != 0, f"{BARE_PYTHON} must not have laneboard for this test"
    tmp = short_state
    cfg_file = tmp / "laneboard.yaml"
    cfg_file.write_text(config_text(sshd, tmp, standin.openai_base_url,
                                    main_env=f", LANEBOARD_PYTHON: {BARE_PYTHON}"))
    from laneboard.config import load_config
    from laneboard.lanes.preflight.hosts import host_checks

    checks = await host_checks(load_config(str(cfg_file)), offline=False, timeout=30.0)
    [conductor] = [c for c in checks if c.id == "host.conductor"]
    assert conductor.status == "warn" and "LANEBOARD_PYTHON" in conductor.message, conductor

    sup = Supervisor(parse_config(cfg_file.read_bytes(), str(cfg_file)), workspace=tmp)
    control = await start_control_server(sup)
    try:
        await sup.start(["main"])
        rt = sup.lanes["main"]
        assert rt.state == "ready", rt.last_error
        standin.script(Reply.text("main: on my own"), dialect="responses")
        turn = await sup.send("main", "work alone", timeout=240)
        assert turn.state == "done", turn.error
        assert turn.reply == "main: on my own"
        assert _mcp_tools(standin.calls("responses")[-1].body) == []
        await async_wait_until(lambda: "without laneboard's tools" in (rt.last_error or ""),
                               timeout=30)
        assert BARE_PYTHON in (rt.last_error or "")
    finally:
        await control.close()
        await sup.close()


CLAUDE_KEY = "sk-ant-standin-remote-0123456789abcdef"


def _tool_results(body: Any) -> list[str]:
    """The text of every `tool_result` block a Messages request carries back."""
    out = []
    for msg in body.get("messages", []) if isinstance(body, dict) else []:
        for block in msg.get("content", []) if isinstance(msg.get("content"), list) else []:
            if isinstance(block, dict) and block.get("type") == "tool_result":
                out.append(json.dumps(block.get("content")))
    return out


async def test_remote_claude_main_delegates_with_its_mcp_config_on_the_host(
    sshd: Sshd, short_state: Path, standin: StandinServer  # noqa: F811
) -> None:
    """claude -p on the host: its `--mcp-config` is a 0600 file in laneboard's private
    dir THERE (the token inside, never argv), naming the host's socket."""
    from laneboard.harnesses.claude.launch import seed_isolated_config
    from laneboard.harnesses.remote_host import RemoteHost
    from laneboard.harnesses.remote_tmux import RemoteTmuxRelay

    tmp = short_state
    ws = tmp / "ws"
    ws.mkdir()
    config_dir = tmp / "claude-config"  # a path on the host (the same machine here)
    seed_isolated_config(config_dir, ws, api_key=CLAUDE_KEY)
    text = config_text(sshd, tmp, standin.openai_base_url)
    head, _, rest = text.partition("lanes:\n")
    _main, _, others = rest.partition("  coder:\n")
    cfg_file = tmp / "laneboard.yaml"
    cfg_file.write_text(
        head.replace("providers:\n", "providers:\n  anth: {harness: claude-code, base_url: "
                     f"\"{standin.url}\", api_key_env: LB_TEST_ANTHROPIC_KEY}}\n")
        .replace("models:\n", "models:\n  anth/claude-standin-1: {alias: cs, tier: orchestrator}\n")
        + "lanes:\n" + textwrap.indent(textwrap.dedent(f"""\
            main:
              role: orchestrator
              harness: claude-code
              mode: exec
              model: cs
              fence: plan
              cwd: {ws}
              host: box
              worktree: false
              delegate_wider: [coder]
              env: {{LB_TEST_ANTHROPIC_KEY: {CLAUDE_KEY}, PATH: "{HOST_PATH}",
                     CLAUDE_CONFIG_DIR: "{config_dir}", CLAUDE_CODE_MAX_RETRIES: "0"}}
            """), "  ")
        + "  coder:\n" + others
    )
    sup = Supervisor(parse_config(cfg_file.read_bytes(), str(cfg_file)), workspace=tmp)
    control = await start_control_server(sup)
    try:
        await sup.start(["main", "coder"])
        rt = sup.lanes["main"]
        assert rt.state == "ready", rt.last_error
        standin.script(
            Reply.tool_call("mcp__laneboard__delegate",
                            {"task": "write the lexer", "lane": "coder"}, call_id="c1"),
            Reply.text("main: the coder wrote the lexer"),
            dialect="anthropic",
        )
        turn = await sup.send("main", "get the lexer written", timeout=240)
        calls = standin.calls("anthropic")
        assert turn.state == "done", (turn.error, [c.body for c in calls])
        results = _tool_results(calls[-1].body)
        assert any("answer[coder]: write the lexer" in r for r in results), results
        assert "main: the coder wrote the lexer" in turn.reply
        [hop] = control.hops.values()
        assert (hop.caller, hop.lane, hop.state) == ("main", "coder", "done")

        relay = sup.relay_for(rt)
        assert isinstance(relay, RemoteTmuxRelay)
        path = f"{await RemoteHost(relay).state_dir()}/claude-hooks/main/mcp.json"
        doc = json.loads(Path(path).read_text())["mcpServers"]["laneboard"]
        host_socket = sup.spec_for(rt).control_socket
        assert doc["env"]["LANEBOARD_CONTROL_SOCKET"] == host_socket != str(control.path)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    finally:
        await control.close()
        await sup.close()


async def test_socket_forward_comes_back_after_a_dropped_link(
    sshd: Sshd, short_state: Path  # noqa: F811
) -> None:
    """A killed master takes the host's listener with it and leaves its socket FILE behind
    (sshd's StreamLocalBindUnlink is off): the reconnect removes that stale file of ours
    and asks for the same path again, so `laneboard mcp` there reaches the supervisor."""
    import signal

    from tests.adversarial.test_remote_conductor import ASK
    from tests.adversarial.test_remote_conductor import _config as command_config

    tmp = short_state
    cfg_file = tmp / "laneboard.yaml"
    cfg_file.write_text(command_config(sshd, tmp))
    sup = Supervisor(parse_config(cfg_file.read_bytes(), str(cfg_file)), workspace=tmp)
    control = await start_control_server(sup)
    try:
        await sup.start(["boss"])
        rt = sup.lanes["boss"]
        assert rt.state == "ready", rt.last_error
        spec = sup.spec_for(rt)
        host_socket, token = spec.control_socket, spec.lane_token
        assert host_socket and token
        link = sup.relays.links["box"]
        pid = link.master_pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)  # the master this test's supervisor started
        await async_wait_until(lambda: not link.up(), timeout=30)
        assert stat.S_ISSOCK(os.stat(host_socket).st_mode)  # the stale file is still there
        await link.ensure()
        assert link.master_pid not in (None, pid)
        assert link.reverse_sockets() == {host_socket: str(control.path)}
        rc, out, err = await link.run([sys.executable, "-I", "-c", ASK, host_socket],
                                      input=(token + "\n").encode(), timeout=60)
        assert rc == 0, err
        assert json.loads(out).get("ok") is True, out
    finally:
        await control.close()
        await sup.close()


async def test_a_host_whose_sshd_refuses_socket_forwards_starts_the_lane_without_tools(
    sshd: Sshd, short_state: Path  # noqa: F811
) -> None:
    """`AllowStreamLocalForwarding no` on the host: the lane still starts, with no control
    socket at all (never this machine's path), and says why as its last error."""
    import signal

    from tests.adversarial.test_remote_conductor import _config as command_config
    from tests.fixtures.tmux import wait_until

    log = sshd.dir / "sshd.log"
    with (sshd.dir / "sshd_config").open("a") as fh:
        fh.write("AllowStreamLocalForwarding no\n")
    sshd.proc.send_signal(signal.SIGHUP)  # sshd re-reads its config (same pid)
    wait_until(lambda: log.read_bytes().count(b"Server listening") >= 2, timeout=30)

    tmp = short_state
    cfg_file = tmp / "laneboard.yaml"
    cfg_file.write_text(command_config(sshd, tmp))
    from laneboard.config import load_config
    from laneboard.lanes.preflight.hosts import host_checks

    checks = await host_checks(load_config(str(cfg_file)), offline=False, timeout=30.0)
    said = {c.subject: c for c in checks if c.id == "host.conductor"}
    assert said["hosts.box"].status == "warn", said
    assert "AllowStreamLocalForwarding" in said["hosts.box"].fix, said
    assert said["lanes.boss"].status == "ok", said  # laneboard itself is there
    sup = Supervisor(parse_config(cfg_file.read_bytes(), str(cfg_file)), workspace=tmp)
    control = await start_control_server(sup)
    try:
        await sup.start(["boss"])
        rt = sup.lanes["boss"]
        assert rt.state == "ready", rt.last_error
        why = rt.last_error or ""
        assert "without laneboard's tools" in why and "not forwarded" in why, why
        assert sup.relays.links["box"].reverse_sockets() == {}
        spec = sup.spec_for(rt)
        assert spec.control_socket is None and spec.lane_token is None
    finally:
        await control.close()
        await sup.close()


async def test_remote_interactive_codex_main_delegates_from_its_pane_on_the_host(
    sshd: Sshd, short_state: Path, standin: StandinServer  # noqa: F811
) -> None:
    """Interactive codex in a pane of the host's tmux: its `laneboard mcp` runs there with
    the host's socket, the token in the pane's environment (the launcher file), not argv."""
    tmp = short_state
    cfg_file = tmp / "laneboard.yaml"
    text = config_text(sshd, tmp, standin.openai_base_url)
    assert text.count("    mode: exec\n") == 1
    cfg_file.write_text(text.replace("    mode: exec\n", ""))
    sup = Supervisor(parse_config(cfg_file.read_bytes(), str(cfg_file)), workspace=tmp)
    control = await start_control_server(sup)
    try:
        await sup.start(["main", "coder"])
        rt = sup.lanes["main"]
        assert rt.state == "ready", rt.last_error
        assert rt.config.mode == "interactive"
        standin.script(
            Reply.tool_call("delegate", {"task": "write the tests", "lane": "coder"},
                            call_id="call_i1", namespace="mcp__laneboard"),
            Reply.text("main: tests delegated from the pane"),
            dialect="responses",
        )
        turn = await sup.send("main", "get the tests written", timeout=240)
        calls = standin.calls("responses")
        assert turn.state == "done", (turn.error, [c.body for c in calls])
        outputs = _outputs(calls[-1].body)
        assert any("answer[coder]: write the tests" in o for o in outputs), outputs
        [hop] = control.hops.values()
        assert (hop.caller, hop.lane, hop.state) == ("main", "coder", "done")
        # the pane's command line (the host's `ps`) names the host's socket, not the token
        windows, _ = await sup.relays.windows(sup.session, ["main"])
        pid = windows["main"].pid
        assert pid is not None
        spec = sup.spec_for(rt)
        assert spec.lane_token
        tree = _descendants(pid)
        assert len(tree) >= 2, tree  # the pane's process and codex (and laneboard mcp) under it
        for each in tree:
            with contextlib.suppress(OSError):
                cmdline = Path(f"/proc/{each}/cmdline").read_bytes()
                assert spec.lane_token.encode() not in cmdline, cmdline
        assert any(b"laneboard\0mcp" in _cmdline(p) for p in tree), [_cmdline(p) for p in tree]
    finally:
        await control.close()
        await sup.close()


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _descendants(root: int) -> list[int]:
    """`root` and every process under it (from /proc's parent links)."""
    parent: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                stat_text = (entry / "stat").read_text()
                parent[int(entry.name)] = int(stat_text.rsplit(")", 1)[1].split()[1])
    found, todo = [root], [root]
    while todo:
        here = todo.pop()
        kids = [p for p, pp in parent.items() if pp == here]
        found += kids
        todo += kids
    return found
