"""Screen-state rules on captured screens (claude 2.1.328, codex 0.169.0).

The samples are `tmux capture-pane -p` text seen on the pinned versions (from
../shared/reference/ and from runs against the stand-ins). When a CLI update breaks a
rule, capture the new screen, add it here, and revise `claude_screen` / `codex_screen`.
"""

from __future__ import annotations

import pytest

from laneboard.harnesses.claude import screen as claude_screen
from laneboard.harnesses.claude.transcript import error_kind, unwrap_pasted
from laneboard.harnesses.codex import screen as codex_screen
from laneboard.harnesses.codex.events import ExecOutcome
from laneboard.harnesses.codex.events import error_kind as codex_error_kind

NB = "\u00a0"
RULE = "─" * 60

CLAUDE_BANNER = """\
 ▐▛███▛█   Claude Code v2.1.328
▝▜██████▀  Opus 5.5 · API Usage Billing
 ▝▝   ▝▝   /tmp/lbx/wdi
                                                                      ◐ medium · /effort
"""

CLAUDE_READY = (
    CLAUDE_BANNER
    + f"""{RULE}
❯{NB}
{RULE}
  ⏸ plan mode on (shift+tab to cycle) · ← for agents



"""
)

CLAUDE_BUSY = f"""❯ review the code
✽ Infusing…
●
✶ Booping… (2s · ↓ 11 tokens)
  ⎿  Tip: Send a message mid-task to steer Claude
{RULE}
❯{NB}
{RULE}
  ⏸ plan mode on (shift+tab to cycle) · esc to interrupt
"""

CLAUDE_RETRYING = f"""❯ again
✻ 500 boom · retrying in 1s · attempt 1/1
                  tmux focus-events off · add 'set -g focus-events on' to ~/.tmux.conf and reattach for focus tracking
{RULE}
❯{NB}
{RULE}
  ⏸ plan mode on (shift+tab to cycle) · esc to interrupt
"""

CLAUDE_DONE = f"""❯ say hi
● Hello from fake.
✻ Brewed for 0s · done 5:50 AM
                  tmux focus-events off · add 'set -g focus-events on' to ~/.tmux.conf and reattach for focus tracking
{RULE}
❯{NB}
{RULE}
  ⏸ plan mode on (shift+tab to cycle)
"""

CLAUDE_API_ERROR = f"""❯ say hi
● Hello from fake.
✻ Brewed for 0s · done 5:50 AM
❯ again
● API Error: 500 boom. This is a server-side issue, usually temporary — try again in a moment. If it persists,
  check your inference gateway (127.0.0.1:18411).
{RULE}
❯{NB}Resend your message to try again
{RULE}
  ⏸ plan mode on (shift+tab to cycle)
"""

CLAUDE_WRITE_DIALOG = """\
● Write(hello.txt)
╭──────────────────────────────╮
│ hi                           │
╰──────────────────────────────╯
 Do you want to create hello.txt?
 ❯ 1. Yes
   2. Yes, and switch to accept edits (shift+tab)
   3. No
 Esc to cancel · Tab to amend


"""

CLAUDE_BASH_DIALOG = """\
❯ please list
● X
  ⎿  $ rm -rf /tmp/lbx/nothing
────────────────────────────────────────────────
 Bash command
 x
╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌
 rm -rf /tmp/lbx/nothing
╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌╌
 Auto mode can't check actions in this session, so this one needs your approval
 Do you want to proceed?
 ❯ No
   Yes
 Esc to cancel · Tab to amend
"""

CLAUDE_TRUST = """\
 Quick safety check: Is this a project you created or one you trust?
 ❯ No, exit
   Yes, I trust this folder
"""

CLAUDE_KEY = """\
 Detected a custom API key in your environment
 ANTHROPIC_API_KEY: sk-ant-...mnop
 Do you want to use this API key?
   Yes
 ❯ No (recommended)
"""

CLAUDE_ONBOARDING = """\
 Unable to connect to Anthropic services
 Failed to connect to api.anthropic.com: ENOTFOUND
"""


