"""Removing secrets from text and data before anyone else sees them.

Used on everything that leaves the process or reaches the model: the rendered event, tool
outputs, transcripts, logs and PR bodies. Two layers:

* exact values we know are secret (the configured tokens), replaced wherever they appear;
* shapes that look like secrets: vendor token prefixes and webhook URLs (the shapes gitleaks
  and detect-secrets document, cited per rule), keys of prefix-less vendors next to the
  vendor's name, auth headers, `password=`-style pairs, private key blocks, JWTs, passwords in
  URLs and tokens used as a URL's user name (judged by entropy).

Every pattern is linear in the text (bounded repetitions, no nested quantifiers): this runs on
every prompt and tool output.

The shape rules are tuned to leave ordinary source code alone, because tool outputs are
redacted too and a mangled line would make the model's search/replace edit miss: values that
look like code (identifiers, attribute access, calls, f-strings, type annotations) are kept.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pydantic import BaseModel

REDACTED = "[REDACTED]"
MIN_SECRET_LENGTH = 6  # shorter "secrets" would blank out ordinary words everywhere

# Final words of key names whose values are secret: `db_password`, `GITHUB_TOKEN`, `x-api-key`.
_KEY_WORDS = (
    r"password|passwd|pwd|passphrase|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key"
    r"|secret[_-]?key|auth|authorization|credentials?|cookie|session(?:[_-]?id)?|sessid|csrf|xsrf"
)
# A key name that ends in one of the words (prefixes like `db_` or `x-` allowed, suffixes not,
# so `token_count` and `max_tokens` stay visible).
_KEY = rf"(?:[A-Za-z0-9]+[_.-])*(?:{_KEY_WORDS})"

# A rule runs only when one of its keywords (lower case) occurs in the text, as gitleaks does:
# most text holds no vendor prefix at all, and a substring test is far cheaper than a scan.
_Rule = tuple[tuple[str, ...], re.Pattern[str]]
_KEYWORD_NAMES = ("datadog", "dd_", "dd-", "rollbar")

# Token shapes with a fixed vendor prefix. Where a maintained rule set documents the shape, the
# rule names it: gitleaks = github.com/gitleaks/gitleaks config/gitleaks.toml (rule id), ds =
# Yelp/detect-secrets plugins. Lengths are left open-ended upwards (`{20,}` where a rule says
# `{36}`): vendors lengthen tokens, and redacting a longer run costs nothing.
_VENDOR_TOKENS: list[_Rule] = [
    # gitleaks aws-access-token; ds AWSKeyDetector
    (("a3t", "akia", "asia", "abia", "acca", "agpa", "aida", "aroa", "aipa", "anpa", "anva"),
     re.compile(r"\b(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA)[0-9A-Z]{16}\b")),
    # gitleaks github-pat / github-oauth / github-app-token / github-refresh-token; ds GitHubTokenDetector
    (("ghp_", "gho_", "ghu_", "ghs_", "ghr_"), re.compile(r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}\b")),
    (("github_pat_",), re.compile(r"\bgithub_pat_[A-Za-z0-9_]{20,}\b")),  # gitleaks github-fine-grained-pat
    # gitleaks gitlab-pat, -pat-routable, gitlab-deploy-token (gldt), -feed-token (glft),
    # -incoming-mail-token (glimt), -ptt (glptt), -runner-authentication-token (glrt),
    # -scim-token (glsoat), -feature-flag-client-token (glffct), -cicd-job-token (glcbt),
    # -kubernetes-agent-token (glagent), -oauth-app-secret (gloas); ds GitLabTokenDetector
    (("gl",), re.compile(
        r"\b(?:glpat|gldt|glft|glimt|glptt|glrt|glrtr|glsoat|glffct|glcbt|glagent|gloas)-[0-9A-Za-z_.-]{20,}"
    )),
    (("gr1348941",), re.compile(r"\bGR1348941[0-9A-Za-z_-]{20,}")),  # gitleaks gitlab-rrt (runner registration)
    (("_gitlab_session=",), re.compile(r"\b_gitlab_session=[0-9a-z]{32}")),  # gitleaks gitlab-session-cookie
    # Atlassian: Bitbucket app passwords (ATBB), repository/workspace access tokens (ATCTT),
    # Atlassian API tokens (ATATT, gitleaks atlassian-api-token)
    (("atbb", "atctt", "atatt"), re.compile(r"\b(?:ATBB|ATCTT|ATATT)[A-Za-z0-9_=-]{24,}")),
    # gitleaks slack-bot-token / -user-token / -legacy-*-token (xoxb, xoxp, xoxe, xoxa, xoxo, xoxr,
    # xoxs) and slack-config-access/refresh-token (xoxe.xoxb-…, xoxe-…); ds SlackDetector. A digit
    # first: `xoxo-gossip-…` is a word, not a token.
    (("xox",), re.compile(r"\b(?:xoxe\.)?xox[abeoprs]-\d[A-Za-z0-9-]{9,}")),
    (("xapp-",), re.compile(r"\bxapp-\d-[A-Za-z0-9-]{10,}", re.IGNORECASE)),  # gitleaks slack-app-token
    # gitleaks anthropic-api-key / anthropic-admin-api-key (sk-ant-api03-…, sk-ant-admin01-…)
    (("sk-ant-",), re.compile(r"\bsk-ant-[A-Za-z0-9_-]{10,}")),
    # gitleaks openai-api-key (legacy, sk-proj-, sk-svcacct-, sk-admin-); ds OpenAIDetector
    (("sk-",), re.compile(r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}")),
    # gitleaks sentry-org-token / sentry-user-token
    (("sntry",), re.compile(r"\bsntry[su]_[A-Za-z0-9+/=_-]{20,}")),
    # gitleaks stripe-access-token; ds StripeDetector
    (("k_live_", "k_test_"), re.compile(r"\b[rs]k_(?:live|test)_[A-Za-z0-9]{16,}")),
    (("aiza",), re.compile(r"\bAIza[0-9A-Za-z_-]{35}")),  # gitleaks gcp-api-key
    # gitleaks jwt; ds JwtTokenDetector
    (("eyj",), re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")),
]

# Webhook URLs whose path is the credential: the host stays visible (it says what the URL was for).
_WEBHOOK_URLS: list[_Rule] = [
    # gitleaks slack-webhook-url (services, workflows, triggers); ds SlackDetector
    (("hooks.slack.com",), re.compile(
        r"(?i)\b((?:https?://)?hooks\.slack\.com/(?:services|workflows|triggers)/)[A-Za-z0-9+/_-]{20,}"
    )),
    # Discord webhooks: /api/webhooks/<id>/<token> (discord.com/developers/docs/resources/webhook)
    (("discord",), re.compile(
        r"(?i)\b((?:https?://)?(?:ptb\.|canary\.)?discord(?:app)?\.com/api/(?:v\d+/)?webhooks/)\d+/[A-Za-z0-9_-]{20,}"
    )),
]

# Vendors whose keys have no prefix, so the vendor's name must be near: gitleaks
# datadog-access-token (40 alphanumerics after a `datadog…` key), Datadog API keys (32 hex) and
# application keys (40 hex), Rollbar access tokens (32 hex; trufflehog's rollbar detector uses
# the same keyword + 32 hex). The gap is bounded, so each keyword costs at most 60 characters.
_KEYWORD_TOKENS = re.compile(
    r"(?i)(?:datadog|\bdd[_-](?:api|app|application)[_-]?key|rollbar)[^\n]{0,60}?(?<![A-Za-z0-9])"
    r"([a-f0-9]{32}|[a-z0-9]{40})(?![A-Za-z0-9])"
)

_PRIVATE_KEY = re.compile(
    r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----.*?"
    r"(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|\Z)",
    re.DOTALL,
)
# Bearer credentials; the charset has no `{`, `"` or space so code that builds the header
# (`f"Bearer {token}"`, `"Bearer " + token`) is left alone.
_BEARER = re.compile(r"\b(Bearer)\s+([A-Za-z0-9][A-Za-z0-9._~+/=-]{7,})", re.IGNORECASE)
# Basic credentials are base64 of `user:password`; "Basic" is also an English word, so the
# value must look encoded (see `_basic`).
_BASIC = re.compile(r"\b(Basic)\s+([A-Za-z0-9+/]{8,}={0,2})(?![\w+/=])")
# Bounded repetitions: minified code is long runs of `a.b.c` that an unbounded scheme would
# rescan from every position (quadratic).
# The user name may be empty (`redis://:pw@host`).
_URL_PASSWORD = re.compile(
    r"(?<![a-z0-9+.-])([a-z][a-z0-9+.-]{0,30}://[^/\s:@'\"]{0,256}):([^/\s@'\"]{1,256})@", re.IGNORECASE
)
# A token given as the user name (`https://<token>@github.com/…`): judged by its entropy (below).
_URL_USER = re.compile(r"(?<![a-z0-9+.-])([a-z][a-z0-9+.-]{0,30}://)([^/\s:@'\"]{16,256})@", re.IGNORECASE)
# Shannon entropy (bits per character) from which a user name reads as random. detect-secrets
# flags base64 strings from 4.5 and hex from 3.0 over long strings; a 16–40 character random
# token sits around 3.5–4.5, an ordinary user name ("deploy-bot", "jenkins") well below.
_USER_ENTROPY = 3.5
_USER_ENTROPY_NO_DIGIT = 4.2
_HEX_USER = re.compile(r"^[0-9a-fA-F]{32,}$")

# `?token=abc&…` inside a URL, or `password=x&…` as a whole query string.
_QUERY_PAIR = re.compile(rf"(?:(?<=[?&])|\A)({_KEY})=([^&#\s'\"<>()\[\]]++)(?![(\[])", re.IGNORECASE)
# `password="hunter2"`, `API_KEY = 'x'`, `secret: "x"` — a key given a quoted literal.
_ASSIGN_QUOTED = re.compile(rf"(?<![\w.-])({_KEY})(\s*[=:]\s*)(['\"])([^'\"\n]+)\3", re.IGNORECASE)
# `token=abc123` in prose, log lines, env files, reprs; code-looking values are kept (`_bare_pair`).
# Possessive, so a value followed by `(` (a call) cannot match by giving back characters.
_ASSIGN_BARE = re.compile(rf"(?<![\w.-])({_KEY})=([^\s&'\",;()\[\]{{}}<>]++)(?![(\[])", re.IGNORECASE)
# `"password": "x"` (JSON) and `'password': 'x'` (Python repr).
_QUOTED_KEY_VALUE = re.compile(rf"(['\"])({_KEY})\1(\s*:\s*)(['\"])((?:\\.|(?!\4)[^\\\n])*)\4", re.IGNORECASE)
# `Authorization: Bearer …` / `Cookie: a=b` header lines (raw HTTP, curl -H, logs).
_HEADER_LINE = re.compile(
    r"(?im)^(\s*(?:proxy-)?(?:authorization|cookie|set-cookie|x-api-key|api-key|x-auth-token|x-access-token"
    r"|x-csrf-token|x-xsrf-token|x-sentry-auth|dd-api-key|dd-application-key|x-rollbar-access-token)"
    r"\s*:[ \t]*)(\S[^\r\n]*)$"
)
# `password: hunter2` (YAML, log lines) — unless the value reads like code or a type annotation.
_COLON_PAIR = re.compile(
    rf"(?<![\w.'\"-])({_KEY})(:[ \t]+)([^\s'\",;]+)(?=[ \t]*(?:$|[,;]))", re.IGNORECASE | re.MULTILINE
)

_IDENTIFIER_LIKE = re.compile(r"^[A-Za-z_][\w.]*$")
_ANNOTATION_LIKE = re.compile(r"^(?:[A-Za-z_][\w.]*(?:\[[^\]]*\])?)(?:\s*\|\s*[A-Za-z_][\w.]*)*$")
_LITERALS = {"none", "null", "true", "false", "nil", "undefined", "redacted"}


def redact(text: str, extra_secrets: Iterable[str] = ()) -> str:
    """`text` with known secret values and secret-looking strings replaced by [REDACTED]."""
    if not text:
        return text
    text = _replace_known(text, extra_secrets)
    text = _PRIVATE_KEY.sub(f"-----BEGIN PRIVATE KEY-----{REDACTED}-----END PRIVATE KEY-----", text)
    lower = text.lower()
    for keywords, pattern in _VENDOR_TOKENS:
        if any(k in lower for k in keywords):
            text = pattern.sub(REDACTED, text)
    for keywords, pattern in _WEBHOOK_URLS:
        if any(k in lower for k in keywords):
            text = pattern.sub(rf"\1{REDACTED}", text)
    if any(k in lower for k in _KEYWORD_NAMES):
        text = _KEYWORD_TOKENS.sub(lambda m: _sub_group(m, 1, REDACTED), text)
    if "://" in text:
        text = _URL_PASSWORD.sub(rf"\1:{REDACTED}@", text)
        text = _URL_USER.sub(_url_user, text)
    text = _HEADER_LINE.sub(lambda m: m.group(1) + REDACTED, text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _BASIC.sub(_basic, text)
    text = _QUOTED_KEY_VALUE.sub(_quoted_key_value, text)
    text = _ASSIGN_QUOTED.sub(_assign_quoted, text)
    text = _QUERY_PAIR.sub(_query_pair, text)
    text = _ASSIGN_BARE.sub(_bare_pair, text)
    text = _COLON_PAIR.sub(_colon_pair, text)
    return text


def redact_obj(obj: Any, extra_secrets: Iterable[str] = ()) -> Any:
    """A copy of `obj` (dicts, lists, strings, pydantic models) with secrets removed.

    Values under secret-sounding keys are replaced whole, whatever their type; every other
    string goes through `redact`. A pydantic model comes back as the same model type.
    """
    secrets = _usable_secrets(extra_secrets)
    return _redact_any(obj, secrets)


def is_secret_key(key: str) -> bool:
    """Whether a mapping key names a secret (`password`, `X-Api-Key`, `sessionId`, `cc_number`…)."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", str(key)).lower().replace("-", "_").replace(".", "_")
    return bool(_SECRET_KEY_NAME.search(snake))


