"""Promise under attack: a secret in any common format never survives redaction.

Each row of FORMATS is a snippet carrying a secret (assembled from pieces at run time, so
no complete token sits in the repository); every snippet is tried bare, in prose, in a
JSON document, in JSON-encoded JSON, inside a URL and on a shell command line, and the
secret value must be gone from the result every time. NEAR_MISSES are texts that look
like secrets and are not (digests, references, placeholders, code, prose): they must come
back unchanged. Add a row to extend either table.
"""

from __future__ import annotations

import json
import random
import string
from collections.abc import Callable

import pytest

from laneboard.artifacts.redact import redact

B62 = string.ascii_letters + string.digits
HEX = "0123456789abcdef"


def rnd(n: int, alphabet: str = B62, seed: int = 0) -> str:
    r = random.Random(seed * 7919 + n)
    body = [r.choice(alphabet) for _ in range(n)]
    if alphabet == B62 or alphabet.startswith(B62):
        body[0], body[-1] = "Q", "7"
    return "".join(body)


UP = string.ascii_uppercase + string.digits
J = "".join  # join pieces so no token literal appears in the file

# (name, snippet, secret that must vanish)
FORMATS: list[tuple[str, str, str]] = [
    ("postgres-url", f"postgres://app:{(s := 'Pw7q!x')}@db:5432/app", s),
    ("https-userinfo", f"https://user:{(s := 'pa55Word')}@host.example/x", s),
    ("redis-url", f"redis://:{(s := 'r3d1sPw')}@cache:6379/0", s),
    ("amqp-url", f"amqp://guest:{(s := 'Gu3stPw9')}@mq/vhost", s),
    ("mongodb-srv", f"mongodb+srv://root:{(s := 'M0ngoPw')}@c0.mongodb.net/db", s),
    ("env-password-short", f"DB_PASSWORD={(s := 'Pq1')}", s),
    ("pgpassword", f"export PGPASSWORD={(s := 'hunter2x')}", s),
    ("yaml-password", f"password: {(s := 'Tr0ub4dor')}", s),
    ("json-password", f'{{"password": "{(s := "a b!")}"}}', s),
    ("env-key", f"STRIPE_KEY={(s := 'abc12345xyz')}", s),
    ("env-token", f"API_TOKEN={(s := 'tok3n')}", s),
    ("env-secret", f"export APP_SECRET={(s := 'qwertyuiop')}", s),
    ("env-api-key-quoted", f'OPENROUTER_API_KEY="{(s := rnd(24, seed=1))}"', s),
    ("dotenv-credentials", f"SERVICE_CREDENTIALS={(s := rnd(20, seed=2))}", s),
    ("stripe-live", (s := J(["sk_", "live_", rnd(32, seed=3)])), s),
    ("stripe-restricted", (s := J(["rk_", "live_", rnd(32, seed=4)])), s),
    ("stripe-webhook", (s := J(["whsec_", rnd(32, seed=5)])), s),
    ("gitlab-pat", (s := J(["glpat-", rnd(20, seed=6)])), s),
    ("gitlab-runner", (s := J(["glrt-", rnd(24, seed=7)])), s),
    ("sendgrid", (s := J(["SG.", rnd(22, seed=8), ".", rnd(43, seed=9)])), s),
    ("azure-account-key",
     "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey="
     + (s := rnd(86, B62 + "+/", seed=10) + "==") + ";EndpointSuffix=core.windows.net", s),
    ("basic-auth-header", f"Authorization: Basic {(s := 'dXNlcjpwYXNzd29yZA==')}", s),
    ("bearer-header", f"Authorization: Bearer {(s := rnd(12, seed=11))}", s),
    ("huggingface-prose", (s := J(["hf_", rnd(34, string.ascii_letters, seed=12)])), s),
    ("mysql-p", f"mysql -u root -p{(s := 'S3cr3tPw')} shop", s),
    ("mysqldump-p", f"mysqldump -h db -u app -p'{(s := 'x y z1')}' shop", s),
    ("docker-login-p", f"docker login -u bot -p {(s := 'D0ckerPw')} registry.io", s),
    ("password-flag", f"tool --password={(s := 'Fl4gPw')} --verbose", s),
    ("curl-user", f"curl -u admin:{(s := 'l3tm3in')} https://api.example", s),
    ("sshpass", f"sshpass -p {(s := 'SshPw42')} ssh host", s),
    ("redis-cli-a", f"redis-cli -h cache -a {(s := 'R3disA')} ping", s),
    ("anthropic", (s := J(["sk-", "ant-", "api03-", rnd(90, B62 + "-_", seed=13)])), s),
    ("openai-proj", (s := J(["sk-", "proj-", rnd(100, B62 + "-_", seed=14)])), s),
    ("github-pat", (s := J(["ghp_", rnd(36, seed=15)])), s),
    ("github-fine", (s := J(["github_", "pat_", rnd(22, seed=16), "_", rnd(59, seed=17)])), s),
    ("aws-key-id", (s := J(["AKIA", rnd(16, UP, seed=18)])), s),
    ("aws-secret", f"aws_secret_access_key = {(s := rnd(40, B62 + '/+', seed=19))}", s),
    ("google-api", (s := J(["AIza", rnd(35, B62 + "-_", seed=20)])), s),
    ("google-oauth", (s := J(["ya29.", rnd(60, B62 + "-_", seed=21)])), s),
    ("slack-bot", (s := J(["xoxb-", "1234567890-", "1234567890123-", rnd(24, seed=22)])), s),
    ("npm", (s := J(["npm_", rnd(36, seed=23)])), s),
    ("pypi", (s := J(["pypi-", "AgEIcHlwaS5vcmc", rnd(70, B62 + "-_", seed=24)])), s),
    ("twilio", (s := J(["SK", rnd(32, HEX, seed=25)])), s),
    ("mailchimp", (s := J([rnd(32, HEX, seed=26), "-us", "12"])), s),
    ("shopify", (s := J(["shpat_", rnd(32, HEX, seed=27)])), s),
    ("digitalocean", (s := J(["dop_", "v1_", rnd(64, HEX, seed=28)])), s),
    ("databricks", (s := J(["dapi", rnd(31, HEX, seed=29), "a"])), s),
    ("linear", (s := J(["lin_", "api_", rnd(40, seed=30)])), s),
    ("age", (s := J(["AGE-SECRET-KEY-1", rnd(58, "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L", seed=31)])), s),
    ("vault", (s := J(["hvs.", rnd(30, seed=32)])), s),
    ("groq", (s := J(["gsk_", rnd(52, seed=33)])), s),
    ("telegram", (s := J(["1234567890:", "AA", rnd(33, seed=34)])), s),
    ("jwt", (s := J(["eyJ", rnd(20, seed=35), ".eyJ", rnd(30, seed=36), ".", rnd(43, seed=37)])), s),
    ("private-key",
     "-----BEGIN OPENSSH PRIVATE KEY-----\n" + (s := rnd(64, B62 + "+/", seed=38))
     + "\n-----END OPENSSH PRIVATE KEY-----", s),
    ("api-key-json", f'{{"api_key": "{(s := rnd(24, seed=39))}"}}', s),
    ("client-secret-yaml", f"client_secret: {(s := rnd(32, seed=40))}", s),
    ("square", (s := J(["sq0csp-", rnd(43, seed=41)])), s),
    ("postman", (s := J(["PMAK-", rnd(24, HEX, seed=42), "-", rnd(34, HEX, seed=43)])), s),
]

