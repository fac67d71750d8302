"""The review ladder against sending every diff straight to the escalation lane (issue 19).

What it measures, in one run: a set of recorded diffs — 4 trivial (docs, comments), 4
normal (ordinary code changes; one of them draws a HIGH finding on rung 2, so the ladder
climbs), 3 risky (touches `auth/`, bumps dependency manifests, a change larger than
`review.escalate.lines`) — committed on branches of a temporary git repository, each
reviewed twice per round through `laneboard.lanes.review_ladder.run_ladder`:

- **ladder**: the whole ladder (classify → review → escalate when a rule fires);
- **direct**: `--rung 3` only, i.e. the diff sent straight to the escalation lane with the
  same review prompt, as the one-step `laneboard review` does.

Reported per diff class (median over diffs and rounds): tokens, cost in USD (the prices
in `PRICES`, list prices assumed for the tiers: a free local model, an orchestrator-tier
model, an Opus-class escalation model), wall time; and the share of escalation-rung tokens
the ladder saved over all diffs (1 - ladder's rung-3 tokens / direct's rung-3 tokens).

Stand-ins, not real models: every rung, the escalation rung included, is an Ollama lane
on the stand-in endpoint (`laneboard.standins`), so the benchmark needs no `claude`, no
account and no network. The stand-in reports usage as a script: input tokens are the
request's bytes / 4 (the prompt, the harness's system text and any history it resends —
what the rung actually reads, including the earlier rungs' answers the ladder adds),
output tokens the answer's bytes / 4. The answers are recorded per diff and per rung (a
classification, findings), so which rungs run is decided by laneboard's real rules on
real git diffs. Wall time is laneboard's own time with models that answer at once (git,
prompt building, redaction, the supervisor, the artifact store, per rung): it shows what
the extra rungs cost in orchestration, not model latency, which the stand-ins do not
imitate.

    python -m benchmarks.review_bench [--rounds N]

Prints the figures and writes JSON to benchmarks/results/review_bench.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.benchlib import ROOT, forget_socket, median, socket_name

#: (input, output) USD per million tokens, per rung model (assumed list prices).
PRICES = {"local": (0.0, 0.0), "orchestrator": (3.0, 15.0), "escalation": (5.0, 25.0)}
MODELS = {"local": "qwen3:1.7b", "orchestrator": "qwen3:32b", "escalation": "opus-standin:latest"}
ESCALATE_LINES = 400
GIT_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "bench@example.com",
}

CONFIG = """\
version: 1
tmux: {{socket: {socket}}}
providers:
  ollama: {{harness: ollama, base_url: "{url}"}}
models:
  ollama/{local}: {{alias: small, tier: local, cost: {{input: {p[local][0]}, output: {p[local][1]}}}}}
  ollama/{orchestrator}: {{alias: mid, tier: orchestrator, cost: {{input: {p[orchestrator][0]}, output: {p[orchestrator][1]}}}}}
  ollama/{escalation}: {{alias: big, tier: escalation, cost: {{input: {p[escalation][0]}, output: {p[escalation][1]}}}}}
lanes:
  triage: {{role: helper, harness: ollama, model: small, fence: read-only}}
  second: {{role: reviewer, harness: ollama, model: mid, fence: read-only}}
  review: {{role: reviewer, harness: ollama, model: big, fence: read-only}}
routing: {{default: review}}
artifacts: {{dir: "{artifacts}"}}
review:
  ladder:
    - {{lane: triage, does: classify}}
    - {{lane: second, does: review}}
    - {{lane: review, does: escalate}}
  escalate: {{lines: {lines}, severity: HIGH}}
