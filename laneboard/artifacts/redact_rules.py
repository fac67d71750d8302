"""The rule table of the redactor: which texts are secrets, and how each is recognised.

Kept apart from the engine (`laneboard.artifacts.redact`) so that adding a format is one
entry here and one row in `tests/adversarial/test_secret_formats.py`.

Three layers, tried in this order (an earlier rule's replacement is never re-matched):

1. **Shapes** — tokens with a fixed, documented prefix (provider keys, private-key blocks,
   JWTs). Matched anywhere, with word boundaries checked in code.
2. **detect-secrets' detectors** — the `denylist` patterns of the maintained detect-secrets
   plugins, imported (never copied) on first use and run with RE2. They overlap with layer 1
   on purpose: a format a provider changes is picked up when detect-secrets updates.
3. **Context** — secrets without a prefix, recognised by what surrounds them: a password in
   a URL, an `Authorization:` header, a password flag on a command line (`mysql -p…`,
   `docker login -p`, `--password=`), and assignments whose name says the value is secret
   (`DB_PASSWORD=`, `password:`, `*_TOKEN=`, `"api_key": "…"`, also inside JSON-encoded JSON
   where the quotes carry backslashes).

Every pattern is RE2 syntax (linear time whatever the input: redaction runs on untrusted
text on every prompt). Where a rule needs a look-around, the check is done in code on the
match instead (`left` / `right` character sets, `validate`).

Why this is long: it is a table — one entry per secret format with its pattern and
validator — and a table is easiest to audit when it is read whole, in the order the rules
run; the engine that applies it is in `redact.py`.
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import re2

MARKER_PREFIX = "[REDACTED:"

Validator = Callable[[str, str, int, int], bool]
"""(secret, whole text, start, end) → keep the match?"""


@dataclass(frozen=True)
class Rule:
    """One kind of secret.

    `pattern` is RE2 syntax. The secret is the first of `groups` that matched (by name),
    else the whole match. `hints` are lower-case substrings one of which must occur in the
    text for the rule to run at all (empty: always runs). `left` / `right` are characters
    that must not touch the secret on that side (a token glued to a word is not a token).
    `strip` characters are trimmed from both ends of the secret (for imported patterns that
    include their delimiters).
    """

    kind: str
    pattern: str
    hints: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    validate: Validator | None = None
    left: str = ""
    right: str = ""
    strip: str = ""


WORD = string.ascii_letters + string.digits + "_"
TOKEN_EDGE = WORD + "-"
B64_EDGE = string.ascii_letters + string.digits + "+/="


def shannon_entropy(value: str) -> float:
    """Bits per character of `value` under its own character distribution."""
    if not value:
        return 0.0
    n = len(value)
    return -sum((c / n) * math.log2(c / n) for c in Counter(value).values())


def has_letter_and_digit(value: str) -> bool:
    return any(c.isdigit() for c in value) and any(c.isalpha() for c in value)


def _letter_digit(secret: str, _text: str, _s: int, _e: int) -> bool:
    return has_letter_and_digit(secret)


def _mixed(secret: str, _text: str, _s: int, _e: int) -> bool:
    """Digits, or both cases: a generated token, not a word like `hf_transfer_enabled`."""
    body = secret.split("_", 1)[-1]
    return any(c.isdigit() for c in body) or (body != body.lower() and body != body.upper())


def _not_anthropic(secret: str, _text: str, _s: int, _e: int) -> bool:
    return not secret.startswith("sk-ant-") and has_letter_and_digit(secret[3:])


# ------------------------------------------------------------------ layer 1: shapes

SHAPES: tuple[Rule, ...] = (
    Rule(
        "private-key",
        r"-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----"
        r"(?:[\s\S]*?-----END[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----"
        # An unterminated block (a cut-off paste): take the key material that follows.
        r"|[A-Za-z0-9+/=\s:,\-]*)",
        ("private key",),
    ),
    Rule(
        "private-key",
        r"Private-Lines:[ \t]*\d+[ \t]*\r?\n(?P<s>[A-Za-z0-9+/=\r\n]+)",
        ("private-lines",),
        groups=("s",),
    ),
    Rule("anthropic", r"sk-ant-[A-Za-z0-9_\-]{20,}", ("sk-ant-",), left=TOKEN_EDGE),
    Rule(
        "openai",
        r"sk-(?:proj-|svcacct-|admin-|or-v1-)?[A-Za-z0-9_\-]{20,}",
        ("sk-",),
        validate=_not_anthropic,
        left=TOKEN_EDGE,
    ),
    Rule(
        "github",
        r"gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,}",
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
        left=TOKEN_EDGE,
    ),
    Rule(
        "gitlab",
        r"(?:glpat|gldt|glft|glsoat|glrt|glcbt|glimt|glptt|glagent|gloas)-[A-Za-z0-9_\-]{20,}",
        ("gl",),
        validate=_letter_digit,
        left=TOKEN_EDGE,
    ),
    Rule(
        "aws-access-key-id",
        r"(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}",
        ("akia", "asia", "abia", "acca", "a3t"),
        left=WORD,
        right=string.ascii_letters + string.digits,
    ),
    Rule(
        "google-api-key",
        r"AIza[0-9A-Za-z_\-]{35}",
        ("aiza",),
        left=TOKEN_EDGE,
        right=TOKEN_EDGE,
    ),
    Rule(
        "google-oauth",
        r"ya29\.[0-9A-Za-z_\-]{20,}|GOCSPX-[0-9A-Za-z_\-]{28}",
        ("ya29.", "gocspx-"),
        left=TOKEN_EDGE,
    ),
    Rule(
        "slack-webhook",
        r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/\-]{8,}",
        ("hooks.slack.com",),
    ),
    Rule(
        "slack-token",
        r"xox[abeoprs]-[A-Za-z0-9\-]{10,}",
        ("xox",),
        validate=lambda s, *_: any(c.isdigit() for c in s),
        left=TOKEN_EDGE,
    ),
    Rule(
        "stripe",
        r"(?:sk|rk)_(?:live|test)_[0-9a-zA-Z]{20,}|whsec_[A-Za-z0-9]{24,}",
        ("_live_", "_test_", "whsec_"),
        validate=_letter_digit,
        left=TOKEN_EDGE,
    ),
    Rule(
        "sendgrid",
        r"SG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}",
        ("sg.",),
        left=TOKEN_EDGE,
    ),
    Rule(
        "huggingface",
        r"(?:hf_|api_org_)[A-Za-z0-9]{30,}",
        ("hf_", "api_org_"),
        validate=_mixed,
        left=TOKEN_EDGE,
        right=TOKEN_EDGE,
    ),
    Rule("npm", r"npm_[A-Za-z0-9]{36}", ("npm_",), validate=_mixed, left=TOKEN_EDGE),
    Rule("pypi", r"pypi-AgE[A-Za-z0-9_\-]{50,}", ("pypi-age",), left=TOKEN_EDGE),
    Rule("twilio", r"SK[0-9a-fA-F]{32}", ("sk",), left=WORD, right=WORD),
    Rule("mailchimp", r"[0-9a-f]{32}-us[0-9]{1,2}", ("-us",), left=WORD, right=WORD),
    Rule("mailgun", r"key-[0-9a-z]{32}", ("key-",), validate=_letter_digit, left=TOKEN_EDGE,
         right=WORD),
    Rule(
        "square",
        r"sq0(?:csp|atp)-[0-9A-Za-z_\-]{22,43}|EAAA[0-9A-Za-z_\-]{60}",
        ("sq0", "eaaa"),
        validate=_letter_digit,
        left=TOKEN_EDGE,
    ),
    Rule("shopify", r"shp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}", ("shp",), left=TOKEN_EDGE),
    Rule("digitalocean", r"do[opr]_v1_[a-f0-9]{64}", ("_v1_",), left=TOKEN_EDGE),
    Rule("databricks", r"dapi[a-f0-9]{32}(?:-\d)?", ("dapi",), validate=_letter_digit,
         left=TOKEN_EDGE, right=WORD),
    Rule("linear", r"lin_(?:api|oauth)_[A-Za-z0-9]{40}", ("lin_",), left=TOKEN_EDGE),
    Rule("postman", r"PMAK-[a-f0-9]{24}-[a-f0-9]{34}", ("pmak-",), left=TOKEN_EDGE),
    Rule("age", r"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}", ("age-secret-key-",)),
    Rule("grafana", r"glc_[A-Za-z0-9+/]{32,}={0,2}|glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}",
         ("glc_", "glsa_"), left=TOKEN_EDGE),
    Rule("newrelic", r"NRAK-[A-Z0-9]{27}", ("nrak-",), left=TOKEN_EDGE),
    Rule("vault", r"hv[sb]\.[A-Za-z0-9_\-]{24,}", ("hvs.", "hvb."), left=TOKEN_EDGE),
    Rule("pulumi", r"pul-[a-f0-9]{40}", ("pul-",), left=TOKEN_EDGE),
    Rule("doppler", r"dp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{40,44}", ("dp.",),
         left=TOKEN_EDGE),
    Rule("replicate", r"r8_[A-Za-z0-9]{37}", ("r8_",), validate=_letter_digit, left=TOKEN_EDGE),
    Rule("groq", r"gsk_[A-Za-z0-9]{48,}", ("gsk_",), left=TOKEN_EDGE),
    Rule("xai", r"xai-[A-Za-z0-9]{70,}", ("xai-",), left=TOKEN_EDGE),
    Rule("perplexity", r"pplx-[A-Za-z0-9]{48}", ("pplx-",), left=TOKEN_EDGE),
    Rule("telegram", r"\d{8,10}:AA[0-9A-Za-z_\-]{33}", (":aa",), left=WORD, right=TOKEN_EDGE),
    Rule(
        "azure-storage-key",
        r"AccountKey=(?P<s>[A-Za-z0-9+/]{80,}={0,2})",
        ("accountkey=",),
        groups=("s",),
    ),
    Rule(
        "azure-sas",
        r"[?&]sig=(?P<s>[A-Za-z0-9%+/]{30,}={0,2})",
        ("sig=",),
        groups=("s",),
    ),
    Rule(
        "azure-client-secret",
        r"[A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.\-]{31,34}",
        ("q~",),
        left=WORD + "~.",
        right=WORD + "~.-",
    ),
    Rule(
        "jwt",
        r"eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",
        ("eyj",),
        left=TOKEN_EDGE,
    ),
)

# ------------------------------------------------------------------ layer 2: detect-secrets

#: detect-secrets plugin (module, class) → our kind, and whether the secret is the
#: pattern's first capture group (else the whole match, delimiters trimmed). Left out:
#: PrivateKeyDetector (matches only the header; layer 1 takes the whole block), the
#: IP-address detector (an address is not a secret), the keyword/entropy detectors (layer
#: 3 does that job with quieter rules), and every pattern RE2 cannot run (look-behinds,
#: repetition bounds over 1000): those formats are covered by layers 1 and 3.
DETECT_SECRETS_PLUGINS: tuple[tuple[str, str, str, bool], ...] = (
    ("artifactory", "ArtifactoryDetector", "artifactory", False),
    ("aws", "AWSKeyDetector", "aws", True),
    ("azure_storage_key", "AzureStorageKeyDetector", "azure-storage-key", False),
    ("basic_auth", "BasicAuthDetector", "url-password", True),
    ("cloudant", "CloudantDetector", "cloudant", True),
    ("discord", "DiscordBotTokenDetector", "discord", False),
    ("github_token", "GitHubTokenDetector", "github", False),
    ("gitlab_token", "GitLabTokenDetector", "gitlab", False),
    ("mailchimp", "MailchimpDetector", "mailchimp", False),
    ("npm", "NpmDetector", "npm", True),
    ("openai", "OpenAIDetector", "openai", False),
    ("pypi_token", "PypiTokenDetector", "pypi", False),
    ("sendgrid", "SendGridDetector", "sendgrid", False),
    ("slack", "SlackDetector", "slack-token", False),
    ("softlayer", "SoftlayerDetector", "softlayer", True),
    ("square_oauth", "SquareOAuthDetector", "square", False),
    ("stripe", "StripeDetector", "stripe", False),
    ("telegram_token", "TelegramBotTokenDetector", "telegram", False),
    ("twilio", "TwilioKeyDetector", "twilio", False),
)

_RE2_UNSUPPORTED = re.compile(r"\(\?<?[=!]|\\[1-9]|\{\d*,?\d{4,}\}")
_DELIMS = " \t\r\n=:\"'"


def _re2_ok(pattern: str) -> bool:
    """Whether RE2 accepts `pattern` — checked by its text first, because RE2 logs every
    rejected pattern to stderr, which a CLI must not print."""
    return _RE2_UNSUPPORTED.search(pattern) is None


def detect_secrets_table() -> tuple[tuple[str, str, bool, str], ...]:
    """Layer 2 as (kind, RE2 pattern, secret-is-group-`s`, right edge), read from the
    installed detect-secrets plugins' own `denylist` patterns.

    Slow (detect-secrets pulls in its scanner: about 0.1 s), so it runs only to write and
    to check the frozen copy in `redact_ds_table` — every `laneboard send` used to pay it.
    A pattern whose trailing `(?!\\w)` RE2 cannot run keeps its meaning through
    `right=WORD`; one flagged IGNORECASE gets `(?i)`.
    """
    import importlib

    table: list[tuple[str, str, bool, str]] = []
    for module, cls_name, kind, grouped in DETECT_SECRETS_PLUGINS:
        cls = getattr(importlib.import_module(f"detect_secrets.plugins.{module}"), cls_name)
        for compiled in cls.denylist:
            source: str = compiled.pattern
            right = ""
            if source.endswith(r"(?!\w)"):
                source, right = source[: -len(r"(?!\w)")], WORD
            if compiled.flags & re.IGNORECASE:
                source = "(?i)" + source
            if not _re2_ok(source):
                continue
            named = grouped and re2.compile(source).groups >= 1
            if named:
                source = _name_first_group(source)
            table.append((kind, source, bool(named), right))
    return tuple(table)


def render_ds_table() -> str:
    """The source of `redact_ds_table.py` for the installed detect-secrets."""
    rows = "".join(f"    {row!r},\n" for row in detect_secrets_table())
    return (
        '"""Layer 2 of the redactor, frozen: the detect-secrets plugins\' patterns as\n'
        "(kind, RE2 pattern, secret-is-group-`s`, right edge).\n\n"
        "Why frozen: reading them from detect-secrets costs every process about 0.1 s (its\n"
        "scanner imports), and `laneboard send` redacts on every call. A test checks this\n"
        "table equals what the installed detect-secrets gives; when it does not, regenerate:\n"
        "`python -m laneboard.artifacts.redact_rules > laneboard/artifacts/redact_ds_table.py`.\n"
        '"""\n\nfrom __future__ import annotations\n\n'
        f"TABLE: tuple[tuple[str, str, bool, str], ...] = (\n{rows})\n"
    )