@pytest.mark.parametrize(
    ("screen", "state"),
    [
        (CLAUDE_READY, "ready"),
        (CLAUDE_BUSY, "busy"),
        (CLAUDE_RETRYING, "busy"),
        (CLAUDE_DONE, "ready"),
        (CLAUDE_API_ERROR, "ready"),
        (CLAUDE_WRITE_DIALOG, "waiting-permission"),
        (CLAUDE_BASH_DIALOG, "waiting-permission"),
        (CLAUDE_TRUST, "setup-blocked"),
        (CLAUDE_KEY, "setup-blocked"),
        (CLAUDE_ONBOARDING, "setup-blocked"),
        (CLAUDE_BANNER, "starting"),
        ("", "starting"),
    ],
)
def test_claude_states(screen: str, state: str) -> None:
    assert claude_screen.state(screen) == state


def test_claude_input_box_needs_the_no_break_space() -> None:
    # An echoed prompt (`❯ ` + normal space) is not the input box.
    assert claude_screen.state("❯ review the code\n● answer\n") == "starting"


def test_claude_turn_outcome_from_the_last_block() -> None:
    done = claude_screen.classify(CLAUDE_DONE)
    assert done.finished_ok and done.api_error is None
    err = claude_screen.classify(CLAUDE_API_ERROR)
    assert not err.finished_ok  # the earlier turn's done line does not count
    assert err.api_error is not None and err.api_error.startswith("500 boom.")
    assert err.api_error.endswith("(127.0.0.1:18411).")
    assert claude_screen.classify(CLAUDE_RETRYING).retrying


def test_claude_dialog_details() -> None:
    bash = claude_screen.classify(CLAUDE_BASH_DIALOG)
    assert bash.dialog_kind == "bash" and bash.command == "rm -rf /tmp/lbx/nothing"
    write = claude_screen.classify(CLAUDE_WRITE_DIALOG)
    assert write.dialog_kind == "write" and write.target == "hello.txt"
    assert "trust" in claude_screen.classify(CLAUDE_TRUST).detail


CODEX_READY = """\
  >_ OpenAI Codex (v0.169.0)
     /path/to/cwd

› Ask Codex to do anything

  GPT-6.1-Sol default · /path/to/cwd
  ← for agents · ? for shortcuts                                  ⚠ 2 warnings · f2 to view

"""

CODEX_BUSY = """\
› say something
◦ Working (1s • esc to interrupt)
› Ask Codex to do anything
  GPT-6.1-Sol default · /path/to/cwd
"""

CODEX_RECONNECTING = """\
› say something
• Reconnecting... 1/5 (3s • esc to interrupt)
  └ We’re currently experiencing high demand
› Ask Codex to do anything
  GPT-6.1-Sol default · /path/to/cwd
"""

CODEX_DONE = """\
› say something
• Interactive codex answer.
  Worked for 3s • 05:00
› Ask Codex to do anything
  GPT-6.1-Sol default · /path/to/cwd
  ← for agents · ? for shortcuts
"""

CODEX_FAILED = """\
› say something
■ exceeded retry limit, last status: 429 Too Many Requests
› Ask Codex to do anything
  GPT-6.1-Sol default · /path/to/cwd
  ← for agents · ? for shortcuts
"""

CODEX_APPROVAL = """\
• Running touch /outside/file
  Would you like to run the following command?
  Environment: local
  Reason: needs to write outside
  $ touch /outside/file
› 1. Yes, proceed (y)
  2. Yes, and don't ask again for commands that start with `touch` (p)
  3. No, and tell Codex what to do differently (esc)
  Press enter to confirm or esc to cancel
"""

CODEX_TRUST = """\
  Trust this folder? Codex can read, edit, and run files here.
› 1. Trust and continue
  2. Back to Agent Command Center
"""


CODEX_MODEL_MIGRATION = """\
  Meet GPT-6 Sol

  Our latest Sol is more intelligent and more efficient so your usage limits go further.

› 1. Try new model
  2. Use existing model

  enter/esc confirm · ^c quit
"""


