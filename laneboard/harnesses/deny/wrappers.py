"""Commands that run other commands: `sudo`, `env`, `timeout`, `ssh host …`, `xargs` …

A deny pattern names the command that does the damage; a wrapper in front of it changes
who runs it, when, or where, never what. Each wrapper's own options are skipped the way
the wrapper parses them (with their values, long options abbreviated as getopt allows),
and what is left is the command it runs — either an argv (`sudo -u root rm …`) or a
script string to parse again (`su -c '…'`, `ssh host '…'`, `env -S '…'`, `watch …`).

Biased to deny: besides the exact reading, every later word that names a command a deny
pattern is about is also tried as the start of a command (`sudo --some-new-flag rm -rf /`
still meets `rm`), a few times per wrapper.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from dataclasses import dataclass

from laneboard.harnesses.deny.shell import DYNAMIC_WORD, Word

__all__ = ["SHELLS", "WRAPPERS", "Unwrapped", "unwrap", "verb_of"]

SHELLS = frozenset(
    {"sh", "bash", "zsh", "dash", "ksh", "mksh", "yash", "fish", "ash", "busybox-sh"}
)


@dataclass(frozen=True, slots=True)
class _Spec:
    short_values: str = ""  # short options that take a value
    long_values: frozenset[str] = frozenset()  # long options that take a value
    long_flags: frozenset[str] = frozenset()  # long options that take none (for abbreviations)
    skip: int = 0  # positionals before the command (timeout's duration, chroot's root)
    script_short: str = ""  # short options whose value is a shell script (`su -c`)
    script_long: frozenset[str] = frozenset()  # long options whose value is a script
    joined: bool = False  # the rest of the words, joined, is a script (`ssh host …`)
    permute: bool = False  # options may follow positionals (GNU getopt without `+`)
    no_command: str = ""  # short options after which nothing is run (`command -v`)


def _f(*names: str) -> frozenset[str]:
    return frozenset(names)


WRAPPERS: dict[str, _Spec] = {
    "sudo": _Spec(
        short_values="CDghpRrTtUu",
        long_values=_f(
            "--close-from",
            "--chdir",
            "--group",
            "--host",
            "--prompt",
            "--chroot",
            "--role",
            "--type",
            "--command-timeout",
            "--other-user",
            "--user",
        ),
        long_flags=_f(
            "--askpass",
            "--background",
            "--bell",
            "--edit",
            "--help",
            "--login",
            "--non-interactive",
            "--preserve-env",
            "--preserve-groups",
            "--remove-timestamp",
            "--reset-timestamp",
            "--set-home",
            "--shell",
            "--stdin",
            "--validate",
            "--version",
            "--list",
        ),
        no_command="lvVKke",
    ),
    "doas": _Spec(short_values="uC"),
    "run0": _Spec(
        long_values=_f(
            "--user",
            "--group",
            "--nice",
            "--chdir",
            "--setenv",
            "--unit",
            "--property",
            "--description",
            "--slice",
            "--background",
        ),
        short_values="ugD",
    ),
    "pkexec": _Spec(long_values=_f("--user")),
    "su": _Spec(
        short_values="gGsw",
        long_values=_f("--group", "--supp-group", "--shell", "--whitelist-environment"),
        long_flags=_f("--login", "--preserve-environment", "--pty", "--fast", "--help"),
        script_short="c",
        script_long=_f("--command", "--session-command"),
        permute=True,  # `su root -c …`: only the -c script runs; other words are argv
    ),
    "runuser": _Spec(
        short_values="ugGsw",
        long_values=_f("--user", "--group", "--supp-group", "--shell"),
        script_short="c",
        script_long=_f("--command", "--session-command"),
        permute=True,
    ),
    "sg": _Spec(joined=True, skip=1),
    "setsid": _Spec(long_flags=_f("--ctty", "--fork", "--wait")),
    "nohup": _Spec(),
    "time": _Spec(short_values="fo", long_values=_f("--format", "--output")),
    "nice": _Spec(short_values="n", long_values=_f("--adjustment")),
    "ionice": _Spec(short_values="cnp", long_values=_f("--class", "--classdata", "--pid")),
    "chrt": _Spec(skip=1, long_values=_f("--sched-runtime", "--sched-deadline", "--sched-period")),
    "taskset": _Spec(skip=1),
    "timeout": _Spec(
        short_values="ks",
        long_values=_f("--kill-after", "--signal"),
        long_flags=_f("--foreground", "--preserve-status", "--verbose"),
        skip=1,
    ),
    "stdbuf": _Spec(short_values="ioe", long_values=_f("--input", "--output", "--error")),
    "env": _Spec(
        short_values="uCaP",
        long_values=_f(
            "--unset", "--chdir", "--argv0", "--default-signal", "--ignore-signal", "--block-signal"
        ),
        long_flags=_f("--ignore-environment", "--null", "--debug", "--list-signal-handling"),
        script_short="S",
        script_long=_f("--split-string"),
    ),
    "chroot": _Spec(long_values=_f("--userspec", "--groups"), skip=1),
    "flock": _Spec(
        short_values="wEF",
        long_values=_f("--timeout", "--conflict-exit-code"),
        script_short="c",
        script_long=_f("--command"),
        skip=1,
    ),
    "watch": _Spec(
        short_values="nqd",
        long_values=_f("--interval", "--differences", "--equexit"),
        joined=True,
    ),
    "script": _Spec(
        short_values="IOBTmE", script_short="c", script_long=_f("--command"), permute=True
    ),
    "ssh": _Spec(short_values="BbcDEeFIiJLlmOoPpQRSWw", skip=1, joined=True),
    "busybox": _Spec(),
    "toybox": _Spec(),
    "exec": _Spec(short_values="a"),
    "command": _Spec(no_command="vV"),
    "builtin": _Spec(),
    "xargs": _Spec(
        short_values="adEeIiLlnPs",
        long_values=_f(
            "--arg-file",
            "--delimiter",
            "--eof",
            "--replace",
            "--max-lines",
            "--max-args",
            "--max-procs",
            "--max-chars",
            "--process-slot-var",
        ),
    ),
    "unbuffer": _Spec(),
    "fakeroot": _Spec(short_values="is", long_values=_f("--lib", "--faked")),
    "firejail": _Spec(),
    "strace": _Spec(short_values="aebeIoOpPSsuUX"),
    "ltrace": _Spec(short_values="aeFlnoOpSsu"),
    "systemd-run": _Spec(
        short_values="pEuHM",
        long_values=_f(
            "--unit",
            "--property",
            "--description",
            "--slice",
            "--setenv",
            "--uid",
            "--gid",
            "--nice",
            "--working-directory",
            "--machine",
            "--host",
        ),
    ),
    "unshare": _Spec(long_values=_f("--setuid", "--setgid", "--root", "--wd")),
    "nsenter": _Spec(short_values="tSGwr", long_values=_f("--target", "--setuid", "--setgid")),
    "proxychains": _Spec(short_values="f"),
    "proxychains4": _Spec(short_values="f"),
    "torsocks": _Spec(),
    "xvfb-run": _Spec(short_values="nsfe"),
}


@dataclass(slots=True)
class Unwrapped:
    """What a wrapper runs: an argv, script strings to parse again, and other words that
    might be where the command starts (the biased fallback)."""

    argv: list[Word]
    scripts: list[Word]
    also: list[list[Word]]


def verb_of(word: Word) -> str | None:
    """A command word's name as bash looks it up (`/bin/rm`, `\\rm` → `rm`), or None."""
    lit = word.literal
    return None if lit is None else posixpath.basename(lit)