"""

BASE_FILES = {
    "README.md": "# shop\n\nA small shop service.\n",
    "CHANGELOG.md": "# Changelog\n\n## 0.3.0\n- carts\n",
    ".gitignore": "__pycache__/\n",
    "requirements.txt": "httpx==0.27.0\npydantic==2.7.1\n",
    "pyproject.toml": '[project]\nname = "shop"\nversion = "0.3.0"\n'
                      'dependencies = ["httpx==0.27.0", "pydantic==2.7.1"]\n',
    "shop/__init__.py": '"""The shop service."""\n',
    "shop/cart.py": (
        "def total(items):\n    return sum(i.price * i.qty for i in items)\n\n\n"
        "def count(items):\n    return sum(i.qty for i in items)\n"
    ),
    "shop/pricing.py": "def discount(total, percent):\n    return total * (100 - percent) / 100\n",
    "shop/orders.py": (
        "import json\n\n\ndef load(path):\n    with open(path) as f:\n        return json.load(f)\n"
    ),
    "auth/__init__.py": "",
    "auth/session.py": (
        "import secrets\n\n\ndef new_token():\n    return secrets.token_urlsafe(32)\n\n\n"
        "def same(a, b):\n    return secrets.compare_digest(a, b)\n"
    ),
}


@dataclass(frozen=True)
class DiffCase:
    """One recorded change and what each rung's stand-in answers about it."""

    name: str
    kind: str  # trivial | normal | risky
    files: dict[str, str]
    classify: str
    review: str
    escalate: str

    @property
    def key(self) -> str:
        """What names this diff in every rung's prompt: its branch (`head bench/<name>`)."""
        return f"head bench/{self.name} ("


def _big_module() -> str:
    lines = ['"""Reports over orders (generated for the benchmark)."""', ""]
    for i in range(90):
        lines += [f"def report_{i}(orders):", f"    rows = [o for o in orders if o.kind == {i}]",
                  "    return {'count': len(rows), 'total': sum(o.total for o in rows)}", "", ""]
    return "\n".join(lines) + "\n"