def detect_secrets_rules() -> tuple[Rule, ...]:
    """Layer 2 as rules, from the frozen table (a test keeps it equal to what the installed
    detect-secrets gives)."""
    from laneboard.artifacts.redact_ds_table import TABLE

    return tuple(
        Rule(kind, source, groups=("s",) if named else (), right=right,
             strip=_DELIMS, validate=_not_a_reference)
        for kind, source, named, right in TABLE
    )


def _name_first_group(pattern: str) -> str:
    """`pattern` with its first capturing group named `s` (RE2 has no numbered `span` by
    name otherwise, and our engine reads secrets by group name)."""
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if c == "(" and not pattern.startswith("(?", i):
            return pattern[: i + 1] + "?P<s>" + pattern[i + 1 :]
        i += 1
    return pattern


# ------------------------------------------------------------------ layer 3: context

#: Values that stand for a secret rather than being one: references, templates, masks.
_REFERENCE_START = ("$", "%(", "%{", "{{", "{%", "<", "[", "#{", "@", "*", "...", "…")
#: Words that show up as the value of a secret-named key in code, docs and schemas.
STOPWORDS = frozenset(
    ["none", "null", "nil", "true", "false", "undefined", "str", "string", "bytes", "int", "bool", "secretstr", "optional", "required", "password", "passwd", "pwd", "secret", "token", "key", "value", "your", "changeme", "example", "redacted", "xxx", "xxxx", "xxxxx", "xxxxxxxx", "hidden", "masked", "empty", "no", "yes", "env", "environ", "getenv", "os", "self", "this", "prompt", "input", "stdin", "file", "path", "self.password", "self.token"]
)


