"""`laneboard lanes` and `laneboard up` (placeholders until the lanes issue lands)."""

from laneboard.commands._pending import pending

lanes = pending("lanes", "the lanes issue")
up = pending("up", "the lanes issue")
