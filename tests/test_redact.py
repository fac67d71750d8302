"""The redactor: every pattern, the false-positive guards, idempotence, a property test.

Fake secrets are assembled from pieces at run time so that no complete token-shaped
string sits in the repository (secret scanners would flag the test file otherwise).
"""

from __future__ import annotations

import random
import string
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from laneboard.artifacts.redact import KINDS, Redactor, looks_random, marker, redact

B62 = string.ascii_letters + string.digits


def rnd(n: int, alphabet: str = B62, seed: int = 7) -> str:
    """A random-looking string with at least one letter and one digit."""
    r = random.Random(seed * 1000 + n)
    body = [r.choice(alphabet) for _ in range(n)]
    body[0], body[-1] = "Q", "7"
    return "".join(body)


ANTHROPIC = "sk-" + "ant-" + "api03-" + rnd(93, B62 + "-_") + "AA"
OPENAI_LEGACY = "sk-" + rnd(20) + "T3Blbk" + "FJ" + rnd(20, seed=2)
OPENAI_PROJ = "sk-" + "proj-" + rnd(120, B62 + "-_", seed=3)
GH = {p: p + "_" + rnd(36, seed=i) for i, p in enumerate(["ghp", "gho", "ghu", "ghs", "ghr"])}
GH_PAT = "github_" + "pat_" + rnd(22, seed=4) + "_" + rnd(59, seed=5)
AWS_ID = "AKIA" + rnd(16, string.ascii_uppercase + string.digits, seed=6)
AWS_STS_ID = "AS" + "IA" + rnd(16, string.ascii_uppercase + string.digits, seed=8)
AWS_SECRET = rnd(40, B62 + "/+", seed=9)
GOOGLE = "AI" + "za" + rnd(35, B62 + "-_", seed=10)
SLACK_BOT = "xox" + "b-" + "1234567890-1234567890123-" + rnd(24, seed=11)
SLACK_USER = "xox" + "p-" + "1234567890-1234567890-1234567890123-" + rnd(32, seed=12)
SLACK_HOOK = (
    "https://hooks." + "slack.com/services/T0" + rnd(8, seed=13) + "/B0" + rnd(8) + "/" + rnd(24)
)
JWT = (
    "ey"
    + "J"
    + rnd(30, seed=14)
    + ".ey"
    + "J"
    + rnd(40, seed=15)
    + "."
    + rnd(43, B62 + "-_", seed=16)
)
BEARER = rnd(32, seed=17)
HIGH_ENTROPY = rnd(32, seed=18)
PEM_BODY = "\n".join(rnd(64, B62 + "+/", seed=20 + i) for i in range(6))
PRIVATE_KEY = f"-----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}\n-----END RSA PRIVATE KEY-----"
OPENSSH_KEY = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\n" + PEM_BODY + "\n-----END OPENSSH PRIVATE KEY-----"
)

