"""config.yaml's shape: the pydantic models, one per section, and the loaded result.

Why pydantic lives here and only here: these models are the one definition of the file's
shape (the JSON Schema for editors is generated from them). Everything that only needs the
config's *vocabulary* (tiers, fences, roles) imports `laneboard.core.vocabulary`, which
costs nothing; importing this module costs pydantic (~210 ms).

Why this is long (~580 lines): one model per config section, each field with the
docstring that becomes its JSON Schema description. Splitting the sections over modules
would scatter the one definition of the file's shape without making any model shorter.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from laneboard.core.harness_kinds import KINDS, kind
from laneboard.core.vocabulary import (
    FENCES,
    TIERS,
    WRITABLE_FENCES,
    FenceName,
    HarnessName,
    InputTrust,
    Role,
    Tier,
)
from laneboard.errors import Location
from laneboard.linear_regex import UNSUPPORTED_HINT, regex_problem
from laneboard.yamlsource import Path_, SourceMap

__all__ = [
    "FENCE_ORDER",
    "TIER_ORDER",
    "WRITABLE_FENCES",
    "ArtifactsConfig",
    "Config",
    "Defaults",
    "FenceName",
    "Fences",
    "HarnessName",
    "HostConfig",
    "LaneConfig",
    "LoadedConfig",
    "MatchSpec",
    "ModelChoice",
    "ModelCost",
    "ModelEntry",
    "ModelParams",
    "NotificationEvents",
    "NotificationsConfig",
    "ProviderConfig",
    "RestartPolicy",
    "Role",
    "RouteRule",
    "Routing",
    "Strict",
    "Tier",
    "TmuxConfig",
    "ToolRoute",
    "TriageConfig",
]

TIER_ORDER: dict[str, int] = {t: i for i, t in enumerate(TIERS)}
"""Rank of each tier, cheapest first (`laneboard.core.vocabulary.tier_rank` as a dict)."""
FENCE_ORDER: dict[str, int] = {f: i for i, f in enumerate(FENCES)}
"""Rank of each fence, narrowest first (`laneboard.core.vocabulary.fence_rank` as a dict)."""

_LANE_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Strict(BaseModel):
    """Base of every config section: unknown keys are errors, values are not coerced loosely."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class TmuxConfig(Strict):
    socket: str = "laneboard"
    """Name of laneboard's private tmux socket (`tmux -L`); $LANEBOARD_TMUX_SOCKET overrides it."""
    session: str | None = None
    """tmux session for this workspace's lanes; default: `lb-<name of the working directory>`."""

    @field_validator("socket")
    @classmethod
    def _socket_name(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", v):
            raise ValueError("a socket name is 1-64 letters, digits, '.', '_' or '-'")
        return v


_SSH_DEST = re.compile(r"^(?:[A-Za-z0-9_][A-Za-z0-9._-]{0,63}@)?[A-Za-z0-9][A-Za-z0-9.-]{0,252}$")


class HostConfig(Strict):
    """A machine lanes can run on, reached with the user's own OpenSSH (config and agent).

    laneboard never stores a key and never accepts an unknown host key: `identity_file`
    only names a key file the user already has."""

    ssh: str
    """`user@host` or `host` (an alias from your ~/.ssh/config works too)."""
    port: int | None = Field(default=None, ge=1, le=65535)
    """SSH port; default: your ssh config's (usually 22)."""
    identity_file: str | None = None
    """Path of a private key file you already use; default: your ssh config and agent."""

    @field_validator("ssh")
    @classmethod
    def _destination(cls, v: str) -> str:
        # Checked here so no destination can be read by ssh as an option (`-oProxyCommand=…`)
        # or carry shell syntax into a message, a log or an attach command line.
        if not _SSH_DEST.fullmatch(v):
            raise ValueError(
                "must be `user@host` or `host`: letters, digits, '.', '_', '-' (user) and "
                "letters, digits, '.', '-' (host), not starting with '-'"
            )
        return v

    @field_validator("identity_file")
    @classmethod
    def _identity(cls, v: str | None) -> str | None:
        if v is not None and (not v.strip() or v.startswith("-") or "\n" in v):
            raise ValueError("must be the path of a key file")
        return v


class ProviderConfig(Strict):
    harness: HarnessName
    """Which harness drives this provider's models."""
    base_url: str | None = None
    """Endpoint override (a gateway, a local server, a stand-in); e.g. http://127.0.0.1:11434."""
    api_key_env: str | None = None
    """Name of the environment variable holding the key; the key itself never goes in this file."""
    host: str | None = None
    """A `hosts:` entry whose loopback serves `base_url`; laneboard reaches it through an SSH
    local forward it opens and closes (the server stays on that host's loopback)."""

    @field_validator("api_key_env")
    @classmethod
    def _env_name(cls, v: str | None) -> str | None:
        if v is not None and not _ENV_NAME.fullmatch(v):
            raise ValueError("must be an environment variable NAME (the key stays in your env)")
        return v

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^https?://[^/\s]+", v):
            raise ValueError("must be an http:// or https:// URL")
        return v


class ModelParams(Strict):
    thinking: Literal["off", "minimal", "low", "medium", "high", "xhigh"] | None = None
    """Reasoning effort passed to the harness (codex: model_reasoning_effort)."""
    temperature: float | None = Field(default=None, ge=0, le=2)
    """Sampling temperature, where the harness supports it."""
    max_output_tokens: int | None = Field(default=None, gt=0)
    """Cap on generated tokens per turn, where the harness supports it."""


class ModelCost(Strict):
    input: float = Field(ge=0)
    """USD per million input tokens."""
    output: float = Field(ge=0)
    """USD per million output tokens."""


class ModelEntry(Strict):
    alias: str | None = None
    """Short name usable wherever a ref is expected (case-insensitive)."""
    id: str | None = None
    """Model id sent to the provider when it differs from the key (variants such as
    `gpt-5.5:cron` share the provider's `gpt-5.5` with other params)."""
    tier: Tier
    """local < cheap < orchestrator < escalation: what the model may be trusted with."""
    kind: Literal["chat", "embedding"] = "chat"
    """chat models answer prompts; embedding models only make vectors."""
    params: ModelParams = ModelParams()
    """Per-model parameters such as thinking effort."""
    context_window: int | None = Field(default=None, gt=0)
    """Tokens of context; the supervisor warns at 80% use."""
    cost: ModelCost | None = None
    """List price, for the usage view when the CLI does not report cost itself."""

    @field_validator("alias")
    @classmethod
    def _alias(cls, v: str | None) -> str | None:
        if v is not None and (not v.strip() or "/" in v or "@" in v):
            raise ValueError("an alias is a non-empty name without '/' or '@'")
        return v.strip() if v else v


class ModelChoice(Strict):
    primary: str
    """The model ref tried first."""
    fallbacks: list[str] = []
    """Refs tried in order when the primary fails with an auth, rate-limit or outage error."""


class Defaults(Strict):
    provider: str | None = None
    """Provider assumed for a bare model id that matches no alias and no unique provider."""
    model: ModelChoice | None = None
    """Model (and fallback chain) of lanes that name none."""


class RestartPolicy(Strict):
    policy: Literal["always", "on-failure", "never"] = "on-failure"
    """When a lane whose process died is restarted (a stop you asked for never is)."""
    burst: int = Field(default=5, ge=1, le=100)
    """Starts allowed within `interval_s` before the lane is marked failed (StartLimitBurst)."""
    interval_s: float = Field(default=60.0, gt=0)
    """Window for `burst` (StartLimitIntervalSec)."""
    backoff_s: float = Field(default=1.0, ge=0)
    """First restart delay; doubles each time up to `backoff_max_s`."""
    backoff_max_s: float = Field(default=30.0, ge=0)
    """Cap on the restart delay."""


class LaneConfig(Strict):
    role: Role
    """orchestrator, coder, reviewer or helper: what the lane is for."""
    harness: HarnessName
    """How the lane's agent is driven."""
    mode: Literal["interactive", "exec"] = "interactive"
    """interactive: a long-lived agent in a tmux pane; exec: one process per prompt."""
    model: str | None = None
    """Model ref or alias; default: defaults.model.primary. Not used by command lanes."""
    fallbacks: list[str] | None = None
    """Fallback refs; default: defaults.model.fallbacks when the lane uses the default model."""
    provider: str | None = None
    """Provider entry whose base_url / api_key_env the lane uses; default: the model's provider."""
    fence: FenceName = "read-only"
    """Blast radius: read-only < plan < workspace-write < full (the last two write)."""
    input: InputTrust = "trusted"
    """untrusted lanes may be handed mail, web pages, chats; they need orchestrator tier."""
    cwd: str | None = None
    """Working directory (relative to the directory laneboard runs in); default: that directory."""
    env: dict[str, str] = {}
    """Extra environment for the lane's process (e.g. an isolated HOME)."""
    command: list[str] | None = None
    """argv of a command lane (a string is split like a shell would)."""
    ready: str | None = None
    """Regex: a command lane is ready when its screen matches (default: once it runs)."""
    busy: str | None = None
    """Regex: a command lane is busy while its screen matches."""
    restart: RestartPolicy = RestartPolicy()
    """What happens when the lane's process dies."""
    tools: list[str] = []
    """Tool names (exact, `prefix*` or glob) routed to this lane, merged over routing.tools."""
    description: str | None = None
    """One line shown in the cockpit."""
    delegates: list[str] | None = None
    """Lanes this lane may hand work to through laneboard's MCP tools (the conductor);
    default: every other lane for an orchestrator, none for any other role."""
    delegate_wider: list[str] = []
    """Of those, the lanes it may hand work with a wider fence than its own (default: none)."""
    gateway: bool = True
    """Send the lane's model requests through laneboard's gateway on 127.0.0.1 (redaction,
    fences on the wire, failover and counting per request); false: the CLI talks to its
    provider directly and preflight says which of those guarantees the lane loses."""
    host: str | None = None
    """A `hosts:` entry: the lane runs in tmux on that machine (over SSH); default: here."""
    worktree: bool | None = None
    """Run in the lane's own git worktree (branch `lb/<lane>` in `<repo>/.laneboard/worktrees/
    <lane>`); default: true for a writable lane whose cwd is inside a git repository."""
    base: str | None = None
    """Branch (or commit) the lane's worktree starts from and merges back into; default: the
    branch checked out in the main working tree."""
    replicas: int = Field(default=1, ge=1, le=16)
    """Parallel copies: N > 1 runs lanes `<id>-1` … `<id>-N`, each in its own worktree; rules
    and the conductor name the group (`<id>`: any idle copy) or one copy."""

    @field_validator("base")
    @classmethod
    def _base_ref(cls, v: str | None) -> str | None:
        if v is not None and (not v.strip() or v.startswith("-") or any(c.isspace() for c in v)):
            raise ValueError("must be a branch, tag or commit name (no spaces, not starting with '-')")
        return v

    @field_validator("command", mode="before")
    @classmethod
    def _split_command(cls, v: Any) -> Any:
        if isinstance(v, str):
            try:
                return shlex.split(v)
            except ValueError as e:
                raise ValueError(f"cannot split the command like a shell would: {e}") from None
        return v

    @field_validator("ready", "busy")
    @classmethod
    def _regex(cls, v: str | None) -> str | None:
        if v is not None:
            from laneboard.linear_regex import UNSUPPORTED_HINT, end_anchor_for_re2, regex_problem

            problem = regex_problem(end_anchor_for_re2(v))
            if problem is not None:
                raise ValueError(f"not a regular expression laneboard can run: {problem} "
                                 f"({UNSUPPORTED_HINT})")
        return v

    @field_validator("env")
    @classmethod
    def _env(cls, v: dict[str, str]) -> dict[str, str]:
        for name in v:
            if not _ENV_NAME.fullmatch(name):
                raise ValueError(f"{name!r} is not a valid environment variable name")
        return v

    @model_validator(mode="after")
    def _fits_harness(self) -> LaneConfig:
        row = kind(self.harness)
        if row.program_from_config:
            if not self.command:
                raise ValueError("a command lane needs `command` (the program to run)")
        else:
            for name in ("command", "ready", "busy"):
                if getattr(self, name) is not None:
                    raise ValueError(f"`{name}` is only for command lanes (harness: command)")
        if self.mode == "exec" and not row.headless_mode:
            headless = [k.name for k in KINDS.values() if k.headless_mode]
            raise ValueError(f"mode exec is for {' and '.join(headless)} lanes")
        return self


class MatchSpec(Strict):
    exact: str | None = None
    """The whole prompt equals this."""
    prefix: str | None = None
    """The prompt starts with this."""
    glob: str | None = None
    """The prompt matches this shell-style pattern (`*`, `?`, `[..]`)."""
    regex: str | None = None
    """The prompt contains a match of this regular expression (RE2 syntax: linear time,
    no backreferences or lookarounds)."""
    case_sensitive: bool = False
    """Matching ignores case unless this is true."""

    @field_validator("regex")
    @classmethod
    def _compiles(cls, v: str | None) -> str | None:
        if v is not None:
            problem = regex_problem(v)
            if problem is not None:
                raise ValueError(f"regex is not valid: {problem} ({UNSUPPORTED_HINT})")
        return v

    @model_validator(mode="after")
    def _one(self) -> MatchSpec:
        given = [k for k in ("exact", "prefix", "glob", "regex") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of exact, prefix, glob, regex")
        return self


class RouteRule(Strict):
    name: str
    """Named in every route decision this rule makes."""
    match: MatchSpec
    """What prompts the rule takes."""
    lane: str
    """Where they go."""


class ToolRoute(Strict):
    tools: list[str] = Field(min_length=1)
    """Tool names: exact, `prefix*`, or a glob."""
    lane: str
    """The lane those tools go to."""


class TriageConfig(Strict):
    lane: str
    """The local helper lane that answers ESCALATE or SKIP for untrusted text."""
    timeout_s: float = Field(default=20.0, gt=0)
    """A triage slower than this counts as ESCALATE (fails closed)."""


class Routing(Strict):
    default: str
    """Lane for prompts no rule matches."""
    untrusted: str | None = None
    """Lane for untrusted input that no rule may take; default: the default lane if it may."""
    rules: list[RouteRule] = []
    """Checked in order; the first match wins."""
    tools: list[ToolRoute] = []
    """Per-tool routing: `{edit: coder}` or `[{tools: [edit, write], lane: coder}]`."""
    triage: TriageConfig | None = None
    """Optional local triage of untrusted text before it is routed."""

    @field_validator("tools", mode="before")
    @classmethod
    def _tools_map(cls, v: Any) -> Any:
        if isinstance(v, dict):
            return [{"tools": [k], "lane": lane} for k, lane in v.items()]
        return v


class Fences(Strict):
    deny: list[str] = []
    """Commands (`rm -rf /`, `git push --force`) and HTTP method+path patterns
    (`DELETE /api/*`) no lane may run; compiled into each CLI's deny rules."""


class ArtifactsConfig(Strict):
    dir: str = "artifacts"
    """Where captured turns are stored (a folder per day)."""
    redaction: bool = True
    """Replace secrets with [REDACTED:<kind>:<tag>] in prompts and stored output."""
    embed_model: str | None = None
    """Embedding model ref for semantic artifact search (local Ollama)."""
    max_prompt_bytes: int = Field(default=20_000, gt=0)
    """Prompt bytes kept in an artifact body; the rest is cut, saying so."""


ReviewRungDoes = Literal["classify", "review", "escalate"]
DEFAULT_ESCALATE_PATHS: tuple[str, ...] = (
    "**/auth/**", "auth/**", "**/*auth*.*", "**/crypto/**", "crypto/**", "**/migrations/**",
    "migrations/**", ".github/**", ".gitlab-ci.yml", ".ci/**", "**/Dockerfile",
    "**/package.json", "**/package-lock.json", "**/pyproject.toml", "**/requirements*.txt",
    "**/*.lock", "**/go.mod", "**/Cargo.toml", "**/Gemfile",
)


class ReviewRung(Strict):
    lane: str
    """The lane this rung runs on (a plan or read-only lane)."""
    does: ReviewRungDoes = "review"
    """classify: trivial/normal/risky and a summary (may stop the ladder on a trivial
    diff); review: a normal review; escalate: runs only when an escalation rule fires."""


class ReviewEscalate(Strict):
    paths: list[str] = list(DEFAULT_ESCALATE_PATHS)
    """Globs (`**` crosses folders); a diff touching a match climbs to the escalate rung."""
    lines: int = Field(default=400, gt=0)
    """A diff with more added+removed lines than this climbs to the escalate rung."""
    severity: str = "HIGH"
    """A lower rung's finding at or above this severity climbs to the escalate rung."""


class ReviewBudget(Strict):
    tokens: int | None = Field(default=None, gt=0)
    """Most tokens (input + output, all rungs) one review may spend; None: no cap."""
    cost_usd: float | None = Field(default=None, gt=0)
    """Most USD one review may spend (models with a `cost` entry); None: no cap."""


class ReviewConfig(Strict):
    ladder: list[ReviewRung] = []
    """The review ladder, cheapest rung first; empty: `laneboard review` sends the diff
    straight to the reviewer lane (the one-step review)."""
    escalate: ReviewEscalate = ReviewEscalate()
    """When the ladder climbs to its escalate rung."""
    budget: ReviewBudget = ReviewBudget()
    """The ladder stops climbing when the next rung would pass this."""


class NotificationEvents(Strict):
    """Which lane events notify (each on by default)."""

    waiting: bool = True
    """A lane waits for input or a permission (seen on its screen, whoever typed into it)."""
    finished: bool = True
    """A lane finished a turn."""
    failed: bool = True
    """A lane failed (it will not restart by itself)."""
    fence: bool = True
    """A fence denied something in a lane."""


class NotificationsConfig(Strict):
    """How a lane that needs you finds you: bell, OSC 9/777, notify-send, a hook."""

    quiet: bool = False
    """Send no notification at all (the cockpit still shows states)."""
    bell: bool = True
    """Ring the terminal bell (BEL) of the cockpit's terminal."""
    osc: bool = True
    """Write OSC 9 and OSC 777 desktop notifications to the cockpit's terminal."""
    desktop: bool = True
    """Run `notify-send` when it is installed."""
    command: list[str] | None = Field(default=None, min_length=1)
    """A hook run as this argv (never a shell) with LANEBOARD_LANE, LANEBOARD_EVENT and
    LANEBOARD_SUMMARY in its environment."""
    debounce_s: float = Field(default=10.0, ge=0)
    """Seconds during which a second notice of the same kind for the same lane is dropped."""
    events: NotificationEvents = NotificationEvents()
    """Per-event switches."""


class Config(Strict):
    """The whole config.yaml."""

    version: Literal[1]
    """Format version of this file."""
    tmux: TmuxConfig = TmuxConfig()
    """laneboard's private tmux server."""
    hosts: dict[str, HostConfig] = {}
    """Other machines lanes and model servers run on, reached over SSH."""
    providers: dict[str, ProviderConfig] = {}
    """How each provider is reached."""
    models: dict[str, ModelEntry] = {}
    """The allowlist: every model a lane may use, with alias, tier and params."""
    defaults: Defaults = Defaults()
    """Default provider and model chain."""
    lanes: dict[str, LaneConfig] = Field(min_length=1)
    """The lanes the supervisor runs."""
    routing: Routing | None = None
    """Which lane each prompt goes to; default: the first lane."""
    fences: Fences = Fences()
    """What no lane may do."""
    artifacts: ArtifactsConfig = ArtifactsConfig()
    """Where and how lane outputs are kept."""
    review: ReviewConfig = ReviewConfig()
    """The review ladder (`laneboard review`): rungs, escalation rules, budget."""
    notifications: NotificationsConfig = NotificationsConfig()
    """Bell, desktop notifications and a hook when a lane needs you."""

    @field_validator("lanes")
    @classmethod
    def _lane_ids(cls, v: dict[str, LaneConfig]) -> dict[str, LaneConfig]:
        for lane_id in v:
            if not _LANE_ID.fullmatch(lane_id):
                raise ValueError(
                    f"lane id {lane_id!r} must be 1-32 lowercase letters, digits, '-' or '_'"
                )
        for lane_id, lane in v.items():  # replicas `<id>-<n>` must not shadow a lane
            clash = [f"{lane_id}-{n}" for n in range(1, lane.replicas + 1)
                     if lane.replicas > 1 and f"{lane_id}-{n}" in v]
            if clash:
                raise ValueError(f"lanes.{lane_id}.replicas: replica {clash[0]!r} is also a "
                                 "lane id; rename one of them")
            if lane.replicas > 1 and lane.worktree is False:
                raise ValueError(f"lanes.{lane_id}: replicas need their own worktrees "
                                 "(remove `worktree: false` or set `replicas: 1`)")
            if lane.host is not None and (lane.worktree is True or lane.replicas > 1):
                # a lane on a host runs in its cwd THERE; laneboard makes no worktree on
                # another host (it could neither show nor merge one): lanes.relays
                raise ValueError(
                    f"lanes.{lane_id}: a lane with `host:` gets no worktree (laneboard makes "
                    f"none on another host), so it cannot have "
                    f"{'`worktree: true`' if lane.worktree is True else '`replicas:`'}; set "
                    "`worktree: false` and `replicas: 1`, or run the lane here")
        for lane_id, lane in v.items():  # the conductor's who-may-delegate-to-whom
            for key in ("delegates", "delegate_wider"):
                unknown = [d for d in getattr(lane, key) or [] if d not in v or d == lane_id]
                if unknown:
                    raise ValueError(f"lanes.{lane_id}.{key}: {unknown[0]!r} is not another lane")
        return v

    @model_validator(mode="after")
    def _known_hosts(self) -> Config:
        for section, entries in (("lanes", self.lanes), ("providers", self.providers)):
            for name, entry in entries.items():
                if entry.host is not None and entry.host not in self.hosts:
                    known = ", ".join(sorted(self.hosts)) or "none defined"
                    raise ValueError(
                        f"{section}.{name}.host: {entry.host!r} is not in `hosts:` ({known})"
                    )
        return self

    @property
    def default_lane(self) -> str:
        return self.routing.default if self.routing else next(iter(self.lanes))


@dataclass(frozen=True)
class LoadedConfig:
    """A validated config plus where it came from, for error messages and digests."""

    config: Config
    path: str
    source: SourceMap
    raw: bytes

    def locate(self, path: Path_, *, key: bool = False) -> Location:
        return self.source.locate(path, key=key)

    @property
    def digest(self) -> str:
        import hashlib

        return hashlib.sha256(self.raw).hexdigest()[:16]