Wrap = Callable[[str], str]
CONTEXTS: dict[str, Wrap] = {
    "bare": lambda t: t,
    "prose": lambda t: f"Hi! While debugging I used {t} and it worked; please check.",
    "json": lambda t: json.dumps({"note": t, "n": 1}),
    "json-in-json": lambda t: json.dumps({"body": json.dumps({"note": t})}),
    "url": lambda t: f"see https://wiki.example/page?paste={t}&x=1 for details",
    "shell": lambda t: f"$ ssh deploy@host 'cd /srv && {t} && echo ok'",
}


def test_at_least_forty_formats() -> None:
    assert len({name for name, _, _ in FORMATS}) >= 40


@pytest.mark.parametrize("context", list(CONTEXTS))
@pytest.mark.parametrize(("name", "snippet", "secret"), FORMATS, ids=[f[0] for f in FORMATS])
def test_secret_is_caught(name: str, snippet: str, secret: str, context: str) -> None:
    text = CONTEXTS[context](snippet)
    result = redact(text)
    assert secret not in result.text, f"{name} survived in {context}: {result.text!r}"
    assert json.dumps(secret)[1:-1] not in result.text  # nor its JSON-escaped spelling
    assert result.count >= 1
    assert redact(result.text).text == result.text  # idempotent


SHA1 = "3f786850e387550fdab836ed7e6dc881de23001b"
NEAR_MISSES = [
    f"commit {SHA1}",
    "uuid: 550e8400-e29b-41d4-a716-446655440000",
    "https://user@host.example/path",  # a user, no password
    "git@github.com:org/repo.git",
    "http://localhost:8080/api/v1",
    "postgres://app:${DB_PASSWORD}@db/app",
    "redis://:$REDIS_PASSWORD@cache:6379",
    "password = os.environ['DB_PASSWORD']",
    "password = getpass.getpass()",
    "if password == expected:",
    "def login(user, password=None):",
    "self.password = password",
    "password: str",
    "password: Optional[str] = None",
    "DB_PASSWORD=${DB_PASSWORD}",
    "API_KEY=your-api-key-here",
    "API_KEY=<your key>",
    "SECRET_KEY_FILE=/run/secrets/key",
    "PRIMARY_KEY=id",
    "SORT_KEY=name",
    "TOKEN_EDGE = WORD + '-'",
    "max_tokens: 4096",
    "tokenizer = AutoTokenizer.from_pretrained(name)",
    "Bearer tokens go in the Authorization header.",
    "Authorization: Bearer $TOKEN",
    "mysql -u root -p shop",  # -p alone prompts; `shop` is the database
    "docker login registry.io",
    "--password options instead of via the URL",
    "password: The password part of the URL.",
    "pip install scikit-learn  # sk-learn",
    "ASIAN markets and AKIAN words",
    "the hf_transfer_enabled flag",
    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8A\n-----END PUBLIC KEY-----",
    "password: ****",
    "token: [REDACTED:github:0011aabb]",
]


@pytest.mark.parametrize("text", NEAR_MISSES)
def test_near_miss_is_left_alone(text: str) -> None:
    result = redact(text)
    assert result.text == text and result.count == 0
