"""Claude Code lanes: launch (argv, env, fences as flags), the harness (pane driver
and headless runs), the screen rules, the transcript reader and the PreToolUse hook."""
