"""Router: one case table per step of the routing order, on small configs built here."""

from __future__ import annotations

import re
import sys
from typing import Any

import pytest
import re2
import yaml

from laneboard.config import Config, parse_config
from laneboard.errors import LaneError, RouteRefused
from laneboard.lanes.router import (
    _ASCII_LOOKALIKES,
    RouteDecision,
    Router,
    parse_at_lane,
)

MODELS = {
    "oa/big": {"alias": "big", "tier": "orchestrator"},
    "oa/mini": {"alias": "mini", "tier": "cheap"},
    "an/opus": {"alias": "opus", "tier": "escalation"},
    "ol/qwen:7b": {"alias": "qwen", "tier": "local"},
}


def lane(role: str, harness: str, model: str, **kw: Any) -> dict[str, Any]:
    return {"role": role, "harness": harness, "model": model, **kw}


LANES: dict[str, Any] = {
    "main": lane("orchestrator", "codex", "big", fence="workspace-write", input="untrusted"),
    "coder": lane("coder", "codex", "big", fence="workspace-write"),
    "review": lane("reviewer", "claude-code", "opus", fence="plan"),
    "helper": lane("helper", "ollama", "qwen", fence="read-only"),
    # untrusted input, but a local fallback: the whole chain must be orchestrator tier
    "web": lane("orchestrator", "codex", "big", fallbacks=["qwen"], input="untrusted"),
    "mailer": lane("orchestrator", "claude-code", "opus", fence="plan", input="untrusted"),
    "cheap": lane("helper", "codex", "mini", input="untrusted"),
}

RULES = [
    {"name": "status", "match": {"exact": "status"}, "lane": "helper"},
    {"name": "review", "match": {"prefix": "review"}, "lane": "review"},
    {"name": "loud", "match": {"prefix": "LOUD", "case_sensitive": True}, "lane": "helper"},
    {"name": "tests", "match": {"glob": "run * tests"}, "lane": "coder"},
    {"name": "build", "match": {"regex": r"\b(build|implement|refactor)\b"}, "lane": "coder"},
    {"name": "todo", "match": {"regex": "TODO", "case_sensitive": True}, "lane": "helper"},
    {"name": "late-exact", "match": {"exact": "implement it"}, "lane": "helper"},
]


def make(routing: dict[str, Any] | None = None, lanes: dict[str, Any] | None = None) -> Config:
    doc: dict[str, Any] = {"version": 1, "models": MODELS, "lanes": lanes or LANES}
    if routing is not None:
        doc["routing"] = routing
    return parse_config(yaml.safe_dump(doc, sort_keys=False).encode(), "test.yaml").config


@pytest.fixture(scope="module")
def router() -> Router:
    return Router(
        make(
            {
                "default": "main",
                "untrusted": "main",
                "rules": RULES,
                "tools": {
                    "edit": "coder",
                    "mcp__*": "helper",
                    "mcp__github__*": "review",
                    "mcp__github__delete": "coder",
                    "read?": "helper",
                },
                "triage": {"lane": "helper"},
            }
        )
    )


# ---------------------------------------------------------------- rules


@pytest.mark.parametrize(
    ("prompt", "lane", "rule"),
    [
        ("status", "helper", "status"),
        ("  STATUS \n", "helper", "status"),  # stripped, case-insensitive
        ("status please", "main", "default"),  # exact is the whole prompt
        ("Review the diff", "review", "review"),
        ("reviewing", "review", "review"),  # a prefix is a prefix
        ("LOUD noise", "helper", "loud"),
        ("loud noise", "main", "default"),  # case_sensitive: true
        ("run the unit tests", "coder", "tests"),
        ("RUN ALL TESTS", "coder", "tests"),
        ("please run tests now", "main", "default"),  # a glob matches the whole prompt
        ("Implement the parser", "coder", "build"),
        ("we need to REFACTOR this", "coder", "build"),  # regex: anywhere, any case
        ("rebuilding", "main", "default"),  # \b holds
        ("fix the TODO", "helper", "todo"),
        ("fix the todo", "main", "default"),
        ("review and implement", "review", "review"),  # first match wins
        ("implement it", "coder", "build"),  # an earlier regex beats a later exact
        ("", "main", "default"),
        ("hello there", "main", "default"),
    ],
)
def test_rules_in_order(router: Router, prompt: str, lane: str, rule: str) -> None:
    d = router.route(prompt)
    assert (d.lane, d.rule) == (lane, rule)
    assert d.prompt == prompt
    assert d.reason.endswith(".") and d.reason[0].isupper()
    if rule != "default":
        assert repr(rule) in d.reason