CASES: tuple[DiffCase, ...] = (
    DiffCase("readme-line", "trivial", {"README.md": "# shop\n\nA small shop service.\n\n"
                                                      "Run it with `python -m shop`.\n"},
             "CLASS: trivial\nNo findings.\nA README sentence on how to run the service.",
             "No findings.", "No findings.\nDocumentation only."),
    DiffCase("changelog", "trivial", {"CHANGELOG.md": "# Changelog\n\n## 0.3.1\n- fix totals\n\n"
                                                       "## 0.3.0\n- carts\n"},
             "CLASS: trivial\nNo findings.\nA changelog entry.", "No findings.",
             "No findings.\nA changelog entry."),
    DiffCase("gitignore", "trivial", {".gitignore": "__pycache__/\n.venv/\n*.egg-info/\n"},
             "CLASS: trivial\nNo findings.\nTwo ignore patterns.", "No findings.",
             "No findings."),
    DiffCase("docstring", "trivial", {"shop/__init__.py": '"""The shop service: carts, '
                                                          'pricing and orders."""\n'},
             "CLASS: trivial\nNo findings.\nA docstring reworded.", "No findings.",
             "No findings.\nA docstring."),
    DiffCase("cart-rounding", "normal", {"shop/cart.py": (
        "def total(items):\n    return round(sum(i.price * i.qty for i in items), 2)\n\n\n"
        "def count(items):\n    return sum(i.qty for i in items)\n")},
        "CLASS: normal\n[MINOR] shop/cart.py:2 - rounding floats; prefer Decimal\nRounds totals.",
        "[MINOR] shop/cart.py:2 - float rounding; use Decimal for money\nOtherwise fine.",
        "[MINOR] shop/cart.py:2 - money as float; use Decimal\nA rounding change."),
    DiffCase("discount-cap", "normal", {"shop/pricing.py": (
        "def discount(total, percent):\n    percent = max(0, min(percent, 90))\n"
        "    return total * (100 - percent) / 100\n")},
        "CLASS: normal\nNo findings.\nCaps the discount.",
        "[NIT] shop/pricing.py:2 - name the 90 (MAX_DISCOUNT)\nCaps discounts at 90%.",
        "[NIT] shop/pricing.py:2 - magic number 90\nCaps discounts."),
    DiffCase("orders-encoding", "normal", {"shop/orders.py": (
        "import json\n\n\ndef load(path):\n    with open(path, encoding='utf-8') as f:\n"
        "        return json.load(f)\n")},
        "CLASS: normal\nNo findings.\nOpens order files as UTF-8.",
        "No findings.\nExplicit encoding; good.", "No findings.\nExplicit encoding."),
    DiffCase("orders-delete", "normal", {"shop/orders.py": (
        "import json\nimport shutil\n\n\ndef load(path):\n    with open(path) as f:\n"
        "        return json.load(f)\n\n\ndef purge(folder):\n    shutil.rmtree(folder)\n")},
        "CLASS: normal\nNo findings.\nAdds a purge helper.",
        "[HIGH] shop/orders.py:11 - purge deletes any folder it is given, no check it is the "
        "orders folder\nA new destructive helper.",
        "[HIGH] shop/orders.py:11 - unchecked rmtree on a caller's path; confine it to the "
        "orders folder\n[MINOR] shop/orders.py:10 - no docstring"),
    DiffCase("auth-compare", "risky", {"auth/session.py": (
        "import secrets\n\n\ndef new_token():\n    return secrets.token_urlsafe(16)\n\n\n"
        "def same(a, b):\n    return a == b\n")},
        "CLASS: risky\n[MAJOR] auth/session.py:9 - compares tokens with ==\nAuth change.",
        "[HIGH] auth/session.py:9 - timing attack: use secrets.compare_digest\n"
        "[MAJOR] auth/session.py:5 - token entropy halved",
        "[BLOCKER] auth/session.py:9 - == on tokens leaks timing; keep compare_digest\n"
        "[MAJOR] auth/session.py:5 - 16 bytes is below the 32 the sessions need"),
    DiffCase("deps-bump", "risky", {
        "requirements.txt": "httpx==0.28.1\npydantic==2.9.2\nrich==13.9.4\n",
        "pyproject.toml": '[project]\nname = "shop"\nversion = "0.3.0"\n'
                          'dependencies = ["httpx==0.28.1", "pydantic==2.9.2", "rich==13.9.4"]\n'},
        "CLASS: trivial\nNo findings.\nVersion bumps.",
        "[MINOR] requirements.txt:3 - new dependency rich; is it needed at run time?",
        "[MAJOR] requirements.txt:1 - httpx 0.28 removed the `app=` shortcut; check callers\n"
        "[MINOR] pyproject.toml:4 - rich only for the CLI; make it an extra"),
    DiffCase("reports-module", "risky", {"shop/reports.py": _big_module()},
             "CLASS: normal\nNo findings.\nA generated reports module.",
             "[MINOR] shop/reports.py:3 - 60 near-identical functions; one with a parameter",
             "[MAJOR] shop/reports.py:3 - duplicated report functions; one parametrised "
             "function\n[MINOR] shop/reports.py:5 - o.kind compared to an int"),
)


# ---------------------------------------------------------------------------- setup


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, env={**os.environ, **GIT_ENV}, check=True,
                          capture_output=True, text=True).stdout


def make_repo(repo: Path) -> None:
    """A repository with `main` and one branch `bench/<name>` per case."""
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    for path, text in BASE_FILES.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_text(text)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "shop 0.3.0")
    for case in CASES:
        _git(repo, "checkout", "-q", "-b", f"bench/{case.name}", "main")
        for path, text in case.files.items():
            (repo / path).parent.mkdir(parents=True, exist_ok=True)
            (repo / path).write_text(text)
        _git(repo, "add", "-A")
        _git(repo, "commit", "-q", "-m", f"{case.kind}: {case.name}")
    _git(repo, "checkout", "-q", "main")


