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
AuthProbe = Literal["claude-credentials", "codex-login", "api-key", "none"]
"""How preflight tells whether a lane of this kind is logged in: Claude Code's credential
file, `codex login status`, the provider's `api_key_env`, or not at all (local models and
arbitrary programs carry no credential of laneboard's)."""


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
    program_from_config: bool = False
    """Whether the lane's config names the program (`command:`, `ready:`, `busy:`) instead
    of the row naming a binary."""
    npm_package: str | None = None
    """The npm package that installs `binary` (what preflight tells a person to install)."""
    auth_probe: AuthProbe = "api-key"
    fence_enforcement: str | None = None
    """What holds a fence and `fences.deny` for it (what `route`/`send` report; `{sandbox}`
    is the codex sandbox of the fence). None: it runs no tools, so there is nothing to deny."""
    local_models: bool = False
    """A model server expected on this machine (Ollama): preflight checks its URL is
    loopback and lists its models; artifacts embed with it (embeddings stay local because
    artifacts hold diffs)."""
    public_endpoint: str | None = None
    """Where its provider answers when the config names no `base_url` (what a gateway
    forwards to): Claude Code's api.anthropic.com, Codex's and OpenAI's api.openai.com/v1,
    Ollama's 127.0.0.1:11434 (see /work/shared/reference)."""
    key_env: str | None = None
    """The variable its CLI reads a key from when the provider names none (codex's
    `-c model_providers…` override needs it as `env_key`)."""
    wire: str | None = None
    """The wire protocol it speaks to its provider, as the gateway relays it: `anthropic`
    (Messages), `responses` (OpenAI Responses), `chat` (Chat Completions) or `ollama`."""
    url_from_env: str | None = None
    """The variable the harness reads its base URL from when the config names none."""
    url_normaliser: str | None = None
    """`module:function` that turns a configured base URL into the one the harness
    requests (an HTTP harness's own normalisation, which the gateway must repeat)."""
    own_login: bool = False
    """Whether the CLI can run on a login of its own with neither `base_url` nor key (a
    ChatGPT-login Codex): such a lane stays off the gateway, which cannot carry that login."""
    description: str = ""

    def normalise_url(self, url: str | None) -> str | None:
        """`url` (else `$url_from_env`) as the harness would request it; None without a
        normaliser."""
        if self.url_normaliser is None:
            return None
        module, _, attr = self.url_normaliser.partition(":")
        fn = getattr(importlib.import_module(module), attr)
        return str(fn(url))

    def load(self) -> type:
        """The harness class (imports its module)."""
        module, _, attr = self.target.partition(":")
        cls = getattr(importlib.import_module(module), attr)
        assert isinstance(cls, type)
        return cls

    @property
    def module(self) -> str:
        return self.target.partition(":")[0]

    @property
    def headless_mode(self) -> bool:
        """Whether `mode: exec` switches it from a pane to one process per prompt (an
        HTTP kind is per-request already, so `mode:` has nothing to choose for it)."""
        return self.transport == "tmux" and "exec" in self.modes


KINDS: dict[HarnessName, HarnessKind] = {
    k.name: k
    for k in (
        HarnessKind(
            "claude-code", "laneboard.harnesses.claude.harness:ClaudeCodeHarness", "claude",
            "tmux", takes_model=True, modes=("interactive", "exec"), base_url_via="env",
            base_url_env="ANTHROPIC_BASE_URL", native_fences=True,
            npm_package="@anthropic-ai/claude-code", auth_probe="claude-credentials",
            fence_enforcement="claude permission flags + laneboard's PreToolUse hook",
            public_endpoint="https://api.anthropic.com", wire="anthropic",
            description="Claude Code in a tmux pane (plan mode, permission modes, hooks)",
        ),
        HarnessKind(
            "codex", "laneboard.harnesses.codex.harness:CodexHarness", "codex", "tmux",
            takes_model=True, modes=("interactive", "exec"), base_url_via="codex-config",
            native_fences=True, npm_package="@openai/codex", auth_probe="codex-login",
            fence_enforcement="codex --sandbox {sandbox} + execpolicy rules from fences.deny",
            public_endpoint="https://api.openai.com/v1", key_env="OPENAI_API_KEY",
            wire="responses", own_login=True,
            description="Codex CLI: interactive in a tmux pane, or `codex exec` per prompt",
        ),
        HarnessKind(
            "ollama", "laneboard.harnesses.ollama:OllamaHarness", None, "http",
            takes_model=True, modes=("exec",), base_url_via="request",
            watches_own_output=True, auth_probe="none", local_models=True,
            public_endpoint="http://127.0.0.1:11434", wire="ollama",
            url_from_env="OLLAMA_HOST",
            url_normaliser="laneboard.harnesses.ollama:ollama_base_url",
            description="a local Ollama model over its HTTP API",
        ),
        HarnessKind(
            "openai", "laneboard.harnesses.openai_http:OpenAIHttpHarness", None, "http",
            takes_model=True, modes=("exec",), base_url_via="request",
            watches_own_output=True, public_endpoint="https://api.openai.com/v1",
            wire="chat", url_from_env="OPENAI_BASE_URL",
            url_normaliser="laneboard.harnesses.openai_http:openai_base_url",
            description="an OpenAI-compatible endpoint",
        ),
        HarnessKind(
            "command", "laneboard.harnesses.command:CommandHarness", None, "tmux",
            takes_model=False, modes=("interactive",), base_url_via="none", sandboxed=True,
            watches_own_output=True, program_from_config=True, auth_probe="none",
            fence_enforcement=(
                "bubblewrap sandbox (fences.deny cannot apply inside an arbitrary program)"
            ),
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