def test_later_kinds_do_not_jump_the_queue() -> None:
    r = Router(
        make(
            {
                "default": "main",
                "rules": [
                    {"name": "re", "match": {"regex": "deploy"}, "lane": "coder"},
                    {"name": "ex", "match": {"exact": "deploy"}, "lane": "helper"},
                    {"name": "pre", "match": {"prefix": "dep"}, "lane": "review"},
                    {"name": "glob", "match": {"glob": "d*"}, "lane": "helper"},
                ],
            }
        )
    )
    assert r.route("deploy").rule == "re"
    assert r.route("dependency").rule == "pre"
    assert r.route("dx").rule == "glob"


def test_no_routing_section_uses_the_first_lane() -> None:
    d = Router(make(None)).route("implement everything")
    assert (d.lane, d.rule) == ("main", "default")
    assert "no routing section" in d.reason


# ---------------------------------------------------------------- @lane


@pytest.mark.parametrize(
    ("prompt", "lane", "rule", "rest"),
    [
        ("@review look at this", "review", "@lane", "look at this"),
        ("@Review: look", "review", "@lane", "look"),
        ("  @coder   do it", "coder", "@lane", "do it"),
        ("@helper implement x", "helper", "@lane", "implement x"),  # beats the rules
        ("@review", "review", "@lane", ""),
        ("@review\nmultiline\ntext", "review", "@lane", "multiline\ntext"),
        ("mail me at x@review.com", "main", "default", "mail me at x@review.com"),
        ("@nobody implement", "coder", "build", "@nobody implement"),  # not a lane: as written
        ("@dataclass question", "main", "default", "@dataclass question"),
    ],
)
def test_at_lane(router: Router, prompt: str, lane: str, rule: str, rest: str) -> None:
    d = router.route(prompt)
    assert (d.lane, d.rule, d.prompt) == (lane, rule, rest)


def test_at_lane_beats_tool_routing(router: Router) -> None:
    assert router.route("@review x", tool="edit").lane == "review"


def test_unknown_at_lane_says_so_with_a_suggestion(router: Router) -> None:
    d = router.route("@revew the diff")
    assert d.lane == "main"
    assert "@revew names no lane" in d.reason and "@review" in d.reason


def test_parse_at_lane() -> None:
    assert parse_at_lane("@Main, hi") == ("main", "hi")
    assert parse_at_lane("@main-2 hi") == ("main-2", "hi")
    assert parse_at_lane("@ main") is None
    assert parse_at_lane("@main.py") is None  # not followed by whitespace: not a lane prefix
    assert parse_at_lane("hi @main") is None


# ---------------------------------------------------------------- tools


@pytest.mark.parametrize(
    ("tool", "lane", "rule"),
    [
        ("edit", "coder", "tool:edit"),
        ("EDIT", "coder", "tool:edit"),  # tool names ignore case
        ("mcp__github__create_pr", "review", "tool:mcp__github__*"),  # longest prefix
        ("mcp__slack__post", "helper", "tool:mcp__*"),
        ("mcp__github__delete", "coder", "tool:mcp__github__delete"),  # exact beats prefix
        ("reads", "helper", "tool:read?"),  # glob
        ("readme", "main", "default"),  # glob is the whole name; no rule matches ""
    ],
)
def test_tool_routing_map_form(router: Router, tool: str, lane: str, rule: str) -> None:
    d = router.route("", tool=tool)
    assert (d.lane, d.rule) == (lane, rule)


def test_unmatched_tool_falls_through_to_rules(router: Router) -> None:
    assert router.route("implement it", tool="nothing").rule == "build"


def test_tool_routing_list_form_and_lane_overrides() -> None:
    lanes = dict(LANES)
    lanes["review"] = {**LANES["review"], "tools": ["Edit", "lint*"]}
    lanes["helper"] = {**LANES["helper"], "tools": ["edit"]}  # a later lane: review keeps it
    r = Router(
        make(
            {
                "default": "main",
                "tools": [
                    {"tools": ["edit", "write", "apply_*"], "lane": "coder"},
                    {"tools": ["write"], "lane": "helper"},  # the earlier entry wins
                ],
            },
            lanes,
        )
    )
    assert r.route("", tool="apply_patch").rule == "tool:apply_*"
    assert r.route("", tool="write").lane == "coder"
    d = r.route("", tool="edit")
    assert (d.lane, d.rule) == ("review", "tool:Edit")
    assert "lanes.review.tools" in d.reason
    assert r.route("", tool="lint_fix").lane == "review"


