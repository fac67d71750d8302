"""Shell text read the way bash reads it: tree-sitter-bash's parse tree, not regexes.

A deny pattern is about what runs, so the matcher needs the words bash would hand to
`execve` after quote removal, brace expansion and `\\` escapes — `r\\m`, `'rm'`, `$'\\x72m'`
and `rm` are one verb, `/{,}` is `/ /`, and `"rm -rf /"` passed to `grep` is one word of
data. tree-sitter's grammar is error-tolerant and linear in its input (a regex-based
tokeniser was neither), and it sees every nested command: `$(…)`, backticks, functions,
loops and subshells are all `command` nodes somewhere in the tree.

What cannot be known without running the script is kept as a mark, never guessed: a word
built from `$VAR`, `$(…)` or backticks is `dynamic` (only `$HOME`/`${HOME}` is read, as
`~`), and a shell fed from a pipe whose text laneboard cannot see has stdin `UNKNOWN`.
"""

from __future__ import annotations

import codecs
import itertools
from dataclasses import dataclass, field
from functools import cache

import tree_sitter_bash
from tree_sitter import Language, Node, Parser

__all__ = ["UNKNOWN", "Command", "Script", "Word", "literal_word", "parse"]

#: Unquoted brace and glob characters stand in as private-use sentinels while a word is
#: built, so quoted `'{,}'` or `"*"` stay data and only bare ones expand.
_OPEN, _COMMA, _CLOSE = "\ue000", "\ue001", "\ue002"
_GLOBS = {"*": "\ue003", "?": "\ue004", "[": "\ue005"}
_DYNAMIC = "\ue010"  # where a run-time value goes in a word's text
_UNSENTINEL = str.maketrans(
    {_OPEN: "{", _COMMA: ",", _CLOSE: "}", **{v: k for k, v in _GLOBS.items()}}
)
#: A word expands to at most this many brace alternatives; more is "dynamic" (bash would
#: expand `{1..100000}` happily; laneboard will not judge what it cannot afford to read).
MAX_ALTERNATIVES = 32

#: Stdin of a shell whose script comes from somewhere laneboard cannot read.
UNKNOWN = "\ue011unknown"


@dataclass(frozen=True, slots=True)
class Word:
    """One shell word after quote removal: its brace alternatives and what is unknown."""

    alts: tuple[str, ...]
    glob: bool = False  # an unquoted `*`, `?` or `[`: bash may expand it to other paths
    dynamic: bool = False  # part of it is only known at run time

    @property
    def text(self) -> str:
        """The word as one string (the first alternative; dynamic parts as `…`)."""
        return self.alts[0].replace(_DYNAMIC, "…") if self.alts else ""

    @property
    def literal(self) -> str | None:
        """The word's single value when it is fully known, else None."""
        return self.alts[0] if len(self.alts) == 1 and not self.dynamic else None


def literal_word(text: str) -> Word:
    """A word laneboard made up itself (an `ssh` command line, xargs' input marker)."""
    return Word((text,))


DYNAMIC_WORD = Word((_DYNAMIC,), dynamic=True)


@dataclass(slots=True)
class Command:
    """A simple command: its words (verb first) and, for a shell, the script on its stdin."""

    words: list[Word]
    stdin: str | None = None  # heredoc / here-string / `echo … |` text, or UNKNOWN
    where: str = ""  # line:column, for reasons

    @property
    def shown(self) -> str:
        return " ".join(w.text for w in self.words)


@dataclass(slots=True)
class Script:
    """Every simple command in a text, and the first parse error (line:column) if any."""

    commands: list[Command] = field(default_factory=list)
    error: str | None = None


@cache
def _parser() -> Parser:
    return Parser(Language(tree_sitter_bash.language()))


def parse(text: str) -> Script:
    """All simple commands of `text` (nested ones included), in source order."""
    # bash drops `\<newline>` before splitting words (`rm -r\<newline>f` is `rm -rf`);
    # doing it first also inside quotes only ever joins more text, biased to deny.
    text = text.replace("\\\n", "")
    tree = _parser().parse(text.encode("utf-8", "surrogatepass"))
    script = Script()
    stack: list[Node] = [tree.root_node]
    while stack:  # iterative: 10,000 nested `$(` must not hit the recursion limit
        node = stack.pop()
        if node.type == "ERROR" or node.is_missing:
            if script.error is None:
                row, col = node.start_point
                script.error = f"line {row + 1}, column {col + 1}"
        elif node.type == "command":
            name = node.child_by_field_name("name")
            if name is not None:
                words = [_word(name)] + [_word(a) for a in node.children_by_field_name("argument")]
                row, col = node.start_point
                script.commands.append(Command(words, _stdin(node), f"{row + 1}:{col + 1}"))
        stack.extend(reversed(node.children))
    if tree.root_node.has_error and script.error is None:
        script.error = "somewhere in the text"
    return script


