"""Removing secrets from text and data before anyone else sees them.

Used on everything that leaves the process or reaches the model: the rendered event, tool
outputs, transcripts, logs and PR bodies. Two layers:

* exact values we know are secret (the configured tokens), replaced wherever they appear;
* shapes that look like secrets: vendor token prefixes, auth headers, `password=`-style
  pairs, private key blocks, JWTs, credentials embedded in URLs.

The shape rules are tuned to leave ordinary source code alone, because tool outputs are
redacted too and a mangled line would make the model's search/replace edit miss: values that
look like code (identifiers, attribute access, calls, f-strings, type annotations) are kept.
"""

from __future__ import annotations

import re
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

_VENDOR_TOKENS: list[re.Pattern[str]] = [
    re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b"),  # AWS access key ids
    re.compile(r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}\b"),  # GitHub classic / OAuth / app
    re.compile(r"\bgithub_pat_[A-Za-z0-9_]{20,}\b"),  # GitHub fine-grained
    re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}"),  # GitLab personal access token
    re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),  # Slack
    re.compile(r"\bsk-ant-[A-Za-z0-9_-]{10,}"),  # Anthropic
    re.compile(r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}"),  # OpenAI
    re.compile(r"\bsntry[su]_[A-Za-z0-9+/=_-]{20,}"),  # Sentry org / user auth tokens
    re.compile(r"\b[rs]k_(?:live|test)_[A-Za-z0-9]{16,}"),  # Stripe
    re.compile(r"\bAIza[0-9A-Za-z_-]{35}"),  # Google API keys
    re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"),  # JWT
]

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
_URL_PASSWORD = re.compile(
    r"(?<![a-z0-9+.-])([a-z][a-z0-9+.-]{0,30}://[^/\s:@'\"]{1,256}):([^/\s@'\"]{1,256})@", re.IGNORECASE
)

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
    r"|x-csrf-token|x-xsrf-token|x-sentry-auth)\s*:[ \t]*)(\S[^\r\n]*)$"
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
    for pattern in _VENDOR_TOKENS:
        text = pattern.sub(REDACTED, text)
    text = _URL_PASSWORD.sub(rf"\1:{REDACTED}@", text)
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


def _has_digit(value: str) -> bool:
    return any(ch.isdigit() for ch in value)


Redactor = Callable[[str], str]


def redactor(extra_secrets: Iterable[str] = ()) -> Redactor:
    """A `redact` bound to a fixed set of known secrets (sorted once)."""
    secrets = _usable_secrets(extra_secrets)
    return lambda text: redact(text, secrets)
