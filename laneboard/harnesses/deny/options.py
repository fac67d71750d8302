"""Options read the way the command itself reads them.

`rm -r -f`, `rm -fr`, `rm --recursive --force` and `rm --rec --for` are one request: GNU
getopt_long and git's parse-options accept any unambiguous prefix of a long option, and
each command has short aliases and other spellings of the same operation. This module
folds all of them onto one canonical flag so a pattern written once matches every spelling.

Biased to deny: an ambiguous prefix (which the command itself would reject) counts as
every option it could stand for, and for a command laneboard has no option list for, a
long option counts as every pattern flag it is a prefix of.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence

import re2

from laneboard.harnesses.deny.shell import Word

__all__ = ["Args", "canonical_flags", "norm_positional", "split_args"]

#: Per-command spellings of the same flag (and of the same destructive operation),
#: folded to one long form.
_ALIASES: dict[str, dict[str, str]] = {
    "rm": {"-r": "--recursive", "-R": "--recursive", "-f": "--force", "-d": "--dir"},
    "git": {
        "-f": "--force",
        "--force-with-lease": "--force",
        "--force-if-includes": "--force",
        # rewrites every remote ref to match the local ones, deleting the rest: a force push
        "--mirror": "--force",
        "-d": "--delete",
    },
    "chmod": {"-R": "--recursive"},
    "chown": {"-R": "--recursive"},
    "chgrp": {"-R": "--recursive"},
    "cp": {"-r": "--recursive", "-R": "--recursive", "-f": "--force"},
    "mv": {"-f": "--force"},
    "shred": {"-u": "--remove", "-f": "--force", "-z": "--zero"},
}

#: Long options each command accepts, so an abbreviation resolves the way getopt does.
_LONG: dict[str, tuple[str, ...]] = {
    "rm": (
        "--force",
        "--interactive",
        "--one-file-system",
        "--no-preserve-root",
        "--preserve-root",
        "--recursive",
        "--dir",
        "--verbose",
        "--help",
        "--version",
    ),
    "git": (
        # push
        "--all",
        "--branches",
        "--prune",
        "--mirror",
        "--dry-run",
        "--porcelain",
        "--delete",
        "--tags",
        "--follow-tags",
        "--signed",
        "--no-signed",
        "--atomic",
        "--no-atomic",
        "--push-option",
        "--receive-pack",
        "--exec",
        "--force-with-lease",
        "--no-force-with-lease",
        "--force",
        "--force-if-includes",
        "--no-force-if-includes",
        "--repo",
        "--set-upstream",
        "--thin",
        "--no-thin",
        "--quiet",
        "--verbose",
        "--progress",
        "--recurse-submodules",
        "--no-recurse-submodules",
        "--verify",
        "--no-verify",
        "--ipv4",
        "--ipv6",
        # reset / clean / checkout
        "--hard",
        "--soft",
        "--mixed",
        "--merge",
        "--keep",
        "--patch",
        "--no-refresh",
        "--pathspec-from-file",
        "--pathspec-file-nul",
        "--exclude",
        "--interactive",
    ),
    "chmod": ("--recursive", "--changes", "--silent", "--quiet", "--verbose", "--reference"),
    "chown": ("--recursive", "--changes", "--silent", "--quiet", "--verbose", "--reference"),
    "cp": ("--recursive", "--force", "--archive", "--interactive", "--no-clobber"),
    "mv": ("--force", "--interactive", "--no-clobber", "--update", "--verbose"),
}

_NUMBER = re2.compile(r"^-\d+$")
_HOME = re2.compile(r"^(?:~|\$HOME|\$\{HOME\})(/|$)")


def canonical_flags(command: str, option: str, wanted: frozenset[str] = frozenset()) -> set[str]:
    """The canonical flags `option` (one long option, `=value` removed) stands for."""
    aliases = _ALIASES.get(command, {})
    known = _LONG.get(command)
    if known is None:
        found = {option} | {w for w in wanted if w.startswith(option) and len(option) > 3}
    elif option in known:
        found = {option}
    else:
        found = {k for k in known if k.startswith(option)} or {option}
    return {aliases.get(f, f) for f in found}


def norm_positional(tok: str) -> str:
    """`/*`, `/.`, `//` → `/`; `$HOME/`, `${HOME}` → `~`: spellings of the same target."""
    tok = _HOME.sub(r"~\1", tok)
    if tok.startswith(("/", "~", "./", "../")):
        while tok.endswith(("/*", "/.")) and len(tok) > 2:
            tok = tok[:-2]
        if tok in ("/*", "/."):
            tok = "/"
        tok = posixpath.normpath(tok)
        if tok.startswith("//"):
            tok = "/" + tok.lstrip("/")
    return tok


class Args:
    """A command's flags (canonical) and positionals (each word's alternatives, normalised),
    plus the words whose value is only known at run time (which could be anything)."""

    __slots__ = ("dynamic", "flags", "positionals")

    def __init__(self) -> None:
        self.flags: set[str] = set()
        self.positionals: list[tuple[tuple[str, ...], bool]] = []  # (alternatives, glob)
        self.dynamic = 0


def split_args(command: str, args: Sequence[Word], wanted: frozenset[str] = frozenset()) -> Args:
    """Flags (aliases folded, short clusters split, long abbreviations resolved) and
    positionals of `command args…`; `wanted` is the pattern's flags (for unknown commands)."""
    aliases = _ALIASES.get(command, {})
    out = Args()
    options_done = False
    for word in args:
        if word.dynamic:
            out.dynamic += 1
            continue
        arg = word.alts[0]
        if not options_done:  # GNU getopt permutes: options may follow positionals
            if arg == "--":
                options_done = True
                continue
            if arg.startswith("--") and len(arg) > 2:
                out.flags |= canonical_flags(command, arg.split("=", 1)[0], wanted)
                continue
            if arg.startswith("-") and len(arg) > 1 and not _NUMBER.match(arg):
                out.flags.update(aliases.get(f"-{ch}", f"-{ch}") for ch in arg[1:])
                continue
        out.positionals.append((tuple(norm_positional(a) for a in word.alts), word.glob))
        if command == "git" and any(a.startswith("+") and len(a) > 1 for a in word.alts):
            out.flags.add("--force")  # `git push origin +main` is a force push
    return out