# ---------------------------------------------------------------- words


def _word(node: Node) -> Word:
    parts: list[str] = []
    dynamic = _build(node, parts, quoted=False)
    raw = "".join(parts)
    alts = _expand_braces(raw)
    if alts is None:
        return Word((raw.translate(_UNSENTINEL),), glob=_has_glob(raw), dynamic=True)
    glob = any(_has_glob(a) for a in alts)
    return Word(tuple(a.translate(_UNSENTINEL) for a in alts), glob=glob, dynamic=dynamic)


def _has_glob(text: str) -> bool:
    return any(s in text for s in _GLOBS.values())


def _text(node: Node) -> str:
    return (node.text or b"").decode("utf-8", "surrogatepass")


def _build(node: Node, out: list[str], *, quoted: bool) -> bool:
    """Append `node`'s value to `out`; True when part of it is only known at run time."""
    kind = node.type
    if kind in ("command_name", "concatenation"):
        return any([_build(c, out, quoted=quoted) for c in node.children])
    if kind == "raw_string":
        out.append(_text(node)[1:-1])
        return False
    if kind == "ansi_c_string":
        out.append(_ansi_c(_text(node)[2:-1]))
        return False
    if kind in ("string", "translated_string"):
        dynamic = False
        for child in node.children:
            if child.type == "string_content":
                out.append(_unescape_double(_text(child)))
            elif child.type in ('"', '$"'):
                continue
            else:
                dynamic |= _build(child, out, quoted=True)
        return dynamic
    if kind in ("simple_expansion", "expansion"):
        inner = _text(node).lstrip("$").strip("{}")
        if inner == "HOME":
            out.append("~")
            return False
        out.append(_DYNAMIC)
        return True
    if kind in (
        "command_substitution",
        "process_substitution",
        "arithmetic_expansion",
        "ERROR",
    ):
        out.append(_DYNAMIC)
        return True
    if node.child_count and kind not in ("word", "number"):
        return any([_build(c, out, quoted=quoted) for c in node.children])
    text = _text(node)
    out.append(text if quoted else _unquoted(text, at_start=not out))
    return False


def _unquoted(text: str, *, at_start: bool) -> str:
    """A bare word's value: `\\x` is a literal x, `\\<newline>` nothing, braces and globs
    become sentinels (only bare ones expand)."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "\\" and i + 1 < n:
            if text[i + 1] != "\n":
                out.append(text[i + 1])
            i += 2
            continue
        if ch == "{":
            out.append(_OPEN)
        elif ch == "}":
            out.append(_CLOSE)
        elif ch == ",":
            out.append(_COMMA)
        else:
            out.append(_GLOBS.get(ch, ch))
        i += 1
    return "".join(out)


def _unescape_double(text: str) -> str:
    """Inside "…" a backslash escapes only `$`, a backtick, `"`, `\\` and newline."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "\\" and i + 1 < n and text[i + 1] in '$`"\\\n':
            if text[i + 1] != "\n":
                out.append(text[i + 1])
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _ansi_c(body: str) -> str:
    """`$'…'`: C escapes (`\\x72m` is `rm`); an undecodable escape stays as written."""
    try:
        return codecs.decode(body.replace("\\'", "'"), "unicode_escape")
    except (UnicodeDecodeError, ValueError):
        return body


def _expand_braces(word: str) -> list[str] | None:
    """Bash brace expansion over sentinel braces; None past MAX_ALTERNATIVES."""
    start = word.find(_OPEN)
    if start < 0:
        return [word]
    if word.count(_OPEN) > MAX_ALTERNATIVES:  # bounds the recursion below, too
        return None
    depth, commas, end = 0, [], -1
    for i in range(start, len(word)):
        ch = word[i]
        if ch == _OPEN:
            depth += 1
        elif ch == _CLOSE:
            depth -= 1
            if depth == 0:
                end = i
                break
        elif ch == _COMMA and depth == 1:
            commas.append(i)
    if end < 0:  # an unmatched `{` is literal
        head = word[: start + 1].replace(_OPEN, "{")
        rest = _expand_braces(word[start + 1 :])
        return None if rest is None else [head + r for r in rest]
    prefix, body, suffix = word[:start], word[start + 1 : end], word[end + 1 :]
    if commas:
        bounds = [start, *commas, end]
        choices = [word[a + 1 : b] for a, b in itertools.pairwise(bounds)]
    else:
        seq = _sequence(body)
        if seq is None:  # `{x}` is literal
            rest = _expand_braces(suffix)
            return None if rest is None else [prefix + "{" + body + "}" + r for r in rest]
        choices = seq
    tails = _expand_braces(suffix)
    if tails is None or len(choices) * len(tails) > MAX_ALTERNATIVES:
        return None
    out: list[str] = []
    for choice in choices:
        inner = _expand_braces(prefix + choice)
        if inner is None or len(out) + len(inner) * len(tails) > MAX_ALTERNATIVES:
            return None
        out.extend(i + t for i in inner for t in tails)
    return out


