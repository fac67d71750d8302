"""`laneboard demo` (placeholder until the cockpit issue lands)."""

from laneboard.commands._pending import pending

demo = pending("demo", "the cockpit issue")
