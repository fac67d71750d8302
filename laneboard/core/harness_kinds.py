"""The harness registry: one row per kind of harness, and everything laneboard knows of it.

Why one table: the factory, preflight's probes, config validation, the supervisor and the
TUI each used to compare `harness == "codex"`-style strings (56 places). They read this
table instead, so adding a harness is one row here plus its module. The row names its
class by import path (loaded on first use), so reading the table imports no harness code.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Literal

from laneboard.core.vocabulary import HarnessName

Transport = Literal["tmux", "http"]
"""Where a lane of this kind runs: a process in a tmux pane, or requests to an endpoint."""
BaseUrlVia = Literal["env", "codex-config", "request", "none"]
"""How a harness is pointed at another base URL (a gateway, a stand-in): an environment
variable its CLI reads, a `-c model_providers…` override (Codex), the URL laneboard
itself requests (HTTP harnesses), or not at all (an arbitrary command)."""


@dataclass(frozen=True)
class HarnessKind:
    name: HarnessName
    target: str
    """`module:Class` of the harness, imported on first use."""
    binary: str | None
    """The program on PATH it needs (None: it speaks HTTP itself)."""
    transport: Transport
    takes_model: bool
    """Whether a lane of this kind must name a model."""
    modes: tuple[str, ...]
    """The `mode:` values it supports; the first is the default."""
    base_url_via: BaseUrlVia
    base_url_env: str | None = None
    """The variable that carries the base URL when `base_url_via == "env"`."""
    native_fences: bool = False
    """Whether the CLI enforces fences itself (sandbox / permission modes)."""
    sandboxed: bool = False
    """Whether laneboard wraps it in its own sandbox (bubblewrap) to hold the fence."""
    watches_own_output: bool = False
    """Whether it watches its own output for degenerate repetition."""
    description: str = ""

    def load(self) -> type:
        """The harness class (imports its module)."""
        module, _, attr = self.target.partition(":")
        cls = getattr(importlib.import_module(module), attr)
        assert isinstance(cls, type)
        return cls

    @property
    def module(self) -> str:
        return self.target.partition(":")[0]


KINDS: dict[HarnessName, HarnessKind] = {
    k.name: k
    for k in (
        HarnessKind(
            "claude-code", "laneboard.harnesses.claude.harness:ClaudeCodeHarness", "claude",
            "tmux", takes_model=True, modes=("interactive", "exec"), base_url_via="env",
            base_url_env="ANTHROPIC_BASE_URL", native_fences=True,
            description="Claude Code in a tmux pane (plan mode, permission modes, hooks)",
        ),
        HarnessKind(
            "codex", "laneboard.harnesses.codex.harness:CodexHarness", "codex", "tmux",
            takes_model=True, modes=("interactive", "exec"), base_url_via="codex-config",
            native_fences=True,
            description="Codex CLI: interactive in a tmux pane, or `codex exec` per prompt",
        ),
        HarnessKind(
            "ollama", "laneboard.harnesses.ollama:OllamaHarness", None, "http",
            takes_model=True, modes=("exec",), base_url_via="request",
            watches_own_output=True, description="a local Ollama model over its HTTP API",
        ),
        HarnessKind(
            "openai", "laneboard.harnesses.openai_http:OpenAIHttpHarness", None, "http",
            takes_model=True, modes=("exec",), base_url_via="request",
            watches_own_output=True, description="an OpenAI-compatible endpoint",
        ),
        HarnessKind(
            "command", "laneboard.harnesses.command:CommandHarness", None, "tmux",
            takes_model=False, modes=("interactive",), base_url_via="none", sandboxed=True,
            watches_own_output=True,
            description="any program in a tmux pane, fenced by a bubblewrap sandbox",
        ),
    )
}


def kind(name: str) -> HarnessKind:
    """The registry row for `name` (KeyError names the known kinds)."""
    try:
        return KINDS[name]  # type: ignore[index]
    except KeyError:
        raise KeyError(f"unknown harness {name!r}; known: {', '.join(KINDS)}") from None
