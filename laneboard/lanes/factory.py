"""Which harness drives a lane: harness name → class, wired to the supervisor's tmux relay.

One relay (one tmux socket, one control-mode client per session) is shared by every lane
of a supervisor, so eight lanes cost one tmux client, not eight pollers. Harness modules
are imported only when a lane of that kind runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from laneboard.errors import LaneError
from laneboard.harnesses.base import Harness, HarnessSpec

if TYPE_CHECKING:
    from laneboard.harnesses.tmux import TmuxRelay
    from laneboard.lanes.supervisor import Supervisor



def relay_for(sup: Supervisor) -> TmuxRelay:
    """The supervisor's tmux relay (created on first use, on the supervisor's socket)."""
    relay = getattr(sup, "_relay", None)
    if relay is None:
        from laneboard.harnesses.tmux import TmuxRelay

        relay = TmuxRelay(sup.socket)
        sup._relay = relay
    return relay


def make_harness(spec: HarnessSpec, sup: Supervisor) -> Harness:
    """The harness for `spec`, on `sup`'s relay and tmux session."""
    if spec.harness == "claude-code":
        from laneboard.harnesses.claude_code import ClaudeCodeHarness

        return ClaudeCodeHarness(spec, relay=relay_for(sup), session=sup.session)
    if spec.harness == "codex":
        from laneboard.harnesses.codex import CodexHarness

        return CodexHarness(spec, relay=relay_for(sup), session=sup.session)
    if spec.harness == "command":
        from laneboard.harnesses.command import CommandHarness

        return CommandHarness(spec, relay=relay_for(sup), session=sup.session)
    if spec.harness == "ollama":
        from laneboard.harnesses.ollama import OllamaHarness

        return OllamaHarness(spec)
    if spec.harness == "openai":
        from laneboard.harnesses.openai_http import OpenAIHttpHarness

        return OpenAIHttpHarness(spec)
    raise LaneError(f"lane {spec.lane!r}: unknown harness {spec.harness!r}")
