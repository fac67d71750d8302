"""Fences: a lane's blast radius, compiled into each agent CLI's own enforcement.

A fence (`read-only` < `plan` < `workspace-write` < `full`) is enforced by the agent's own
sandbox, not by asking the model nicely: these pure functions turn a lane's fence and the
config's `fences.deny` into the flags the CLI itself obeys.

- Codex: `codex_sandbox(fence)` → `--sandbox read-only | workspace-write |
  danger-full-access` (plan has no Codex equivalent, so it is read-only).
- Claude Code: `claude_permission_args(fence, deny)` → `--permission-mode plan` for the two
  fences that do not write, `--disallowed-tools` with the writing and dialog tools for
  them, and a `Bash(<command>:*)` rule for every shell deny pattern on every lane. A
  writable lane gets no permission mode at all: Claude's default asks, and laneboard never
  answers yes for you (no `acceptEdits`, never `--dangerously-skip-permissions`).
- Everything else: `DenyMatcher(deny)` tests the command named in a permission prompt
  against `fences.deny`; a hit means the prompt is denied and an event raised. Shell
  patterns match tokenised commands (`rm  -rf   /`, `sudo rm -fr /`, `bash -c "rm -r -f /"`
  all match `rm -rf /`; `git push -f`, `--force`, `--force-with-lease` and `+refspec` all
  match `git push --force`); HTTP patterns (`DELETE /api/*`) match "METHOD path" text and
  curl / wget / HTTPie command lines (`curl -X DELETE http://host/api/index`). The
  matcher is biased to deny: when in doubt, a person at the cockpit decides.

**The fence, not the prompt, decides.** A prompt routed to a read-only or plan lane that
asks for writes ("implement this", "fix the bug and commit") is still sent to that lane
read-only: the route decision's fence is always the chosen lane's configured fence, and
nothing in a prompt can widen it. Words in a prompt are data — possibly untrusted data —
while the fence is configuration the person wrote. If a prompt needs writes, route it to
a writable lane (a rule, or `@coder`); the router never upgrades a fence to fit the ask.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
import shlex
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote, urlsplit

from laneboard.config import FENCE_ORDER, WRITABLE_FENCES

__all__ = [
    "CLAUDE_PLAN_DISALLOWED",
    "DenyHit",
    "DenyMatcher",
    "claude_bash_rules",
    "claude_permission_args",
    "codex_sandbox",
    "is_writable",
]

CodexSandbox = Literal["read-only", "workspace-write", "danger-full-access"]

_CODEX_SANDBOX: dict[str, CodexSandbox] = {
    "read-only": "read-only",
    "plan": "read-only",
    "workspace-write": "workspace-write",
    "full": "danger-full-access",
}

#: Disallowed in a lane that must not write: the writing tools, and the two tools that
#: open dialogs nobody should have to answer in a relayed plan-mode session.
CLAUDE_PLAN_DISALLOWED = (
    "Write",
    "Edit",
    "MultiEdit",
    "NotebookEdit",
    "AskUserQuestion",
    "ExitPlanMode",
)

_HTTP_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}
)


def _check(fence: str) -> str:
    if fence not in FENCE_ORDER:
        raise ValueError(f"unknown fence {fence!r}; one of: {', '.join(FENCE_ORDER)}")
    return fence


def is_writable(fence: str) -> bool:
    """workspace-write and full may write; read-only and plan may not."""
    return _check(fence) in WRITABLE_FENCES


def codex_sandbox(fence: str) -> CodexSandbox:
    """The `codex --sandbox` value that enforces `fence` (plan is read-only to Codex)."""
    return _CODEX_SANDBOX[_check(fence)]


def claude_bash_rules(deny: Iterable[str]) -> list[str]:
    """`--disallowed-tools` Bash rules for the shell patterns in `deny`.

    `rm -rf /` → `Bash(rm -rf /:*)` and `Bash(sudo rm -rf /:*)` (the command and anything
    after it); a pattern holding `*` is passed as Claude's wildcard form. HTTP patterns
    are not shell commands and patterns holding parentheses cannot be written as a rule:
    both are left to `DenyMatcher`, which checks every permission prompt anyway.
    """
    rules: list[str] = []
    for raw in deny:
        pattern = " ".join(raw.split())
        if not pattern or "(" in pattern or ")" in pattern or _parse_http(pattern):
            continue
        for variant in (pattern, f"sudo {pattern}"):
            rule = f"Bash({variant})" if "*" in variant else f"Bash({variant}:*)"
            if rule not in rules:
                rules.append(rule)
    return rules


def claude_permission_args(fence: str, deny: Iterable[str] = ()) -> list[str]:
    """Claude Code flags enforcing `fence` and `deny`.

    `--disallowed-tools` takes several values, so callers must end options with `--`
    before a positional prompt (or pass the prompt on stdin).
    """
    args: list[str] = []
    disallowed: list[str] = []
    if not is_writable(fence):
        args += ["--permission-mode", "plan"]
        disallowed += CLAUDE_PLAN_DISALLOWED
    disallowed += claude_bash_rules(deny)
    if disallowed:
        args += ["--disallowed-tools", *disallowed]
    return args


# ---------------------------------------------------------------- shell commands

#: Per-command spellings of the same flag, folded to the long form.
_FLAG_ALIASES: dict[str, dict[str, str]] = {
    "rm": {"-r": "--recursive", "-R": "--recursive", "-f": "--force", "-d": "--dir"},
    "git": {"-f": "--force", "--force-with-lease": "--force", "--force-if-includes": "--force"},
    "chmod": {"-R": "--recursive"},
    "chown": {"-R": "--recursive"},
    "cp": {"-r": "--recursive", "-R": "--recursive", "-f": "--force"},
    "mv": {"-f": "--force"},
}
#: Wrappers that run the rest of the line as a command, with their options taking a value.
_WRAPPERS: dict[str, frozenset[str]] = {
    "sudo": frozenset({"-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U", "-T"}),
    "doas": frozenset({"-u", "-C"}),
    "env": frozenset({"-u", "-C", "-S"}),
    "nice": frozenset({"-n"}),
    "ionice": frozenset({"-c", "-n", "-p"}),
    "timeout": frozenset({"-s", "-k"}),
    "stdbuf": frozenset({"-i", "-o", "-e"}),
    "xargs": frozenset({"-a", "-d", "-E", "-I", "-L", "-n", "-P", "-s"}),
    "nohup": frozenset(),
    "time": frozenset(),
    "command": frozenset(),
    "builtin": frozenset(),
    "exec": frozenset(),
    "then": frozenset(),
    "do": frozenset(),
    "else": frozenset(),
    "!": frozenset(),
}
_SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "fish"})
_SEPARATORS = frozenset({";", ";;", "&&", "||", "|", "|&", "&", "(", ")", "{", "}", "$"})
_REDIRECTS = frozenset({">", ">>", "<", "<<", "<<<", ">&", "<&", "&>", ">|"})
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_HOME = re.compile(r"^(?:~|\$HOME|\$\{HOME\})(?=/|$)")


def _tokens(text: str) -> list[str]:
    """Shell-like tokens with `;`, `&&`, `|`, `(`… as their own tokens; newlines and
    backticks separate commands. Unbalanced quotes fall back to whitespace splitting."""
    text = text.replace("\n", " ; ").replace("`", " ; ")
    lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        return list(lexer)
    except ValueError:  # an unbalanced quote: split on whitespace and drop the quotes
        found = re.findall(r"[;&|()]+|[^\s;&|()]+", text)
        return [t for t in (tok.strip("\"'") for tok in found) if t]


def _segments(tokens: Sequence[str]) -> Iterator[list[str]]:
    current: list[str] = []
    skip_next = False
    for tok in tokens:
        if skip_next:
            skip_next = False
            continue
        if tok in _SEPARATORS or set(tok) <= set(";&|()"):
            if current:
                yield current
            current = []
        elif tok in _REDIRECTS:
            skip_next = True
        else:
            current.append(tok)
    if current:
        yield current


def _unwrap(words: list[str]) -> list[str]:
    """Drop `VAR=x`, `sudo -u root`, `env`, `nohup`… so the real command comes first."""
    changed = True
    while words and changed:
        changed = False
        while words and _ASSIGNMENT.match(words[0]):
            words = words[1:]
            changed = True
        if words and posixpath.basename(words[0]) in _WRAPPERS:
            takes_value = _WRAPPERS[posixpath.basename(words[0])]
            i = 1
            while i < len(words) and words[i].startswith("-") and words[i] != "-":
                i += 2 if words[i] in takes_value else 1
            if posixpath.basename(words[0]) == "timeout" and i < len(words):
                i += 1  # the duration
            words = words[i:]
            changed = True
    return words


def _commands(text: str, depth: int = 0) -> Iterator[list[str]]:
    """Every simple command in `text`, wrappers removed, `sh -c '…'` and `eval` opened."""
    for seg in _segments(_tokens(text)):
        words = _unwrap(seg)
        if not words:
            continue
        words[0] = posixpath.basename(words[0].lstrip("\\"))
        yield words
        if depth < 3:
            if words[0] in _SHELLS:
                for i, w in enumerate(words[1:-1], start=1):
                    if w.startswith("-") and not w.startswith("--") and "c" in w:
                        yield from _commands(words[i + 1], depth + 1)
                        break
            elif words[0] == "eval":
                yield from _commands(" ".join(words[1:]), depth + 1)


def _norm_positional(tok: str) -> str:
    """`/*`, `/.`, `//` → `/`; `$HOME/`, `${HOME}` → `~`: spellings of the same target."""
    tok = _HOME.sub("~", tok)
    if tok.startswith(("/", "~", "./", "../")):
        while tok.endswith(("/*", "/.")) and len(tok) > 2:
            tok = tok[:-2]
        if tok in ("/*", "/."):
            tok = "/"
        tok = posixpath.normpath(tok)
        if tok.startswith("//"):
            tok = "/" + tok.lstrip("/")
    return tok


@dataclass(frozen=True, slots=True)
class _ShellPattern:
    raw: str
    command: str
    flags: frozenset[str]
    positionals: tuple[str, ...]


def _split_args(command: str, args: Sequence[str]) -> tuple[set[str], list[str]]:
    """Flags (aliases folded to the long form, short clusters split) and positionals."""
    aliases = _FLAG_ALIASES.get(command, {})
    flags: set[str] = set()
    positionals: list[str] = []
    options_done = False
    for arg in args:
        if options_done or arg == "-" or not arg.startswith("-") or re.fullmatch(r"-\d+", arg):
            positionals.append(_norm_positional(arg))
            if command == "git" and arg.startswith("+") and len(arg) > 1:
                flags.add("--force")  # `git push origin +main` is a force push
        elif arg == "--":
            options_done = True
        elif arg.startswith("--"):
            name = arg.split("=", 1)[0]
            flags.add(aliases.get(name, name))
        else:
            for ch in arg[1:]:
                flag = f"-{ch}"
                flags.add(aliases.get(flag, flag))
    return flags, positionals


def _is_subsequence(needles: Sequence[str], hay: Sequence[str]) -> bool:
    it = iter(hay)
    return all(any(_same(n, h) for h in it) for n in needles)


def _same(pattern_tok: str, tok: str) -> bool:
    if any(c in pattern_tok for c in "*?["):
        return fnmatch.fnmatchcase(tok, pattern_tok)
    return pattern_tok == tok


def _parse_shell(raw: str) -> _ShellPattern | None:
    for words in _commands(raw):
        flags, positionals = _split_args(words[0], words[1:])
        return _ShellPattern(raw, words[0], frozenset(flags), tuple(positionals))
    return None


# ---------------------------------------------------------------- HTTP requests

_HTTP_PATTERN = re.compile(r"^\s*([A-Za-z]+|\*)\s+(\S+)\s*$")
_FREE_REQUEST = re.compile(
    r"\b(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS|TRACE|CONNECT)\s+[\"'<(]?((?:https?://|/)[^\s\"'<>)]*)",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class _HttpPattern:
    raw: str
    method: str
    target: str
    full_url: bool


def _parse_http(raw: str) -> _HttpPattern | None:
    """`DELETE /api/*` (or `DELETE https://host/api/*`, or `* /admin/*`) as an HTTP pattern."""
    m = _HTTP_PATTERN.match(raw)
    if m is None:
        return None
    method, target = m.group(1).upper(), m.group(2)
    if method != "*" and method not in _HTTP_METHODS:
        return None
    if target.startswith("/"):
        return _HttpPattern(raw, method, target, False)
    if "://" in target:
        return _HttpPattern(raw, method, target.lower(), True)
    return None


def _request_target(url: str) -> tuple[str, str] | None:
    """(path, scheme://host/path) of a URL or bare path, percent-decoded, dots resolved."""
    url = url.strip("\"'<>(),;")
    if not url:
        return None
    if url.startswith("/"):
        parts = urlsplit("http://_" + url)
        host = ""
    else:
        if "://" not in url:
            url = "http://" + url  # curl's default for `host:port/path`
        parts = urlsplit(url)
        host = f"{parts.scheme}://{parts.netloc}".lower()
    path = unquote(parts.path) or "/"
    trailing = path.endswith("/") and path != "/"
    path = posixpath.normpath(path)
    if path.startswith("//"):
        path = "/" + path.lstrip("/")
    if trailing:
        path += "/"
    return path, f"{host}{path}" if host else path


#: curl options that take a value (so the value is not mistaken for a URL).
_CURL_SHORT_VALUES = frozenset("XHouAebcxmwdFTEKrYyzCQ")
_CURL_LONG_VALUES = frozenset(
    {
        "--request",
        "--url",
        "--header",
        "--output",
        "--user",
        "--user-agent",
        "--referer",
        "--cookie",
        "--cookie-jar",
        "--proxy",
        "--max-time",
        "--connect-timeout",
        "--write-out",
        "--form",
        "--json",
        "--upload-file",
        "--cert",
        "--config",
        "--range",
        "--retry",
        "--resolve",
        "--oauth2-bearer",
        "--data",
        "--data-raw",
        "--data-binary",
        "--data-urlencode",
        "--data-ascii",
    }
)


def _requests_in(words: Sequence[str]) -> Iterator[tuple[str, str]]:
    """(METHOD, url) for a curl / wget / HTTPie command line."""
    cmd, args = words[0], list(words[1:])
    if cmd == "curl":
        method: str | None = None
        seen: set[str] = set()
        urls: list[str] = []
        i = 0
        while i < len(args):
            a = args[i]
            nxt = args[i + 1] if i + 1 < len(args) else ""
            if a.startswith("--"):
                name, eq, value = a.partition("=")
                seen.add(name)
                takes = name in _CURL_LONG_VALUES or name.startswith("--data")
                if not eq and takes:
                    value, i = nxt, i + 1
                if name == "--request":
                    method = value
                elif name == "--url":
                    urls.append(value)
            elif a.startswith("-") and len(a) > 1:
                for k, ch in enumerate(a[1:], start=1):
                    seen.add(f"-{ch}")
                    if ch in _CURL_SHORT_VALUES:
                        value = a[k + 1 :]
                        if not value:
                            value, i = nxt, i + 1
                        if ch == "X":
                            method = value
                        break
            else:
                urls.append(a)
            i += 1
        if seen & {"-I", "--head"}:
            default = "HEAD"
        elif seen & {"-T", "--upload-file"}:
            default = "PUT"
        elif seen & {"-d", "-F", "--form", "--json"} or any(f.startswith("--data") for f in seen):
            default = "POST"
        else:
            default = "GET"
        for url in urls:
            yield (method or default).upper(), url
    elif cmd == "wget":
        method = "GET"
        for i, a in enumerate(args):
            if a.startswith("--method="):
                method = a.split("=", 1)[1]
            elif a == "--method" and i + 1 < len(args):
                method = args[i + 1]
        for a in args:
            if not a.startswith("-") and ("/" in a or "." in a) and a.upper() != method.upper():
                yield method.upper(), a
    elif cmd in ("http", "https", "xh", "xhs"):
        rest = [a for a in args if not a.startswith("-")]
        if len(rest) >= 2 and rest[0].upper() in _HTTP_METHODS:
            yield rest[0].upper(), rest[1]
        elif rest:
            yield "GET", rest[0]


# ---------------------------------------------------------------- the matcher


@dataclass(frozen=True, slots=True)
class DenyHit:
    """A deny pattern matched: which one, what kind, and the command or request that did."""

    pattern: str
    kind: Literal["shell", "http"]
    matched: str


class DenyMatcher:
    """`fences.deny` compiled once; `match(text)` names the first pattern the text hits.

    `text` is what a permission prompt shows — a command, a request line, or a screenful
    around them: every line and every `;`/`&&`/`|` part is checked.
    """

    def __init__(self, deny: Iterable[str]) -> None:
        self.patterns = [p for p in deny if p.strip()]
        self._compiled: list[_ShellPattern | _HttpPattern] = []
        for raw in self.patterns:
            compiled = _parse_http(raw) or _parse_shell(raw)
            if compiled is not None:
                self._compiled.append(compiled)

    def __bool__(self) -> bool:
        return bool(self._compiled)

    def match(self, text: str) -> DenyHit | None:
        """The first deny pattern (in config order) that `text` hits, or None."""
        commands = list(_commands(text))
        requests: list[tuple[str, str]] = []
        for words in commands:
            requests.extend(_requests_in(words))
        requests.extend((m.group(1).upper(), m.group(2)) for m in _FREE_REQUEST.finditer(text))
        for pattern in self._compiled:
            if isinstance(pattern, _ShellPattern):
                for words in commands:
                    if self._shell_hit(pattern, words):
                        return DenyHit(pattern.raw, "shell", " ".join(words))
            else:
                for method, url in requests:
                    if self._http_hit(pattern, method, url):
                        return DenyHit(pattern.raw, "http", f"{method} {url}")
        return None

    def match_command(self, command: str) -> DenyHit | None:
        """`match` for a shell command line (kept for callers that know what they hold)."""
        return self.match(command)

    def match_request(self, method: str, url: str) -> DenyHit | None:
        """The first HTTP pattern that `METHOD url` hits, or None."""
        for pattern in self._compiled:
            if isinstance(pattern, _HttpPattern) and self._http_hit(pattern, method.upper(), url):
                return DenyHit(pattern.raw, "http", f"{method.upper()} {url}")
        return None

    @staticmethod
    def _shell_hit(pattern: _ShellPattern, words: Sequence[str]) -> bool:
        if words[0] != pattern.command:
            return False
        flags, positionals = _split_args(words[0], words[1:])
        return pattern.flags <= flags and _is_subsequence(pattern.positionals, positionals)

    @staticmethod
    def _http_hit(pattern: _HttpPattern, method: str, url: str) -> bool:
        if pattern.method != "*" and method.upper() != pattern.method:
            return False
        target = _request_target(url)
        if target is None:
            return False
        path, full = target
        subject = full if pattern.full_url else path
        # Paths compare case-blind: a case-insensitive server must not slip past the fence.
        return fnmatch.fnmatchcase(subject.lower(), pattern.target.lower())
