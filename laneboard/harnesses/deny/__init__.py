"""`fences.deny`: the commands and requests no lane may run, and how to recognise them.

Pure text analysis with no laneboard dependencies, so the harnesses (which answer
permission prompts and Claude Code's PreToolUse hook) and the lanes layer (which compiles
fences) share one matcher. The text is parsed as bash (tree-sitter-bash, see `shell`), so
quoting, escapes, brace expansion, line continuations, heredocs and nested commands are
read the way bash reads them; wrappers that run their arguments (`sudo -u root`, `su -c`,
`env -i`, `timeout 5`, `xargs`, `ssh host '…'`, `bash -c -- '…'`, `echo '…' | sh`) are
opened (see `wrappers`); options are compared the way each command reads them, short
clusters, aliases and getopt-style abbreviations included (see `options`); HTTP clients
are read with their own option rules (see `http`).

- `DenyMatcher(deny).judge(command)` → a `Verdict`: `allowed`, `denied` (naming the entry
  and why) or `undecidable` — the verb is computed (`$(…)`, backticks, `$CMD`, `eval`), a
  shell reads a script laneboard cannot see (`curl … | sh`), the text does not parse, or a
  run-time word could make it a denied command. Where laneboard decides, undecidable is
  never safe: deny it or ask a person, never auto-allow.
- `DenyMatcher(deny).match(text)` → the `DenyHit` of a denied command or request in `text`
  (what a permission dialog shows: a command, a request line, or a screenful around them).
- `claude_bash_rules(deny)` compiles the shell patterns into `--disallowed-tools` rules.

Pattern kinds, in the order a pattern is tried: `Tool(...)` (Claude rule form; only
`Bash(...)` is a command), `METHOD /path` or `METHOD scheme://host/path` (HTTP; `*` as the
method matches any), otherwise a shell command: verb, flags as a set, positionals as an
ordered subsequence (`*?[` in a pattern word is a glob). Biased to deny throughout: when in
doubt, a person at the cockpit decides.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from laneboard.harnesses.deny.http import HttpPattern, http_hit, requests_in, requests_in_text
from laneboard.harnesses.deny.options import split_args
from laneboard.harnesses.deny.patterns import ShellPattern, claude_bash_rules, compile_entry
from laneboard.harnesses.deny.shell import DYNAMIC_WORD, UNKNOWN, Word, parse
from laneboard.harnesses.deny.wrappers import SHELLS, WRAPPERS, unwrap, verb_of

__all__ = ["DenyHit", "DenyMatcher", "Verdict", "claude_bash_rules"]

#: Scripts inside scripts (`bash -c "sudo sh -c '…'"`) are opened this deep; deeper is
#: undecidable. Each level re-reads a substring, so the work stays linear in the input.
MAX_DEPTH = 6


@dataclass(frozen=True, slots=True)
class DenyHit:
    """A deny pattern matched: which one, what kind, and the command or request that did."""

    pattern: str
    kind: Literal["shell", "http"]
    matched: str


@dataclass(frozen=True, slots=True)
class Verdict:
    """What laneboard concludes about a whole command or script.

    `entry` is the deny entry that matched (denied) or might match (undecidable; None when
    the command is opaque whatever the list says); `reason` says why in words a person
    reads in an event or a hook's answer; `matched` is the command as laneboard read it.
    """

    decision: Literal["allowed", "denied", "undecidable"]
    reason: str = ""
    entry: str | None = None
    kind: Literal["shell", "http"] | None = None
    matched: str = ""

    @property
    def allowed(self) -> bool:
        return self.decision == "allowed"

    @property
    def denied(self) -> bool:
        return self.decision == "denied"

    @property
    def undecidable(self) -> bool:
        return self.decision == "undecidable"

    @property
    def hit(self) -> DenyHit | None:
        if self.decision != "denied" or self.entry is None or self.kind is None:
            return None
        return DenyHit(self.entry, self.kind, self.matched)


@dataclass(slots=True)
class _Run:
    verb: str
    args: list[Word]
    via: tuple[str, ...]

    @property
    def shown(self) -> str:
        return " ".join([self.verb, *(w.text for w in self.args)])


@dataclass(slots=True)
class _Found:
    runs: list[_Run] = field(default_factory=list)
    requests: list[tuple[str | None, Word | str, str]] = field(default_factory=list)
    issues: list[str] = field(default_factory=list)


class DenyMatcher:
    """`fences.deny` compiled once; `judge(command)` and `match(text)` check against it."""

    def __init__(self, deny: Iterable[str]) -> None:
        self.patterns = [p for p in deny if p.strip()]
        self._compiled: list[ShellPattern | HttpPattern] = []
        for raw in self.patterns:
            compiled = compile_entry(raw)
            if compiled is not None:
                self._compiled.append(compiled)
        self._verbs = frozenset(p.command for p in self._compiled if isinstance(p, ShellPattern))

    def __bool__(self) -> bool:
        return bool(self._compiled)

    # ------------------------------------------------------------ public API

    def judge(self, command: str) -> Verdict:
        """The verdict on a whole command or script (a PreToolUse hook's `command`)."""
        if not self._compiled:
            return Verdict("allowed", "no deny entries")
        found = _Found()
        self._script(command, 0, (), found, fallback=True)
        return self._decide(found)

    def match(self, text: str) -> DenyHit | None:
        """The first deny pattern (in config order) that `text` certainly hits, or None.

        `text` is what a permission prompt shows — a command, a request line, or a
        screenful around them: every line and every `;`/`&&`/`|` part is checked."""
        return self.judge(text).hit if self._compiled else None

    def match_command(self, command: str) -> DenyHit | None:
        """`match` for a shell command line (kept for callers that know what they hold)."""
        return self.match(command)

    def match_request(self, method: str, url: str) -> DenyHit | None:
        """The first HTTP pattern that `METHOD url` hits, or None."""
        for pattern in self._compiled:
            if isinstance(pattern, HttpPattern) and http_hit(pattern, method.upper(), url):
                return DenyHit(pattern.raw, "http", f"{method.upper()} {url}")
        return None

    # ------------------------------------------------------------ deciding

    def _decide(self, found: _Found) -> Verdict:
        maybe: Verdict | None = None
        for pattern in self._compiled:
            if isinstance(pattern, ShellPattern):
                for run in found.runs:
                    if run.verb != pattern.command:
                        continue
                    args = split_args(run.verb, run.args, pattern.flags)
                    how = f" (run through {' → '.join(run.via)})" if run.via else ""
                    if pattern.strict(args):
                        return Verdict(
                            "denied",
                            f"`{run.shown}` is deny entry {pattern.raw!r}{how}",
                            pattern.raw,
                            "shell",
                            run.shown,
                        )
                    if maybe is None and pattern.possible(args):
                        maybe = Verdict(
                            "undecidable",
                            f"`{run.shown}` becomes deny entry {pattern.raw!r} for some "
                            f"values of its run-time words{how}",
                            pattern.raw,
                            "shell",
                            run.shown,
                        )
            else:
                for method, url, shown in found.requests:
                    literal = url if isinstance(url, str) else url.literal
                    if method is not None and literal is not None:
                        if http_hit(pattern, method, literal):
                            return Verdict(
                                "denied",
                                f"`{shown}` sends {method} {literal}, deny entry {pattern.raw!r}",
                                pattern.raw,
                                "http",
                                f"{method} {literal}",
                            )
                    elif maybe is None and self._http_maybe(pattern, method, url):
                        maybe = Verdict(
                            "undecidable",
                            f"`{shown}` computes its method or URL at run time; it may be "
                            f"deny entry {pattern.raw!r}",
                            pattern.raw,
                            "http",
                            shown,
                        )
        if maybe is not None:
            return maybe
        if found.issues:
            return Verdict("undecidable", found.issues[0])
        return Verdict("allowed", "no deny entry matches")

    @staticmethod
    def _http_maybe(pattern: HttpPattern, method: str | None, url: Word | str) -> bool:
        if isinstance(url, str):
            urls: Sequence[str] = [url]
        elif url.dynamic:
            return method is None or pattern.method in ("*", method.upper())
        else:
            urls = url.alts
        return any(
            http_hit(pattern, pattern.method if pattern.method != "*" else "GET", u) for u in urls
        )

    # ------------------------------------------------------------ reading

    def _script(
        self, text: str, depth: int, via: tuple[str, ...], found: _Found, *, fallback: bool = False
    ) -> None:
        if depth > MAX_DEPTH:
            found.issues.append(f"scripts nested more than {MAX_DEPTH} deep ({' → '.join(via)})")
            return
        found.requests.extend((m, u, f"{m} {u}") for m, u in requests_in_text(text))
        script = parse(text)
        if script.error is not None:
            found.issues.append(f"the command does not parse as shell ({script.error})")
        for cmd in script.commands:
            self._command(cmd.words, cmd.stdin, depth, via, found)
        if fallback and script.error is not None:
            # What a dialog shows is often not shell (`it's \`rm -rf /\``): read each line
            # again with quotes dropped and backticks as separators, biased to deny.
            for line in text.splitlines():
                loose = line.replace("`", " ; ").replace("'", " ").replace('"', " ")
                if loose.strip() and loose != line:
                    for cmd in parse(loose).commands:
                        self._command(cmd.words, cmd.stdin, depth + 1, via, found)

    def _text_word(self, word: Word, depth: int, via: tuple[str, ...], found: _Found) -> None:
        """A script held in one word (`bash -c WORD`, `su -c WORD`, `ssh host WORD`)."""
        if word.literal is None:
            found.issues.append(f"{' → '.join(via)} runs a script computed at run time")
            return
        self._script(word.literal, depth, via, found)

    def _command(
        self,
        words: Sequence[Word],
        stdin: str | None,
        depth: int,
        via: tuple[str, ...],
        found: _Found,
    ) -> None:
        if not words:
            return
        if depth > MAX_DEPTH:
            found.issues.append(f"commands nested more than {MAX_DEPTH} deep")
            return
        name = verb_of(words[0])
        if name is None:
            found.issues.append(f"the command name `{words[0].text}` is computed at run time")
            return
        args = list(words[1:])
        found.runs.append(_Run(name, args, via))
        for method, url in requests_in(name, args):
            found.requests.append((method, url, " ".join([name, *(w.text for w in args)])))
        inner = (*via, name)
        if name in WRAPPERS:
            unwrapped = unwrap(name, words, self._verbs | SHELLS | {"eval"})
            self._command(unwrapped.argv, stdin, depth + 1, inner, found)
            for script in unwrapped.scripts:
                self._text_word(script, depth + 1, inner, found)
            for alt in unwrapped.also:
                self._command(alt, stdin, depth + 1, inner, found)
        elif name in SHELLS:
            self._shell(args, stdin, depth, inner, found)
        elif name == "eval":
            if any(w.dynamic for w in args):
                found.issues.append("eval runs a string computed at run time")
            else:
                self._script(" ".join(w.alts[0] for w in args), depth + 1, inner, found)
                found.issues.append("eval runs a string as a command")
        elif name in ("source", ".") and any(w.dynamic for w in args):
            found.issues.append(f"{name} reads a script computed at run time")
        elif name == "alias":
            for w in args:
                value = w.literal
                if value is not None and "=" in value:
                    self._script(value.split("=", 1)[1], depth + 1, inner, found)
        elif name == "find":
            self._find_exec(args, depth, inner, found)
        elif name == "git":
            for i, w in enumerate(args[:-1]):
                value = args[i + 1].literal or ""
                if w.literal == "-c" and value.startswith("alias.") and "=!" in value:
                    self._script(value.split("=!", 1)[1], depth + 1, inner, found)

    def _shell(
        self,
        args: Sequence[Word],
        stdin: str | None,
        depth: int,
        via: tuple[str, ...],
        found: _Found,
    ) -> None:
        """`bash -c '…'`, `sh -lc -- '…'`, `sh <<<'…'`, `echo … | sh`; `bash file` runs a
        program laneboard does not read (like any other program)."""
        has_c = False
        first: Word | None = None
        i = 0
        while i < len(args):
            w = args[i]
            lit = w.literal
            i += 1
            if lit == "--":
                first = args[i] if i < len(args) else None
                break
            if lit is not None and lit.startswith("--"):
                if lit in ("--rcfile", "--init-file"):
                    i += 1
                continue
            if lit is not None and len(lit) > 1 and lit[0] in "-+":
                has_c |= "c" in lit[1:]
                if "o" in lit[1:] or "O" in lit[1:]:
                    i += 1
                continue
            first = w
            break
        if has_c:
            if first is None:
                found.issues.append("a shell's -c has no script")
            else:
                self._text_word(first, depth + 1, via, found)
        elif first is None and stdin is not None:
            if stdin == UNKNOWN:
                found.issues.append(f"{via[-1]} reads its script from another program's output")
            else:
                self._script(stdin, depth + 1, via, found)
        elif first is not None and first.dynamic:
            found.issues.append(f"{via[-1]} runs a script file named at run time")

    def _find_exec(
        self, args: Sequence[Word], depth: int, via: tuple[str, ...], found: _Found
    ) -> None:
        """`find / -exec rm -rf {} +`: the command between -exec and `;`/`+`, `{}` unknown."""
        i = 0
        while i < len(args):
            if args[i].literal in ("-exec", "-execdir", "-ok", "-okdir"):
                j = i + 1
                argv: list[Word] = []
                while j < len(args) and args[j].literal not in (";", "+", "\\;"):
                    w = args[j]
                    argv.append(DYNAMIC_WORD if w.literal is not None and "{}" in w.literal else w)
                    j += 1
                self._command(argv, None, depth + 1, via, found)
                i = j
            i += 1
