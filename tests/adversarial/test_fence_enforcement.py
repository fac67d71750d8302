"""Promise under attack: a lane cannot do more than its fence allows, on every lane kind.

- A Codex lane runs with approvals `never`, so no dialog reaches laneboard's matcher: the
  real `codex exec` must refuse a `fences.deny` command through the execpolicy rules
  laneboard compiles into the lane's own CODEX_HOME (never the person's `~/.codex`).
- A Claude Code lane must refuse a denied Bash command through laneboard's PreToolUse hook,
  passed with `--settings` only (the person's settings are never edited).
- A `command` lane is an arbitrary program: the deny list cannot apply inside it, so the
  fence is enforced by a real bubblewrap sandbox (read-only: nothing writable but a
  private /tmp; workspace-write: its cwd too).

Each attack has a control that shows the same path does write when the fence allows it,
so a test that passes because nothing ran at all would fail.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from laneboard.harnesses.base import HarnessSpec
from laneboard.harnesses.codex.harness import CodexHarness
from laneboard.harnesses.codex.rules import RULES_FILE, compile_rules
from laneboard.standins import Reply, StandinServer

NO_RETRIES = {"request_max_retries": 0, "stream_max_retries": 0}
DEFAULT_DENY = (
    "rm -rf /",
    "rm -rf ~",
    "git push --force",
    "git reset --hard",
    "DELETE /api/*",
)


def _tree_digest(root: Path) -> str:
    """Names, link targets and contents under `root`: any write changes it."""
    h = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        h.update(str(path.relative_to(root)).encode())
        if path.is_symlink():
            h.update(os.readlink(path).encode())
        elif path.is_file():
            h.update(path.read_bytes())
    return h.hexdigest()


# ----------------------------------------------------------------------------- codex


def _policy(rules: Path, *argv: str) -> str:
    """The decision of the real `codex execpolicy check` ("allowed" when no rule matched)."""
    out = subprocess.run(
        ["codex", "execpolicy", "check", "--rules", str(rules), "--", *argv],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return str(json.loads(out.stdout).get("decision", "allowed"))


#: Spellings of denied commands that the compiled rules must forbid (the bypass classes a
#: prefix rule can see: flag order and clustering, long forms, absolute paths, wrappers,
#: home spelled three ways).
CODEX_BYPASSES = [
    ["rm", "-rf", "/"],
    ["rm", "-fr", "/"],
    ["rm", "-r", "-f", "/"],
    ["rm", "-f", "-r", "/"],
    ["rm", "-Rf", "/"],
    ["rm", "--recursive", "--force", "/"],
    ["rm", "-rf", "/*"],
    ["rm", "/", "-rf"],
    ["/bin/rm", "-rf", "/"],
    ["/usr/bin/rm", "-fr", "/"],
    ["sudo", "rm", "-rf", "/"],
    ["env", "rm", "-rf", "/"],
    ["command", "rm", "-rf", "/"],
    ["nohup", "rm", "-rf", "/"],
    ["rm", "-rf", "~"],
    ["rm", "-rf", "$HOME"],
    ["rm", "-rf", "${HOME}"],
    ["rm", "-rf", "/home/lane"],
    ["rm", "-rf", "/home/lane/"],
    ["git", "push", "--force"],
    ["git", "push", "-f", "origin", "main"],
    ["git", "push", "--force-with-lease"],
    ["git", "push", "--force-if-includes"],
    ["git", "reset", "--hard"],
    ["git", "reset", "--hard", "HEAD~3"],
    ["sudo", "git", "reset", "--hard"],
    ["curl", "-X", "DELETE", "http://h/api/x"],
    ["curl", "--request", "DELETE", "http://h/api/x"],
    ["curl", "-XDELETE", "http://h/api/x"],
    ["wget", "--method=DELETE", "http://h/api/x"],
    ["http", "DELETE", "h/api/x"],
]
#: Ordinary commands the rules must leave alone (a rule that forbids everything would
#: pass every bypass above).
CODEX_ALLOWED = [
    ["ls", "-la"],
    ["rm", "-rf", "build"],
    ["git", "push"],
    ["git", "push", "origin", "main"],
    ["git", "reset", "--soft", "HEAD~1"],
    ["curl", "http://h/api/x"],
    ["cat", "/etc/hostname"],
]


@pytest.fixture(scope="module")
def compiled_rules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rules") / RULES_FILE
    path.write_text(compile_rules(DEFAULT_DENY, home="/home/lane"), encoding="utf-8")
    return path


@pytest.mark.parametrize("argv", CODEX_BYPASSES, ids=" ".join)
def test_codex_execpolicy_forbids_denied_spellings(compiled_rules: Path, argv: list[str]) -> None:
    assert _policy(compiled_rules, *argv) == "forbidden"


@pytest.mark.parametrize("argv", CODEX_ALLOWED, ids=" ".join)
def test_codex_execpolicy_leaves_ordinary_commands_alone(
    compiled_rules: Path, argv: list[str]
) -> None:
    assert _policy(compiled_rules, *argv) == "allowed"


def test_codex_lane_on_the_users_home_gets_a_private_overlay(tmp_path: Path) -> None:
    """A lane using the person's `~/.codex` must not write there: the rules go into an
    overlay home laneboard owns, and the person's own rules still apply in it."""
    home = tmp_path / "home"
    user = home / ".codex"
    (user / "rules").mkdir(parents=True)
    (user / "config.toml").write_text('model = "mine"\n')
    (user / "auth.json").write_text('{"auth_mode": "apikey"}\n')
    (user / "rules" / "mine.rules").write_text(
        'prefix_rule(pattern=["shred"], decision="forbidden")\n'
    )
    before = _tree_digest(user)
    spec = HarnessSpec(lane="coder", harness="codex", mode="exec", fence="workspace-write",
                       deny=DEFAULT_DENY, cwd=str(tmp_path))  # fmt: skip
    h = CodexHarness(spec, env_base={"HOME": str(home), "PATH": os.environ["PATH"]},
                     state_dir=tmp_path / "state")  # fmt: skip
    assert _tree_digest(user) == before
    overlay = Path(h.env["CODEX_HOME"])
    assert overlay != user and overlay.is_relative_to(tmp_path / "state")
    assert (overlay / "auth.json").resolve() == (user / "auth.json").resolve()
    assert (overlay / "rules" / RULES_FILE).stat().st_mode & 0o077 == 0
    assert _policy(overlay / "rules" / RULES_FILE, "git", "reset", "--hard") == "forbidden"
    assert _policy(overlay / "rules" / "mine.rules", "shred", "x") == "forbidden"