def test_tool_map_and_list_forms_agree() -> None:
    as_map = Router(make({"default": "main", "tools": {"edit": "coder", "web_*": "main"}}))
    as_list = Router(
        make(
            {
                "default": "main",
                "tools": [
                    {"tools": ["edit"], "lane": "coder"},
                    {"tools": ["web_*"], "lane": "main"},
                ],
            }
        )
    )
    for tool in ("edit", "web_fetch", "other"):
        assert as_map.route("x", tool=tool) == as_list.route("x", tool=tool)


# ---------------------------------------------------------------- untrusted input


@pytest.mark.parametrize(
    ("prompt", "tool", "lane", "rule", "says"),
    [
        ("@main hi", None, "main", "@lane", "names @main"),
        ("@mailer hi", None, "mailer", "@lane", "names @mailer"),
        ("@helper hi", None, "main", "untrusted", "ol/qwen:7b (local tier)"),
        ("@coder hi", None, "main", "untrusted", "its input is trusted"),
        ("@web hi", None, "main", "untrusted", "ol/qwen:7b (local tier)"),
        ("@cheap hi", None, "main", "untrusted", "oa/mini (cheap tier)"),
        ("implement it", None, "main", "untrusted", "rule 'build'"),
        ("status", None, "main", "untrusted", "rule 'status'"),
        ("x", "edit", "main", "untrusted", "routing.tools"),
        ("hello", None, "main", "default", "default lane"),
    ],
)
def test_untrusted_input(
    router: Router, prompt: str, tool: str | None, lane: str, rule: str, says: str
) -> None:
    d = router.route(prompt, untrusted=True, tool=tool)
    assert (d.lane, d.rule) == (lane, rule)
    assert says in d.reason
    assert d.triage is True
    if rule == "untrusted":
        assert "untrusted input may not go to" in d.reason


def test_local_lane_named_explicitly_is_rerouted_and_the_reason_says_so(router: Router) -> None:
    d = router.route("@helper summarise this email", untrusted=True)
    assert d.lane == "main" and d.rule == "untrusted"
    assert d.prompt == "summarise this email"
    assert "@helper was asked for" in d.reason and "local tier" in d.reason
    assert "routing.untrusted" in d.reason


def test_trusted_input_needs_no_triage(router: Router) -> None:
    assert router.route("@helper hi").triage is False


def test_untrusted_falls_back_to_default_when_routing_untrusted_is_unset() -> None:
    d = Router(make({"default": "main", "rules": RULES})).route("@coder x", untrusted=True)
    assert (d.lane, d.rule) == ("main", "untrusted")
    assert "the default lane" in d.reason and d.triage is False


@pytest.mark.parametrize(
    "routing",
    [
        {"default": "coder"},  # the default takes trusted input only
        {"default": "main", "untrusted": "helper"},  # a local lane
        {"default": "main", "untrusted": "web"},  # a local fallback
    ],
)
def test_refused_when_no_lane_may_take_untrusted_input(routing: dict[str, Any]) -> None:
    r = Router(make(routing))
    with pytest.raises(RouteRefused, match=r"untrusted input refused.*routing\.untrusted"):
        r.route("@helper hi", untrusted=True)
    if routing["default"] == "coder":  # the default does not qualify either
        with pytest.raises(RouteRefused):
            r.route("anything", untrusted=True)
    else:  # the default lane qualifies: no fallback needed
        assert r.route("anything", untrusted=True).rule == "default"
    assert r.route("anything").lane == routing["default"]  # trusted input still routes


def test_route_refused_is_a_lane_error_with_exit_1() -> None:
    err = RouteRefused("untrusted input refused")
    assert isinstance(err, LaneError) and err.exit_code == 1


def test_main_lane_qualifying_is_not_rerouted(router: Router) -> None:
    assert router.route("hi", untrusted=True).rule == "default"


def test_unresolvable_chain_fails_closed() -> None:
    lanes = {
        "main": lane("orchestrator", "codex", "big", input="untrusted"),
        "cmd": {"role": "helper", "harness": "command", "command": "cat", "input": "untrusted"},
    }
    r = Router(make({"default": "cmd", "untrusted": "main"}, lanes))
    d = r.route("x", untrusted=True)
    assert d.lane == "main" and "no configured model" in d.reason
    assert not r.lane_takes_untrusted("cmd") and r.lane_takes_untrusted("main")


# ---------------------------------------------------------------- the decision


def test_decision_fields(router: Router) -> None:
    d = router.route("@review implement the fix and write the files")
    assert d == RouteDecision(
        "review", "@lane", d.reason, "plan", True, False, "implement the fix and write the files"
    )
    assert set(d.as_dict()) == {"lane", "rule", "reason", "fence", "escalate", "triage", "prompt"}
    assert router.route("@coder x").escalate is False
    assert router.route("@mailer x").escalate is True  # escalation-tier primary


