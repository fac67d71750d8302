"""Deny entries compiled once: shell patterns, HTTP patterns, Claude rule forms.

A shell pattern is read by the same parser as the commands it is matched against, so
`rm -rf /`, `rm  -r -f  /` and `Bash(rm -rf:*)` compile to one thing: a verb, a set of
canonical flags and an ordered list of positionals (a pattern word holding `*?[` is a glob).
`claude_bash_rules` turns the shell patterns into Claude Code's own `--disallowed-tools`
rules, the first line of defence before any prompt appears.
"""

from __future__ import annotations

import fnmatch
import posixpath
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import re2

from laneboard.harnesses.deny.http import HttpPattern, parse_http
from laneboard.harnesses.deny.options import Args, split_args
from laneboard.harnesses.deny.shell import parse
from laneboard.harnesses.deny.wrappers import verb_of

__all__ = ["ShellPattern", "bash_command", "claude_bash_rules", "compile_entry"]


@dataclass(frozen=True, slots=True)
class ShellPattern:
    raw: str
    command: str
    flags: frozenset[str]
    positionals: tuple[str, ...]

    def strict(self, args: Args) -> bool:
        """The command certainly does what the pattern names."""
        return self.flags <= args.flags and _subsequence(self.positionals, args.positionals, 0)

    def possible(self, args: Args) -> bool:
        """It might, once its run-time words (`$X`, `$(…)`) are known."""
        return (
            args.dynamic > 0
            and self.flags <= args.flags
            and _subsequence(self.positionals, args.positionals, args.dynamic)
        )


def _subsequence(
    needles: Sequence[str], hay: Sequence[tuple[tuple[str, ...], bool]], wild: int
) -> bool:
    """`needles` in order within `hay`; up to `wild` needles may be run-time words."""
    it = iter(hay)
    missed = 0
    for needle in needles:
        if not any(_same(needle, alts, glob) for alts, glob in it):
            missed += 1
            if missed > wild:
                return False
            it = iter(())
    return True


def _same(pattern_tok: str, alts: tuple[str, ...], glob: bool) -> bool:
    for tok in alts:
        if any(c in pattern_tok for c in "*?["):
            if fnmatch.fnmatchcase(tok, pattern_tok):
                return True
        elif tok == pattern_tok or (
            glob
            and (
                fnmatch.fnmatchcase(pattern_tok, tok)
                # `/bi?`, `/[a-z]*`: a glob right under a denied path names its contents
                or (posixpath.dirname(tok) == pattern_tok and tok != pattern_tok)
            )
        ):
            return True
    return False


def compile_entry(raw: str) -> ShellPattern | HttpPattern | None:
    """One `fences.deny` entry, or None when it names nothing the matcher can check."""
    http = parse_http(raw)
    if http is not None:
        return http
    command = bash_command(raw)
    if not command.strip():
        return None
    for cmd in parse(command).commands:
        verb = verb_of(cmd.words[0])
        if verb is None:
            return None
        args = split_args(verb, cmd.words[1:])
        positionals = tuple(alts[0] for alts, _ in args.positionals)
        return ShellPattern(raw, verb, frozenset(args.flags), positionals)
    return None


#: `Tool(argument)`: a pattern written as one of Claude Code's permission rules.
_CLAUDE_RULE = re2.compile(r"(?s)^\s*([A-Z][A-Za-z0-9_]*)\((.*)\)\s*$")


def _claude_rule(raw: str) -> tuple[str, str] | None:
    """(tool, argument) of a `Tool(argument)` pattern, whitespace folded; else None."""
    m = _CLAUDE_RULE.match(raw)
    if m is None:
        return None
    return m.group(1), " ".join(m.group(2).split())


def bash_command(raw: str) -> str:
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
    left to `DenyMatcher`, which sees the whole command anyway.
    """
    rules: list[str] = []
    for raw in deny:
        pattern = " ".join(raw.split())
        rule = _claude_rule(pattern)
        if rule is not None:
            if rule[0] != "Bash" or not rule[1]:
                continue
            variants = [f"Bash({rule[1]})", f"Bash(sudo {rule[1]})"]
        elif not pattern or "(" in pattern or ")" in pattern or parse_http(pattern):
            continue
        else:
            variants = [
                f"Bash({v})" if "*" in v else f"Bash({v}:*)" for v in (pattern, f"sudo {pattern}")
            ]
        for variant in variants:
            if variant not in rules:
                rules.append(variant)
    return rules
