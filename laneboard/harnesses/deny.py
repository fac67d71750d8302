"""`fences.deny`: the commands and requests no lane may run, and how to recognise them.

Pure text matching with no laneboard dependencies, so the harnesses (which answer
permission prompts) and the lanes layer (which compiles fences) share one matcher.

- `DenyMatcher(deny)` tests what a permission prompt shows against the patterns; a hit
  means the prompt is denied and an event raised. Shell patterns match tokenised
  commands (`rm  -rf   /`, `sudo rm -fr /`, `bash -c "rm -r -f /"` all match `rm -rf /`;
  `git push -f`, `--force`, `--force-with-lease` and `+refspec` all match
  `git push --force`); HTTP patterns (`DELETE /api/*`) match "METHOD path" text and
  curl / wget / HTTPie command lines (`curl -X DELETE http://host/api/index`). The
  matcher is biased to deny: when in doubt, a person at the cockpit decides.
- A pattern may also be written as Claude Code's own rule, `Bash(git push --force:*)`
  (a command prefix) or `Bash(npm publish)`: the matcher reads the command inside.
- `claude_bash_rules(deny)` compiles the shell patterns into `--disallowed-tools` rules,
  so Claude Code's own permission system refuses them before any prompt appears.

Pattern kinds, in the order a pattern is tried: `Tool(...)` (Claude rule form; only
`Bash(...)` is a command), `METHOD /path` or `METHOD scheme://host/path` (HTTP; `*` as the
method matches any), otherwise a shell command whose words are compared token by token
(flags as a set with per-command aliases folded, positionals as an ordered subsequence,
`*?[` in a pattern word as a glob).
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

__all__ = ["DenyHit", "DenyMatcher", "claude_bash_rules"]

_HTTP_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}
)


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


def _parse_shell(raw: str, command: str | None = None) -> _ShellPattern | None:
    """The shell pattern `raw` (or `command`, the command it stands for)."""
    for words in _commands(raw if command is None else command):
        flags, positionals = _split_args(words[0], words[1:])
        return _ShellPattern(raw, words[0], frozenset(flags), tuple(positionals))
    return None


# ---------------------------------------------------------------- HTTP requests

_HTTP_PATTERN = re.compile(r"^\s*([A-Za-z]+|\*)\s+(\S+)\s*$")
_FREE_REQUEST = re.compile(
    r"\b(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS|TRACE|CONNECT)\s+[\"'<(]?((?:https?://|/)[^\s\"'<>)]*)",
    re.IGNORECASE,
)
_METHODS_RE = "GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS|TRACE|CONNECT"
_TARGET_RE = r"((?:https?://|/)[^\s\"'<>),;]*)"
#: A tool call's arguments shown as fields (an MCP tool, a JSON body): `method: "DELETE",
#: path: "/api/index"` or `{"url": "http://h/api/x", "method": "DELETE"}`, on one line.
_FIELD_REQUESTS = (
    re.compile(
        rf"\b(?:method|verb)\b\W{{0,4}}({_METHODS_RE})\b[^\n]*?"
        rf"\b(?:path|url|uri|endpoint|route)\b\W{{0,4}}{_TARGET_RE}",
        re.IGNORECASE,
    ),
    re.compile(
        rf"\b(?:path|url|uri|endpoint|route)\b\W{{0,4}}{_TARGET_RE}[^\n]*?"
        rf"\b(?:method|verb)\b\W{{0,4}}({_METHODS_RE})\b",
        re.IGNORECASE,
    ),
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
            compiled = _parse_http(raw) or _parse_shell(raw, _bash_command(raw))
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
        for m in _FIELD_REQUESTS[0].finditer(text):
            requests.append((m.group(1).upper(), m.group(2)))
        for m in _FIELD_REQUESTS[1].finditer(text):
            requests.append((m.group(2).upper(), m.group(1)))
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


#: `Tool(argument)`: a pattern written as one of Claude Code's permission rules.
_CLAUDE_RULE = re.compile(r"^\s*([A-Z][A-Za-z0-9_]*)\((.*)\)\s*$", re.DOTALL)


def _claude_rule(raw: str) -> tuple[str, str] | None:
    """(tool, argument) of a `Tool(argument)` pattern, whitespace folded; else None."""
    m = _CLAUDE_RULE.match(raw)
    if m is None:
        return None
    return m.group(1), " ".join(m.group(2).split())


def _bash_command(raw: str) -> str:
    """The shell command a pattern stands for: `Bash(git push --force:*)` → `git push
    --force` (`:*` is Claude's "and anything after it"; the matcher always allows more
    words after the pattern's own); a plain pattern as it is."""
    rule = _claude_rule(raw)
    if rule is None:
        return raw
    tool, arg = rule
    if tool != "Bash":
        return ""
    return arg[:-2].rstrip() if arg.endswith(":*") else arg


def claude_bash_rules(deny: Iterable[str]) -> list[str]:
    """`--disallowed-tools` Bash rules for the shell patterns in `deny`.

    `rm -rf /` → `Bash(rm -rf /:*)` and `Bash(sudo rm -rf /:*)` (the command and anything
    after it); a pattern holding `*` is passed as Claude's wildcard form; a pattern already
    written as `Bash(...)` is kept, with its `sudo` twin added. HTTP patterns are not shell
    commands, and other patterns holding parentheses cannot be written as a rule: both are
    left to `DenyMatcher`, which checks every permission prompt anyway.
    """
    rules: list[str] = []
    for raw in deny:
        pattern = " ".join(raw.split())
        rule = _claude_rule(pattern)
        if rule is not None:
            if rule[0] != "Bash" or not rule[1]:
                continue
            variants = [f"Bash({rule[1]})", f"Bash(sudo {rule[1]})"]
        elif not pattern or "(" in pattern or ")" in pattern or _parse_http(pattern):
            continue
        else:
            variants = [
                f"Bash({v})" if "*" in v else f"Bash({v}:*)" for v in (pattern, f"sudo {pattern}")
            ]
        for variant in variants:
            if variant not in rules:
                rules.append(variant)
    return rules
