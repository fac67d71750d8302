"""The router: which lane a prompt goes to, and why.

Every prompt goes to the cheapest lane that can handle it, inside the most fenced lane the
task tolerates. `Router(cfg)` compiles the config's routing once; `route()` is then a pure
function of (config, prompt, source, tool) — no I/O, no clock, no state — fast enough for
the cockpit to call on every keystroke to show where Enter will send the text.

The order, first hit wins:

1. **`@lane` prefix** (`@review look at this`): the person named the lane, so it wins —
   unless a fence forbids it. Untrusted text may not go to a lane whose `input` is trusted
   or whose model chain has anything below orchestrator tier; such a request is rerouted
   to the untrusted lane and the reason says so. An `@word` that names no lane is *not* a
   lane request (prompts start with `@dataclass`, `@alice` and half-typed `@rev` too): the
   prompt is routed by the steps below, unchanged, and the reason says `@word` named no
   lane, with a did-you-mean. Refusing would make the keystroke preview flicker to an
   error while a lane name is being typed.
2. **Per-tool routing** when a tool is named: `routing.tools` (map or list form) with each
   lane's own `tools:` merged over it (a lane's entry replaces a `routing.tools` entry for
   the same name; between two lanes the first in the file wins). Exact names beat
   `prefix*` names (longest prefix first), which beat globs (in file order). Tool names
   are compared case-insensitively. Rule: `tool:<pattern as written>`.
3. **Rules in order** — exact, prefix, glob, regex; case-insensitive unless the rule says
   `case_sensitive: true`. Rules see the prompt with surrounding whitespace stripped (a
   trailing newline from stdin must not defeat an `exact:` rule). Exact and prefix compare
   `str.casefold()`ed text; glob and regex ignore case the engines' way. Globs match the
   whole prompt, regexes anywhere in it. Regexes run on RE2 (`laneboard.linear_regex`):
   time linear in the prompt whatever the pattern, so no rule can hang a keystroke;
   patterns RE2 cannot run that way (backreferences, lookarounds) fail `config check`.
4. **Default**: `routing.default`, or the first lane when there is no routing section.

Untrusted input (mail, web pages, chats) is then admitted only to a lane whose `input` is
`untrusted` and whose *whole* model chain — primary and every fallback — is orchestrator
tier or above, because a fallback is where a lane ends up under load. Any other choice
falls back to `routing.untrusted` (default: the default lane); if even that lane may not
take it, `route()` raises `RouteRefused`: untrusted text is never sent to a local model.
A lane whose chain cannot be resolved, or that runs no model (a command lane), does not
qualify: its tier is unknown, and unknown fails closed.

The decision's fence is the chosen lane's fence, whatever the prompt asks for (see
`laneboard.lanes.fences`). `escalate` is true for a lane whose primary model is
escalation tier or whose role is reviewer; `triage` is true when the text is untrusted and
`routing.triage` is configured (the caller runs `laneboard.lanes.triage` first).

Speed with many rules: exact rules are one dict lookup, prefix rules one lookup per
distinct prefix length, and glob/regex rules are prefiltered by a literal each must
contain (taken from the parsed regex; one trie-shaped regex finds them all in a single
C-level pass over the prompt) so only the few whose literal occurs in the prompt are run — in rule order, stopping at the first hit,
and never past a rule of another kind that already matched earlier. First-match order is
preserved exactly; the prefilter can only admit extra candidates, never drop one.

Why this is long: the routing order above and its fast paths are one algorithm with one
invariant (first match in file order, whatever the prefilter admits); the literal
prefilter (`_required`, `_trigger`, `_trie_regex`) only exists to serve `_match_rule`, and
splitting them apart would put the proof that the prefilter never drops a rule in two
files. About a third of the module is this docstring and the comments that argue it.
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib
import re
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from laneboard.core.route import Route
from laneboard.core.vocabulary import TIERS
from laneboard.errors import LaneboardError, LaneError, RouteRefused
from laneboard.linear_regex import compile_search

if TYPE_CHECKING:  # only as types: importing the router must not cost pydantic (~210 ms)
    from laneboard.config import Config, LoadedConfig

__all__ = ["Route", "RouteDecision", "RouteRefused", "Router", "parse_at_lane"]

_TIER_RANK: dict[str, int] = {t: i for i, t in enumerate(TIERS)}
_ORCHESTRATOR = _TIER_RANK["orchestrator"]
_ESCALATION = _TIER_RANK["escalation"]

#: `@lane` at the very start (leading whitespace allowed), optionally followed by ':' or ','.
_AT_LANE = re.compile(r"\A\s*@([A-Za-z0-9][A-Za-z0-9_-]*)[:,]?(?=\s|\Z)\s*")


@dataclass(frozen=True)
class RouteDecision(Route):
    """The router's `Route`: the same record, always carrying the prompt to send."""

    prompt: str = ""
    """The prompt to send: the input with an honoured or rerouted `@lane ` prefix removed."""


