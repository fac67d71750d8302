"""Opening the cockpit (placeholder until the cockpit issue lands)."""

from __future__ import annotations

from laneboard.errors import UsageError


def run_cockpit(config_path: str | None) -> None:
    raise UsageError("the cockpit is not available in this build yet (the cockpit issue).")
