"""Route decisions per second with 1,000 rules (goal: at least 20,000/s).

The cockpit calls `Router.route()` on every keystroke, so routing must stay fast however
many rules a config grows. The rule set mixes every kind — 150 exact, 200 prefix, 150 glob
and 500 regex rules (word alternations, multi-word phrases, anchors, repeats), a quarter of
them case-sensitive — and the prompts mix short commands, sentences and pasted paragraphs
that hit a rule early, late, or none at all, with some `@lane`, tool and untrusted calls.

    python benchmarks/route_bench.py [--seconds S]
"""

from __future__ import annotations

import argparse
import random
import time
from typing import Any

RULES = 1000
SEED = 20240601


def _words(rng: random.Random, n: int) -> list[str]:
    consonants, vowels = "bcdfghjklmnprstvz", "aeiou"
    out: set[str] = set()
    while len(out) < n:
        k = rng.randint(2, 4)
        out.add("".join(rng.choice(consonants) + rng.choice(vowels) for _ in range(k)))
    return sorted(out)


def build_config(rules: int = RULES, seed: int = SEED) -> Any:
    """A config with `rules` routing rules over four lanes (a validated `Config`)."""
    from laneboard.config import Config

    rng = random.Random(seed)
    vocab = _words(rng, 3000)
    lanes = ["main", "coder", "review", "helper"]
    out: list[dict[str, Any]] = []
    for i in range(rules):
        w = vocab[i * 3 : i * 3 + 3]
        kind = rng.choices(["exact", "prefix", "glob", "regex"], [15, 20, 15, 50])[0]
        pattern = {
            "exact": f"{w[0]} {w[1]}",
            "prefix": f"{w[0]} {w[1][:3]}",
            "glob": rng.choice([f"{w[0]} * {w[1]}", f"*{w[0]}?{w[1]}*", f"[{w[0][0]}]{w[0][1:]}*"]),
            "regex": rng.choice(
                [
                    rf"\b({w[0]}|{w[1]}|{w[2]})\b",
                    rf"{w[0]}\s+{w[1]}",
                    rf"^{w[0]}\b",
                    rf"(?:{w[1]})+ing",
                    rf"{w[0]}-\d+",
                    rf"\b{w[2]}(s|ed)?\b",
                ]
            ),
        }[kind]
        match: dict[str, Any] = {kind: pattern}
        if rng.random() < 0.25:
            match["case_sensitive"] = True
        out.append({"name": f"r{i}", "match": match, "lane": rng.choice(lanes)})
    doc = {
        "version": 1,
        "models": {
            "oa/big": {"alias": "big", "tier": "orchestrator"},
            "an/opus": {"alias": "opus", "tier": "escalation"},
            "ol/qwen:7b": {"alias": "qwen", "tier": "local"},
        },
        "lanes": {
            "main": {
                "role": "orchestrator",
                "harness": "codex",
                "model": "big",
                "input": "untrusted",
                "fence": "workspace-write",
            },
            "coder": {
                "role": "coder",
                "harness": "codex",
                "model": "big",
                "fence": "workspace-write",
            },
            "review": {
                "role": "reviewer",
                "harness": "claude-code",
                "model": "opus",
                "fence": "plan",
            },
            "helper": {"role": "helper", "harness": "ollama", "model": "qwen"},
        },
        "routing": {
            "default": "main",
            "untrusted": "main",
            "rules": out,
            "tools": {"edit": "coder", "mcp__*": "helper", "web_*": "main"},
        },
    }
    return Config.model_validate(doc), vocab


def build_prompts(
    vocab: list[str], n: int = 400, seed: int = SEED
) -> list[tuple[str, bool, str | None]]:
    """(prompt, untrusted, tool) triples: short and long, matching early, late or never."""
    rng = random.Random(seed + 1)
    sentence = "please look at the failing build on main and tell me what you think of the "
    sentence += "approach before we ship it to everyone tomorrow morning"
    filler = sentence.split()
    prompts: list[tuple[str, bool, str | None]] = []
    for _ in range(n):
        shape = rng.random()
        if shape < 0.3:  # a short command, often a rule's words
            w = rng.choice(vocab)
            text = f"{w} {rng.choice(vocab)}"
        elif shape < 0.75:  # a sentence with a rule word somewhere
            words = [*rng.sample(filler, 12), rng.choice(vocab)]
            rng.shuffle(words)
            text = " ".join(words)
        elif shape < 0.9:  # a sentence that matches nothing
            text = " ".join(rng.sample(filler, 15))
        else:  # a pasted paragraph
            text = " ".join(rng.choice(filler + vocab[:50]) for _ in range(120))
        if rng.random() < 0.1:
            text = f"@{rng.choice(['review', 'coder', 'helper', 'nobody'])} {text}"
        if rng.random() < 0.3:
            text = text.upper()
        untrusted = rng.random() < 0.1
        tool = rng.choice(["edit", "mcp__x", "read"]) if rng.random() < 0.1 else None
        prompts.append((text, untrusted, tool))
    return prompts


def route_decisions_per_s(seconds: float = 2.0, rules: int = RULES, *, wall: bool = False) -> float:
    """Decisions per second of `Router.route` over the prompt mix with `rules` rules.

    Measured in CPU time of this process (`time.process_time`) unless `wall`: routing is
    single-threaded and CPU-bound, and on a shared machine wall-clock time mostly
    measures the neighbours.
    """
    from laneboard.lanes.router import Router

    cfg, vocab = build_config(rules)
    router = Router(cfg)
    prompts = build_prompts(vocab)
    route = router.route
    clock = time.perf_counter if wall else time.process_time
    done = 0
    start = clock()
    deadline = start + seconds
    while True:
        for text, untrusted, tool in prompts:
            route(text, untrusted=untrusted, tool=tool)  # untrusted -> main: never refused
        done += len(prompts)
        now = clock()
        if now >= deadline:
            return done / (now - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    from laneboard.lanes.router import Router

    cfg, _ = build_config()
    t0 = time.perf_counter()
    Router(cfg)
    compile_ms = (time.perf_counter() - t0) * 1000
    rate = route_decisions_per_s(args.seconds)
    wall = route_decisions_per_s(args.seconds, wall=True)
    print(f"route_decisions_per_s: {rate:,.0f} per CPU-second (rules: {RULES}, goal: 20,000)")
    print(f"wall_clock_decisions_per_s: {wall:,.0f}")
    print(f"compile_ms: {compile_ms:.1f}")


if __name__ == "__main__":
    main()
