"""Fences: CLI flag compilation and the deny matcher (shell and HTTP patterns)."""

from __future__ import annotations

import pytest

from laneboard.lanes.fences import (
    CLAUDE_PLAN_DISALLOWED,
    DenyMatcher,
    claude_bash_rules,
    claude_permission_args,
    codex_sandbox,
    is_writable,
)

DENY = [
    "rm -rf /",
    "rm -rf ~",
    "git push --force",
    "git reset --hard",
    "DELETE /api/*",
    "POST https://prod.example.com/admin/*",
]


@pytest.fixture(scope="module")
def matcher() -> DenyMatcher:
    return DenyMatcher(DENY)


# ---------------------------------------------------------------- CLI flags


@pytest.mark.parametrize(
    ("fence", "sandbox", "writable"),
    [
        ("read-only", "read-only", False),
        ("plan", "read-only", False),
        ("workspace-write", "workspace-write", True),
        ("full", "danger-full-access", True),
    ],
)
def test_codex_sandbox_and_writability(fence: str, sandbox: str, writable: bool) -> None:
    assert codex_sandbox(fence) == sandbox
    assert is_writable(fence) is writable


def test_unknown_fence_is_a_bug_not_a_default() -> None:
    with pytest.raises(ValueError, match="unknown fence 'rw'"):
        codex_sandbox("rw")
    with pytest.raises(ValueError):
        is_writable("")


@pytest.mark.parametrize("fence", ["read-only", "plan"])
def test_claude_non_writing_fences_are_plan_mode(fence: str) -> None:
    args = claude_permission_args(fence, DENY)
    assert args[:3] == ["--permission-mode", "plan", "--disallowed-tools"]
    disallowed = args[3:]
    for tool in ("Write", "Edit", "NotebookEdit", "AskUserQuestion", "ExitPlanMode"):
        assert tool in disallowed
    assert "Bash(rm -rf /:*)" in disallowed
    assert "Bash(git push --force:*)" in disallowed
    assert "Bash(sudo git push --force:*)" in disallowed
    assert not any("DELETE" in d for d in disallowed)  # HTTP patterns are not shell rules


@pytest.mark.parametrize("fence", ["workspace-write", "full"])
def test_claude_writable_fences_keep_the_default_mode(fence: str) -> None:
    args = claude_permission_args(fence, DENY)
    assert "--permission-mode" not in args  # never acceptEdits / bypassPermissions
    assert "--dangerously-skip-permissions" not in args
    assert args[0] == "--disallowed-tools"
    assert not set(CLAUDE_PLAN_DISALLOWED) & set(args)
    assert claude_permission_args(fence, []) == []


def test_claude_bash_rules() -> None:
    assert claude_bash_rules(["rm  -rf   /", "rm -rf *", "echo (x)", "", "GET /x"]) == [
        "Bash(rm -rf /:*)",
        "Bash(sudo rm -rf /:*)",
        "Bash(rm -rf *)",
        "Bash(sudo rm -rf *)",
    ]


# ---------------------------------------------------------------- shell patterns


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("rm -rf /", "rm -rf /"),
        ("rm  -rf   /", "rm -rf /"),
        ("sudo rm -rf /", "rm -rf /"),
        ("sudo -u root rm -fr /", "rm -rf /"),
        ("rm -r -f /", "rm -rf /"),
        ("rm --recursive --force /", "rm -rf /"),
        ("/bin/rm -Rf /*", "rm -rf /"),
        ("rm -rf / --no-preserve-root", "rm -rf /"),
        ("cd /tmp && rm -rf /", "rm -rf /"),
        ("echo ok; rm -rf //", "rm -rf /"),
        ('bash -c "rm -rf /"', "rm -rf /"),
        ("sh -lc 'sudo rm -rf /'", "rm -rf /"),
        ("env FOO=1 nohup rm -rf /", "rm -rf /"),
        ("X=1 rm -rf /", "rm -rf /"),
        ("echo $(rm -rf /)", "rm -rf /"),
        ("echo `rm -rf /`", "rm -rf /"),
        ("rm -rf ~", "rm -rf ~"),
        ("rm -rf ~/", "rm -rf ~"),
        ("rm -rf $HOME", "rm -rf ~"),
        ("git push -f", "git push --force"),
        ("git push --force origin main", "git push --force"),
        ("git push origin main --force", "git push --force"),
        ("git -C repo push -f", "git push --force"),
        ("git push --force-with-lease", "git push --force"),
        ("git push origin +main", "git push --force"),
        ("git reset --hard HEAD~3", "git reset --hard"),
        # what a permission prompt shows: a screenful around the command
        ("Bash command\n\n  rm -rf /\n\nDo you want to proceed?\n❯ 1. Yes\n  2. No", "rm -rf /"),
        ("Run this? it's `rm -rf /`", "rm -rf /"),  # an unbalanced quote still tokenises
    ],
)
def test_shell_commands_that_are_denied(matcher: DenyMatcher, text: str, pattern: str) -> None:
    hit = matcher.match(text)
    assert hit is not None, text
    assert (hit.pattern, hit.kind) == (pattern, "shell")