#: Documentation placeholders: `your-api-key-here`, `<example>`, `REPLACE_ME`.
_PLACEHOLDER = re.compile(r"your[-_ ]|example|placeholder|replace[-_]?me|please[-_ ]replace"
                          r"|insert[-_ ]|dummy|fake[-_]")


def is_reference(value: str) -> bool:
    """Whether an assigned value names or templates a secret instead of holding it."""
    v = value.strip()
    if not v or v.startswith(_REFERENCE_START) or v.startswith(MARKER_PREFIX):
        return True
    low = v.lower()
    if low.strip(".,;:") in STOPWORDS or _PLACEHOLDER.search(low):
        return True
    # A mask: ****, xxxx, ••••
    return set(v) <= set("*•") or (len(v) >= 3 and set(v) <= set("*xX.•-_"))


def _not_a_reference(secret: str, _text: str, _s: int, _e: int) -> bool:
    return not is_reference(secret)


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*\Z")


def _plain_value(secret: str, text: str, start: int, end: int) -> bool:
    """A bare assigned value that is data, not code: not followed by a call, index or
    attribute (`getpass()`, `os.environ[...]`), not a dotted name (`settings.DB_PASSWORD`)
    and not a reference or stop word."""
    if is_reference(secret) or "(" in secret:
        return False
    nxt = text[end : end + 1]
    if nxt in ("(", "[", ".") or _spaced_identifier(secret, text, start):
        return False
    return not ("." in secret and _IDENT.match(secret))


