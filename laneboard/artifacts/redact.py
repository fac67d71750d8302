"""Keep secrets out of prompts and artifacts.

A diff under review, a pasted log or an agent's answer can carry credentials. Whatever
laneboard sends to a model or writes to disk first goes through `redact`, which replaces
each secret with `[REDACTED:<kind>]` and counts what it replaced, so an artifact can say
"3 secrets removed" without saying what they were.

Design choices, and why:

- Provider tokens (Anthropic, OpenAI, GitHub, AWS key ids, Google, Slack) have fixed
  prefixes, so they are matched by shape alone, anywhere in the text.
- Secrets without a prefix (an AWS secret key, a password, a random `API_KEY`) are only
  recognised by context: an assignment whose name says it is secret and whose value looks
  random (long, mixed letters and digits, high Shannon entropy). Bare hex digests (git
  SHAs, sha256 sums) and UUIDs in running text therefore stay untouched: nothing tells them
  apart from the many harmless digests in diffs and logs.
- Only the secret value is replaced; `API_KEY=` and `Authorization: Bearer` stay, so a
  reader still sees what was there.
- Markers never match any rule, so redacting twice changes nothing more (idempotence is
  what lets the review command redact the prompt and the store redact it again).
- Every pattern is compiled once at import, bounded (no nested quantifiers over the same
  characters) and guarded by a cheap substring test, so a megabyte of log is fast.
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

MARKER_PREFIX = "[REDACTED:"


def marker(kind: str) -> str:
    """The text that replaces one secret of `kind`."""
    return f"{MARKER_PREFIX}{kind}]"


@dataclass(frozen=True)
class RedactionResult:
    """The redacted text, how many secrets were replaced, and how many of each kind."""

    text: str
    count: int = 0
    kinds: dict[str, int] = field(default_factory=dict)

    def __add__(self, other: RedactionResult) -> RedactionResult:
        """Combine the counts of two redactions (the text is `other`'s, the later one)."""
        return RedactionResult(
            other.text, self.count + other.count, merge_kinds(self.kinds, other.kinds)
        )


def merge_kinds(*counts: Mapping[str, int]) -> dict[str, int]:
    """Sum per-kind counts (for example the prompt's and the answer's), sorted by kind."""
    total: Counter[str] = Counter()
    for c in counts:
        total.update(c)
    return dict(sorted(total.items()))


def shannon_entropy(value: str) -> float:
    """Bits per character of `value` under its own character distribution."""
    if not value:
        return 0.0
    n = len(value)
    return -sum((c / n) * math.log2(c / n) for c in Counter(value).values())


def _has_letter_and_digit(value: str) -> bool:
    return any(c.isdigit() for c in value) and any(c.isalpha() for c in value)


def looks_random(value: str, *, min_length: int = 16) -> bool:
    """Whether an assigned value looks like a generated secret rather than a word or code.

    Generated secrets mix letters and digits and spread over many characters; names,
    sentences, placeholders (`your-api-key-here`) and references (`os.environ[...]`,
    `${TOKEN}`) do not. A long letters-only value still counts when it mixes cases and is
    very spread out, which catches random base52 strings but not `some_function_name`.
    """
    if len(value) < min_length or value.startswith(MARKER_PREFIX):
        return False
    if value[0] in "$%<{/~" or value.startswith(("./", "http://", "https://")):
        return False
    entropy = shannon_entropy(value)
    if _has_letter_and_digit(value):
        return entropy >= 3.0
    return (
        len(value) >= 32
        and entropy >= 4.0
        and value.isalpha()
        and not value.islower()
        and not value.isupper()
    )


Validator = Callable[[str], bool]


@dataclass(frozen=True)
class _Rule:
    """One kind of secret: a pattern, the group(s) holding the secret, and a sanity check.

    `groups` names the capture groups that may hold the secret (the first that matched is
    replaced, keeping the surrounding context); empty means the whole match. `hints` are
    lower-case substrings at least one of which must occur for the rule to be tried at all.
    `lower` rules are written in lower case and run on the lower-cased text: that is how
    they match case-insensitively while keeping a literal first, which lets the regex
    engine skip ahead (an `(?i)` pattern is ~20x slower on a megabyte of code). `left`
    lists characters that must not sit just before the match (a token glued to a word is
    not a token); checking it in code rather than with a leading look-behind keeps the
    literal prefix too.
    """

    kind: str
    pattern: re.Pattern[str]
    hints: tuple[str, ...]
    groups: tuple[str, ...] = ()
    validate: Validator | None = None
    lower: bool = False
    left: str = ""


_WORD = string.ascii_letters + string.digits + "_-"

# Names that say a value is secret (matched in lower case). The keyword may be prefixed
# (`GITHUB_TOKEN`, `db_password`) or followed by a separated suffix (`SECRET_KEY_BASE`), but
# not glued to more letters (`tokenizer`, `tokens`, `secretary`).
_SECRET_NAME = (
    r"(?:api[_\-]?key|apikey|secret(?:[_\-]?key)?|token|passw(?:or)?d|passphrase|pwd"
    r"|access[_\-]?key|private[_\-]?key|auth[_\-]?key|client[_\-]?secret|credentials?)"
)
_ASSIGN = r"[\"']?\s*(?::=|=>|[:=])"

_RULES: tuple[_Rule, ...] = (
    _Rule(
        "private-key",
        re.compile(
            r"-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----"
            r"(?:[\s\S]*?-----END[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----"
            # An unterminated block (a cut-off paste): take the key material that follows.
            r"|[A-Za-z0-9+/=\s:,\-]*)"
        ),
        ("private key",),
    ),
    _Rule("anthropic", re.compile(r"sk-ant-[A-Za-z0-9_\-]{20,}"), ("sk-ant-",), left=_WORD),
    _Rule(
        "openai",
        re.compile(r"sk-(?!ant-)(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}"),
        ("sk-",),
        validate=lambda s: _has_letter_and_digit(s[3:]),
        left=_WORD,
    ),
    _Rule(
        "github",
        re.compile(r"gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,}"),
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
        left=_WORD,
    ),
    _Rule(
        "aws-access-key-id",
        re.compile(r"A(?:KIA|SIA)[A-Z0-9]{16}(?![A-Za-z0-9])"),
        ("akia", "asia"),
        left=_WORD,
    ),
    _Rule(
        "aws-secret-access-key",
        re.compile(
            r"(?:aws[_\-]?secret(?:[_\-]?access)?(?:[_\-]?key)?|secret[_\-]?access[_\-]?key)"
            + _ASSIGN
            + r"\s*[\"']?(?P<s>[A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])"
        ),
        ("secret",),
        groups=("s",),
        lower=True,
    ),
    _Rule(
        "google-api-key",
        re.compile(r"AIza[0-9A-Za-z_\-]{35}(?![0-9A-Za-z_\-])"),
        ("aiza",),
        left=_WORD,
    ),
    _Rule(
        "slack-webhook",
        re.compile(
            r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/\-]{8,}"
        ),
        ("hooks.slack.com",),
    ),
    _Rule(
        "slack-token",
        re.compile(r"xox[abprs]-[A-Za-z0-9\-]{10,}"),
        ("xox",),
        validate=lambda s: any(c.isdigit() for c in s),
        left=_WORD,
    ),
    _Rule(
        "jwt",
        re.compile(r"eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"),
        ("eyj",),
        left=_WORD,
    ),
    _Rule(
        # `Authorization: Bearer <anything token-shaped>` is a secret whatever its length.
        "bearer",
        re.compile(
            r"authorization[\"']?\s*[:=]\s*[\"']?(?:bearer|token)\s+"
            r"(?P<s>[a-z0-9\-._~+/]{6,}=*)"
        ),
        ("authorization",),
        groups=("s",),
        lower=True,
    ),
    _Rule(
        # A bearer token outside a header (`curl -H "Bearer ..."`, a log line): only long,
        # random-looking values, so prose about "Bearer tokens" stays.
        "bearer",
        re.compile(r"bearer\s+(?P<s>[a-z0-9\-._~+/]{20,}=*)"),
        ("bearer",),
        groups=("s",),
        validate=_has_letter_and_digit,
        lower=True,
        left=string.ascii_letters + string.digits,
    ),
    _Rule(
        "secret-assignment",
        re.compile(
            _SECRET_NAME
            + r"(?:[_.\-][a-z0-9_.\-]{0,24})?"
            + _ASSIGN
            + r"[ \t]*"
            + r"(?:\"(?P<dq>[^\"\s]{16,})\"|'(?P<sq>[^'\s]{16,})'"
            + r"|(?P<bare>[^\s\"'`,;(){}\[\]<>]{16,}))"
        ),
        ("key", "secret", "token", "pass", "pwd", "credential"),
        groups=("dq", "sq", "bare"),
        validate=looks_random,
        lower=True,
    ),
)

