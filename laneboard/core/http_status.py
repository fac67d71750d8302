"""HTTP status → the kind of a model endpoint's failure (`ErrorKind`).

Why one mapping: the HTTP harnesses, Claude Code's transcript reader and Codex's event
reader each had a copy; the failover rule ("auth, rate-limit, unreachable move to the next
model") is only as consistent as this table.
"""

from __future__ import annotations

from laneboard.core.vocabulary import ErrorKind


def kind_for_status(status: int) -> ErrorKind:
    """401/403 auth, 404 not-found, 429 rate-limit, other 4xx bad-request, else server."""
    if status in (401, 403):
        return "auth"
    if status == 429:
        return "rate-limit"
    if status == 404:
        return "not-found"
    if 400 <= status < 500:
        return "bad-request"
    return "server"


HINTS: dict[ErrorKind, str] = {
    "auth": "check the provider's api_key_env variable and the key it holds",
    "rate-limit": "wait, or route this lane to another model",
    "unreachable": "check the provider's base_url and that the endpoint is running",
    "server": "the endpoint failed; try again or use a fallback model",
    "not-found": "check the model id and the provider's base_url",
    "bad-request": "the endpoint rejected the request; check the model and its params",
}
"""What to try, per kind: the agent CLIs' failures (read from Claude Code's transcript,
Codex's events) end their message with it, so both say the same thing for the same kind."""