def _spaced_identifier(secret: str, text: str, start: int) -> bool:
    """`NAME = ident`: an identifier assigned with a space before `=` is code (a shell or
    .env assignment has no spaces; YAML uses a colon)."""
    i = start
    while i > 0 and text[i - 1] in " \t":
        i -= 1
    if i < 2 or text[i - 1] != "=" or text[i - 2] not in " \t":
        return False
    return _IDENT.match(secret) is not None


_PROSE_NEXT = re.compile(r"[ \t]+[A-Za-z]{2,}[ \t.,]")


def is_prose(secret: str, text: str, end: int) -> bool:
    """A bare word followed by more words (`password: The password part of the URL`,
    `--password options instead`): documentation, not a value."""
    return secret.isalpha() and _PROSE_NEXT.match(text, end) is not None


def _code_value(secret: str, text: str, start: int, end: int) -> bool:
    """Like `_plain_value`, and additionally not a code identifier (`password=password`,
    `pw = user_pw`): lower-case names assigned in code hold variables far more often than
    literals; a literal there is quoted, and quoted values take the other branch."""
    if not _plain_value(secret, text, start, end) or is_prose(secret, text, end):
        return False
    return not (_IDENT.match(secret) and ("_" in secret or secret.islower()) and
                not any(c.isdigit() for c in secret))