def answer_by_rung(request: Any) -> Any:
    """The stand-in's default reply: the recorded answer of the rung (known by the model
    asked) about the diff (known by its branch in the prompt), usage proportional to bytes."""
    from laneboard.standins import Reply

    prompt = request.prompt or ""
    model = request.model or ""
    case = next((c for c in CASES if c.key in prompt), None)
    if case is None:
        text = "UNSURE: yes\nNo findings."
    elif model.startswith(MODELS["local"]):
        text = case.classify
    elif model.startswith(MODELS["orchestrator"]):
        text = case.review
    else:
        text = case.escalate
    return Reply.text(text, input_tokens=max(1, math.ceil(len(request.raw) / 4)),
                      output_tokens=max(1, math.ceil(len(text.encode()) / 4)))


# ---------------------------------------------------------------------------- running


@dataclass
class Run:
    case: str
    kind: str
    mode: str  # ladder | direct
    rungs_run: list[int]
    tokens: int
    escalation_tokens: int
    cost_usd: float
    wall_s: float
    stopped: str
    findings: int


async def review_once(loaded: Any, repo: Path, store: Any, case: DiffCase, mode: str) -> Run:
    from laneboard.lanes.review_ladder import run_ladder

    t0 = time.perf_counter()
    result = await run_ladder(loaded, cwd=repo, base="main", head=f"bench/{case.name}",
                              only_rung=3 if mode == "direct" else None, store=store,
                              timeout_s=120)
    wall = time.perf_counter() - t0
    if result.state != "done" or result.tree_unchanged is not True:
        raise SystemExit(f"{case.name} ({mode}) did not finish: {result.state} "
                         f"{[r.error for r in result.rungs if r.error]}")
    ran = [r for r in result.rungs if r.ran]
    return Run(case.name, case.kind, mode, [r.index for r in ran], sum(r.tokens for r in ran),
               sum(r.tokens for r in ran if r.does == "escalate"),
               sum(r.cost_usd or 0.0 for r in ran), wall, result.stopped,
               len(result.findings))


async def run(rounds: int) -> dict[str, Any]:
    from laneboard.config import load_config
    from laneboard.lanes.redaction import open_store
    from laneboard.standins import StandinServer

    tmp = Path(tempfile.mkdtemp(prefix="lb-review-bench-"))
    socket = socket_name("review")
    saved = {k: os.environ.get(k) for k in ("LANEBOARD_TMUX_SOCKET", "LANEBOARD_STATE_DIR")}
    os.environ["LANEBOARD_TMUX_SOCKET"] = socket
    os.environ["LANEBOARD_STATE_DIR"] = str(tmp / "state")
    runs: list[Run] = []
    try:
        repo = tmp / "repo"
        await asyncio.to_thread(make_repo, repo)
        with StandinServer(models=list(MODELS.values()), default=answer_by_rung) as standin:
            cfg = tmp / "laneboard.yaml"
            cfg.write_text(CONFIG.format(socket=socket, url=standin.url, p=PRICES,
                                         artifacts=tmp / "artifacts", lines=ESCALATE_LINES,
                                         **MODELS))
            loaded = load_config(cfg)
            store = open_store(loaded.config, repo)
            try:
                # one warm-up pair, not counted (imports, the artifact index)
                await review_once(loaded, repo, store, CASES[4], "ladder")
                await review_once(loaded, repo, store, CASES[4], "direct")
                for n in range(rounds):
                    for case in CASES:  # alternate which goes first: same noise for both
                        order = ("ladder", "direct") if n % 2 == 0 else ("direct", "ladder")
                        for mode in order:
                            runs.append(await review_once(loaded, repo, store, case, mode))
            finally:
                store.close()
    finally:
        await asyncio.to_thread(subprocess.run, ["tmux", "-L", socket, "kill-server"],
                                capture_output=True, check=False)
        forget_socket(socket)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        shutil.rmtree(tmp, ignore_errors=True)
    return summarise(runs, rounds)


