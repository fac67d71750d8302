"""`fences.deny` compiled into Codex's own execpolicy rules, loaded for laneboard's lanes only.

Why: a Codex lane runs with approvals `never`, so no dialog ever shows and laneboard's deny
matcher (which answers dialogs) is never asked. Codex 0.169.0 does consult its execpolicy
(`$CODEX_HOME/rules/*.rules`, Starlark `prefix_rule(...)`) before every `exec_command`, and
a `forbidden` decision stops the command before it runs, whatever any other rule says (the
strictest matched decision wins, so a repository's own `allow` rule cannot lift it).

What a prefix rule can say: an argv prefix, each position a word or a list of alternatives.
So each shell deny entry becomes a few rules covering the spellings Codex would see:
every order of its flags, short flags clustered or apart, the long forms, absolute program
paths (`/usr/bin/rm`), common wrappers in front (`sudo`, `env`, `command`, `nohup`, `exec`),
and the home directory written as `~`, `$HOME` or its absolute path. A positional holding a
glob (`/data/*`) ends the prefix there: the rule then forbids more than the entry, which is
the side the fence errs on. HTTP entries (`DELETE /api/*`) forbid curl / wget / HTTPie
invocations whose leading option sets that method (a prefix cannot see the path).
What a prefix cannot express (an extra flag in front of the denied ones, a computed verb)
is still bounded by the lane's sandbox; `codex execpolicy check --rules FILE -- CMD…` shows
the decision for any command.

Where the rules live: only in a CODEX_HOME laneboard owns (`write_rules`). A lane that uses
the person's own `~/.codex` gets a private overlay home instead (`overlay_home`): symlinks
to every entry of `~/.codex` except `rules/`, and a `rules/` of its own holding links to the
person's rule files plus laneboard's. Nothing under `~/.codex` is created or changed.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shlex
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

__all__ = [
    "RULES_FILE",
    "compile_rules",
    "overlay_home",
    "write_rules",
]

#: The file laneboard owns inside a lane's `$CODEX_HOME/rules/`.
RULES_FILE = "laneboard-fences.rules"

#: Per-command spellings of one flag (the first is the canonical name).
_FLAG_SPELLINGS: dict[str, dict[str, tuple[str, ...]]] = {
    "rm": {
        "r": ("-r", "-R", "--recursive"),
        "f": ("-f", "--force"),
        "d": ("-d", "--dir"),
    },
    "git": {"f": ("-f", "--force", "--force-with-lease", "--force-if-includes")},
    "chmod": {"R": ("-R", "--recursive")},
    "chown": {"R": ("-R", "--recursive")},
    "cp": {"r": ("-r", "-R", "--recursive"), "f": ("-f", "--force")},
    "mv": {"f": ("-f", "--force")},
}
#: Long options that name a short flag above (`--recursive` → `r` for rm).
_PROGRAM_DIRS = ("/bin", "/usr/bin", "/usr/local/bin", "/sbin", "/usr/sbin")
_WRAPPERS = (("sudo",), ("env",), ("command",), ("nohup",), ("exec",), ("sudo", "-E"))
_HOME_WORDS = ("~", "$HOME", "${HOME}")
_CLAUDE_RULE = re.compile(r"^\s*([A-Z][A-Za-z0-9_]*)\((.*)\)\s*$", re.DOTALL)
_HTTP = re.compile(r"^\s*([A-Za-z]+|\*)\s+((?:https?://|/)\S*)\s*$")
_HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT")

Token = str | list[str]


def _shell_command(raw: str) -> str | None:
    """The command a deny entry stands for (`Bash(git push --force:*)` → `git push
    --force`); None for an entry that is not a shell command (another tool's rule)."""
    m = _CLAUDE_RULE.match(raw)
    if m is None:
        return raw.strip()
    if m.group(1) != "Bash":
        return None
    arg = " ".join(m.group(2).split())
    return arg[:-2].rstrip() if arg.endswith(":*") else arg


def _flag_keys(program: str, word: str) -> list[str] | None:
    """The flag keys a word sets (`-rf` → [r, f]); None when it is not a flag we know."""
    table = _FLAG_SPELLINGS.get(program, {})
    if word.startswith("--"):
        for key, spellings in table.items():
            if word in spellings:
                return [key]
        return [word]  # an unknown long option is kept as it is
    if word.startswith("-") and len(word) > 1:
        keys: list[str] = []
        for ch in word[1:]:
            key = next((k for k, sp in table.items() if f"-{ch}" in sp), ch)
            keys.append(key)
        return keys
    return None


def _spellings(program: str, key: str) -> list[str]:
    table = _FLAG_SPELLINGS.get(program, {})
    if key in table:
        return list(table[key])
    return [key] if key.startswith("--") else [f"-{key}"]


def _flag_variants(program: str, keys: Sequence[str]) -> list[list[Token]]:
    """Token sequences that set exactly `keys`: each flag apart (any order, any spelling:
    one alternatives list per position), and short flags clustered in every order."""
    if not keys:
        return [[]]
    union = sorted({s for k in keys for s in _spellings(program, k)})
    variants: list[list[Token]] = [[list(union) for _ in keys]]
    shorts = [[s for s in _spellings(program, k) if re.fullmatch(r"-[A-Za-z0-9]", s)] for k in keys]
    if len(keys) > 1 and len(keys) <= 4 and all(shorts):
        clusters = sorted(
            {
                "-" + "".join(s[1] for s in combo)
                for perm in itertools.permutations(shorts)
                for combo in itertools.product(*perm)
            }
        )
        variants.append([clusters])
    return variants


def _positional(word: str, home: str | None) -> list[str] | None:
    """Alternatives for one positional word; None when a glob ends the prefix here."""
    if any(c in word for c in "*?["):
        return None
    for h in _HOME_WORDS:
        if word == h or word.startswith(h + "/"):
            rest = word[len(h) :]
            alts = [w + rest for w in _HOME_WORDS]
            if home:
                alts.append(home.rstrip("/") + rest)
            alts += [a + "/" for a in alts if not a.endswith("/")]
            return sorted(set(alts))
    if word == "/":
        return ["/", "//", "/.", "/*"]
    if word.startswith("/") and len(word) > 1:
        return sorted({word, word.rstrip("/"), word.rstrip("/") + "/"})
    return [word]


def _program(word: str) -> list[str]:
    """The program word and its absolute paths (`rm` → `rm`, `/bin/rm`, `/usr/bin/rm`…)."""
    name = word.rsplit("/", 1)[-1]
    return [name, *(f"{d}/{name}" for d in _PROGRAM_DIRS)]


def _shell_rules(command: str, home: str | None) -> list[list[Token]]:
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    if not words:
        return []
    program = words[0].rsplit("/", 1)[-1]
    flag_keys: list[str] = []
    fixed: list[Token] = []  # subcommands and positionals, in order
    for word in words[1:]:
        keys = _flag_keys(program, word)
        if keys is not None:
            flag_keys += [k for k in keys if k not in flag_keys]
            continue
        alts = _positional(word, home)
        if alts is None:
            break
        fixed.append(alts[0] if len(alts) == 1 else alts)
    # Subcommand words (git push) stay in front of the flags; later positionals after them.
    lead: list[Token] = []
    while fixed and isinstance(fixed[0], str) and not fixed[0].startswith(("/", "~", "$", ".")):
        lead.append(fixed.pop(0))
        if program != "git":
            break
    patterns: list[list[Token]] = []
    for flags in _flag_variants(program, flag_keys):
        patterns.append([_program(words[0]), *lead, *flags, *fixed])
        if fixed and flags:  # positionals before flags: `rm / -rf`
            patterns.append([_program(words[0]), *lead, *fixed, *flags])
    out: list[list[Token]] = []
    for p in patterns:
        for wrapper in ((), *_WRAPPERS):
            candidate: list[Token] = [*wrapper, *p]
            if candidate not in out:
                out.append(candidate)
    return out


def _http_rules(method: str) -> list[list[Token]]:
    methods = list(_HTTP_METHODS) if method == "*" else [method.upper()]
    rules: list[list[Token]] = []
    for m in methods:
        rules += [
            [_program("curl"), ["-X", "--request"], [m, m.lower()]],
            [_program("curl"), [f"-X{m}", f"--request={m}", f"-X{m.lower()}"]],
            [_program("wget"), [f"--method={m}", f"--method={m.lower()}"]],
            [_program("wget"), "--method", [m, m.lower()]],
            [[*_program("http"), *_program("https"), *_program("xh")], [m, m.lower()]],
        ]
    return rules


def _starlark(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)  # JSON strings and lists are Starlark too


def compile_rules(deny: Iterable[str], *, home: str | None = None) -> str:
    """The Starlark text of a rules file forbidding every entry of `deny`.

    `home` is the lane's home directory (so `rm -rf ~` also forbids `rm -rf /root`).
    Every rule carries the deny entry as its justification, which Codex shows the model.
    """
    lines = [
        "# Written by laneboard from fences.deny; regenerated at every lane start.",
        "# Test a command: codex execpolicy check --rules THIS_FILE -- CMD ...",
    ]
    for raw in deny:
        entry = " ".join(raw.split())
        if not entry:
            continue
        http = _HTTP.match(entry)
        if http is not None and (http.group(1) == "*" or http.group(1).upper() in _HTTP_METHODS):
            patterns = _http_rules(http.group(1))
        else:
            command = _shell_command(entry)
            if command is None:
                continue
            patterns = _shell_rules(command, home)
        why = f"laneboard fences.deny forbids {entry!r}"
        for pattern in patterns:
            lines.append(
                f'prefix_rule(pattern={_starlark(pattern)}, decision="forbidden", '
                f"justification={_starlark(why)})"
            )
    return "\n".join(lines) + "\n"


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_rules(codex_home: Path, deny: Iterable[str], *, home: str | None = None) -> Path:
    """Write laneboard's rules into `<codex_home>/rules/` (atomic, 0600) and return the path.

    Refuses the person's own `~/.codex` (ValueError): laneboard's lanes get an overlay home
    for that (`overlay_home`).
    """
    real = (Path(os.environ.get("HOME") or Path.home()) / ".codex").resolve()
    if codex_home.resolve() == real or codex_home.resolve() == (Path.home() / ".codex").resolve():
        raise ValueError(
            f"refusing to write execpolicy rules into the user's own Codex home {codex_home}"
        )
    path = codex_home / "rules" / RULES_FILE
    _atomic_write(path, compile_rules(deny, home=home))
    return path


def overlay_home(user_home: Path, overlay: Path) -> Path:
    """A private CODEX_HOME that sees the person's `user_home` but has its own `rules/`.

    Every top-level entry of `user_home` but `rules` is a symlink (login, config, sessions
    stay the person's, as without laneboard); `rules/` is a real directory holding links to
    the person's rule files, so their own rules still apply, next to laneboard's. Links
    that no longer point anywhere are refreshed. Nothing in `user_home` is written.
    """
    overlay.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(overlay, 0o700)
    rules = overlay / "rules"
    if rules.is_symlink():
        rules.unlink()
    rules.mkdir(exist_ok=True, mode=0o700)
    entries = sorted(user_home.iterdir()) if user_home.is_dir() else []
    for entry in entries:
        link = overlay / entry.name
        if entry.name == "rules":
            for rule in sorted(entry.glob("*.rules")):
                if rule.name != RULES_FILE:
                    _link(rules / rule.name, rule)
            continue
        _link(link, entry)
    return overlay


def _link(link: Path, target: Path) -> None:
    if link.is_symlink():
        if os.readlink(link) == str(target):
            return
        link.unlink()
    elif link.exists():
        return  # a real file Codex wrote into the overlay: leave it
    link.symlink_to(target)
