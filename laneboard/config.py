"""config.yaml: the pydantic models of the whole shape, and loading with precise errors.

A config error is for a person: the file, line and column, the dotted path
(`lanes.main.fence`), what was expected, and a hint. Unknown keys are errors with a
did-you-mean, and so are duplicated keys. Cross-references inside the file (routing names
existing lanes, aliases are unique, lane fields fit the lane's harness) are checked here;
model refs are resolved against the allowlist by `laneboard.lanes.refs`, which reports
through the same `ConfigError` using this module's source map.

The shipped default is `laneboard/default_config.yaml` (the top-level `config.yaml` is a
link to it): one file, loaded by the same code, so it cannot drift from these models.
"""

from __future__ import annotations

import difflib
import os
import re
import shlex
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from laneboard.configfile import read_config_bytes
from laneboard.errors import ConfigError, ConfigProblem, Location
from laneboard.linear_regex import UNSUPPORTED_HINT, regex_problem
from laneboard.yamlsource import Path_, SourceMap, dotted, load_yaml

Tier = Literal["local", "cheap", "orchestrator", "escalation"]
TIER_ORDER: dict[str, int] = {"local": 0, "cheap": 1, "orchestrator": 2, "escalation": 3}
FenceName = Literal["read-only", "plan", "workspace-write", "full"]
FENCE_ORDER: dict[str, int] = {"read-only": 0, "plan": 1, "workspace-write": 2, "full": 3}
WRITABLE_FENCES = frozenset({"workspace-write", "full"})
HarnessName = Literal["claude-code", "codex", "ollama", "openai", "command"]
Role = Literal["orchestrator", "coder", "reviewer", "helper"]

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


class ProviderConfig(Strict):
    harness: HarnessName
    """Which harness drives this provider's models."""
    base_url: str | None = None
    """Endpoint override (a gateway, a local server, a stand-in); e.g. http://127.0.0.1:11434."""
    api_key_env: str | None = None
    """Name of the environment variable holding the key; the key itself never goes in this file."""

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
    input: Literal["trusted", "untrusted"] = "trusted"
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
        if self.harness == "command":
            if not self.command:
                raise ValueError("a command lane needs `command` (the program to run)")
        else:
            for name in ("command", "ready", "busy"):
                if getattr(self, name) is not None:
                    raise ValueError(f"`{name}` is only for command lanes (harness: command)")
        if self.mode == "exec" and self.harness not in ("codex", "claude-code"):
            raise ValueError("mode exec is for codex and claude-code lanes")
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


class Config(Strict):
    """The whole config.yaml."""

    version: Literal[1]
    """Format version of this file."""
    tmux: TmuxConfig = TmuxConfig()
    """laneboard's private tmux server."""
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

    @field_validator("lanes")
    @classmethod
    def _lane_ids(cls, v: dict[str, LaneConfig]) -> dict[str, LaneConfig]:
        for lane_id in v:
            if not _LANE_ID.fullmatch(lane_id):
                raise ValueError(
                    f"lane id {lane_id!r} must be 1-32 lowercase letters, digits, '-' or '_'"
                )
        return v

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


# ---------------------------------------------------------------- errors from pydantic


