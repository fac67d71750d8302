"""Provider keys reach the gateway the supervisor spawns in tmux, and nothing else does.

The gateway runs in a hidden window of laneboard's tmux server, whose environment is the
tmux server's, not the supervisor's: a key exported after the tmux server started never
reached it, and every fallback or routed tool on another provider was skipped. These
tests start a real tmux server on a private socket BEFORE the key is in the supervisor's
(this process's) environment, spawn the real gateway with `ensure_gateway`, and check
that the key reached it (a fallback on another provider is asked with it), through a
restart-with-backoff too, without the value in any argv, file or log; that a later
cockpit adopting the gateway is told which key the gateway lacks; and that the FIFO
hand-off refuses what is not its own.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from laneboard.config import load_config
from laneboard.gateway.client import (
    GatewayInfo,
    ensure_gateway,
    route_lane,
    status,
    wait_live,
)
from laneboard.gateway.key_handoff import HandoffError, make_fifo, take
from laneboard.gateway.statefiles import gateway_dir
from laneboard.harnesses.claude.launch import seed_isolated_config
from laneboard.harnesses.private_fs import ensure_private_dir
from laneboard.lanes.preflight.gateway_keys import check_gateway_keys
from laneboard.standins import Reply, StandinServer
from tests.fixtures.lanes import CLAUDE_KEY
from tests.fixtures.tmux import wait_until

KEY = "LB_TEST_GW_PROVIDER_B_KEY"
VALUE = "only-in-the-supervisor-correct-horse-battery"
LATE = "LB_TEST_GW_LATE_KEY"
LATE_VALUE = "sk-exported-after-the-gateway-0f9e8d7c6b"
ABSENT = "LB_TEST_GW_ABSENT_KEY"


def _tmux(socket: str, *args: str, env: dict[str, str] | None = None) -> str:
    out = subprocess.run(["tmux", "-L", socket, *args], capture_output=True, text=True,
                         check=True, env=env)
    return out.stdout


def _ask(info: GatewayInfo, a: StandinServer, b: StandinServer, key_env: str,
         lane: str = "lane") -> tuple[int, str]:
    """A request of a lane on provider A whose fallback is on provider B (key `key_env`)."""
    url = route_lane(info, lane, "openai", {
        "base_url": a.openai_base_url, "model": "a-1", "provider": "provA",
        "fallbacks": [{"base_url": b.openai_base_url, "model": "b-1", "provider": "provB",
                       "key_env": key_env, "profile": "B"}],
    }) + "/chat/completions"
    body = {"model": "a-1", "messages": [{"role": "user", "content": "hi"}]}
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers={
        "content-type": "application/json", "authorization": "Bearer sk-lane-key-of-A-xyz"})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def _argv_holding(value: str) -> list[int]:
    hits = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if value.encode() in (proc / "cmdline").read_bytes():
                    hits.append(int(proc.name))
            except OSError:
                continue
    return hits


def _files_holding(root: Path, value: str) -> list[Path]:
    out = []
    for p in root.rglob("*"):
        try:
            if p.is_file() and not p.is_symlink() and value.encode() in p.read_bytes():
                out.append(p)
        except OSError:
            continue
    return out


def _environ_of(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
    return {k.decode(): v.decode(errors="replace") for k, v in pairs}


KEYS_CONFIG = """\
version: 1
providers:
  pb: {{harness: openai, base_url: "http://127.0.0.1:9/v1", api_key_env: {key}}}
  pl: {{harness: openai, base_url: "http://127.0.0.1:9/v1", api_key_env: {late}}}
models:
  pb/m1: {{alias: m1, tier: cheap}}
  pl/m2: {{alias: m2, tier: cheap}}
lanes:
  helper: {{role: helper, harness: openai, model: m1, fallbacks: [m2]}}