def _codex_spec(
    standin: StandinServer, workdir: Path, tmp_path: Path, **over: object
) -> HarnessSpec:
    # Codex will not create its sandbox helper under $TMPDIR, so TMPDIR is not a parent.
    home, scratch = tmp_path / "codex-home", tmp_path / "scratch"
    home.mkdir(exist_ok=True)
    scratch.mkdir(exist_ok=True)
    spec = HarnessSpec(
        lane="coder", harness="codex", mode="exec", model=None, provider="standin",
        fence="workspace-write", cwd=str(workdir), base_url=standin.openai_base_url,
        api_key_env="LB_TEST_OPENAI_KEY",
        env={"CODEX_HOME": str(home), "LB_TEST_OPENAI_KEY": "sk-standin",
             "TMPDIR": str(scratch)},
    )  # fmt: skip
    return replace(spec, **over)  # type: ignore[arg-type]


@pytest.mark.slow
@pytest.mark.parametrize(
    "command",
    ["touch canary.txt", "/usr/bin/touch canary.txt", "env touch canary.txt",
     "touch canary.txt && echo done"],
)  # fmt: skip
async def test_real_codex_exec_refuses_a_denied_command(
    standin: StandinServer, tmp_path: Path, command: str
) -> None:
    """Approvals `never`, workspace-write: the model asks for a denied command that would
    create a canary; Codex's own execpolicy (compiled by laneboard) refuses it, while an
    ordinary command in the same script runs (so the sandbox did let writes through)."""
    workdir = tmp_path / "work"
    workdir.mkdir()
    script = (
        f"try {{ await tools.exec_command({{cmd: {json.dumps(command)}}}); }}\n"
        'catch (e) { text("refused: " + e); }\n'
        'await tools.exec_command({cmd: "touch control.txt"});'
    )
    standin.script(Reply.tool_call("exec", script), Reply.text("Done."), dialect="responses")
    spec = _codex_spec(standin, workdir, tmp_path, deny=(*DEFAULT_DENY, "touch canary.txt"))
    h = CodexHarness(spec, provider_options=NO_RETRIES)
    result = await h.send("make the canary", timeout=120)
    assert (workdir / "control.txt").exists(), result.extra
    assert not (workdir / "canary.txt").exists(), result.extra
    # The refusal went back to the model, naming the deny entry.
    assert "fences.deny forbids 'touch canary.txt'" in json.dumps(
        standin.calls("responses")[-1].body
    )