# A backslash-escaped quote (JSON inside a JSON string, possibly twice) counts as a quote.
_Q = r"(?:\\{0,7}[\"'])"
_ASSIGN = _Q + r"?[ \t]*(?::=|=>|[:=])[ \t]*"
# A quoted value: any run without quotes, backslashes or line breaks (1+ chars).
_QVAL = _Q + r"(?P<q>[^\"'`\\\r\n]{1,256})" + _Q
_BARE = r"(?P<bare>[^\s\"'`,;(){}\[\]<>\\=][^\s\"'`,;(){}\[\]<>\\]{0,255})"

#: Names whose value is a password: any length counts.
_PW_NAME = r"(?:passw(?:or)?d|passphrase|pwd|db_?pass|pgpass)"
#: Names whose value is some other secret (checked for randomness when bare and short).
_SECRET_NAME = (
    r"(?:api[_\-]?key|apikey|secret(?:[_\-]?key)?|token|access[_\-]?key|private[_\-]?key"
    r"|auth[_\-]?key|client[_\-]?secret|credentials?|auth[_\-]?token|session[_\-]?key)"
)
#: Suffixes that turn a secret name into the name of something else (`API_KEY_FILE`).
_NOT_SECRET_SUFFIX = re.compile(
    r"[_.\-](?:file|path|url|uri|name|env|var|dir|header|type|len|length|size|ttl|expiry"
    r"|expires?|id|ids|prefix|field|param|policy|rotation|hash|count|limit|min|max|regex"
    r"|pattern|label|hint|help|prompt|timeout|version|storage|store|manager|provider)\b",
    re.IGNORECASE,
)


def _name_ok(text: str, start: int) -> bool:
    """Look back from the value at the name it is assigned to: refuse `API_KEY_FILE=`."""
    line_start = text.rfind("\n", 0, start) + 1
    head = text[max(line_start, start - 80) : start]
    m = re.search(r"([A-Za-z0-9_.\-]+)\W*$", head)
    return m is None or _NOT_SECRET_SUFFIX.search(m.group(1)) is None


def _pw_value(secret: str, text: str, start: int, end: int) -> bool:
    if not _name_ok(text, start):
        return False
    quoted = start > 0 and text[start - 1] in "\"'`"
    if quoted:
        return not is_reference(secret)
    return _code_value(secret, text, start, end)