@pytest.mark.parametrize(
    ("prompt", "fence"),
    [
        ("@review rewrite every file", "plan"),
        ("@helper delete the build directory and commit", "read-only"),
        ("review: please apply these edits", "plan"),
    ],
)
def test_the_fence_not_the_prompt_decides(router: Router, prompt: str, fence: str) -> None:
    assert router.route(prompt).fence == fence


def test_route_is_pure(router: Router) -> None:
    for p in ("implement it", "@helper x", "status"):
        assert router.route(p, untrusted=True) == router.route(p, untrusted=True)


def test_accepts_a_loaded_config() -> None:
    raw = yaml.safe_dump({"version": 1, "models": MODELS, "lanes": LANES}, sort_keys=False).encode()
    assert Router(parse_config(raw, "x.yaml")).route("x").lane == "main"


def test_shipped_config_routes() -> None:
    from laneboard.config import DEFAULT_CONFIG_NAME, shipped_config_bytes

    r = Router(parse_config(shipped_config_bytes(), DEFAULT_CONFIG_NAME).config)
    assert r.route("review the PR").lane == "review"
    assert r.route("commit message for this").lane == "commit"
    assert r.route("please refactor x").lane == "coder"
    assert r.route("x", tool="apply_patch").lane == "coder"
    d = r.route("@triage read this mail", untrusted=True)
    assert (d.lane, d.triage) == ("main", True)


# ---------------------------------------------------------------- the literal prefilter


def test_ascii_lookalike_table_is_complete() -> None:
    """The prefilter folds these to ASCII; re.IGNORECASE must know no others."""
    letter = re.compile("[a-z0-9]", re.IGNORECASE)
    found = {
        chr(cp)
        for cp in range(0x80, sys.maxunicode + 1)
        if not 0xD800 <= cp <= 0xDFFF and letter.fullmatch(chr(cp))
    }
    assert found == set(_ASCII_LOOKALIKES)


TRICKY = [
    r"(?:abc)+def",
    r"(ghi)?jkl",
    r"x{2}yzw",
    r"(?i:mno)p",
    r"(?i)QRS",
    r"(?-i:Tuv)w",
    r"(wx)y(wx)",
    r"[a]bcd",
    r"foo|barr|bazz",
    r"(?:one|two)-three",
    r"\bsix\b",
    r"se.ven",
    r"ei(?:ght)?",
    r"^nine",
    r"ten$",
    r"e\x6ceven",
    r"[[:alpha:]]uvw",
    r"tw[e]lve",
    r"(?s)thi.rteen",
    r"(?:fou|fo)r+teen",
    r"k\w+",
    r"stra(?:sse)",
]


def naive(rules: list[dict[str, Any]], prompt: str) -> str | None:
    import fnmatch

    text = prompt.strip()
    for rule in rules:
        m = rule["match"]
        cs = m.get("case_sensitive", False)
        if "exact" in m:
            ok = text == m["exact"] if cs else text.casefold() == m["exact"].casefold()
        elif "prefix" in m:
            ok = (
                text.startswith(m["prefix"])
                if cs
                else text.casefold().startswith(m["prefix"].casefold())
            )
        elif "glob" in m:
            ok = re.match(fnmatch.translate(m["glob"]), text, 0 if cs else re.I) is not None
        else:
            # Regex rules run on RE2 (laneboard.linear_regex); the reference does too.
            options = re2.Options()
            options.case_sensitive = cs
            ok = re2.search(m["regex"], text, options) is not None
        if ok:
            return str(rule["name"])
    return None


@pytest.mark.parametrize("case_sensitive", [False, True])
def test_prefilter_never_drops_a_match(case_sensitive: bool) -> None:
    rules = [
        {"name": f"r{i}", "match": {"regex": rx, "case_sensitive": case_sensitive}, "lane": "coder"}
        for i, rx in enumerate(TRICKY)
    ]
    r = Router(make({"default": "main", "rules": rules}))
    prompts = [
        "abcabcdef",
        "jkl",
        "xxyzw",
        "mnop",
        "qrs",
        "Tuvw",
        "tuvw",
        "wxywx",
        "abcd",
        "barr",
        "two-three",
        "a six b",
        "seXven",
        "ei",
        "nine lives",
        "it is ten",
        "eleven",
        "thi\nrteen",
        "fourrteen",
        "kk",
        "STRAſſE",
        "ſtrasse",
        "KELVIN K",
        "İ",
        "nothing",
        "AB\u0130CDEF",
        "JK\u212aL",
        "xuvw",
    ]
    for p in prompts:
        d = r.route(p)
        assert (d.rule if d.rule != "default" else None) == naive(rules, p), p