"""


@pytest.mark.slow
def test_a_key_only_in_the_supervisors_environment_reaches_the_gateway(
    tmux_socket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in (KEY, LATE, ABSENT):
        monkeypatch.delenv(name, raising=False)
    state = ensure_private_dir(tmp_path / "state")
    # the tmux server starts without the key: as when it was exported after tmux started
    _tmux(tmux_socket, "new-session", "-d", "-s", "s", "-x", "80", "-y", "24",
          env={k: v for k, v in os.environ.items() if k != "TMUX"})
    monkeypatch.setenv(KEY, VALUE)  # the supervisor's own environment only
    assert KEY not in _tmux(tmux_socket, "show-environment", "-g")

    info = ensure_gateway(tmux_socket, "s", state, {KEY: VALUE}, [KEY, ABSENT])
    folder = gateway_dir(state, tmux_socket)
    assert info.keys == {KEY: True, ABSENT: False}
    assert _environ_of(info.pid).get(KEY) == VALUE
    # the gateway runs in the tmux server's window, whose environment still lacks it
    assert KEY not in _tmux(tmux_socket, "show-environment", "-g")
    assert list(folder.glob("*.fifo")) == []

    with StandinServer() as a, StandinServer() as b:
        a.set_default(lambda _r: Reply.error(429, "A is rate limited"))
        b.script(Reply.text("B-answers"), Reply.text("B-answers"))
        code, answer = _ask(info, a, b, KEY)
        assert code == 200 and "B-answers" in answer, (code, answer)
        assert b.requests[0].headers.get("authorization") == f"Bearer {VALUE}"

        # a handed-over key is a known secret: a prompt repeating it to provider A's
        # model carries a placeholder instead
        with StandinServer() as plain:
            plain.script(Reply.text("ok"))
            url = route_lane(info, "echo", "openai", {
                "base_url": plain.openai_base_url, "provider": "provA"}) + "/chat/completions"
            body = {"model": "a-1", "messages": [{"role": "user",
                                                  "content": f"B's key is {VALUE}"}]}
            req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                         headers={"content-type": "application/json"})
            with urllib.request.urlopen(req, timeout=60) as resp:
                assert resp.status == 200
            assert len(plain.requests) == 1
            assert VALUE.encode() not in plain.requests[0].raw
            assert b"B's key is" in plain.requests[0].raw

        # restart with backoff: the serving process dies, its supervisor starts another,
        # which has the key too (it lives in the supervisor's environment, not a file)
        killed = time.time()
        os.kill(info.pid, signal.SIGKILL)
        again = wait_live(folder, after=killed, timeout=60)
        assert again.pid != info.pid and again.keys == {KEY: True, ABSENT: False}
        code, answer = _ask(again, a, b, KEY)
        assert code == 200 and "B-answers" in answer, (code, answer)
        assert b.requests[1].headers.get("authorization") == f"Bearer {VALUE}"

        # a later cockpit with a key the running gateway lacks adopts it and is told
        monkeypatch.setenv(LATE, LATE_VALUE)
        adopted = ensure_gateway(tmux_socket, "s", state, {KEY: VALUE, LATE: LATE_VALUE},
                                 [KEY, LATE])
        assert adopted.pid == again.pid and adopted.missing_keys == (LATE,)
        a.set_default(lambda _r: Reply.error(429, "A is rate limited"))
        code, answer = _ask(adopted, a, b, LATE, lane="late")
        assert code == 429 and f"${LATE}" in answer, (code, answer)
        assert len(b.requests) == 2
        wait_until(lambda: status(folder)["missing_keys"] == [LATE], timeout=30)
        shown = subprocess.run(
            [sys.executable, "-m", "laneboard", "gateway", "status", "--folder", str(folder)],
            capture_output=True, text=True, timeout=60, check=True).stdout
        assert f"missing keys: ${LATE}" in shown and "1 fallbacks skipped" in shown, shown
        assert LATE_VALUE not in shown
        # and preflight says so, naming the variable, never its value
        config = tmp_path / "keys.yaml"
        config.write_text(KEYS_CONFIG.format(key=KEY, late=LATE))
        cfg = load_config(config).config
        checks = check_gateway_keys(
            cfg, {"LANEBOARD_TMUX_SOCKET": tmux_socket, KEY: VALUE, LATE: LATE_VALUE}, state)
        assert [(c.id, c.status) for c in checks] == [("gateway.keys", "warn")], checks
        assert f"${LATE}" in checks[0].message and f"${KEY}" not in checks[0].message
        assert LATE_VALUE not in repr(checks) and checks[0].fix
        checks = check_gateway_keys(cfg, {"LANEBOARD_TMUX_SOCKET": tmux_socket, KEY: VALUE},
                                    state)
        assert [(c.id, c.status) for c in checks] == [("gateway.keys", "ok")], checks

    for value in (VALUE, LATE_VALUE):
        assert _argv_holding(value) == []
        assert _files_holding(state, value) == []


TWO_PROVIDERS = """\
version: 1
providers:
  prova: {{harness: claude-code, base_url: "{a}", api_key_env: LB_TEST_PROV_A_KEY}}
  provb: {{harness: claude-code, base_url: "{b}", api_key_env: LB_TEST_PROV_B_KEY}}
