"""config.yaml: its pydantic models, loading with precise errors, and which file is in effect.

A config error is for a person: the file, line and column, the dotted path
(`lanes.main.fence`), what was expected, and a hint. Unknown keys are errors with a
did-you-mean, and so are duplicated keys. Cross-references inside the file (routing names
existing lanes, aliases are unique, lane fields fit the lane's harness) are checked here;
model refs are resolved against the allowlist by `laneboard.lanes.refs`, which reports
through the same `ConfigError` using this package's source map.

The shipped default is `laneboard/default_config.yaml` (the top-level `config.yaml` is a
link to it): one file, loaded by the same code, so it cannot drift from these models.

Where each part lives: `models` (the shape), `validation_errors` (pydantic's errors made
readable), `checks` (cross-references), `loading` (parse, load, discover). This module
re-exports the public names so `from laneboard.config import X` keeps working; the
vocabulary Literals (`Tier`, `FenceName`, …) are `laneboard.core.vocabulary`'s, re-exported.
Importing anything here imports pydantic (~210 ms); code that needs only the vocabulary
imports `laneboard.core.vocabulary` instead.
"""

from __future__ import annotations

from laneboard.config.loading import (
    DEFAULT_CONFIG_NAME,
    ConfigSource,
    discover_config,
    json_schema,
    load_config,
    load_effective,
    parse_config,
    shipped_config_bytes,
    user_config_path,
)
from laneboard.config.models import (
    FENCE_ORDER,
    TIER_ORDER,
    WRITABLE_FENCES,
    ArtifactsConfig,
    Config,
    Defaults,
    FenceName,
    Fences,
    HarnessName,
    LaneConfig,
    LoadedConfig,
    MatchSpec,
    ModelChoice,
    ModelCost,
    ModelEntry,
    ModelParams,
    ProviderConfig,
    RestartPolicy,
    Role,
    RouteRule,
    Routing,
    Strict,
    Tier,
    TmuxConfig,
    ToolRoute,
    TriageConfig,
)

__all__ = [
    "DEFAULT_CONFIG_NAME",
    "FENCE_ORDER",
    "TIER_ORDER",
    "WRITABLE_FENCES",
    "ArtifactsConfig",
    "Config",
    "ConfigSource",
    "Defaults",
    "FenceName",
    "Fences",
    "HarnessName",
    "LaneConfig",
    "LoadedConfig",
    "MatchSpec",
    "ModelChoice",
    "ModelCost",
    "ModelEntry",
    "ModelParams",
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
    "discover_config",
    "json_schema",
    "load_config",
    "load_effective",
    "parse_config",
    "shipped_config_bytes",
    "user_config_path",
]