# (text, the secret that must disappear, kind reported)
CASES: list[tuple[str, str, str]] = [
    (f"export ANTHROPIC_API_KEY={ANTHROPIC}", ANTHROPIC, "anthropic"),
    (f"client = Anthropic(api_key='{ANTHROPIC}')", ANTHROPIC, "anthropic"),
    (f"OPENAI_API_KEY={OPENAI_LEGACY}", OPENAI_LEGACY, "openai"),
    (f'key = "{OPENAI_PROJ}"', OPENAI_PROJ, "openai"),
    *[(f"token {tok} leaked", tok, "github") for tok in GH.values()],
    (f"GH_TOKEN={GH_PAT}", GH_PAT, "github"),
    (f"aws_access_key_id = {AWS_ID}", AWS_ID, "aws-access-key-id"),
    (f"AccessKeyId: {AWS_STS_ID}", AWS_STS_ID, "aws-access-key-id"),
    (f"aws_secret_access_key = {AWS_SECRET}", AWS_SECRET, "aws-secret-access-key"),
    (f'"SecretAccessKey": "{AWS_SECRET}"', AWS_SECRET, "aws-secret-access-key"),
    (f"AWS_SECRET_ACCESS_KEY={AWS_SECRET}", AWS_SECRET, "aws-secret-access-key"),
    (f"https://maps.googleapis.com/api?key={GOOGLE}&q=x", GOOGLE, "google-api-key"),
    (f"SLACK_BOT_TOKEN={SLACK_BOT}", SLACK_BOT, "slack-token"),
    (f"token: {SLACK_USER}", SLACK_USER, "slack-token"),
    (f"post to {SLACK_HOOK} when done", SLACK_HOOK, "slack-webhook"),
    (f"Authorization: Bearer {BEARER}", BEARER, "bearer"),
    (f'curl -H "authorization: bearer {BEARER}" https://api', BEARER, "bearer"),
    (f"headers = {{'Authorization': 'Bearer {BEARER}'}}", BEARER, "bearer"),
    (f"sent Bearer {BEARER} to the proxy", BEARER, "bearer"),
    (f"Authorization: Bearer {JWT}", JWT, "jwt"),
    (f"cookie session={JWT}", JWT, "jwt"),
    (f"key file:\n{PRIVATE_KEY}\nend", PEM_BODY, "private-key"),
    (f"{OPENSSH_KEY}\n", PEM_BODY, "private-key"),
    (f"-----BEGIN PRIVATE KEY-----\n{PEM_BODY}", PEM_BODY, "private-key"),  # cut off
    (f'API_KEY = "{HIGH_ENTROPY}"', HIGH_ENTROPY, "env-secret"),
    (f"secret: {HIGH_ENTROPY}", HIGH_ENTROPY, "secret-assignment"),
    (f"TOKEN={HIGH_ENTROPY}", HIGH_ENTROPY, "env-secret"),
    (f'{{"client_secret": "{HIGH_ENTROPY}"}}', HIGH_ENTROPY, "secret-assignment"),
    (f"db_password: '{HIGH_ENTROPY}'", HIGH_ENTROPY, "password"),
    (f"STRIPE_SECRET_KEY := {HIGH_ENTROPY}", HIGH_ENTROPY, "env-secret"),
    (f"  private_key => '{HIGH_ENTROPY}',", HIGH_ENTROPY, "secret-assignment"),
]


@pytest.mark.parametrize(
    ("text", "secret", "kind"), CASES, ids=[f"{c[2]}-{i}" for i, c in enumerate(CASES)]
)
def test_every_pattern_is_redacted(text: str, secret: str, kind: str) -> None:
    result = redact(text)
    assert secret not in result.text
    assert f"[REDACTED:{kind}:" in result.text
    assert result.kinds.get(kind, 0) >= 1
    assert result.count == sum(result.kinds.values())


def test_context_is_kept_and_only_the_value_replaced() -> None:
    assert (
        redact(f"Authorization: Bearer {BEARER}").text
        == f"Authorization: Bearer {marker('bearer', BEARER)}"
    )
    assert (
        redact(f'API_KEY = "{HIGH_ENTROPY}"').text
        == f'API_KEY = "{marker("env-secret", HIGH_ENTROPY)}"'
    )
    assert (
        redact(f"aws_secret_access_key = {AWS_SECRET}\n").text
        == f"aws_secret_access_key = {marker('aws-secret-access-key', AWS_SECRET)}\n"
    )
    assert redact(f"a {GH['ghp']} b").text == f"a {marker('github', GH['ghp'])} b"


def test_placeholders_are_stable_and_distinct() -> None:
    """The same secret gets the same placeholder everywhere in a text; two secrets differ
    (what a gateway restoring them needs); the tag is keyed, so it says nothing offline."""
    text = f"{ANTHROPIC} then {GH['ghp']} then {ANTHROPIC} again; password: pw1 / password: pw2"
    out = redact(text).text
    a, g = marker("anthropic", ANTHROPIC), marker("github", GH["ghp"])
    assert out.count(a) == 2 and out.count(g) == 1
    assert marker("password", "pw1") in out and marker("password", "pw2") in out
    assert marker("password", "pw1") != marker("password", "pw2")
    assert marker("x", "pw1", key=b"k1") != marker("x", "pw1", key=b"k2")