def _resolve(option: str, spec: _Spec) -> str:
    names = spec.long_values | spec.long_flags | spec.script_long
    if option in names:
        return option
    found = [n for n in names if n.startswith(option)]
    if len(found) == 1:
        return found[0]
    # ambiguous or unknown: a value-taking reading skips more words, which the biased
    # fallback covers; read it as a flag.
    return option


def unwrap(name: str, words: Sequence[Word], starts: frozenset[str]) -> Unwrapped:
    """The command `name words[1:]…` runs; `starts` are the verbs deny patterns name."""
    spec = WRAPPERS[name]
    args = list(words[1:])
    scripts: list[Word] = []
    positionals: list[Word] = []
    no_command = False
    i = 0
    while i < len(args):
        w = args[i]
        lit = w.literal
        if lit is None or lit == "-" or not lit.startswith("-"):
            i += 1
            if name == "env" and lit is not None and "=" in lit and not positionals:
                continue  # NAME=value
            positionals.append(w)
            if not spec.permute and len(positionals) > spec.skip:
                break  # the command starts here
            continue
        i += 1
        if lit == "--":
            break
        if lit.startswith("--"):
            opt, eq, value = lit.partition("=")
            opt = _resolve(opt, spec)
            if opt in spec.script_long:
                if eq:
                    scripts.append(Word((value,)))
                elif i < len(args):
                    scripts.append(args[i])
                    i += 1
            elif opt in spec.long_values and not eq:
                i += 1
            continue
        for k, ch in enumerate(lit[1:], start=1):
            if ch in spec.no_command:
                no_command = True
            if ch in spec.script_short or ch in spec.short_values:
                rest = lit[k + 1 :]
                given: Word | None = Word((rest,)) if rest else None
                if given is None and i < len(args):
                    given = args[i]
                    i += 1
                if ch in spec.script_short and given is not None:
                    scripts.append(given)
                break
    rest_words = positionals + args[i:]
    if spec.permute:  # su / runuser / script: only `-c` scripts (and runuser's `-- cmd`)
        argv = args[i:] if name == "runuser" and i and args[i - 1].literal == "--" else []
    else:
        argv = rest_words[spec.skip :]
    if spec.joined and argv:
        scripts.append(_joined(argv))
        argv = []
    if no_command:
        argv = []
    if name == "xargs" and argv:
        argv = [*argv, DYNAMIC_WORD]  # the arguments read from stdin
    also = [list(words[j:]) for j in range(1, len(words)) if verb_of(words[j]) in starts][:4]
    return Unwrapped(argv, scripts, also)


def _joined(words: Sequence[Word]) -> Word:
    """`ssh host rm -rf /` sends `rm -rf /` as one line to the remote shell."""
    if any(w.dynamic for w in words):
        return DYNAMIC_WORD
    return Word((" ".join(w.alts[0] for w in words),))