def summarise(runs: list[Run], rounds: int) -> dict[str, Any]:
    def med(kind: str | None, mode: str, get: Callable[[Run], float]) -> float:
        return median(get(r) for r in runs if r.mode == mode and kind in (None, r.kind))

    classes: dict[str, Any] = {}
    for kind in ("trivial", "normal", "risky", None):
        row: dict[str, Any] = {"diffs": len({r.case for r in runs if kind in (None, r.kind)})}
        for mode in ("ladder", "direct"):
            row[mode] = {
                "tokens_p50": med(kind, mode, lambda r: r.tokens),
                "escalation_tokens_p50": med(kind, mode, lambda r: r.escalation_tokens),
                "cost_usd_p50": round(med(kind, mode, lambda r: r.cost_usd), 6),
                "wall_ms_p50": round(med(kind, mode, lambda r: r.wall_s * 1000), 1),
            }
        classes[kind or "all"] = row
    ladder_esc = sum(r.escalation_tokens for r in runs if r.mode == "ladder")
    direct_esc = sum(r.escalation_tokens for r in runs if r.mode == "direct")
    ladder_cost = sum(r.cost_usd for r in runs if r.mode == "ladder")
    direct_cost = sum(r.cost_usd for r in runs if r.mode == "direct")
    ladder_tok = sum(r.tokens for r in runs if r.mode == "ladder")
    direct_tok = sum(r.tokens for r in runs if r.mode == "direct")
    per_case: dict[str, dict[str, Any]] = {}
    for r in runs:
        if r.mode == "ladder":
            per_case.setdefault(r.case, {"kind": r.kind, "rungs": r.rungs_run,
                                         "stopped": r.stopped, "findings": r.findings})
    escalated = len([c for c in per_case.values() if 3 in c["rungs"]])
    return {
        "rounds": rounds, "cases": len(CASES), "prices_usd_per_mtok": PRICES,
        "models": MODELS, "escalate_lines": ESCALATE_LINES,
        "stand_ins": "every rung an Ollama lane on laneboard.standins; input tokens = "
                     "request bytes / 4, output tokens = answer bytes / 4; no real model",
        "classes": classes,
        "escalation_tokens_saved_share": round(1 - ladder_esc / direct_esc, 4),
        "escalation_tokens": {"ladder": ladder_esc, "direct": direct_esc},
        "total_tokens": {"ladder": ladder_tok, "direct": direct_tok},
        "cost_usd_total": {"ladder": round(ladder_cost, 6), "direct": round(direct_cost, 6),
                           "saved_share": round(1 - ladder_cost / direct_cost, 4)},
        "escalated_by_ladder": f"{escalated}/{len(per_case)}",
        "per_case": per_case,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3, help="reviews per diff and mode (3)")
    args = ap.parse_args()
    if args.rounds < 1:
        ap.error("--rounds must be at least 1")
    result = asyncio.run(run(args.rounds))
    print(f"{'class':8} {'mode':7} {'tokens p50':>11} {'rung-3 tok':>11} {'cost p50 $':>11} "
          f"{'wall p50 ms':>12}")
    for kind, row in result["classes"].items():
        for mode in ("ladder", "direct"):
            m = row[mode]
            print(f"{kind:8} {mode:7} {m['tokens_p50']:>11,.0f} {m['escalation_tokens_p50']:>11,.0f}"
                  f" {m['cost_usd_p50']:>11.5f} {m['wall_ms_p50']:>12.1f}")
    print(f"escalation-rung tokens saved by the ladder: "
          f"{result['escalation_tokens_saved_share']:.1%} "
          f"({result['escalation_tokens']['ladder']:,} vs {result['escalation_tokens']['direct']:,})")
    print(f"cost saved: {result['cost_usd_total']['saved_share']:.1%}; "
          f"total tokens {result['total_tokens']['ladder']:,} vs "
          f"{result['total_tokens']['direct']:,}; escalated by the ladder: "
          f"{result['escalated_by_ladder']} diffs")
    for name, c in result["per_case"].items():
        print(f"  {c['kind']:7} {name:16} rungs {c['rungs']}  {c['stopped']}")
    out = ROOT / "benchmarks" / "results" / "review_bench.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=1))
    tmp.replace(out)
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
