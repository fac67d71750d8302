"""`laneboard review` (placeholder until the review issue lands)."""

from laneboard.commands._pending import pending

review = pending("review", "the review issue")