def test_counts_per_kind() -> None:
    text = f"{ANTHROPIC}\n{ANTHROPIC}\n{GH['ghs']}\nAuthorization: Bearer {BEARER}\n"
    result = redact(text)
    assert result.kinds == {"anthropic": 2, "bearer": 1, "github": 1}
    assert result.count == 4


def test_every_kind_is_known() -> None:
    covered = {kind for _, _, kind in CASES} | {"known-secret"}
    assert covered <= set(KINDS)


SHA1 = "3f786850e387550fdab836ed7e6dc881de23001b"
SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
UUID = "550e8400-e29b-41d4-a716-446655440000"

NOT_SECRETS = [
    f"commit {SHA1}\nAuthor: A <a@example.com>",
    f"Merge: {SHA1[:7]} {SHA1[7:14]}",
    f"{SHA256}  laneboard-0.1.0.tar.gz",
    f"sha256: {SHA256}",
    f'"integrity": "sha512-{SHA256}"',
    f"index {SHA1[:12]}..{SHA1[-12:]} 100644",
    f"request_id: {UUID}",
    f"uuid = '{UUID}'",
    f"trace {UUID.upper()} done",
    "def get_token(self) -> str:\n    token = self._load_token()\n    return token",
    "max_tokens: 4096\ntokens_used = 123456789012345678",
    "password = os.environ['DATABASE_PASSWORD']",
    'api_key = os.getenv("OPENAI_API_KEY")',
    "tokenizer = AutoTokenizer.from_pretrained(model_name_or_path_12345)",
    "API_KEY=your-api-key-here-please-replace",
    'TOKEN="${GITHUB_TOKEN_FROM_THE_ENVIRONMENT}"',
    "secret_path: /var/lib/laneboard/secrets/key-2024-01.pem",
    "Bearer tokens are sent in the Authorization header; see the auth docs.",
    "Authorization: Bearer $TOKEN",
    "pip install scikit-learn  # sk-learn-is-the-import-name-of-scikit-learn",
    "the task-1234567890abcdefghijklmnop was retried",
    "risk-assessment-2024-quarterly-report-final-v2",
    "ASIAN markets and AKIAN words are not keys",
    "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n-----END PUBLIC KEY-----",
    "The reviewer found 3 issues in src/laneboard/artifacts/store.py:120.",
    "x = secret_sauce(1234567890123456)",
    "",
]


@pytest.mark.parametrize("text", NOT_SECRETS)
def test_false_positive_guards(text: str) -> None:
    result = redact(text)
    assert result.text == text
    assert result.count == 0


def test_idempotent_on_every_case() -> None:
    everything = "\n".join(text for text, _, _ in CASES) + "\n" + "\n".join(NOT_SECRETS)
    once = redact(everything)
    twice = redact(once.text)
    assert twice.text == once.text
    assert twice.count == 0


def test_known_literals() -> None:
    value = "hunter2-but-longer"
    r = Redactor(literals=[value, "short"])
    result = r.redact(f"the password is {value}, short stays")
    assert result.text == f"the password is {marker('known-secret', value)}, short stays"
    assert result.kinds == {"known-secret": 1}


def test_looks_random() -> None:
    assert looks_random(HIGH_ENTROPY)
    assert not looks_random("aaaaaaaaaaaaaaaa1")
    assert not looks_random("some_function_name_here")
    r = random.Random(1)
    assert looks_random("".join(r.choice(string.ascii_letters) for _ in range(40)))


def test_fast_on_a_large_text() -> None:
    chunk = "\n".join(NOT_SECRETS) + "\n" + "x" * 5000 + "\n" + "A" * 5000 + "\n"
    text = chunk * 40  # ~ 0.5 MB, with long runs that would hurt a backtracking pattern
    start = time.perf_counter()
    redact(text + CASES[0][0])
    assert time.perf_counter() - start < 2.0