# ----------------------------------------------------------------------------- claude

CLAUDE_KEY = "sk-ant-standin-0123456789abcdefghij"


def _claude_spec(
    standin: StandinServer, workdir: Path, tmp_path: Path, **over: object
) -> HarnessSpec:
    """A writable headless lane whose person's own settings allow `touch` and `cd`:
    the deny list must hold even where the person's rules would let a command run."""
    from laneboard.harnesses.claude.launch import seed_isolated_config

    config_dir = tmp_path / "claude-config"
    seed_isolated_config(config_dir, workdir, api_key=CLAUDE_KEY)
    (config_dir / "settings.json").write_text(
        json.dumps({"permissions": {"allow": ["Bash(touch:*)", "Bash(cd:*)", "Bash(bash:*)"]}})
    )
    spec = HarnessSpec(
        lane="coder", harness="claude-code", mode="exec", model="claude-standin-1",
        fence="workspace-write", deny=(*DEFAULT_DENY, "touch canary.txt"), cwd=str(workdir),
        base_url=standin.url, api_key_env="LB_TEST_ANTHROPIC_KEY",
        env={"CLAUDE_CONFIG_DIR": str(config_dir), "CLAUDE_CODE_MAX_RETRIES": "0",
             "LB_TEST_ANTHROPIC_KEY": CLAUDE_KEY},
    )  # fmt: skip
    return replace(spec, **over)  # type: ignore[arg-type]


@pytest.mark.slow
@pytest.mark.parametrize(
    "command",
    ["cd . && touch canary.txt", "bash -c 'touch canary.txt'", "true; touch  canary.txt"],
)
async def test_real_claude_hook_refuses_a_denied_command(
    standin: StandinServer, tmp_path: Path, command: str
) -> None:
    """The model emits a Bash tool_use whose denied part hides behind `&&`, `bash -c` or
    `;` (where a `Bash(touch canary.txt:*)` prefix rule does not look); laneboard's
    PreToolUse hook refuses it and the canary is never created, while the control
    command before it runs."""
    from laneboard.harnesses.claude.harness import ClaudeCodeHarness

    workdir = tmp_path / "work"
    workdir.mkdir()
    standin.script(
        Reply.tool_call("Bash", {"command": "touch control.txt", "description": "control"}),
        Reply.tool_call("Bash", {"command": command, "description": "canary"}, call_id="toolu_2"),
        Reply.text("Done."),
    )
    h = ClaudeCodeHarness(_claude_spec(standin, workdir, tmp_path), state_dir=tmp_path / "state")
    result = await h.send("make the canary", timeout=120)
    assert (workdir / "control.txt").exists(), result
    assert not (workdir / "canary.txt").exists(), result
    body = json.dumps(standin.calls()[-1].body)
    assert re.search(r"laneboard (fences\.deny forbids|refused this command)", body), body
    assert "'touch canary.txt'" in body
    settings = tmp_path / "state" / "coder" / "settings.json"
    assert settings.stat().st_mode & 0o077 == 0
    assert "Bash(touch:*)" in (tmp_path / "claude-config" / "settings.json").read_text()


