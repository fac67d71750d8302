"""`laneboard demo`: the whole cockpit with no accounts.

Starts the stand-in model endpoints inside this process (Anthropic, OpenAI Responses and
Ollama dialects, answering briefly and saying they are the demo), makes an isolated HOME
with pre-seeded Claude Code and Codex configs, a small git workspace with a feature branch
to review, and a config with the shipped lane ids (main, coder, review, triage, commit).
Lanes run the REAL `claude` and `codex` when they are found — on PATH, where the test
command put them (`<checkout>/.cache/npm`), or in the demo's own cache, which
`laneboard demo --install-clis` fills with the pinned versions — otherwise small command
lanes that imitate them. Everything lives in a temporary directory and on a private tmux
socket that is killed on exit; the user's own agent configs are never touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from laneboard.harnesses.claude.launch import PINNED_VERSION as CLAUDE_PINNED
from laneboard.harnesses.codex.launch import PINNED_VERSION as CODEX_PINNED
from laneboard.standins import Reply, StandinServer
from laneboard.standins.recorded import RecordedRequest

DEMO_KEY_ENV = "LANEBOARD_DEMO_KEY"

#: The agent CLIs the demo drives, with the npm package and the version the harnesses are
#: pinned to (their screen rules and event formats are read off exactly these versions).
PINNED_CLIS: dict[str, str] = {
    "claude": f"@anthropic-ai/claude-code@{CLAUDE_PINNED}",
    "codex": f"@openai/codex@{CODEX_PINNED}",
}


def demo_npm_cache() -> Path:
    """The demo's own npm prefix (`--install-clis` installs here; never globally)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "laneboard" / "npm"


def cli_search_dirs() -> list[Path]:
    """Where the demo looks for `claude`/`codex` after PATH, in order.

    The README's test command installs the pinned CLIs into the checkout's `.cache/npm`
    (never globally), so a demo run from that checkout must look there, or the person who
    just ran the tests sees imitation lanes. A wheel install has no checkout: only the
    demo's own cache applies then.
    """
    checkout = Path(__file__).resolve().parent.parent
    dirs = [checkout / ".cache" / "npm" / "node_modules" / ".bin"]
    dirs.append(demo_npm_cache() / "node_modules" / ".bin")
    return dirs


def find_clis(path: str | None = None) -> dict[str, str | None]:
    """Each agent CLI's absolute path (PATH first, then `cli_search_dirs`), or None."""
    search = path if path is not None else os.environ.get("PATH", "")
    found: dict[str, str | None] = {}
    for name in PINNED_CLIS:
        hit = shutil.which(name, path=search)
        if hit is None:
            for d in cli_search_dirs():
                hit = shutil.which(name, path=str(d))
                if hit is not None:
                    break
        found[name] = hit
    return found


def install_clis(prefix: Path | None = None) -> list[str]:
    """`npm install` the pinned CLIs into the demo's cache; the argv it ran (raises on failure).

    Only called when the person asked for it (`laneboard demo --install-clis`): the demo never
    downloads anything by itself.
    """
    target = prefix or demo_npm_cache()
    npm = shutil.which("npm")
    if npm is None:
        raise FileNotFoundError("npm was not found on PATH (install Node.js and npm first)")
    target.mkdir(parents=True, exist_ok=True)
    argv = [npm, "install", "--no-audit", "--no-fund", "--prefix", str(target), *PINNED_CLIS.values()]
    subprocess.run(argv, check=True)
    return argv

IMITATOR = textwrap.dedent(
    '''
    """A stand-in for an agent CLI that is not installed: answers each line it reads."""
    import sys
    name = sys.argv[1]
    print(f"{name} (laneboard demo imitation; install the real CLI for the real thing)")
    print("> ", end="", flush=True)
    for line in sys.stdin:
        text = line.strip()
        if text:
            print(f"[{name}] working on: {text[:60]}")
            print(f"[{name}] demo answer: done, nothing was changed.")
        print("> ", end="", flush=True)
    '''
)


def demo_reply(request: RecordedRequest) -> Reply:
    """Short, plausible answers that say they come from the demo."""
    prompt = (request.prompt or "").strip()
    first = prompt.splitlines()[0][:60] if prompt else ""
    if "ESCALATE or SKIP" in prompt:
        return Reply.text("ESCALATE")
    if "commit message" in prompt.lower():
        return Reply.text("feat(demo): add greeting\n\nA demo commit message from the local model.")
    if request.dialect == "anthropic":
        return Reply.text(
            "FINDINGS (laneboard demo reviewer):\n"
            "- [medium] app.py:3: `greet` ignores an empty name; return a default.\n"
            "- [low] app.py:1: add a docstring.\n"
            "No files were edited."
        )
    return Reply.text(f'laneboard demo ({request.dialect}): got "{first}". Nothing was changed.')