# ---------------------------------------------------------------------------- property


def _make_secret(kind: str, r: random.Random) -> tuple[str, str]:
    """(text to embed, secret that must vanish) for `kind`, from the random source `r`."""

    def body(n: int, alphabet: str = B62) -> str:
        chars = [r.choice(alphabet) for _ in range(n)]
        chars[r.randrange(n)] = r.choice(string.digits)
        chars[r.randrange(n)] = r.choice([c for c in alphabet if c.isalpha()])
        return "".join(chars)

    upper = string.ascii_uppercase + string.digits
    makers = {
        "anthropic": lambda: ("sk-" + "ant-api03-" + body(r.randint(40, 100), B62 + "-_"),) * 2,
        "openai": lambda: ("sk-" + r.choice(["", "proj-"]) + body(r.randint(20, 100)),) * 2,
        "github": lambda: (r.choice(["ghp", "gho", "ghu", "ghs", "ghr"]) + "_" + body(36),) * 2,
        "github-pat": lambda: ("github_" + "pat_" + body(22) + "_" + body(59),) * 2,
        "aws-id": lambda: (r.choice(["AKIA", "ASIA"]) + body(16, upper),) * 2,
        "google": lambda: ("AIza" + body(35, B62 + "-_"),) * 2,
        "slack": lambda: (
            ("xox" + r.choice("abprs") + "-" + body(r.randint(10, 60), B62 + "-"),) * 2
        ),
    }
    if kind in makers:
        text, secret = makers[kind]()
        return text, secret
    value = body(r.randint(20, 80))
    if kind == "aws-secret":
        value = body(40, B62 + "/+")
        return f"aws_secret_access_key = {value}", value
    if kind == "bearer":
        return f"Authorization: Bearer {value}", value
    if kind == "private-key":
        pem = "\n".join(body(64, B62 + "+/") for _ in range(r.randint(1, 5)))
        return f"-----BEGIN EC PRIVATE KEY-----\n{pem}\n-----END EC PRIVATE KEY-----", pem
    name = r.choice(["API_KEY", "secret", "TOKEN", "db_password", "client_secret", "auth_key"])
    template = r.choice(['{n} = "{v}"', "{n}: {v}", "{n}={v}", "'{n}': '{v}'"])
    return template.format(n=name, v=value), value


SECRET_KINDS = [
    "anthropic",
    "openai",
    "github",
    "github-pat",
    "aws-id",
    "google",
    "slack",
    "aws-secret",
    "bearer",
    "private-key",
    "assignment",
]
_filler = st.text(alphabet=st.characters(codec="utf-8"), max_size=60)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(SECRET_KINDS),
    seed=st.integers(min_value=0, max_value=2**32),
    before=_filler,
    after=_filler,
    sep=st.sampled_from([" ", "\n", "\t", " (", "\n> "]),
)
def test_redacted_output_never_contains_the_secret(
    kind: str, seed: int, before: str, after: str, sep: str
) -> None:
    text, secret = _make_secret(kind, random.Random(seed))
    result = redact(f"{before}{sep}{text}\n{after}")
    assert secret not in result.text
    assert result.count >= 1
    again = redact(result.text)
    assert again.text == result.text and again.count == 0


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_redaction_is_idempotent_on_any_text(text: str) -> None:
    once = redact(text)
    assert redact(once.text).text == once.text


def test_frozen_detect_secrets_table_matches_the_installed_plugins() -> None:
    """The frozen layer-2 table (kept so a `send` does not import detect-secrets) is what
    the installed detect-secrets gives; a detect-secrets upgrade that changes a pattern
    turns this red with the command that regenerates it."""
    from laneboard.artifacts.redact_ds_table import TABLE
    from laneboard.artifacts.redact_rules import detect_secrets_table

    assert detect_secrets_table() == TABLE, (
        "regenerate: python -m laneboard.artifacts.redact_rules"
        " > laneboard/artifacts/redact_ds_table.py")
    assert len(TABLE) >= 20
