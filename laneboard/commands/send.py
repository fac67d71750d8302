"""`laneboard send` (placeholder until the harness issue lands)."""

from laneboard.commands._pending import pending

send = pending("send", "the harness issue")
