"""Loading a config for use: structure (laneboard.config) plus model refs (lanes.refs)."""

from __future__ import annotations

from laneboard.config import LoadedConfig, load_config, load_effective
from laneboard.errors import ConfigError


def check_refs(loaded: LoadedConfig) -> LoadedConfig:
    """Raise ConfigError when a lane, default or embedding model does not resolve, or a
    per-tool route names a lane whose models cannot answer it (`lanes.tool_routes`)."""
    from laneboard.lanes.refs import check_model_refs
    from laneboard.lanes.tool_routes import check_tool_routes

    problems = check_model_refs(loaded)
    if not problems:  # routes are judged on models that resolve
        problems = check_tool_routes(loaded)
    if problems:
        raise ConfigError(problems)
    return loaded


def load(explicit: str | None = None) -> LoadedConfig:
    """The config in effect (--config, $LANEBOARD_CONFIG, ./laneboard.yaml, user, shipped)."""
    return check_refs(load_effective(explicit))


def load_file(path: str) -> LoadedConfig:
    """One named file, fully checked."""
    return check_refs(load_config(path))