@dataclass
class DemoEnv:
    root: Path
    workspace: Path
    config: Path
    socket: str
    server: StandinServer
    real: dict[str, bool]
    #: where each real CLI was found (None: imitated)
    clis: dict[str, str | None]


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        env={
            **os.environ,
            "GIT_AUTHOR_NAME": "demo",
            "GIT_AUTHOR_EMAIL": "demo@example.invalid",
            "GIT_COMMITTER_NAME": "demo",
            "GIT_COMMITTER_EMAIL": "demo@example.invalid",
        },
    )


def make_workspace(ws: Path) -> None:
    """A git repo with `main` and a feature branch, so `review` has something to read."""
    ws.mkdir(parents=True)
    _git(ws, "init", "-q", "-b", "main")
    (ws / "app.py").write_text('def greet(name):\n    return "hi " + name\n')
    _git(ws, "add", ".")
    _git(ws, "commit", "-qm", "initial")
    _git(ws, "checkout", "-qb", "feature")
    (ws / "app.py").write_text(
        'def greet(name):\n    if not name:\n        return "hi"\n    return f"hi {name}"\n'
    )
    _git(ws, "commit", "-qam", "greet: handle empty names")


def write_config(env: DemoEnv) -> None:
    from laneboard.harnesses.claude.launch import seed_isolated_config
    from laneboard.harnesses.codex.launch import seed_isolated_home

    url = env.server.url
    home = env.root / "home"
    claude_dir, codex_home = home / ".claude-demo", home / ".codex-demo"
    seed_isolated_config(claude_dir, env.workspace)
    seed_isolated_home(codex_home, env.workspace)
    py = sys.executable
    imitator = env.root / "imitate.py"
    imitator.write_text(IMITATOR)

    def agent_lane(name: str, real: bool, body: str, fake_name: str) -> str:
        if real:
            return body
        return (
            f"    harness: command\n"
            f"    command: [{py}, -u, {imitator}, {fake_name}]\n"
            f'    ready: ">\\\\s*$"\n'
        )

    lanes_env = (
        f"    env: {{HOME: {home}, CLAUDE_CONFIG_DIR: {claude_dir}, CODEX_HOME: {codex_home}, "
        f"ANTHROPIC_AUTH_TOKEN: demo, CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1', "
        f"CLAUDE_CODE_MAX_RETRIES: '1', {DEMO_KEY_ENV}: demo}}\n"
    )
    text = f"""\
# laneboard demo config: stand-in endpoints at {url}; nothing here reaches a real model.
version: 1
tmux: {{socket: {env.socket}, session: demo}}
providers:
  openai-codex: {{harness: codex, base_url: "{url}/v1", api_key_env: {DEMO_KEY_ENV}}}
  anthropic: {{harness: claude-code, base_url: "{url}"}}
  ollama: {{harness: ollama, base_url: "{url}"}}
models:
  openai-codex/gpt-5.5: {{alias: gpt55, tier: orchestrator, params: {{thinking: medium}}, context_window: 400000}}
  openai-codex/gpt-5.3-codex: {{tier: orchestrator, context_window: 400000}}
  anthropic/claude-opus-4-5: {{alias: opus, tier: escalation, context_window: 200000}}
  ollama/qwen3:7b: {{alias: triage, tier: local, context_window: 32768}}
  ollama/qwen3-coder:14b: {{alias: commit, tier: local, context_window: 32768}}
  ollama/qwen3-embedding:8b: {{alias: embed, tier: local, kind: embedding}}
defaults:
  provider: openai-codex
  model: {{primary: gpt55, fallbacks: [openai-codex/gpt-5.3-codex]}}
lanes:
  main:
    role: orchestrator
{agent_lane("main", env.real["codex"], "    harness: codex" + chr(10) + "    mode: interactive" + chr(10), "codex")}    model: gpt55
    fence: workspace-write
    input: untrusted
{lanes_env}  coder:
    role: coder
{agent_lane("coder", env.real["codex"], "    harness: codex" + chr(10) + "    mode: exec" + chr(10), "codex-exec")}    model: openai-codex/gpt-5.3-codex
    fence: workspace-write
{lanes_env}  review:
    role: reviewer
{agent_lane("review", env.real["claude"], "    harness: claude-code" + chr(10) + "    mode: interactive" + chr(10), "claude")}    model: opus
    fallbacks: []
    fence: plan
{lanes_env}  triage:
    role: helper
    harness: ollama
    model: triage
  commit:
    role: helper
    harness: ollama
    model: commit
routing:
  default: main
  untrusted: main
  rules:
    - {{name: review, match: {{prefix: review}}, lane: review}}
    - {{name: commit-message, match: {{prefix: "commit message"}}, lane: commit}}
    - {{name: build, match: {{regex: "\\\\b(build|implement|refactor|fix)\\\\b"}}, lane: coder}}
  tools: {{edit: coder, write: coder}}
fences:
  deny: ["rm -rf /", "git push --force", "DELETE /api/*"]
artifacts: {{dir: {env.root / 'artifacts'}, embed_model: embed}}
"""
    # Command lanes take no model: drop model/fallbacks lines under imitated lanes.
    if not (env.real["codex"] and env.real["claude"]):
        text = _strip_models_of_command_lanes(text)
    env.config.write_text(text)


