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
