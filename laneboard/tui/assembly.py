"""The cockpit's core parts (`Core`) and how they are built: the config, the supervisor,
the router, the preflight runner and the artifact store — plus the two process-level
helpers the App uses (preloading harness modules, running `tmux attach`).

Why apart from the App: this is the seam to the core, and nothing here is about what a
person sees; the App module keeps the widgets' side (workers, requests, actions). Only
`build_core` imports the core, and only when called (after the first frame: the config
models alone take ~150 ms to import).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from laneboard.core.harness_kinds import KINDS

if TYPE_CHECKING:
    from laneboard.artifacts import ArtifactStore
    from laneboard.config import LoadedConfig
    from laneboard.lanes.preflight import Report
    from laneboard.lanes.router import Router
    from laneboard.lanes.supervisor import Supervisor

PreflightRunner = Callable[[], Awaitable["Report"]]
AttachRunner = Callable[[Sequence[str]], object]


@dataclass
class Core:
    """The parts of the core the cockpit talks to (built by `make_app`, now or in a worker)."""

    loaded: LoadedConfig
    supervisor: Supervisor
    router: Router
    preflight: PreflightRunner
    artifacts: Callable[[], ArtifactStore]
    owns_supervisor: bool
    """Whether quitting the app closes (detaches) the supervisor."""


class NotReady(RuntimeError):
    """The core is not loaded yet (a bug if it escapes: callers check `ready` first)."""



def build_core(
    loaded: LoadedConfig | Callable[[], LoadedConfig],
    supervisor: Supervisor | None,
    workspace: Path | None,
    router: Router | None,
    preflight: PreflightRunner | None,
    artifacts: ArtifactStore | Callable[[], ArtifactStore] | None,
) -> Core:
    """Load the config (when `loaded` is a loader) and build what is missing: the
    supervisor for `workspace`, the router, the preflight runner and the artifact store
    factory. Imports the core (pydantic): the app calls it after its first frame."""
    from laneboard.lanes.router import Router
    from laneboard.lanes.supervisor import Supervisor

    cfg = loaded() if callable(loaded) else loaded
    owns = supervisor is None
    sup = supervisor or Supervisor(cfg, workspace=workspace)
    ws = sup.workspace

    async def default_preflight() -> Report:
        from laneboard.lanes.preflight import run_preflight_async

        path = cfg.path if Path(cfg.path).is_file() else None
        return await run_preflight_async(path, cwd=ws)

    def default_store() -> ArtifactStore:
        from laneboard.artifacts import ArtifactStore

        return ArtifactStore(ws / cfg.config.artifacts.dir)

    if artifacts is None:
        store_factory: Callable[[], ArtifactStore] = default_store
    elif callable(artifacts):
        store_factory = artifacts
    else:
        fixed = artifacts
        store_factory = lambda: fixed  # noqa: E731
    return Core(cfg, sup, router or Router(cfg.config), preflight or default_preflight,
                store_factory, owns)


def preload_harnesses(kinds: set[str]) -> None:
    """Import the harness modules the lanes need (in a thread: they take ~100 ms), as the
    harness registry (`laneboard.core.harness_kinds`) names them."""
    import importlib

    importlib.import_module("laneboard.lanes.factory")
    for name, harness in KINDS.items():
        if name in kinds:
            importlib.import_module(harness.module)


def run_attach(argv: Sequence[str]) -> object:
    env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
    return subprocess.run(list(argv), env=env, check=False)