# ----------------------------------------------------------------------------- command

SHELL_READY = r"lb\$\Z"  # the test lanes' PS1 is 'lb$ ' (tests/fixtures/tmux.py)
#: Writes a command lane attempts: into its cwd, into $HOME, into /tmp (private), and a
#: denied command that would leave a file behind.
ATTEMPTS = (
    "echo pwned > cwd.txt",
    'echo pwned > "$HOME/home.txt"',
    "echo pwned > /tmp/lb-fence-tmp.txt && cat /tmp/lb-fence-tmp.txt",
    "mkdir -p sub && touch sub/x",
)


async def _run_lane(relay: object, workdir: Path, fence: str) -> list[str]:
    from laneboard.harnesses.command import CommandHarness
    from laneboard.harnesses.tmux import TmuxRelay

    assert isinstance(relay, TmuxRelay)
    spec = HarnessSpec(
        lane=f"sh-{fence}", harness="command", command=("/bin/sh", "-i"), cwd=str(workdir),
        ready_pattern=SHELL_READY, fence=fence,  # type: ignore[arg-type]
    )  # fmt: skip
    harness = CommandHarness(spec, relay=relay, session="fence")
    await harness.start()
    try:
        replies = []
        for attempt in ATTEMPTS:
            result = await harness.send(f"{attempt}; echo rc=$?", timeout=30)
            replies.append(result.reply)
        return replies
    finally:
        await harness.stop()


@pytest.mark.tmux
@pytest.mark.parametrize("fence", ["read-only", "plan"])
async def test_read_only_command_lane_writes_nothing(
    relay: object, tmp_path: Path, pane_home: Path, fence: str
) -> None:
    workdir = tmp_path / "work"
    workdir.mkdir()
    (workdir / "keep.txt").write_text("mine\n")
    before_work, before_home = _tree_digest(workdir), _tree_digest(pane_home)
    outside_tmp = Path("/tmp/lb-fence-tmp.txt")
    outside_tmp.unlink(missing_ok=True)
    replies = await _run_lane(relay, workdir, fence)
    assert _tree_digest(workdir) == before_work, replies
    assert _tree_digest(pane_home) == before_home, replies
    assert "Read-only file system" in replies[0] and replies[0].endswith("rc=2"), replies
    assert re.search("Read-only file system|Directory nonexistent", replies[1]), replies
    # /tmp is writable but private: the lane sees its file, the host never does.
    assert replies[2].endswith("pwned\nrc=0"), replies
    assert not outside_tmp.exists()


@pytest.mark.tmux
async def test_workspace_write_command_lane_writes_only_its_cwd(
    relay: object, tmp_path: Path, pane_home: Path
) -> None:
    workdir = tmp_path / "work"
    workdir.mkdir()
    before_home = _tree_digest(pane_home)
    replies = await _run_lane(relay, workdir, "workspace-write")
    assert (workdir / "cwd.txt").read_text() == "pwned\n", replies
    assert (workdir / "sub" / "x").exists(), replies
    assert _tree_digest(pane_home) == before_home, replies
    assert re.search("Read-only file system|Directory nonexistent", replies[1]), replies


@pytest.mark.tmux
async def test_full_command_lane_is_not_sandboxed(
    relay: object, tmp_path: Path, pane_home: Path
) -> None:
    """The control: the same attempts do write when the fence is `full`."""
    workdir = tmp_path / "work"
    workdir.mkdir()
    await _run_lane(relay, workdir, "full")
    assert (workdir / "cwd.txt").exists() and (pane_home / "home.txt").exists()
    Path("/tmp/lb-fence-tmp.txt").unlink(missing_ok=True)


def test_missing_bwrap_refuses_a_fenced_lane(tmp_path: Path) -> None:
    from laneboard.harnesses.sandbox import SandboxUnavailable, check_sandbox

    with pytest.raises(SandboxUnavailable, match="will not run a fenced command lane"):
        check_sandbox("read-only", str(tmp_path), lane="sh", bwrap="bwrap-not-installed")
    assert check_sandbox("full", str(tmp_path), lane="sh", bwrap="bwrap-not-installed") is None


