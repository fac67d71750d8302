"""`laneboard artifacts` (placeholder until the review issue lands)."""

from laneboard.commands._pending import pending

artifacts = pending("artifacts", "the review issue")