def _sequence(body: str) -> list[str] | None:
    """`{a..e}` / `{1..9}`: the sequence, or None when `body` is not one (or too long)."""
    a, sep, b = body.partition("..")
    if not sep or ".." in b:
        return None
    if a.lstrip("-").isdigit() and b.lstrip("-").isdigit():
        lo, hi = int(a), int(b)
        if abs(hi - lo) >= MAX_ALTERNATIVES:
            return None
        step = 1 if hi >= lo else -1
        return [str(i) for i in range(lo, hi + step, step)]
    if len(a) == 1 and len(b) == 1:
        lo, hi = ord(a), ord(b)
        if abs(hi - lo) >= MAX_ALTERNATIVES:
            return None
        step = 1 if hi >= lo else -1
        return [chr(i) for i in range(lo, hi + step, step)]
    return None


# ---------------------------------------------------------------- stdin of a command


def _stdin(node: Node) -> str | None:
    """The script text on `node`'s stdin when it is written in the same text: a
    here-string, a heredoc, or `echo`/`printf`/`cat <<EOF` earlier in its pipeline.
    UNKNOWN when it comes from another program; None when nothing is piped in."""
    for child in node.children_by_field_name("redirect"):
        found = _from_redirect(child)
        if found is not None:
            return found
    parent = node.parent
    if parent is not None and parent.type == "redirected_statement":
        for child in parent.children_by_field_name("redirect"):
            found = _from_redirect(child)
            if found is not None:
                return found
    if parent is not None and parent.type == "pipeline":
        stages = [c for c in parent.named_children if c.type not in ("|", "|&")]
        idx = next((i for i, c in enumerate(stages) if c.id == node.id), 0)
        if idx == 0:
            return _heredoc_through(parent)
        return _printed(stages[idx - 1])
    return None


def _from_redirect(redirect: Node) -> str | None:
    if redirect.type == "herestring_redirect":
        value = next((c for c in redirect.named_children), None)
        if value is None:
            return UNKNOWN
        word = _word(value)
        return word.literal if word.literal is not None else UNKNOWN
    if redirect.type == "heredoc_redirect":
        body = next((c for c in redirect.named_children if c.type == "heredoc_body"), None)
        return _text(body) if body is not None else ""
    return None


def _heredoc_through(pipeline: Node) -> str | None:
    """`cat <<EOF | sh`: tree-sitter hangs the pipeline under the heredoc redirect."""
    redirect = pipeline.parent
    if redirect is None or redirect.type != "heredoc_redirect":
        return None
    statement = redirect.parent
    body_cmd = statement.child_by_field_name("body") if statement is not None else None
    if body_cmd is None or body_cmd.type != "command":
        return UNKNOWN
    name = body_cmd.child_by_field_name("name")
    if name is None or _word(name).literal not in ("cat", "tee"):
        return UNKNOWN
    return _from_redirect(redirect)


def _printed(stage: Node) -> str:
    """What an earlier pipeline stage writes, when it only prints literal text."""
    if stage.type == "redirected_statement":
        body = stage.child_by_field_name("body")
        if body is not None and body.type == "command":
            name = body.child_by_field_name("name")
            if name is not None and _word(name).literal in ("cat", "tee"):
                for child in stage.children_by_field_name("redirect"):
                    found = _from_redirect(child)
                    if found is not None:
                        return found
        return UNKNOWN
    if stage.type != "command":
        return UNKNOWN
    name = stage.child_by_field_name("name")
    if name is None:
        return UNKNOWN
    verb = _word(name).literal
    args = [_word(a) for a in stage.children_by_field_name("argument")]
    if verb not in ("echo", "printf") or any(a.dynamic for a in args):
        return UNKNOWN
    values = [a.alts[0] for a in args]
    if verb == "echo":
        while values and values[0] in ("-n", "-e", "-E", "-ne", "-en"):
            values = values[1:]
        return " ".join(values).replace("\\n", "\n")
    if values:  # printf FORMAT ARGS…: the format with its arguments, escapes read
        fmt, rest = values[0], values[1:]
        text = fmt.replace("%s", "{}").replace("%b", "{}")
        try:
            text = text.format(*rest) if rest else fmt
        except (IndexError, ValueError):
            text = " ".join(values)
        return text.replace("\\n", "\n")
    return ""