def _new_decision(
    lane: str, rule: str, reason: str, fence: str, escalate: bool, triage: bool, prompt: str
) -> RouteDecision:
    """Build a RouteDecision without the frozen `__init__`.

    A frozen dataclass sets each field through `object.__setattr__`, which costs more than
    the rest of a routing decision; filling the instance dict directly gives the same
    immutable object (assignment still raises) at a tenth of the cost.
    """
    d = object.__new__(RouteDecision)
    d.__dict__.update(
        lane=lane,
        rule=rule,
        reason=reason,
        fence=fence,
        escalate=escalate,
        triage=triage,
        prompt=prompt,
    )
    return d


def parse_at_lane(prompt: str) -> tuple[str, str] | None:
    """`("review", "look at this")` for `"@review look at this"`, else None.

    The name is lower-cased (lane ids are lower-case); whether it names a lane is the
    router's business.
    """
    m = _AT_LANE.match(prompt)
    if m is None:
        return None
    return m.group(1).lower(), prompt[m.end() :]


# ---------------------------------------------------------------- lane facts


@dataclass(frozen=True, slots=True)
class _Lane:
    """What routing needs to know about one lane, computed once."""

    id: str
    fence: str
    escalate: bool
    why_not_untrusted: str
    """Empty when the lane may take untrusted input; else the reason it may not."""


def _lane_facts(cfg: Config, lane_id: str) -> _Lane:
    from laneboard.lanes.refs import lane_chain

    lane = cfg.lanes[lane_id]
    reasons: list[str] = []
    if lane.input != "untrusted":
        reasons.append("its input is trusted")
    primary_rank: int | None = None
    try:
        chain = lane_chain(cfg, lane_id)
    except LaneboardError as e:
        chain = []
        reasons.append(f"its model chain does not resolve ({e})")
    else:
        if not chain:
            reasons.append("it runs no configured model, so its tier is unknown")
    if chain:
        primary_rank = _TIER_RANK.get(chain[0].tier, -1)
        low = [m for m in chain if _TIER_RANK.get(m.tier, -1) < _ORCHESTRATOR]
        if low:
            names = ", ".join(f"{m.key} ({m.tier} tier)" for m in low)
            reasons.append(f"its model chain includes {names}, below orchestrator tier")
    why = " and ".join(reasons)
    escalate = lane.role == "reviewer" or primary_rank == _ESCALATION
    return _Lane(lane_id, lane.fence, escalate, why)


# ---------------------------------------------------------------- literal prefilter

#: Characters other than ASCII that `re.IGNORECASE` matches to an ASCII letter (checked
#: against every code point by tests/test_router.py).
_ASCII_LOOKALIKES = {"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"}
_FOLD_TABLE = str.maketrans(
    {**{chr(c): chr(c + 32) for c in range(ord("A"), ord("Z") + 1)}, **_ASCII_LOOKALIKES}
)
#: Shortest literal worth indexing (shorter ones occur in almost every prompt).
_MIN_LITERAL = 3
#: Longest literal indexed: a prefix of a required literal is required too, and a short
#: one keeps the trie regex shallow.
_MAX_LITERAL = 24
#: Most alternatives one requirement may have (`(a|b)(c|d)` is four).
_MAX_SET = 32


def _fold(text: str) -> str:
    """Fold ASCII case (and ASCII look-alikes) so a literal test is case-blind and sound.

    Only ASCII literals are indexed, so non-ASCII characters may stay as they are.
    """
    return text.lower() if text.isascii() else text.translate(_FOLD_TABLE)