@pytest.mark.parametrize(
    ("screen", "state"),
    [
        (CODEX_READY, "ready"),
        (CODEX_BUSY, "busy"),
        (CODEX_RECONNECTING, "busy"),
        (CODEX_DONE, "ready"),
        (CODEX_FAILED, "ready"),
        (CODEX_APPROVAL, "waiting-permission"),
        (CODEX_TRUST, "setup-blocked"),
        (CODEX_MODEL_MIGRATION, "setup-blocked"),
        ("  >_ OpenAI Codex (v0.169.0)\n", "starting"),
    ],
)
def test_codex_states(screen: str, state: str) -> None:
    assert codex_screen.state(screen) == state


def test_codex_details() -> None:
    assert codex_screen.classify(CODEX_READY).composer == ""
    assert codex_screen.classify(CODEX_DONE).finished_ok
    failed = codex_screen.classify(CODEX_FAILED)
    assert failed.error == "exceeded retry limit, last status: 429 Too Many Requests"
    assert codex_screen.classify(CODEX_APPROVAL).command == "touch /outside/file"


# -- error texts → ProviderError kinds -----------------------------------------------------


@pytest.mark.parametrize(
    ("status", "text", "kind"),
    [
        (500, "API Error: 500 boom", "server"),
        (529, "API Error: 529 overloaded", "server"),
        (429, "API Error: Request rejected (429) · boom", "rate-limit"),
        (None, "API Error: Request rejected (429) · boom", "rate-limit"),
        (401, "Failed to authenticate. API Error: 401 boom", "auth"),
        (403, "forbidden", "auth"),
        (
            None,
            "API Error: Connection refused — a firewall or proxy may be blocking it (ECONNREFUSED)",
            "unreachable",
        ),
        (400, "API Error: 400 bad", "bad-request"),
    ],
)
def test_claude_error_kinds(status: int | None, text: str, kind: str) -> None:
    assert error_kind(status, text) == kind


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("exceeded retry limit, last status: 429 Too Many Requests", "rate-limit"),
        ("Quota exceeded. Check your plan and billing details.", "rate-limit"),
        ("unexpected status 401 Unauthorized: nope, url: http://x/v1/responses", "auth"),
        ("unexpected status 503 Service Unavailable: down, url: …", "server"),
        ("We’re currently experiencing high demand, which may cause temporary errors.", "server"),
        (
            "Reconnecting... waiting for network (Connection failed: error sending request)",
            "unreachable",
        ),
        ("Missing environment variable: `LOCAL_KEY`.", "auth"),
    ],
)
def test_codex_error_kinds(message: str, kind: str) -> None:
    assert codex_error_kind(message)[0] == kind


def test_codex_exec_events() -> None:
    out = ExecOutcome()
    for line in [
        '{"type":"thread.started","thread_id":"t-1"}',
        '{"type":"turn.started"}',
        '{"type":"error","message":"Reconnecting... 1/5 (busy)"}',
        '{"type":"item.completed","item":{"id":"i0","type":"command_execution","command":"ls","aggregated_output":"a\\n","exit_code":0,"status":"completed"}}',
        '{"type":"item.completed","item":{"id":"i1","type":"file_change","changes":[{"path":"/p","kind":"add"}],"status":"completed"}}',
        '{"type":"item.completed","item":{"id":"i2","type":"agent_message","text":"Hello"}}',
        "not json",
        '{"type":"turn.completed","usage":{"input_tokens":1000,"cached_input_tokens":200,"output_tokens":50}}',
    ]:
        out.feed(line)
    assert out.thread_id == "t-1" and out.completed and out.failure is None
    assert out.final_message == "Hello"
    assert out.commands[0].command == "ls" and out.file_changes == ["add /p"]
    assert out.usage is not None and out.usage.cached_tokens == 200
    assert not out.only_reconnects


def test_codex_only_reconnects_means_unreachable() -> None:
    out = ExecOutcome()
    out.feed('{"type":"turn.started"}')
    out.feed(
        '{"type":"error","message":"Reconnecting... waiting for network (Connection failed: error sending request)"}'
    )
    assert out.only_reconnects


def test_unwrap_pasted() -> None:
    wrapped = '\n\n<pasted_content id="a8fb">\nline 1\nline 2\n</pasted_content id="a8fb">\n'
    assert unwrap_pasted(wrapped) == "line 1\nline 2"
    assert unwrap_pasted("plain") == "plain"
