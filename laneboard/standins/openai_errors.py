"""The OpenAI error body, shared by `/v1/responses`, `/v1/chat/completions` and friends."""

from __future__ import annotations

from typing import Any

ERROR_TYPES = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("permission_error", None),
    404: ("not_found_error", "model_not_found"),
    429: ("rate_limit_error", "rate_limit_exceeded"),
}


def error_body(status: int, message: str, error_type: str | None = None) -> dict[str, Any]:
    """`{"error": {"message", "type", "code"}}`; `error_type` overrides both type and code
    (Codex treats `insufficient_quota` differently from a plain 429)."""
    kind, code = ERROR_TYPES.get(status, ("api_error" if status < 500 else "server_error", None))
    if error_type:
        kind, code = error_type, error_type
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}