def _op(node: Any) -> str:
    return str(getattr(node, "name", node))


def _exact(seq: Iterable[Any]) -> set[str] | None:
    """Every string the parsed sequence can match, if that is a small set of literals."""
    out = {""}
    for op, av in seq:
        name = _op(op)
        opts: set[str] | None
        if name == "LITERAL":
            opts = {chr(av)}
        elif name == "SUBPATTERN":
            opts = _exact(av[-1])
        elif name == "ATOMIC_GROUP":
            opts = _exact(av)
        elif name == "BRANCH":
            opts = set()
            for branch in av[1]:
                sub = _exact(branch)
                if sub is None:
                    return None
                opts |= sub
        elif name == "IN" and all(_op(o) == "LITERAL" for o, _ in av):
            opts = {chr(c) for _, c in av}
        else:
            return None
        if opts is None:
            return None
        out = {a + b for a in out for b in opts}
        if len(out) > _MAX_SET:
            return None
    return out


def _required(seq: Iterable[Any]) -> list[frozenset[str]]:
    """Sets of strings a match of the parsed sequence must contain one of.

    Only constructs whose meaning is certain contribute; anything else ends the current
    run of literals, which keeps every returned requirement true (a shorter or absent
    requirement only admits more candidates).
    """
    found: list[frozenset[str]] = []
    run = {""}

    def flush() -> None:
        nonlocal run
        if run != {""}:
            found.append(frozenset(run))
        run = {""}

    for op, av in seq:
        ex = _exact([(op, av)])
        if ex is not None:
            joined = {a + b for a in run for b in ex}
            if len(joined) <= _MAX_SET:
                run = joined
                continue
            flush()
            run = ex
            continue
        flush()
        name = _op(op)
        if name == "SUBPATTERN":
            found.extend(_required(av[-1]))
        elif name == "ATOMIC_GROUP":
            found.extend(_required(av))
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT") and av[0] >= 1:
            found.extend(_required(av[2]))
        elif name == "BRANCH":
            options: set[str] = set()
            for branch in av[1]:
                best = _best(_required(branch))
                if best is None:
                    break
                options |= best
            else:
                found.append(frozenset(options))
    flush()
    return found


def _best(cands: list[frozenset[str]]) -> frozenset[str] | None:
    """The most selective requirement: ASCII, long enough, longest shortest, fewest."""
    usable = [c for c in cands if c and all(len(s) >= _MIN_LITERAL and s.isascii() for s in c)]
    if not usable:
        return None
    return max(usable, key=lambda c: (min(len(s) for s in c), -len(c)))


def _trigger(pattern: str, flags: int) -> frozenset[str] | None:
    """Folded literals at least one of which any match of `pattern` contains, or None.

    Regex rules run on RE2 but are parsed here by Python's parser. Where the two read the
    same text differently, Python's reading must never demand a literal that RE2 does not:
    the one such construct is a POSIX class (`[[:alpha:]]`, a set plus a `]` to Python),
    so a pattern with one gets no trigger. Python failing to parse is no trigger either.
    """
    if "[:" in pattern:
        return None
    try:
        parser = importlib.import_module("re._parser")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # FutureWarning for nested sets, to stderr
            parsed = parser.parse(pattern, flags)
        best = _best(_required(list(parsed)))
    except Exception:  # an unexpected parse shape only costs the optimisation
        return None
    if best is None:
        return None
    return frozenset(_fold(s)[:_MAX_LITERAL] for s in best)


def _trie_regex(literals: Iterable[str]) -> str:
    """One regex matching, at a position, the LONGEST of `literals` that starts there.

    Greedy optional tails make the engine try the deeper trie node first; every other
    literal starting at the same position is a prefix of the one reported.
    """
    trie: dict[str, Any] = {}
    for lit in literals:
        node = trie
        for ch in lit:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict[str, Any]) -> str:
        alts = [re.escape(ch) + emit(child) for ch, child in sorted(node.items()) if ch]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        return f"(?:{body})?" if "" in node else body

    return emit(trie)


# ---------------------------------------------------------------- compiled rules


@dataclass(frozen=True, slots=True)
class _ScanRule:
    """A glob or regex rule: run only when its trigger literal is in the prompt."""

    index: int
    test: Callable[[str], object]
    trigger: frozenset[str] | None