def test_failing_bwrap_refuses_a_fenced_lane(tmp_path: Path) -> None:
    """A bwrap that cannot build its sandbox (here: a stand-in program that exits 1 the
    way bwrap does without user namespaces) stops the lane; nothing runs unsandboxed."""
    from laneboard.harnesses.sandbox import SandboxUnavailable, check_sandbox

    fake = tmp_path / "bwrap"
    fake.write_text(
        "#!/bin/sh\necho 'bwrap: No permissions to creating new namespace' >&2\nexit 1\n"
    )
    fake.chmod(0o755)
    with pytest.raises(SandboxUnavailable, match="No permissions to creating new namespace"):
        check_sandbox("workspace-write", str(tmp_path), lane="sh", bwrap=str(fake))


# ------------------------------------------------------- what preflight and route say

FENCE_CONFIG = """\
version: 1
lanes:
  sh: {role: helper, harness: command, command: sh, fence: read-only}
  wild: {role: helper, harness: command, command: sh, fence: full}
fences:
  deny: ["rm -rf /", "DELETE /api/*"]
routing:
  default: sh
"""


def _laneboard(*args: str, config: Path) -> subprocess.CompletedProcess[str]:
    import sys

    return subprocess.run(
        [sys.executable, "-m", "laneboard", "--config", str(config), *args],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_config_check_and_preflight_say_the_deny_list_cannot_reach_a_command_lane(
    tmp_path: Path,
) -> None:
    """A `command` lane shown as `fence: read-only` must not imply that fences.deny
    protects it: both `config check` and preflight say the sandbox holds the fence, and
    a `full` command lane is a warning."""
    from laneboard.lanes.preflight import COMMAND_DENY_NOTE

    cfg = tmp_path / "laneboard.yaml"
    cfg.write_text(FENCE_CONFIG)
    out = _laneboard("config", "check", config=cfg)
    assert out.returncode == 0, out.stderr
    assert f"{COMMAND_DENY_NOTE}: bubblewrap" in out.stdout
    assert f"{COMMAND_DENY_NOTE}: nothing holds it (fence full)" in out.stdout
    pre = _laneboard("preflight", "--json", "--offline", config=cfg)
    checks = [c for c in json.loads(pre.stdout)["checks"] if c["id"] == "policy.command-sandbox"]
    by_lane = {c["subject"]: c for c in checks}
    assert by_lane["lane sh"]["status"] == "ok"
    assert COMMAND_DENY_NOTE in by_lane["lane sh"]["message"]
    assert by_lane["lane wild"]["status"] == "warn" and by_lane["lane wild"]["fix"]


def test_route_says_which_fence_and_deny_entries_hold_the_chosen_lane(tmp_path: Path) -> None:
    cfg = tmp_path / "laneboard.yaml"
    cfg.write_text(
        FENCE_CONFIG.replace(
            "  wild:", "  coder: {role: coder, harness: codex, fence: workspace-write}\n  wild:"
        ).replace("routing:\n  default: sh", "routing:\n  default: coder")
        + "models:\n  openai-codex/gpt-5.5: {alias: gpt55, tier: orchestrator}\n"
        + "providers:\n  openai-codex: {harness: codex}\n"
        + "defaults:\n  provider: openai-codex\n  model: {primary: gpt55}\n"
    )
    out = _laneboard("route", "refactor the parser", "--json", config=cfg)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["lane"] == "coder" and doc["fence"] == "workspace-write"
    assert doc["deny"] == ["rm -rf /", "DELETE /api/*"]
    assert "execpolicy" in doc["enforced_by"]
    out = _laneboard("route", "@sh list files", "--json", config=cfg)
    doc = json.loads(out.stdout)
    assert doc["lane"] == "sh" and doc["deny"] == [] and "bubblewrap" in doc["enforced_by"]
    human = _laneboard("route", "@sh list files", config=cfg)
    assert "fence read-only · deny: none · enforced by bubblewrap" in human.stdout
