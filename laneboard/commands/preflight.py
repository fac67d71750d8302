"""`laneboard preflight` (placeholder until the preflight issue lands)."""

from laneboard.commands._pending import pending

preflight = pending("preflight", "the preflight issue")