@dataclass(frozen=True, slots=True)
class _Rule:
    name: str
    lane: str
    reason: str


@dataclass(frozen=True, slots=True)
class _ToolRoute:
    pattern: str
    lane: str
    source: str


def _first(table: dict[str, int], key: str, index: int) -> None:
    if key not in table:
        table[key] = index


class Router:
    """A config's routing, compiled once; `route()` decides (see the module docstring)."""

    def __init__(self, cfg: Config | LoadedConfig) -> None:
        # A LoadedConfig wraps its Config; told apart by shape, not isinstance, so the
        # router never imports the config models at run time.
        inner = getattr(cfg, "config", None)
        config = cast("Config", cfg if inner is None else inner)
        self.config = config
        self._lanes = {lane_id: _lane_facts(config, lane_id) for lane_id in config.lanes}
        for lane_id, lane in config.lanes.items():  # `@coder-2` names one replica of `coder`
            for n in range(1, lane.replicas + 1) if lane.replicas > 1 else ():
                facts = self._lanes[lane_id]
                self._lanes[f"{lane_id}-{n}"] = _Lane(f"{lane_id}-{n}", facts.fence,
                                                      facts.escalate, facts.why_not_untrusted)
        routing = config.routing
        self._default = config.default_lane
        self._has_routing = routing is not None
        self._untrusted = (routing.untrusted if routing else None) or self._default
        self._untrusted_source = (
            "routing.untrusted" if routing and routing.untrusted else "the default lane"
        )
        self._triage = routing is not None and routing.triage is not None
        self._hints: dict[str, str] = {}
        self._compile_rules(config)
        self._compile_tools(config)

    # ------------------------------------------------------------ compile

    def _compile_rules(self, config: Config) -> None:
        self._rules: list[_Rule] = []
        self._exact_cs: dict[str, int] = {}
        self._exact_ci: dict[str, int] = {}
        self._prefix_cs: dict[int, dict[str, int]] = {}
        self._prefix_ci: dict[int, dict[str, int]] = {}
        scans: list[_ScanRule] = []
        for i, rule in enumerate(config.routing.rules if config.routing else []):
            m = rule.match
            ci = not m.case_sensitive
            how = "" if m.case_sensitive else ", ignoring case"
            if m.exact is not None:
                _first(
                    self._exact_ci if ci else self._exact_cs,
                    m.exact.strip().casefold() if ci else m.exact.strip(),
                    i,
                )
                why = f"the prompt is exactly {m.exact!r}{how}"
            elif m.prefix is not None:
                p = m.prefix.casefold() if ci else m.prefix
                _first((self._prefix_ci if ci else self._prefix_cs).setdefault(len(p), {}), p, i)
                why = f"the prompt starts with {m.prefix!r}{how}"
            else:
                flags = re.IGNORECASE if ci else 0
                if m.glob is not None:
                    source = fnmatch.translate(m.glob)
                    compiled = re.compile(source, flags)
                    test: Callable[[str], object] = compiled.match  # translate anchors the end
                    why = f"the prompt matches the glob {m.glob!r}{how}"
                else:
                    assert m.regex is not None
                    source = m.regex
                    # RE2, not `re`: a rule like `(a+)+$` must not hang a keystroke.
                    test = compile_search(source, ignore_case=ci)
                    why = f"the prompt matches the regex /{m.regex}/{how}"
                scans.append(_ScanRule(i, test, _trigger(source, flags)))
            self._rules.append(_Rule(rule.name, rule.lane, f"{why} (rule {rule.name!r})"))
        self._prefix_ci_lengths = sorted(self._prefix_ci)
        self._prefix_cs_lengths = sorted(self._prefix_cs)
        self._scans = scans
        self._always = [k for k, s in enumerate(scans) if s.trigger is None]
        by_literal: dict[str, set[int]] = {}
        for k, s in enumerate(scans):
            for lit in s.trigger or ():
                by_literal.setdefault(lit, set()).add(k)
        # A scan reports the longest literal at each position; the rules of every literal
        # that is a prefix of it (found at the same position) are candidates too.
        self._literal_rules: dict[str, tuple[int, ...]] = {}
        for lit in by_literal:
            ks: set[int] = set()
            for n in range(_MIN_LITERAL, len(lit) + 1):
                ks |= by_literal.get(lit[:n], set())
            self._literal_rules[lit] = tuple(sorted(ks))
        self._scan: re.Pattern[str] | None = None
        if by_literal:
            # The class in front is one bitmap test that skips positions no literal
            # starts at before the engine walks the trie's first-level alternatives.
            first = re.escape("".join(sorted({lit[0] for lit in by_literal})))
            self._scan = re.compile(f"(?=[{first}])(?=({_trie_regex(by_literal)}))")

    def _compile_tools(self, config: Config) -> None:
        merged: dict[str, _ToolRoute] = {}
        for tr in config.routing.tools if config.routing else []:
            for pattern in tr.tools:
                merged.setdefault(pattern.casefold(), _ToolRoute(pattern, tr.lane, "routing.tools"))
        claimed: set[str] = set()
        for lane_id, lane in config.lanes.items():
            for pattern in lane.tools:
                key = pattern.casefold()
                if key not in claimed:
                    claimed.add(key)
                    merged[key] = _ToolRoute(pattern, lane_id, f"lanes.{lane_id}.tools")
        self._tool_exact: dict[str, _ToolRoute] = {}
        prefixes: list[tuple[str, _ToolRoute]] = []
        self._tool_globs: list[tuple[re.Pattern[str], _ToolRoute]] = []
        for key, route in merged.items():
            if not any(c in key for c in "*?["):
                self._tool_exact[key] = route
            elif key.endswith("*") and not any(c in key[:-1] for c in "*?["):
                prefixes.append((key[:-1], route))
            else:
                glob = re.compile(fnmatch.translate(key), re.IGNORECASE)
                self._tool_globs.append((glob, route))
        prefixes.sort(key=lambda p: -len(p[0]))
        self._tool_prefixes = prefixes

    # ------------------------------------------------------------ decide

    def route(
        self, prompt: str, *, untrusted: bool = False, tool: str | None = None
    ) -> RouteDecision:
        """Decide where `prompt` goes. Raises RouteRefused when untrusted text has no lane."""
        note = ""
        at = parse_at_lane(prompt)
        if at is not None:
            name, rest = at
            lane = self._lanes.get(name)
            if lane is not None:
                if untrusted and lane.why_not_untrusted:
                    return self._reroute(
                        f"@{name} was asked for, but untrusted input may not go to {name!r}: "
                        f"{lane.why_not_untrusted}",
                        rest,
                    )
                return self._decide(lane, "@lane", f"the prompt names @{name}", rest, untrusted)
            note = f"@{name} names no lane{self._did_you_mean(name)}, so the prompt is routed as written; "

        if tool is not None:
            tr = self._match_tool(tool)
            if tr is not None:
                why = f"tool {tool!r} is routed to {tr.lane!r} by {tr.source} ({tr.pattern!r})"
                return self._admit(tr.lane, f"tool:{tr.pattern}", note + why, prompt, untrusted)

        hit = self._match_rule(prompt.strip())
        if hit is not None:
            return self._admit(hit.lane, hit.name, note + hit.reason, prompt, untrusted)

        if self._has_routing:
            why = f"no rule matched, so the prompt goes to the default lane {self._default!r}"
        else:
            why = (
                f"there is no routing section, so the prompt goes to the first lane "
                f"{self._default!r}"
            )
        return self._admit(self._default, "default", note + why, prompt, untrusted)

    def _did_you_mean(self, name: str) -> str:
        """` (did you mean @x?)` or ``; cached, because difflib is slow and the prompt bar
        asks again on every keystroke while `@rev…` is being typed."""
        hint = self._hints.get(name)
        if hint is None:
            close = difflib.get_close_matches(name, list(self._lanes), n=1)
            hint = f" (did you mean @{close[0]}?)" if close else ""
            if len(self._hints) < 256:
                self._hints[name] = hint
        return hint

    def to_lane(self, lane_id: str, prompt: str, *, untrusted: bool = False) -> RouteDecision:
        """The decision for a prompt sent to a lane someone named (`laneboard send LANE`).

        The same untrusted-input gate as `route`, without the reroute: the person chose the
        lane, so a lane that may not take untrusted text refuses (RouteRefused, naming the
        lanes that may) rather than the text quietly going somewhere else.
        """
        lane = self._lanes.get(lane_id)
        if lane is None:
            raise LaneError(f"no lane named {lane_id!r} (lanes: {', '.join(self._lanes)})")
        if untrusted and lane.why_not_untrusted:
            takers = [i for i, facts in self._lanes.items() if not facts.why_not_untrusted]
            where = (
                f"lanes that may: {', '.join(takers)}"
                if takers
                else "no lane may: give one `input: untrusted` and an orchestrator-tier chain"
            )
            raise RouteRefused(
                f"untrusted input refused: it may not go to {lane_id!r}: "
                f"{lane.why_not_untrusted} ({where})"
            )
        return self._decide(lane, "send", f"the command names lane {lane_id!r}", prompt, untrusted)

    def lane_takes_untrusted(self, lane_id: str) -> bool:
        """Whether untrusted text may go to this lane (trusted-input or sub-orchestrator: no)."""
        lane = self._lanes.get(lane_id)
        return lane is not None and not lane.why_not_untrusted

    def _decide(
        self, lane: _Lane, rule: str, reason: str, prompt: str, untrusted: bool
    ) -> RouteDecision:
        sentence = reason[:1].upper() + reason[1:] + "."
        return _new_decision(
            lane.id, rule, sentence, lane.fence, lane.escalate, untrusted and self._triage, prompt
        )

    def _admit(
        self, lane_id: str, rule: str, reason: str, prompt: str, untrusted: bool
    ) -> RouteDecision:
        lane = self._lanes[lane_id]
        if untrusted and lane.why_not_untrusted:
            return self._reroute(
                f"{reason}, but untrusted input may not go to {lane_id!r}: {lane.why_not_untrusted}",
                prompt,
            )
        return self._decide(lane, rule, reason, prompt, untrusted)

    def _reroute(self, reason: str, prompt: str) -> RouteDecision:
        target = self._lanes[self._untrusted]
        if target.why_not_untrusted:
            raise RouteRefused(
                f"untrusted input refused: {reason}; and the untrusted lane {target.id!r} "
                f"({self._untrusted_source}) may not take it either: {target.why_not_untrusted}. "
                "Point routing.untrusted at a lane with `input: untrusted` whose whole model "
                "chain is orchestrator tier or above."
            )
        return self._decide(
            target,
            "untrusted",
            f"{reason}; it goes to the untrusted lane {target.id!r} ({self._untrusted_source})",
            prompt,
            True,
        )

    def _match_tool(self, tool: str) -> _ToolRoute | None:
        key = tool.strip().casefold()
        exact = self._tool_exact.get(key)
        if exact is not None:
            return exact
        for prefix, route in self._tool_prefixes:
            if key.startswith(prefix):
                return route
        for pattern, route in self._tool_globs:
            if pattern.match(key):
                return route
        return None

    def _match_rule(self, text: str) -> _Rule | None:
        """The first rule (in file order) that matches `text`."""
        if not self._rules:
            return None
        best = len(self._rules)
        folded = text.casefold()
        i = self._exact_ci.get(folded)
        if i is not None:
            best = i
        i = self._exact_cs.get(text)
        if i is not None and i < best:
            best = i
        for lengths, tables, subject in (
            (self._prefix_ci_lengths, self._prefix_ci, folded),
            (self._prefix_cs_lengths, self._prefix_cs, text),
        ):
            n = len(subject)
            for length in lengths:
                if length > n:
                    break
                i = tables[length].get(subject[:length])
                if i is not None and i < best:
                    best = i
        if self._scans and self._scans[0].index < best:
            scans = self._scans
            for k in self._candidates(text):
                s = scans[k]
                if s.index >= best:
                    break
                if s.test(text):
                    best = s.index
                    break
        return self._rules[best] if best < len(self._rules) else None

    def _candidates(self, text: str) -> Sequence[int]:
        """Positions in `self._scans`, ascending, of the glob/regex rules that may match."""
        if self._scan is None:
            return self._always
        hits = set(self._scan.findall(_fold(text)))
        if not hits:
            return self._always
        literal_rules = self._literal_rules
        if len(hits) == 1 and not self._always:
            return literal_rules[hits.pop()]
        found: set[int] = set(self._always)
        for lit in hits:
            found.update(literal_rules[lit])
        return sorted(found)
