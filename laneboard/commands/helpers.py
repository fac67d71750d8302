"""`laneboard commit-msg` and `laneboard triage` (placeholders until the review issue lands)."""

from laneboard.commands._pending import pending

commit_msg = pending("commit-msg", "the review issue")
triage = pending("triage", "the review issue")
