"""Loading a config: bytes → validated `LoadedConfig`, and which file is in effect.

Why these live together: `--config`, `$LANEBOARD_CONFIG`, `./laneboard.yaml`, the user
config directory and the shipped default are all read through one `parse_config`, so a
config error reads the same wherever the file came from.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from laneboard.config.checks import cross_check
from laneboard.config.models import Config, LoadedConfig
from laneboard.config.validation_errors import problems_from_validation
from laneboard.configfile import read_config_bytes
from laneboard.errors import ConfigError
from laneboard.yamlsource import load_yaml


def parse_config(raw: bytes, file: str) -> LoadedConfig:
    """Validate config bytes; raise ConfigError listing every problem with its position."""
    data, source = load_yaml(raw, file)
    try:
        cfg = Config.model_validate(data)
    except ValidationError as e:
        raise ConfigError(problems_from_validation(e, source, data)) from None
    problems = cross_check(cfg, source)
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