def _unwrap(tp: Any) -> list[Any]:
    """The model classes and containers inside an annotation (unions, Optional, Annotated)."""
    import types
    import typing

    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        out: list[Any] = []
        for arg in typing.get_args(tp):
            out.extend(_unwrap(arg))
        return out
    if origin is Annotated:
        return _unwrap(typing.get_args(tp)[0])
    return [tp]


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model class that validated the mapping at `loc` (for did-you-mean)."""
    import typing

    current: list[Any] = [Config]
    for part in loc:
        nxt: list[Any] = []
        for tp in current:
            if isinstance(tp, type) and issubclass(tp, BaseModel):
                if isinstance(part, str) and part in tp.model_fields:
                    nxt.extend(_unwrap(tp.model_fields[part].annotation))
            else:
                origin = typing.get_origin(tp)
                args = typing.get_args(tp)
                if origin is dict and len(args) == 2:
                    nxt.extend(_unwrap(args[1]))
                elif origin is list and args:
                    nxt.extend(_unwrap(args[0]))
        current = nxt
    for tp in current:
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            return tp
    return None


def _clean_loc(loc: tuple[Any, ...], data: Any = None) -> tuple[str | int, ...]:
    """Drop pydantic's internal union/validator tags from an error location.

    The location is walked against the loaded data first: a part that is a real key or
    index there is kept even when it looks like a tag (a key named `"[0]"` or `list`).
    """
    out: list[str | int] = []
    current = data
    for part in loc:
        real_key = isinstance(current, dict) and isinstance(part, str) and part in current
        real_index = (
            isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current)
        )
        if real_key or real_index:
            current = current[part]
        elif isinstance(part, str) and (("[" in part and "]" in part) or part in {"list", "dict"}):
            continue
        else:
            current = None
        out.append(part)
    return tuple(out)


def _expected_for(err: Any) -> str:
    ctx = err.get("ctx") or {}
    if err["type"] == "literal_error" and "expected" in ctx:
        return f"one of {ctx['expected']}"
    kinds = {
        "string_type": "a string",
        "int_type": "an integer",
        "int_parsing": "an integer",
        "float_type": "a number",
        "float_parsing": "a number",
        "bool_type": "true or false",
        "bool_parsing": "true or false",
        "dict_type": "a mapping (key: value)",
        "model_type": "a mapping (key: value)",
        "model_attributes_type": "a mapping (key: value)",
        "list_type": "a list",
        "missing": "this key to be present",
    }
    return kinds.get(err["type"], "")


def _problems_from_validation(
    e: ValidationError, source: SourceMap, data: Any = None
) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    seen: set[tuple[Any, ...]] = set()
    for err in e.errors(include_url=False):
        loc = _clean_loc(tuple(err["loc"]), data)
        last = loc[-1] if loc else "(top level)"
        kind = err["type"]
        if (loc, kind) in seen:
            continue
        seen.add((loc, kind))
        hint = ""
        expected = _expected_for(err)
        if kind == "extra_forbidden":
            parent = loc[:-1]
            model = _model_at(parent)
            allowed = sorted(model.model_fields) if model else []
            close = difflib.get_close_matches(str(last), allowed, n=1)
            hint = f"did you mean {close[0]!r}?" if close else ""
            message = f"unknown key {last!r}"
            expected = f"one of: {', '.join(allowed)}" if allowed else ""
            location = source.locate(loc, key=True)
        elif kind == "missing":
            message = f"missing required key {last!r}"
            location = source.locate(loc[:-1])
        else:
            msg = str(err["msg"])
            if msg.startswith("Value error, "):
                msg = msg[len("Value error, ") :]
            message = msg
            location = source.locate(loc)
            if kind == "literal_error":
                given = err.get("input")
                options = re.findall(r"'([^']*)'", str((err.get("ctx") or {}).get("expected", "")))
                close = difflib.get_close_matches(str(given), options, n=1)
                hint = f"did you mean {close[0]!r}?" if close else ""
                message = f"{given!r} is not allowed here"
        problems.append(ConfigProblem(message, location, dotted(loc), expected, hint))
    problems.sort(key=lambda p: (p.location.line or 0, p.location.column or 0))
    return problems


# ---------------------------------------------------------------- cross-references


def _cross_check(cfg: Config, source: SourceMap) -> list[ConfigProblem]:
    """References between sections that pydantic alone cannot see."""
    problems: list[ConfigProblem] = []
    lanes = set(cfg.lanes)

    def need_lane(lane: str, path: Path_) -> None:
        if lane not in lanes:
            close = difflib.get_close_matches(lane, sorted(lanes), n=1)
            problems.append(
                ConfigProblem(
                    f"no lane named {lane!r}",
                    source.locate(path),
                    dotted(path),
                    expected=f"one of the lanes: {', '.join(sorted(lanes))}",
                    hint=f"did you mean {close[0]!r}?" if close else "define it under `lanes:`",
                )
            )

    if cfg.routing:
        need_lane(cfg.routing.default, ("routing", "default"))
        if cfg.routing.untrusted:
            need_lane(cfg.routing.untrusted, ("routing", "untrusted"))
        for i, rule in enumerate(cfg.routing.rules):
            need_lane(rule.lane, ("routing", "rules", i, "lane"))
        names = [r.name for r in cfg.routing.rules]
        for i, name in enumerate(names):
            if name in names[:i]:
                problems.append(
                    ConfigProblem(
                        f"rule name {name!r} is used twice",
                        source.locate(("routing", "rules", i, "name")),
                        dotted(("routing", "rules", i, "name")),
                        hint="each decision names its rule; names must be unique",
                    )
                )
        for i, tr in enumerate(cfg.routing.tools):
            path: Path_ = ("routing", "tools", i, "lane")
            if ("routing", "tools", tr.tools[0]) in source.values:  # the map form
                path = ("routing", "tools", tr.tools[0])
            need_lane(tr.lane, path)
        if cfg.routing.triage:
            need_lane(cfg.routing.triage.lane, ("routing", "triage", "lane"))

    seen_alias: dict[str, str] = {}
    for key, entry in cfg.models.items():
        if entry.alias is None:
            continue
        folded = entry.alias.casefold()
        if folded in seen_alias:
            problems.append(
                ConfigProblem(
                    f"alias {entry.alias!r} is already used by {seen_alias[folded]!r}",
                    source.locate(("models", key, "alias")),
                    dotted(("models", key, "alias")),
                    hint="aliases are case-insensitive and must be unique",
                )
            )
        else:
            seen_alias[folded] = key

    for key in cfg.models:
        if "/" not in key or not key.split("/", 1)[0].strip() or not key.split("/", 1)[1].strip():
            problems.append(
                ConfigProblem(
                    f"model key {key!r} is not a `provider/model` ref",
                    source.locate(("models", key), key=True),
                    dotted(("models", key)),
                    expected="provider/model, e.g. ollama/qwen3:7b",
                )
            )

    if cfg.defaults.provider and cfg.providers and cfg.defaults.provider not in cfg.providers:
        problems.append(
            ConfigProblem(
                f"default provider {cfg.defaults.provider!r} is not configured",
                source.locate(("defaults", "provider")),
                "defaults.provider",
                expected=f"one of: {', '.join(sorted(cfg.providers))}",
            )
        )
    for lane_id, lane in cfg.lanes.items():
        if lane.provider and lane.provider not in cfg.providers:
            problems.append(
                ConfigProblem(
                    f"provider {lane.provider!r} is not configured",
                    source.locate(("lanes", lane_id, "provider")),
                    dotted(("lanes", lane_id, "provider")),
                    expected=f"one of: {', '.join(sorted(cfg.providers)) or '(none configured)'}",
                )
            )
        if lane.harness != "command" and lane.model is None and cfg.defaults.model is None:
            problems.append(
                ConfigProblem(
                    f"lane {lane_id!r} names no model and there is no defaults.model",
                    source.locate(("lanes", lane_id)),
                    dotted(("lanes", lane_id)),
                    hint="add `model:` to the lane or `defaults.model.primary`",
                )
            )
    problems.sort(key=lambda p: (p.location.line or 0, p.location.column or 0))
    return problems


# ---------------------------------------------------------------- loading


def parse_config(raw: bytes, file: str) -> LoadedConfig:
    """Validate config bytes; raise ConfigError listing every problem with its position."""
    data, source = load_yaml(raw, file)
    try:
        cfg = Config.model_validate(data)
    except ValidationError as e:
        raise ConfigError(_problems_from_validation(e, source, data)) from None
    problems = _cross_check(cfg, source)
    if problems:
        raise ConfigError(problems)
    return LoadedConfig(cfg, file, source, raw)


def load_config(path: str | os.PathLike[str]) -> LoadedConfig:
    """Read and validate one config file (a regular file of bounded size, see configfile)."""
    p = Path(path)
    return parse_config(read_config_bytes(p), str(p))


DEFAULT_CONFIG_NAME = "default_config.yaml"


def shipped_config_bytes() -> bytes:
    """The shipped default config.yaml (package data)."""
    return resources.files("laneboard").joinpath(DEFAULT_CONFIG_NAME).read_bytes()


@dataclass(frozen=True)
class ConfigSource:
    """Which config file is in effect and why."""

    path: str | None
    reason: str

    @property
    def display(self) -> str:
        return self.path or "(shipped default)"


def user_config_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_config_dir("laneboard")) / "config.yaml"


def discover_config(explicit: str | None = None, cwd: Path | None = None) -> ConfigSource:
    """--config, then $LANEBOARD_CONFIG, then ./laneboard.yaml, then the user config dir,
    then the shipped default. An explicit file that does not exist is an error, not a skip."""
    if explicit:
        return ConfigSource(explicit, "--config")
    env = os.environ.get("LANEBOARD_CONFIG")
    if env:
        return ConfigSource(env, "$LANEBOARD_CONFIG")
    local = (cwd or Path.cwd()) / "laneboard.yaml"
    if local.is_file():
        return ConfigSource(str(local), "./laneboard.yaml")
    user = user_config_path()
    if user.is_file():
        return ConfigSource(str(user), "user config directory")
    return ConfigSource(None, "shipped default")


def load_effective(explicit: str | None = None) -> LoadedConfig:
    """Load the config in effect (see `discover_config`)."""
    src = discover_config(explicit)
    if src.path is None:
        return parse_config(shipped_config_bytes(), f"<shipped>/{DEFAULT_CONFIG_NAME}")
    return load_config(src.path)


def json_schema() -> dict[str, Any]:
    """JSON Schema of config.yaml, for editors."""
    schema = Config.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "laneboard config.yaml"
    return schema
