"""Router properties over generated configs and prompts (hypothesis).

- untrusted input never reaches a lane whose model chain has anything below orchestrator
  tier, nor a lane whose input is trusted; when no lane may take it, route() refuses;
- every decision names a rule, `@lane`, a tool pattern, `untrusted` or the default;
- `@lane` is honoured unless a fence forbids it;
- the compiled rule matcher agrees with a naive first-match loop over the rules.

Tiers are checked against the generated spec, not against the router's own view of them.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from typing import Any

import pytest
import re2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from laneboard.config import TIER_ORDER, Config
from laneboard.errors import RouteRefused
from laneboard.lanes.router import Router

TIERS = ["local", "cheap", "orchestrator", "escalation"]
MODELS = {f"p/{tier}{i}": {"tier": tier} for tier in TIERS for i in range(2)}
LANE_IDS = ["main", "coder", "review", "helper", "web", "mail"]
WORDS = ["build", "review", "fix", "mail", "deploy", "test", "docs", "Ship", "ALPHA", "beta"]
TOOLS = ["edit", "write", "read", "mcp__github__pr", "mcp__slack__post", "bash", "Fetch"]
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@dataclass
class Spec:
    cfg: Config
    tiers: dict[str, list[str]]  # lane -> tiers of its whole chain
    inputs: dict[str, str]
    rule_names: list[str]
    tool_patterns: list[str]
    fallback: str

    def may_take_untrusted(self, lane: str) -> bool:
        chain = self.tiers[lane]
        return (
            self.inputs[lane] == "untrusted"
            and bool(chain)
            and all(TIER_ORDER[t] >= TIER_ORDER["orchestrator"] for t in chain)
        )


word = st.sampled_from(WORDS)
phrase = st.lists(word, min_size=1, max_size=3).map(" ".join)


@st.composite
def match_specs(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["exact", "prefix", "glob", "regex"]))
    text = draw(phrase)
    if kind == "glob":
        text = draw(st.sampled_from([f"{text}*", f"*{text}*", f"{text} ?*", f"[{text[0]}]*"]))
    elif kind == "regex":
        w = draw(st.lists(word, min_size=1, max_size=3))
        text = draw(
            st.sampled_from(
                [
                    r"\b(" + "|".join(map(re.escape, w)) + r")\b",
                    re.escape(w[0]) + r"\s+\w+",
                    "^" + re.escape(w[0]),
                    "(?:" + re.escape(w[0]) + ")+s?",
                    re.escape(w[0][:2]),
                ]
            )
        )
    spec: dict[str, Any] = {kind: text}
    if draw(st.booleans()):
        spec["case_sensitive"] = True
    return spec


@st.composite
def configs(draw: st.DrawFn) -> Spec:
    ids = draw(st.lists(st.sampled_from(LANE_IDS), min_size=1, max_size=5, unique=True))
    lanes: dict[str, Any] = {}
    tiers: dict[str, list[str]] = {}
    inputs: dict[str, str] = {}
    model_keys = sorted(MODELS)
    for lane_id in ids:
        chain = draw(st.lists(st.sampled_from(model_keys), min_size=1, max_size=3, unique=True))
        inputs[lane_id] = draw(st.sampled_from(["trusted", "untrusted"]))
        tools = draw(st.lists(st.sampled_from([*TOOLS, "mcp__*", "re?d"]), max_size=2, unique=True))
        lanes[lane_id] = {
            "role": draw(st.sampled_from(["orchestrator", "coder", "reviewer", "helper"])),
            "harness": "codex",
            "model": chain[0],
            "fallbacks": chain[1:],
            "fence": draw(st.sampled_from(["read-only", "plan", "workspace-write", "full"])),
            "input": inputs[lane_id],
            "tools": tools,
        }
        tiers[lane_id] = [MODELS[k]["tier"] for k in chain]
    doc: dict[str, Any] = {"version": 1, "models": MODELS, "lanes": lanes}
    rule_names: list[str] = []
    tool_patterns = [t for lane in lanes.values() for t in lane["tools"]]
    fallback = ids[0]
    if draw(st.booleans()):
        lane_of = st.sampled_from(ids)
        rules = [
            {"name": f"r{i}", "match": draw(match_specs()), "lane": draw(lane_of)}
            for i in range(draw(st.integers(0, 12)))
        ]
        tool_map = draw(
            st.dictionaries(
                st.sampled_from([*TOOLS, "mcp__github__*", "b*", "*e"]), lane_of, max_size=4
            )
        )
        routing: dict[str, Any] = {
            "default": draw(lane_of),
            "rules": rules,
            "tools": tool_map
            if draw(st.booleans())
            else [{"tools": [k], "lane": v} for k, v in tool_map.items()],
        }
        fallback = routing["default"]
        if draw(st.booleans()):
            routing["untrusted"] = fallback = draw(lane_of)
        if draw(st.booleans()):
            routing["triage"] = {"lane": draw(lane_of)}
        doc["routing"] = routing
        rule_names = [r["name"] for r in rules]
        tool_patterns += list(tool_map)
    return Spec(Config.model_validate(doc), tiers, inputs, rule_names, tool_patterns, fallback)


@st.composite
def prompts(draw: st.DrawFn) -> str:
    body = draw(st.lists(st.one_of(word, st.text(max_size=6)), max_size=6).map(" ".join))
    prefix = draw(
        st.sampled_from(
            [
                "",
                "",
                "@main ",
                "@coder ",
                "@review ",
                "@helper ",
                "@web ",
                "@mail: ",
                "@nobody ",
                "  @Main ",
            ]
        )
    )
    return prefix + body


tools = st.one_of(st.none(), st.sampled_from([*TOOLS, "EDIT", "mcp__x", "unknown"]))


def named(prompt: str, spec: Spec) -> str | None:
    m = re.match(r"\s*@([A-Za-z0-9][A-Za-z0-9_-]*)[:,]?(\s|$)", prompt)
    return m.group(1).lower() if m and m.group(1).lower() in spec.cfg.lanes else None


@SETTINGS
@given(spec=configs(), prompt=prompts(), tool=tools)
def test_untrusted_input_only_reaches_capable_untrusted_lanes(
    spec: Spec, prompt: str, tool: str | None
) -> None:
    router = Router(spec.cfg)
    try:
        d = router.route(prompt, untrusted=True, tool=tool)
    except RouteRefused:
        assert not spec.may_take_untrusted(spec.fallback)
        return
    assert spec.may_take_untrusted(d.lane), (d, spec.tiers[d.lane], spec.inputs[d.lane])
    assert all(TIER_ORDER[t] >= TIER_ORDER["orchestrator"] for t in spec.tiers[d.lane])
    assert d.triage == (spec.cfg.routing is not None and spec.cfg.routing.triage is not None)


@SETTINGS
@given(spec=configs(), prompt=prompts(), tool=tools, untrusted=st.booleans())
def test_every_decision_names_a_rule_or_the_default(
    spec: Spec, prompt: str, tool: str | None, untrusted: bool
) -> None:
    try:
        d = Router(spec.cfg).route(prompt, untrusted=untrusted, tool=tool)
    except RouteRefused:
        assert untrusted
        return
    allowed = {
        "@lane",
        "default",
        "untrusted",
        *spec.rule_names,
        *(f"tool:{p}" for p in spec.tool_patterns),
    }
    assert d.rule in allowed
    assert d.reason.strip() and d.lane in spec.cfg.lanes
    assert d.fence == spec.cfg.lanes[d.lane].fence  # the fence, not the prompt, decides
    if d.rule == "default":
        assert d.lane == spec.cfg.default_lane
    if d.rule == "untrusted":
        assert untrusted and d.lane == spec.fallback


@SETTINGS
@given(spec=configs(), prompt=prompts(), tool=tools, untrusted=st.booleans())
def test_at_lane_is_honoured_unless_a_fence_forbids_it(
    spec: Spec, prompt: str, tool: str | None, untrusted: bool
) -> None:
    lane = named(prompt, spec)
    try:
        d = Router(spec.cfg).route(prompt, untrusted=untrusted, tool=tool)
    except RouteRefused:
        assert untrusted and not spec.may_take_untrusted(spec.fallback)
        return
    if lane is None:
        assert d.rule != "@lane" and d.prompt == prompt
    elif untrusted and not spec.may_take_untrusted(lane):
        assert (d.lane, d.rule) == (spec.fallback, "untrusted")
        assert f"@{lane}" in d.reason
    else:
        assert (d.lane, d.rule) == (lane, "@lane")
        # The `@lane` mention and the blank after it are gone; what follows is the person's
        # text, even when it is itself a lone "@" ("@main @" sends "@").
        assert not d.prompt.startswith((f"@{lane} ", " "))
        assert prompt.rstrip().endswith(d.prompt.strip())


def naive_first_match(cfg: Config, text: str) -> str | None:
    text = text.strip()
    for rule in cfg.routing.rules if cfg.routing else []:
        m = rule.match
        flags = 0 if m.case_sensitive else re.IGNORECASE
        if m.exact is not None:
            ok = text == m.exact if m.case_sensitive else text.casefold() == m.exact.casefold()
        elif m.prefix is not None:
            ok = (
                text.startswith(m.prefix)
                if m.case_sensitive
                else text.casefold().startswith(m.prefix.casefold())
            )
        elif m.glob is not None:
            ok = re.match(fnmatch.translate(m.glob), text, flags) is not None
        else:
            # Regex rules run on RE2 (laneboard.linear_regex); the reference does too.
            options = re2.Options()
            options.case_sensitive = m.case_sensitive
            ok = re2.search(m.regex or "", text, options) is not None
        if ok:
            return rule.name
    return None


@SETTINGS
@given(spec=configs(), body=st.lists(st.one_of(word, st.text(max_size=8)), max_size=8))
def test_compiled_rules_agree_with_a_naive_loop(spec: Spec, body: list[str]) -> None:
    text = " ".join(body)
    if text.lstrip().startswith("@"):
        return
    d = Router(spec.cfg).route(text)
    expected = naive_first_match(spec.cfg, text)
    assert (d.rule if d.rule not in ("default",) else None) == expected


@pytest.mark.parametrize("prompt", ["", " ", "@", "@@main x", "\n@main"])
def test_degenerate_prompts_route(prompt: str) -> None:
    cfg = Config.model_validate(
        {
            "version": 1,
            "models": MODELS,
            "lanes": {
                "main": {"role": "orchestrator", "harness": "codex", "model": "p/orchestrator0"}
            },
        }
    )
    assert Router(cfg).route(prompt).lane == "main"