models:
  prova/claude-a-1: {{alias: amodel, tier: escalation}}
  provb/claude-b-1: {{alias: bmodel, tier: escalation}}
lanes:
  review:
    role: reviewer
    harness: claude-code
    model: amodel
    fallbacks: [bmodel]
    fence: plan
    env:
      CLAUDE_CONFIG_DIR: "{config_dir}"
      CLAUDE_CODE_MAX_RETRIES: "2"
      LB_TEST_PROV_A_KEY: "{key}"
"""
B_VALUE = "sk-provider-B-exported-late-3c4d5e6f7a8b9c0d"


@pytest.mark.slow
@pytest.mark.tmux
@pytest.mark.usefixtures("claude_binary")
def test_real_claude_lane_fails_over_to_another_provider_with_that_providers_key(
    tmux_socket: str, tmp_path: Path
) -> None:
    """A real Claude Code lane on provider A (its key in the lane's env), fallback on B
    whose key is exported only in the `laneboard send` process, after the tmux server
    started: A's 429 is answered by B, which sees B's key and nothing of A's."""
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (tmp_path / "home").mkdir()
    config_dir = tmp_path / "claude-config"
    seed_isolated_config(config_dir, workspace, api_key=CLAUDE_KEY)
    base = {k: v for k, v in os.environ.items()
            if k not in ("TMUX", "LANEBOARD_CONFIG", "LB_TEST_PROV_B_KEY")}
    env = {**base, "LANEBOARD_TMUX_SOCKET": tmux_socket,
           "LANEBOARD_STATE_DIR": str(tmp_path / "state"), "HOME": str(tmp_path / "home"),
           "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    _tmux(tmux_socket, "new-session", "-d", "-s", "early", "-x", "80", "-y", "24", env=env)
    env["LB_TEST_PROV_B_KEY"] = B_VALUE  # exported after the tmux server started
    with StandinServer() as a, StandinServer() as b:
        a.set_default(lambda _r: Reply.error(429, "A is rate limited", retry_after=60))
        b.set_default(lambda _r: Reply.text("Answered by B."))
        config = tmp_path / "laneboard.yaml"
        config.write_text(TWO_PROVIDERS.format(a=a.url, b=b.url, config_dir=config_dir,
                                               key=CLAUDE_KEY))
        try:
            sent = subprocess.run(
                [sys.executable, "-m", "laneboard", "send", "review", "say hi", "--wait",
                 "--json", "--config", str(config)],
                capture_output=True, text=True, env=env, cwd=workspace, timeout=240)
            assert sent.returncode == 0, sent.stderr
            assert json.loads(sent.stdout)["state"] == "done", sent.stdout
            assert b.calls("anthropic"), "B was never asked"
            for r in b.requests:
                assert r.headers.get("x-api-key") == B_VALUE, r.path
                assert "authorization" not in r.headers
                assert CLAUDE_KEY.encode() not in r.raw
                assert not [k for k, v in r.headers.items() if CLAUDE_KEY in v]
                assert json.loads(r.raw).get("model") == "claude-b-1"
            # control: A got the lane's own key from the CLI
            assert a.calls("anthropic")[0].headers.get("x-api-key") == CLAUDE_KEY
            # B answered inside the request (the gateway's failover, with the key it was
            # handed), not after the supervisor moved the lane onto B
            folder = gateway_dir(tmp_path / "state", tmux_socket)
            wait_until(lambda: status(folder)["lanes"].get("review", {}).get("fallbacks", 0)
                       >= 1, timeout=30)
            assert status(folder)["lanes"]["review"]["failover_skipped"] == 0
            assert status(folder)["missing_keys"] == []
            assert KEY not in _tmux(tmux_socket, "show-environment", "-g")
            assert _argv_holding(B_VALUE) == []
            assert _files_holding(tmp_path / "state", B_VALUE) == []
        finally:
            subprocess.run([sys.executable, "-m", "laneboard", "lanes", "stop", "--all",
                            "--config", str(config)], capture_output=True, env=env,
                           cwd=workspace, timeout=120)


def test_take_reads_the_keys_written_to_its_fifo(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The hand-off itself, between two real processes: the writer is a child process."""
    monkeypatch.delenv(KEY, raising=False)
    folder = ensure_private_dir(tmp_path / "gw")
    fifo = make_fifo(folder, "t1")
    code = ("import sys; from pathlib import Path; from laneboard.gateway.key_handoff "
            "import offer; import os; offer(Path(sys.argv[1]), [sys.argv[2], 'LB_X_ABSENT'], "
            "{sys.argv[2]: os.environ['LB_HANDOFF_VALUE']})")
    writer = subprocess.Popen(
        [sys.executable, "-c", code, str(fifo), KEY],
        env={**os.environ, "LB_HANDOFF_VALUE": VALUE})
    try:
        got = take(fifo, timeout=60)
    finally:
        assert writer.wait(timeout=60) == 0
    assert got == {KEY: VALUE} and os.environ[KEY] == VALUE
    assert os.environ["LANEBOARD_GATEWAY_KEY_NAMES"] == f"{KEY},LB_X_ABSENT"
    assert not fifo.exists()
    monkeypatch.delenv("LANEBOARD_GATEWAY_KEY_NAMES")


def test_take_refuses_what_is_not_a_private_fifo(tmp_path: Path) -> None:
    folder = ensure_private_dir(tmp_path / "gw")
    plain = folder / "keys.plain.fifo"
    plain.write_text(json.dumps({"names": ["PATH"], "keys": {"PATH": "/evil"}}))
    with pytest.raises(HandoffError, match="not a FIFO"):
        take(plain, timeout=5)
    shared = make_fifo(folder, "shared")
    shared.chmod(0o622)
    with pytest.raises(HandoffError, match="not a private FIFO"):
        take(shared, timeout=5)
    open_dir = tmp_path / "open"
    open_dir.mkdir()
    open_dir.chmod(0o777)
    loose = make_fifo(open_dir, "loose")
    with pytest.raises(HandoffError, match="writable by others"):
        take(loose, timeout=5)
    assert stat.S_ISFIFO(os.lstat(loose).st_mode)


def test_take_without_a_writer_gives_up_at_its_deadline(tmp_path: Path) -> None:
    fifo = make_fifo(ensure_private_dir(tmp_path / "gw"), "lonely")
    with pytest.raises(HandoffError, match="no keys arrived"):
        take(fifo, timeout=0.5)


def test_malformed_handoff_is_refused_and_sets_nothing(tmp_path: Path) -> None:
    folder = ensure_private_dir(tmp_path / "gw")
    for i, payload in enumerate([b"not json", json.dumps({"names": ["A B"], "keys": {}}).encode(),
                                 json.dumps({"keys": {"X": "y"}}).encode()]):
        fifo = make_fifo(folder, f"bad{i}")
        writer = subprocess.Popen(
            [sys.executable, "-c", "import sys, os\n"
             "fd = os.open(sys.argv[1], os.O_WRONLY)\nos.write(fd, sys.stdin.buffer.read())",
             str(fifo)], stdin=subprocess.PIPE)
        assert writer.stdin is not None
        writer.stdin.write(payload)
        writer.stdin.close()
        before = dict(os.environ)
        with pytest.raises(HandoffError):
            take(fifo, timeout=60)
        assert writer.wait(timeout=60) == 0
        assert dict(os.environ) == before
