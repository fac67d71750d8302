"""What laneboard redacts, and where it keeps the redacted record (the artifact store).

Why its own module: the supervisor redacts every prompt, dispatch redacts untrusted
text, review and commit-msg store artifacts; when this lived in `review`, the supervisor
and review imported each other (a cycle). It imports nothing of the lanes.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from laneboard.artifacts import ArtifactStore, Redactor
    from laneboard.config import Config


def known_secrets(cfg: Config, environ: Mapping[str, str] | None = None) -> list[str]:
    """Values of the API-key variables the config names, and of lane env entries whose
    names say they hold secrets: redacted by value even if no pattern would catch them."""
    env = os.environ if environ is None else environ
    names = {p.api_key_env for p in cfg.providers.values() if p.api_key_env}
    names |= {"ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "OPENAI_API_KEY"}
    values = [env[n] for n in names if env.get(n)]
    secretish = re.compile(r"KEY|TOKEN|SECRET|PASSWORD", re.IGNORECASE)
    for lane in cfg.lanes.values():
        values += [v for k, v in lane.env.items() if secretish.search(k) and v]
    return values


def make_redactor(cfg: Config) -> Redactor:
    from laneboard.artifacts import Redactor

    return Redactor(known_secrets(cfg))


def artifacts_root(cfg: Config, cwd: Path | None = None) -> Path:
    """`artifacts.dir`, relative to the directory laneboard runs in (as preflight checks it)."""
    d = Path(cfg.artifacts.dir).expanduser()
    return d if d.is_absolute() else (cwd or Path.cwd()) / d


def open_store(cfg: Config, cwd: Path | None = None) -> ArtifactStore:
    from laneboard.artifacts import ArtifactStore

    return ArtifactStore(artifacts_root(cfg, cwd), redactor=make_redactor(cfg),
                         max_prompt_bytes=cfg.artifacts.max_prompt_bytes)