def _env_value(secret: str, text: str, start: int, end: int) -> bool:
    """An upper-case `NAME_TOKEN=value` (a .env file, `export`, `docker -e`): any value
    that is data counts; a `*_KEY` name (`SORT_KEY`, `PRIMARY_KEY`) needs 8+ characters
    with a digit, since its value is often an ordinary word."""
    if not _name_ok(text, start) or not _plain_value(secret, text, start, end):
        return False
    head = text[max(0, start - 60) : start].rstrip("\"'` \t=:\\")
    if re.search(r"(?:PASSW(?:OR)?D|PASSPHRASE|PWD|SECRET|TOKEN|API_?KEY|ACCESS_KEY"
                 r"|PRIVATE_KEY|CREDENTIALS?)(?:_[A-Z0-9]+)?$", head):
        return True
    return len(secret) >= 8 and has_letter_and_digit(secret)


def looks_random(value: str, *, min_length: int = 16) -> bool:
    """Whether an assigned value looks like a generated secret rather than a word or code."""
    if len(value) < min_length or is_reference(value):
        return False
    if value[0] in "/~" or value.startswith(("./", "http://", "https://")):
        return False
    entropy = shannon_entropy(value)
    if has_letter_and_digit(value):
        return entropy >= 3.0
    return (len(value) >= 32 and entropy >= 4.0 and value.isalpha()
            and not value.islower() and not value.isupper())


def _random_value(secret: str, text: str, start: int, end: int) -> bool:
    return _name_ok(text, start) and looks_random(secret) and _plain_value(
        secret, text, start, end)


def _secret_value(secret: str, text: str, start: int, end: int) -> bool:
    """A quoted value of a secret-named key: 8+ characters with a letter and a digit (or
    random-looking), not a reference. Shorter or wordy values (`token: "abc"`) are too
    often examples and labels to redact without the shape rules' help."""
    if not _name_ok(text, start) or is_reference(secret) or " " in secret.strip():
        return False
    return (len(secret) >= 8 and has_letter_and_digit(secret)) or looks_random(secret)


