"""Codex lanes: launch (argv, home, fences as `--sandbox`), the harness (pane driver and
`codex exec` runs), the execpolicy rules, the screen rules and the event reader."""