def _strip_models_of_command_lanes(text: str) -> str:
    out: list[str] = []
    in_command = False
    for line in text.splitlines():
        if line.startswith("  ") and not line.startswith("    "):
            in_command = False
        if line.strip() == "harness: command":
            in_command = True
        if in_command and line.strip().startswith(("model:", "fallbacks:", "mode:", "env:")):
            continue
        out.append(line)
    return "\n".join(out) + "\n"


@contextmanager
def demo_environment() -> Iterator[DemoEnv]:
    """Everything the demo needs, cleaned up afterwards (tmux server, temp files)."""
    root = Path(tempfile.mkdtemp(prefix="laneboard-demo-"))
    socket = f"laneboard-demo-{os.getpid()}"
    clis = find_clis()
    server = StandinServer(
        models=("qwen3:7b", "qwen3-coder:14b", "qwen3-embedding:8b"), default=demo_reply
    ).start()
    env = DemoEnv(
        root=root,
        workspace=root / "workspace",
        config=root / "laneboard-demo.yaml",
        socket=socket,
        server=server,
        real={name: hit is not None for name, hit in clis.items()},
        clis=clis,
    )
    keys = ("LANEBOARD_TMUX_SOCKET", "LANEBOARD_STATE_DIR", DEMO_KEY_ENV, "PATH")
    old = {k: os.environ.get(k) for k in keys}
    try:
        make_workspace(env.workspace)
        write_config(env)
        os.environ["LANEBOARD_TMUX_SOCKET"] = socket
        os.environ["LANEBOARD_STATE_DIR"] = str(root / "state")
        os.environ[DEMO_KEY_ENV] = "demo"
        # The harnesses look their program up on PATH (and the lanes' panes inherit it):
        # put the directories the CLIs were found in first, for this process only.
        extra = [str(Path(hit).parent) for hit in clis.values() if hit is not None]
        os.environ["PATH"] = os.pathsep.join(dict.fromkeys([*extra, old["PATH"] or ""]))
        yield env
    finally:
        remove_demo(env)
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        shutil.rmtree(root, ignore_errors=True)


def remove_demo(env: DemoEnv) -> None:
    """End what the demo started: its tmux server (and with it the lanes and the gateway,
    which is waited for) and its stand-in. Called again by a last-resort exit, so it
    must be safe to run twice."""
    subprocess.run(["tmux", "-L", env.socket, "kill-server"], capture_output=True, check=False)
    _wait_for_gateways(env.root / "state")
    env.server.stop()


def _wait_for_gateways(state: Path, timeout: float = 5.0) -> None:
    """The demo's model gateway got SIGHUP with its tmux server; let it finish writing its
    files before the temp folder goes, or it writes them again behind the removal (seen
    under load: the folder outlived the demo)."""
    from laneboard.core.procs import pid_alive
    from laneboard.gateway.client import read_info

    pids = [info.pid for d in state.glob("gateway-*") if (info := read_info(d)) is not None]
    deadline = time.monotonic() + timeout
    while any(pid_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)  # polling for a process's end, with a deadline


def install_note(real: dict[str, bool]) -> str:
    """One line before the cockpit opens: real lanes, or which are imitated and how to fix it."""
    missing = [name for name, ok in real.items() if not ok]
    if not missing:
        return "real claude and codex lanes, talking to stand-in endpoints"
    return (
        f"{' and '.join(missing)} not found (on PATH, in {cli_search_dirs()[0].parent.parent}"
        f" or {demo_npm_cache()}): those lanes imitate them; `laneboard demo --install-clis`"
        f" installs the pinned {', '.join(PINNED_CLIS[m] for m in missing)} into the demo's cache"
    )