CONTEXT: tuple[Rule, ...] = (
    Rule(
        "aws-secret-access-key",
        r"(?i)(?:aws[_\-]?secret(?:[_\-]?access)?(?:[_\-]?key)?|secret[_\-]?access[_\-]?key)"
        + _ASSIGN + _Q + r"?(?P<s>[A-Za-z0-9/+=]{40})",
        ("secret",),
        groups=("s",),
        right=B64_EDGE,
    ),
    Rule(
        # scheme://user:password@host — any password, any scheme (postgres, redis, amqp,
        # https, mongodb+srv ...). `$VAR` / `${VAR}` passwords are references, kept.
        "url-password",
        r"[A-Za-z][A-Za-z0-9+.\-]{0,30}://[^\s:/@\"'<>]{0,128}:(?P<s>[^\s@/\"'<>]{1,256})@"
        r"[A-Za-z0-9\[]",
        ("://",),
        groups=("s",),
        validate=_not_a_reference,
    ),
    Rule(
        "basic-auth",
        r"(?i)authorization\\{0,7}[\"']?[ \t]*[:=][ \t]*\\{0,7}[\"']?[ \t]*basic[ \t]+"
        r"(?P<s>[A-Za-z0-9+/]{4,}={0,2})",
        ("basic",),
        groups=("s",),
    ),
    Rule(
        # `Authorization: Bearer <anything token-shaped>` is a secret whatever its length.
        "bearer",
        r"(?i)authorization\\{0,7}[\"']?[ \t]*[:=][ \t]*\\{0,7}[\"']?[ \t]*(?:bearer|token)"
        r"[ \t]+(?P<s>[A-Za-z0-9\-._~+/]{6,}=*)",
        ("authorization",),
        groups=("s",),
    ),
    Rule(
        # A bearer token outside a header (`curl -H "Bearer ..."`, a log line): only long,
        # random-looking values, so prose about "Bearer tokens" stays.
        "bearer",
        r"(?i)bearer[ \t]+(?P<s>[A-Za-z0-9\-._~+/]{20,}=*)",
        ("bearer",),
        groups=("s",),
        validate=_letter_digit,
        left=string.ascii_letters + string.digits,
    ),
    Rule(
        # mysql/mariadb take the password glued to -p (`-p secret` is a database name).
        "cli-password",
        r"(?:mysql|mysqldump|mysqladmin|mariadb|mariadb-dump|mysqlimport)[ \t][^\n|;&]{0,200}?"
        r"[ \t]-p(?:\"(?P<dq>[^\"\n]{1,256})\"|'(?P<sq>[^'\n]{1,256})'|(?P<bare>[^\s\"'`;&|]+))",
        ("mysql", "mariadb"),
        groups=("dq", "sq", "bare"),
        validate=_not_a_reference,
    ),
    Rule(
        # docker/podman/helm/oras login -p VALUE, sshpass -p VALUE, redis-cli -a VALUE.
        "cli-password",
        r"(?:(?:docker|podman|nerdctl|buildah|skopeo|helm registry|oras|crane)[ \t]+login"
        r"[^\n|;&]{0,200}?[ \t]-p|sshpass[ \t]+-p|redis-cli[^\n|;&]{0,200}?[ \t]-a)"
        r"[ \t]*(?:\"(?P<dq>[^\"\n]{1,256})\"|'(?P<sq>[^'\n]{1,256})'|(?P<bare>[^\s\"'`;&|]+))",
        ("login", "sshpass", "redis-cli"),
        groups=("dq", "sq", "bare"),
        validate=_not_a_reference,
    ),
    Rule(
        # --password VALUE / --password=VALUE on any command line, and friends.
        "cli-password",
        r"(?i)[ \t]--?(?:[a-z0-9]+-)*(?:password|passwd|pass|token|api-key|apikey|secret"
        r"|client-secret|access-key|secret-key|auth-token)(?:=|[ \t]+)"
        r"(?:\"(?P<dq>[^\"\n]{1,256})\"|'(?P<sq>[^'\n]{1,256})'|(?P<bare>[^\s\"'`;&|]+))",
        ("--",),
        groups=("dq", "sq", "bare"),
        validate=lambda s, t, a, b: not s.startswith(("-", "/", "./", "~"))
        and _not_a_reference(s, t, a, b) and not is_prose(s, t, b),
    ),
    Rule(
        # curl -u user:password / --user user:password
        "cli-password",
        r"(?:[ \t]-u|[ \t]--user)(?:=|[ \t]+)[\"']?[^\s:\"']{1,128}:(?P<s>[^\s\"']{1,256})",
        ("-u", "--user"),
        groups=("s",),
        validate=_not_a_reference,
    ),
    Rule(
        # Upper-case environment style: DB_PASSWORD=…, export API_TOKEN=…, "STRIPE_KEY": "…".
        "env-secret",
        r"(?:^|[^A-Za-z0-9_])(?:[A-Z0-9]+_)*(?:[A-Z0-9]*PASSW(?:OR)?D|[A-Z0-9]*PASSPHRASE|PWD"
        r"|SECRET|TOKEN|KEY|APIKEY|CREDENTIALS?)(?:_[A-Z0-9]+)*" + _ASSIGN
        + r"(?:" + _QVAL + r"|" + _BARE + r")",
        ("pass", "pwd", "secret", "token", "key", "credential"),
        groups=("q", "bare"),
        validate=_env_value,
    ),
    Rule(
        # password: hunter2 / "password": "pw" / db_password = 'x' — any length.
        "password",
        r"(?i)(?:^|[^A-Za-z0-9])(?:[a-z0-9]+[_.\-]?)*" + _PW_NAME + r"(?:[_.\-][a-z0-9_.\-]{0,24})?"
        + _ASSIGN + r"(?:" + _QVAL + r"|" + _BARE + r")",
        ("pass", "pwd"),
        groups=("q", "bare"),
        validate=_pw_value,
    ),
    Rule(
        "secret-assignment",
        r"(?i)" + _SECRET_NAME + r"(?:[_.\-][a-z0-9_.\-]{0,24})?" + _ASSIGN
        + _QVAL,
        ("key", "secret", "token", "credential"),
        groups=("q",),
        validate=_secret_value,
    ),
    Rule(
        "secret-assignment",
        r"(?i)" + _SECRET_NAME + r"(?:[_.\-][a-z0-9_.\-]{0,24})?" + _ASSIGN + _BARE,
        ("key", "secret", "token", "credential"),
        groups=("bare",),
        validate=_random_value,
    ),
)


if __name__ == "__main__":  # the regeneration command named in redact_ds_table.py
    import sys

    sys.stdout.write(render_ds_table())