_SECRET_KEY_NAME = re.compile(
    r"(?:^|_)(?:password|passwd|pwd|passphrase|secret|token|api_?key|access_?key|private_?key|auth"
    r"|authorization|credentials?|cookie|session(?:_?id)?|sessid|csrf|xsrf|credit_?card|card_?number"
    r"|cc_?num(?:ber)?|cvv|cvc|ssn)(?:$|_)"
)


def _redact_any(obj: Any, secrets: list[str]) -> Any:
    if isinstance(obj, str):
        return redact(obj, secrets)
    if isinstance(obj, BaseModel):
        return type(obj).model_validate(_redact_any(obj.model_dump(), secrets))
    if isinstance(obj, Mapping):
        return {k: _redact_value(k, v, secrets) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        items = [_redact_any(v, secrets) for v in obj]
        return items if isinstance(obj, list) else tuple(items)
    return obj


def _redact_value(key: Any, value: Any, secrets: list[str]) -> Any:
    if isinstance(key, str) and is_secret_key(key) and value not in (None, "", [], {}):
        if isinstance(value, bool):  # `"csrf": true`-style flags carry no secret
            return value
        return REDACTED
    return _redact_any(value, secrets)


def _usable_secrets(values: Iterable[str]) -> list[str]:
    found = {v for v in values if isinstance(v, str) and len(v) >= MIN_SECRET_LENGTH}
    # Longest first, so a secret that contains another is removed whole.
    return sorted(found, key=len, reverse=True)


def _replace_known(text: str, extra_secrets: Iterable[str]) -> str:
    for secret in _usable_secrets(extra_secrets):
        text = text.replace(secret, REDACTED)
    return text


def _looks_like_code(value: str) -> bool:
    """Identifiers, attribute access and literals are code, not a secret value."""
    if value.lower() in _LITERALS:
        return True
    return bool(_IDENTIFIER_LIKE.match(value)) and not _has_digit(value)


def _sub_group(match: re.Match[str], group: int, replacement: str) -> str:
    start, end = match.span(group)
    base = match.start()
    whole = match.group(0)
    return whole[: start - base] + replacement + whole[end - base :]


def _query_pair(match: re.Match[str]) -> str:
    value = match.group(2)
    if value == REDACTED or value.lower() in _LITERALS:
        return match.group(0)
    return _sub_group(match, 2, REDACTED)


def _bare_pair(match: re.Match[str]) -> str:
    value = match.group(2)
    if value == REDACTED or _looks_like_code(value) or len(value) < 4:
        return match.group(0)
    return _sub_group(match, 2, REDACTED)


def _colon_pair(match: re.Match[str]) -> str:
    value = match.group(3)
    if value == REDACTED or _looks_like_code(value) or (_ANNOTATION_LIKE.match(value) and not _has_digit(value)):
        return match.group(0)
    return _sub_group(match, 3, REDACTED)


def _assign_quoted(match: re.Match[str]) -> str:
    value = match.group(4)
    if value != value.rstrip() or value == REDACTED:  # `"Bearer " + token`: a prefix, not a secret
        return match.group(0)
    return _sub_group(match, 4, REDACTED)


def _basic(match: re.Match[str]) -> str:
    value = match.group(2)
    encoded = _has_digit(value) or value.endswith("=") or "+" in value or "/" in value
    mixed_case = len(value) % 4 == 0 and any(c.isupper() for c in value[1:]) and any(c.islower() for c in value)
    return f"{match.group(1)} {REDACTED}" if encoded or mixed_case else match.group(0)


def _quoted_key_value(match: re.Match[str]) -> str:
    value = match.group(5)
    # "Bearer " (a prefix being concatenated in code) and empty strings hold no secret.
    if not value.strip() or value != value.rstrip() or value == REDACTED:
        return match.group(0)
    return _sub_group(match, 5, REDACTED)


def _url_user(match: re.Match[str]) -> str:
    user = match.group(2)
    return f"{match.group(1)}{REDACTED}@" if user != REDACTED and _random_looking(user) else match.group(0)


def _random_looking(value: str) -> bool:
    """A long hex run, or letters and digits mixed at token-like entropy. Real tokens almost
    always hold a digit; names that happen to be long (`jenkins-ci-service`) rarely do."""
    if _HEX_USER.match(value):
        return True
    entropy = shannon_entropy(value)
    mixed = _has_digit(value) and any(c.isalpha() for c in value)
    return entropy >= _USER_ENTROPY_NO_DIGIT or (mixed and entropy >= _USER_ENTROPY)


def shannon_entropy(value: str) -> float:
    """Bits per character of `value` (0 for an empty string)."""
    if not value:
        return 0.0
    counts = Counter(value)
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def _has_digit(value: str) -> bool:
    return any(ch.isdigit() for ch in value)


Redactor = Callable[[str], str]


def redactor(extra_secrets: Iterable[str] = ()) -> Redactor:
    """A `redact` bound to a fixed set of known secrets (sorted once)."""
    secrets = _usable_secrets(extra_secrets)
    return lambda text: redact(text, secrets)
