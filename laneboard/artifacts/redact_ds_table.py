"""Layer 2 of the redactor, frozen: the detect-secrets plugins' patterns as
(kind, RE2 pattern, secret-is-group-`s`, right edge).

Why frozen: reading them from detect-secrets costs every process about 0.1 s (its
scanner imports), and `laneboard send` redacts on every call. A test checks this
table equals what the installed detect-secrets gives; when it does not, regenerate:
`python -m laneboard.artifacts.redact_rules > laneboard/artifacts/redact_ds_table.py`.
"""

from __future__ import annotations

TABLE: tuple[tuple[str, str, bool, str], ...] = (
    ('artifactory', '(?:\\s|=|:|"|^)AKC[a-zA-Z0-9]{10,}(?:\\s|"|$)', False, ''),
    ('artifactory', '(?:\\s|=|:|"|^)AP[\\dABCDEF][a-zA-Z0-9]{8,}(?:\\s|"|$)', False, ''),
    ('aws', '(?:A3T[A-Z0-9]|ABIA|ACCA|AKIA|ASIA)[0-9A-Z]{16}', False, ''),
    ('aws', '(?i)aws.{0,20}?(?:key|pwd|pw|password|pass|token).{0,20}?[\\\'\\"](?P<s>[0-9a-zA-Z/+]{40})[\\\'\\"]', True, ''),
    ('azure-storage-key', 'AccountKey=[a-zA-Z0-9+\\/=]{88}', False, ''),
    ('url-password', "://[^:/\\?\\#\\[\\]@!\\$\\&'\\(\\)\\*\\+,;=\\s]+:(?P<s>[^:/\\?\\#\\[\\]@!\\$\\&'\\(\\)\\*\\+,;=\\s]+)@", True, ''),
    ('cloudant', '(?i)(?:https?\\:\\/\\/)[\\w\\-]+\\:(?P<s>[0-9a-f]{64})\\@[\\w\\-]+\\.cloudant\\.com', True, ''),
    ('cloudant', '(?i)(?:https?\\:\\/\\/)[\\w\\-]+\\:(?P<s>[a-z]{24})\\@[\\w\\-]+\\.cloudant\\.com', True, ''),
    ('discord', '[MNO][a-zA-Z\\d_-]{23,25}\\.[a-zA-Z\\d_-]{6}\\.[a-zA-Z\\d_-]{27}', False, ''),
    ('github', '(ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9_]{36}', False, ''),
    ('gitlab', '(glpat|gldt|glft|glsoat|glrt)-[A-Za-z0-9_\\-]{20,50}', False, 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_'),
    ('gitlab', 'GR1348941[A-Za-z0-9_\\-]{20,50}', False, 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_'),
    ('gitlab', 'glcbt-([0-9a-fA-F]{2}_)?[A-Za-z0-9_\\-]{20,50}', False, 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_'),
    ('gitlab', 'glimt-[A-Za-z0-9_\\-]{25}', False, 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_'),
    ('gitlab', 'glptt-[A-Za-z0-9_\\-]{40}', False, 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_'),
    ('gitlab', 'gloas-[A-Za-z0-9_\\-]{64}', False, 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_'),
    ('mailchimp', '[0-9a-z]{32}-us[0-9]{1,2}', False, ''),
    ('npm', '\\/\\/.+\\/:_authToken=\\s*(?P<s>(npm_.+)|([A-Fa-f0-9-]{36})).*', True, ''),
    ('openai', 'sk-[A-Za-z0-9-_]*[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}', False, ''),
    ('pypi', 'pypi-AgEIcHlwaS5vcmc[A-Za-z0-9-_]{70,}', False, ''),
    ('pypi', 'pypi-AgENdGVzdC5weXBpLm9yZw[A-Za-z0-9-_]{70,}', False, ''),
    ('sendgrid', 'SG\\.[a-zA-Z0-9_-]{22}\\.[a-zA-Z0-9_-]{43}', False, ''),
    ('slack-token', '(?i)xox(?:a|b|p|o|s|r)-(?:\\d+-)+[a-z0-9]+', False, ''),
    ('slack-token', '(?i)https://hooks\\.slack\\.com/services/T[a-zA-Z0-9_]+/B[a-zA-Z0-9_]+/[a-zA-Z0-9_]+', False, ''),
    ('softlayer', '(?i)(?:http|https)://api.softlayer.com/soap/(?:v3|v3.1)/(?P<s>[a-z0-9]{64})', True, ''),
    ('square', 'sq0csp-[0-9A-Za-z\\\\\\-_]{43}', False, ''),
    ('stripe', '(?:r|s)k_live_[0-9a-zA-Z]{24}', False, ''),
    ('telegram', '\\d{8,10}:[0-9A-Za-z_-]{35}', False, ''),
    ('twilio', 'AC[a-z0-9]{32}', False, ''),
    ('twilio', 'SK[a-z0-9]{32}', False, ''),
)
