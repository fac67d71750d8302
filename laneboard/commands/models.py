"""`laneboard models` (placeholder until the preflight issue lands)."""

from laneboard.commands._pending import pending

models = pending("models", "the preflight issue")