@pytest.mark.parametrize(
    "text",
    [
        "rm -rf /tmp/build",
        "rm -r /",  # no -f
        "rm -rf ./build",
        "ls /",
        "echo 'rm -rf /'",  # echo prints it; nothing runs it
        "grep -r 'rm -rf /' .",
        "git push origin main",
        "git push --dry-run",
        "git reset --soft HEAD~1",
        "git fetch --force",
        "",
    ],
)
def test_shell_commands_that_are_allowed(matcher: DenyMatcher, text: str) -> None:
    assert matcher.match(text) is None


# ---------------------------------------------------------------- HTTP patterns


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("DELETE /api/index", "DELETE /api/*"),
        ("delete /api/index", "DELETE /api/*"),
        ("DELETE http://localhost:8080/api/index", "DELETE /api/*"),
        ("Allow this request? DELETE https://h/api/index?force=1", "DELETE /api/*"),
        ("curl -X DELETE http://host/api/index", "DELETE /api/*"),
        ("curl -XDELETE localhost:8080/api/index", "DELETE /api/*"),
        ("curl -sX DELETE 'http://h/api/index?x=1'", "DELETE /api/*"),
        ("curl -s -X delete http://h/api/index", "DELETE /api/*"),
        ("curl --request=DELETE http://h/api/index", "DELETE /api/*"),
        ("curl --request DELETE --url http://h/api/index", "DELETE /api/*"),
        ("curl http://h/api/index -X DELETE", "DELETE /api/*"),
        ("curl -H 'Authorization: x' -X DELETE http://h/public/../api/index", "DELETE /api/*"),
        ("curl -X DELETE http://h/API/%69ndex", "DELETE /api/*"),
        ("http DELETE h/api/index", "DELETE /api/*"),
        ("wget --method=DELETE http://h/api/index", "DELETE /api/*"),
        ("for i in 1 2 3; do curl -X DELETE http://h/api/index; done", "DELETE /api/*"),
        # a tool call's arguments shown as fields (an MCP tool, a JSON body)
        ('search-api - request(method: "DELETE", path: "/api/index") (MCP)', "DELETE /api/*"),
        ('{"url": "http://h:9200/api/index", "method": "delete"}', "DELETE /api/*"),
        (
            "curl -X POST https://prod.example.com/admin/reset",
            "POST https://prod.example.com/admin/*",
        ),
        (
            "curl -d '{}' https://PROD.example.com/admin/reset",
            "POST https://prod.example.com/admin/*",
        ),
    ],
)
def test_http_requests_that_are_denied(matcher: DenyMatcher, text: str, pattern: str) -> None:
    hit = matcher.match(text)
    assert hit is not None, text
    assert (hit.pattern, hit.kind) == (pattern, "http")


@pytest.mark.parametrize(
    "text",
    [
        "GET /api/index",
        "curl http://h/api/index",  # GET
        "curl -X DELETE http://h/apiary/x",
        "curl -X DELETE http://h/v2/api/index",
        "curl -I http://h/api/index",  # HEAD
        "DELETE /tmp/files",
        "curl -X POST https://staging.example.com/admin/reset",
        "curl https://prod.example.com/admin/reset",  # GET
        "please delete the api index",  # prose, no path
        'request(method: "GET", path: "/api/index")',
        'method: "DELETE"\npath: "/api/index"',  # fields on different lines are not one call
    ],
)
def test_http_requests_that_are_allowed(matcher: DenyMatcher, text: str) -> None:
    assert matcher.match(text) is None


def test_match_request_and_config_order() -> None:
    m = DenyMatcher(["* /admin/*", "DELETE /admin/users"])
    hit = m.match_request("delete", "https://h/admin/users")
    assert hit is not None and hit.pattern == "* /admin/*"  # the first pattern in the file
    assert m.match_request("GET", "/public") is None
    assert m.match_command("sudo rm -rf /") is None  # no shell patterns configured


def test_empty_matcher() -> None:
    m = DenyMatcher(["", "   "])
    assert not m and m.match("rm -rf /") is None
    assert DenyMatcher(["rm -rf /"])


# ---------------------------------------------------------------- Claude rule form


@pytest.mark.parametrize(
    ("pattern", "text"),
    [
        ("Bash(git push --force:*)", "git push --force origin"),
        ("Bash(git push --force:*)", "git push -f origin main"),
        ("Bash(rm -rf:*)", "rm -rf /tmp/build"),
        ("Bash(rm -rf:*)", "sudo rm -fr  build"),
        ("Bash(npm publish)", "npm publish --tag next"),  # biased to deny: more words match
    ],
)
def test_patterns_written_as_claude_rules_match_the_command_inside(
    pattern: str, text: str
) -> None:
    hit = DenyMatcher([pattern]).match(text)
    assert hit is not None and (hit.pattern, hit.kind) == (pattern, "shell")


def test_claude_rule_form_misses_and_other_tools() -> None:
    assert DenyMatcher(["Bash(git push --force:*)"]).match("git push origin main") is None
    # rules for other tools are Claude's business: nothing for the shell matcher
    m = DenyMatcher(["WebFetch(domain:example.com)", "Bash()"])
    assert not m and m.match("curl https://example.com") is None


def test_claude_bash_rules_keep_the_rule_form() -> None:
    assert claude_bash_rules(["Bash(git  push --force:*)", "WebFetch(domain:x)", "Bash()"]) == [
        "Bash(git push --force:*)",
        "Bash(sudo git push --force:*)",
    ]
