"""What a lane is: model refs, router, fences and policy, supervisor, preflight.

`load()` is how every command gets its config: the file in effect, validated, with model
refs resolved against the allowlist (errors carry file:line like any other config error).
"""

from __future__ import annotations

from laneboard.lanes.loading import load

__all__ = ["load"]
