"""Failover and turn accounting: what happens to a lane's record after a turn or a
provider failure. Pure functions of a `LaneRuntime`; the supervisor publishes what they
return.

Why apart from the supervisor: the rules (which model comes next, when a context warning
fires, what the state file keeps) are testable without a lane running, and the
supervisor stays the part that orders events and locks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from laneboard.lanes.events import ContextWarning, ModelSwitched
from laneboard.lanes.runtime import LaneRuntime

if TYPE_CHECKING:
    from laneboard.errors import ProviderError
    from laneboard.harnesses.base import TurnResult
    from laneboard.lanes.specs import Cooldowns
    from laneboard.lanes.statefile import LaneRecord

#: Share of the context window at which a lane warns once.
CONTEXT_WARN_AT = 0.8


def advance(rt: LaneRuntime, err: ProviderError, cooldowns: Cooldowns) -> ModelSwitched | None:
    """Cool the failed model down and move `rt` to the next usable one of its chain; the
    switch to announce, or None when none is left or the choice was explicit (strict)."""
    if rt.explicit or rt.candidate is None:
        return None
    failed = rt.candidate
    cooldowns.fail(failed.key)
    for i in range(rt.index + 1, len(rt.candidates)):
        if not cooldowns.cooling(rt.candidates[i].key):
            rt.index = i
            return ModelSwitched(
                rt.id, rt.candidates[i].key, False, f"{failed.key} failed ({err.kind}): {err}"
            )
    return None


def provider_profile(rt: LaneRuntime) -> str | None:
    """What a lane's runs share with other lanes: `provider` or `provider@profile`."""
    cand = rt.candidate
    provider = rt.config.provider or (cand.provider if cand else None)
    if not provider:
        return None
    profile = cand.profile if cand else None
    return f"{provider}@{profile}" if profile else provider


def account_turn(
    rt: LaneRuntime, prompt: str, result: TurnResult, rec: LaneRecord
) -> ContextWarning | None:
    """Count one finished turn (prompts, usage, context) on `rt` and its state-file record
    `rec` (the caller saves); the context warning to publish the first time the lane
    passes `CONTEXT_WARN_AT` of its window.

    Interactive lanes report the whole session's context with each turn; exec runs start
    afresh, so the largest run is what one run needed. Without usage numbers, ~4
    characters make a token.
    """
    rt.prompts += 1
    rt.usage.add(result.usage)
    if result.usage.input_tokens or result.usage.output_tokens:
        used = result.usage.input_tokens + result.usage.output_tokens
        rt.context_tokens = used if not rt.is_exec else max(rt.context_tokens, used)
    else:
        rt.context_tokens += (len(prompt) + len(result.reply)) // 4
    rec.prompts = rt.prompts
    rec.input_tokens, rec.output_tokens = rt.usage.input_tokens, rt.usage.output_tokens
    rec.cost_usd = rt.usage.cost_usd or 0.0
    rec.context_tokens = rt.context_tokens
    cand = rt.candidate
    window = cand.context_window if cand else None
    if window and rt.context_tokens >= CONTEXT_WARN_AT * window and not rt.context_warned:
        rt.context_warned = True
        return ContextWarning(rt.id, rt.context_tokens, window)
    return None
