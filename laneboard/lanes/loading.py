"""Loading a config for use: structure (laneboard.config) plus model refs (lanes.refs)."""

from __future__ import annotations

from laneboard.config import LoadedConfig, load_config, load_effective
from laneboard.errors import ConfigError


def check_refs(loaded: LoadedConfig) -> LoadedConfig:
    """Raise ConfigError when a lane, default or embedding model does not resolve."""
    from laneboard.lanes.refs import check_model_refs

    problems = check_model_refs(loaded)
    if problems:
        raise ConfigError(problems)
    return loaded


def load(explicit: str | None = None) -> LoadedConfig:
    """The config in effect (--config, $LANEBOARD_CONFIG, ./laneboard.yaml, user, shipped)."""
    return check_refs(load_effective(explicit))


def load_file(path: str) -> LoadedConfig:
    """One named file, fully checked."""
    return check_refs(load_config(path))