_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def _lower(text: str) -> str:
    """`text` in lower case, character for character (same length, same positions)."""
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    return text.translate(_ASCII_LOWER)  # rare: a character like "İ" grew when lowered


class Redactor:
    """Replaces secrets with `[REDACTED:<kind>]`.

    `literals` are known secret values (for example the value of a lane's `api_key_env`)
    that are redacted wherever they appear, as kind `known-secret`, even when no pattern
    would recognise them. Values shorter than 8 characters are ignored: redacting every
    `a` in a text would destroy it without protecting anything.
    """

    def __init__(self, literals: Iterable[str] = ()) -> None:
        values = sorted({v for v in literals if len(v) >= 8}, key=len, reverse=True)
        self._literal: re.Pattern[str] | None = (
            re.compile("|".join(re.escape(v) for v in values)) if values else None
        )

    def redact(self, text: str) -> RedactionResult:
        """Redact `text`; the result's `kinds` counts replacements per kind."""
        counts: Counter[str] = Counter()
        if self._literal is not None:
            text, n = self._literal.subn(marker("known-secret"), text)
            if n:
                counts["known-secret"] += n
        lowered = _lower(text)
        for rule in _RULES:
            if not any(h in lowered for h in rule.hints):
                continue
            spans = _find(rule, text, lowered)
            if spans:
                text = _splice(text, spans, marker(rule.kind))
                lowered = _lower(text)
                counts[rule.kind] += len(spans)
        total = sum(counts.values())
        return RedactionResult(text, total, dict(sorted(counts.items())))


def _find(rule: _Rule, text: str, lowered: str) -> list[tuple[int, int]]:
    """The spans of `text` holding secrets of `rule`'s kind, in order, not overlapping."""
    spans: list[tuple[int, int]] = []
    for m in rule.pattern.finditer(lowered if rule.lower else text):
        if rule.left and m.start() > 0 and text[m.start() - 1] in rule.left:
            continue
        start, end = m.span()
        for g in rule.groups:
            if m.group(g) is not None:
                start, end = m.span(g)
                break
        if rule.validate is not None and not rule.validate(text[start:end]):
            continue
        spans.append((start, end))
    return spans


def _splice(text: str, spans: list[tuple[int, int]], replacement: str) -> str:
    parts: list[str] = []
    last = 0
    for start, end in spans:
        parts.append(text[last:start])
        parts.append(replacement)
        last = end
    parts.append(text[last:])
    return "".join(parts)


_DEFAULT = Redactor()


def redact(text: str) -> RedactionResult:
    """Redact `text` with the built-in patterns (see the module docstring)."""
    return _DEFAULT.redact(text)


KINDS: tuple[str, ...] = (*dict.fromkeys(r.kind for r in _RULES), "known-secret")
"""Every kind a redaction may report."""
