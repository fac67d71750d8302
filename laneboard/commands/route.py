"""`laneboard route` (placeholder until the lanes issue lands)."""

from laneboard.commands._pending import pending

route = pending("route", "the lanes issue")
