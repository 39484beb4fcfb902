"""Secret redaction: what must disappear, and ordinary code that must survive untouched.

Token-shaped values are assembled from pieces at run time so no realistic secret literal sits
in the repository (secret scanners, and people, would rightly complain).
"""

from __future__ import annotations

import pytest

from domain import ErrorEvent, RequestContext
from domain.redact import REDACTED, is_secret_key, redact, redact_obj, redactor


def fake(prefix: str, body: str = "Ab1Cd2Ef3Gh4Ij5Kl6Mn7Op8Qr9St0Uv") -> str:
    """A value shaped like a vendor token (prefix + filler), built so it is not a literal here."""
    return prefix + body


# --- exact known secrets -------------------------------------------------------------------


def test_known_secret_replaced_everywhere() -> None:
    secret = "test-token-not-real"
    text = f"sent {secret} to the API; header was x{secret}y"
    assert redact(text, [secret]) == f"sent {REDACTED} to the API; header was x{REDACTED}y"


def test_short_known_secrets_are_ignored() -> None:
    assert redact("the cat sat", ["cat"]) == "the cat sat"


def test_longest_known_secret_wins() -> None:
    assert redact("abcdefghij", ["abcdef", "abcdefghij"]) == REDACTED


def test_redactor_binds_secrets() -> None:
    r = redactor(["test-token-not-real"])
    assert r("x test-token-not-real y") == f"x {REDACTED} y"


# --- vendor token shapes -------------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    [
        "AKIA" + "ABCDEFGHIJKLMNOP",
        fake("ghp_"),
        fake("gho_"),
        fake("ghs_"),
        fake("github_pat_", "11ABCDEFG0123456789_abcdefghijklmnop"),
        fake("glpat-", "abcdefghij1234567890"),
        fake("xoxb-", "123456789012-abcdefghij"),
        fake("xoxp-", "1234-5678-abcdefghij"),
        fake("sk-ant-", "api03-abcdefghijklmnop_qrstuv-wxyz"),
        fake("sk-", "proj-abcdefghijklmnopqrstuvwxyz0123"),
        fake("sk-", "abcdefghijklmnopqrstuvwxyz0123456789"),
        fake("sntrys_", "eyJpYXQiOjE3MDAwMDAwMDB9_abcdefghijkl"),
        fake("sntryu_", "0123456789abcdef0123456789abcdef"),
        "eyJ" + "hbGciOiJIUzI1NiJ9" + "." + "eyJ" + "zdWIiOiIxMjM0NTY3ODkwIn0" + "." + "abcDEF123_-xyz",
    ],
)
def test_vendor_tokens(token: str) -> None:
    out = redact(f"config value {token} in a message")
    assert token not in out
    assert REDACTED in out
    assert out.startswith("config value ") and out.endswith(" in a message")


def test_private_key_block() -> None:
    block = "-----BEGIN RSA " + "PRIVATE KEY-----\nMIIEowIBAAKCAQEA\nabcdef\n-----END RSA " + "PRIVATE KEY-----"
    out = redact(f"key:\n{block}\nafter")
    assert "MIIEowIBAAKCAQEA" not in out
    assert out.endswith("\nafter")


def test_unterminated_private_key_block_is_cut_to_the_end() -> None:
    out = redact("-----BEGIN " + "PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC")
    assert "MIIEvQ" not in out


def test_url_credentials() -> None:
    out = redact("DATABASE_URL is postgres://app:pw-Not-Real-123@db.internal:5432/app")
    assert "pw-Not-Real-123" not in out
    assert "postgres://app:[REDACTED]@db.internal:5432/app" in out


# --- headers and key/value pairs ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "gone"),
    [
        ("Authorization: Bearer abc123def456ghi", "abc123def456ghi"),
        ("authorization: Token zzzyyyxxx111", "zzzyyyxxx111"),
        ("Cookie: sessionid=abcd1234; csrftoken=zzzz9999", "abcd1234"),
        ("Set-Cookie: session=qwerty123; Path=/; HttpOnly", "qwerty123"),
        ("X-Api-Key: key-not-real-42", "key-not-real-42"),
        ("curl -H 'Authorization: Basic dXNlcjpwYXNz' https://x", "dXNlcjpwYXNz"),
        ("requested with bearer abcdefghijklmnop123", "abcdefghijklmnop123"),
    ],
)
def test_auth_headers(text: str, gone: str) -> None:
    out = redact(text)
    assert gone not in out, out
    assert REDACTED in out


@pytest.mark.parametrize(
    ("text", "gone"),
    [
        ("GET /login?user=bob&password=hunter2&next=/", "hunter2"),
        ("https://api.example.com/v1?access_token=qwerty&page=2", "qwerty"),
        ("password=hunter2&remember=1", "hunter2"),
        ('{"username": "bob", "password": "hunter2"}', "hunter2"),
        ("{'username': 'bob', 'api_key': 'abcdef'}", "abcdef"),
        ("User(name='bob', password='hunter2')", "hunter2"),
        ("login failed: secret=s3cr3tval token=abc123xyz", "s3cr3tval"),
        ("login failed: secret=s3cr3tval token=abc123xyz", "abc123xyz"),
        ("DB_PASSWORD=pa55word\nOTHER=1", "pa55word"),
        ('client_secret = "cs-not-real"', "cs-not-real"),
        ("password: hunter2", "hunter2"),
        ("invalid token: abc123def456", "abc123def456"),
        ('{"Authorization": "Bearer abc123def456ghi"}', "abc123def456ghi"),
        ('"X-Api-Key": "key-not-real-42"', "key-not-real-42"),
    ],
)
def test_key_value_pairs(text: str, gone: str) -> None:
    out = redact(text)
    assert gone not in out, out
    assert REDACTED in out


def test_json_stays_valid_json() -> None:
    import json

    original = {"user": "bob", "password": "hu\"nter2", "nested": {"token": "abc"}}
    out = redact(json.dumps(original))
    assert json.loads(out) == {"user": "bob", "password": REDACTED, "nested": {"token": REDACTED}}


# --- no false positives on ordinary code ---------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        "def get_token(self):",
        "    token = self.get_token()",
        "    return requests.get(url, token=token, timeout=5)",
        "session = requests.Session()",
        "session=requests.Session()",
        "    password = request.form['password']",
        "    if not password:",
        "    token: str | None = None",
        "    api_key: Optional[str] = None",
        "def login(username: str, password: str) -> bool:",
        "    headers = {'Authorization': f'Bearer {token}'}",
        '    headers["Authorization"] = "Bearer " + token',
        "    max_tokens=4096,",
        "    token_count = len(tokens)",
        "    secret_key=settings.SECRET_KEY,",
        "    auth=auth,",
        "    cookie = request.cookies.get('session')",
        "raise KeyError('token')",
        "    password: this.password,",
        "  token: accessToken,",
        "Basic Authentication is disabled",
        "use a bearer token",
        "# the session expired",
        "tokens = tokenizer.encode(text)",
        "user.password_hash = hash_password(password)",
        "return {'token': token, 'expires': expires}",
    ],
)
def test_ordinary_code_untouched(code: str) -> None:
    assert redact(code) == code


def test_a_whole_source_file_survives() -> None:
    source = '''import os

import requests


class Client:
    def __init__(self, base_url: str, token: str | None = None) -> None:
        self.base_url = base_url
        self.token = token or os.environ.get("API_TOKEN")
        self.session = requests.Session()

    def get_token(self) -> str:
        return self.token

    def fetch(self, path: str) -> dict:
        headers = {"Authorization": f"Bearer {self.get_token()}"}
        resp = self.session.get(self.base_url + path, headers=headers, timeout=10)
        return resp.json()["data"]
'''
    assert redact(source) == source


def test_idempotent() -> None:
    text = "Authorization: Bearer abc123def456ghi password=hunter2 " + fake("ghp_")
    once = redact(text)
    assert redact(once) == once


# --- structured data -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "password", "Password", "db_password", "secret", "client_secret", "token", "access_token",
        "accessToken", "api_key", "apiKey", "X-Api-Key", "Authorization", "HTTP_AUTHORIZATION",
        "Cookie", "Set-Cookie", "session", "sessionId", "session_id", "credit_card", "creditCardNumber",
        "card_number", "cvv", "private_key", "csrf_token", "aws_secret_access_key",
    ],
)
def test_secret_key_names(key: str) -> None:
    assert is_secret_key(key), key


@pytest.mark.parametrize(
    "key", ["user", "username", "max_tokens", "tokenizer", "author", "path", "user_agent", "Content-Type", "id"]
)
def test_ordinary_key_names(key: str) -> None:
    assert not is_secret_key(key), key


def test_redact_obj_nested() -> None:
    data = {
        "headers": {"Authorization": "Bearer x", "Content-Type": "application/json", "Cookie": "a=b"},
        "body": {"user": "bob", "password": "hunter2", "items": [{"token": 123}, "ok", "password=zzz999"]},
        "credentials": {"user": "u", "pass": "p"},
        "empty_password": "",
        "max_tokens": 100,
    }
    out = redact_obj(data)
    assert out["headers"] == {"Authorization": REDACTED, "Content-Type": "application/json", "Cookie": REDACTED}
    assert out["body"]["password"] == REDACTED
    assert out["body"]["items"] == [{"token": REDACTED}, "ok", f"password={REDACTED}"]
    assert out["credentials"] == REDACTED
    assert out["empty_password"] == ""
    assert out["max_tokens"] == 100
    assert data["body"]["password"] == "hunter2"  # the input is not mutated


def test_redact_obj_known_secrets_and_tuples() -> None:
    out = redact_obj(("a test-token-not-real b", ["test-token-not-real"]), ["test-token-not-real"])
    assert out == (f"a {REDACTED} b", [REDACTED])


def test_redact_obj_pydantic_model() -> None:
    secret = fake("sk-ant-", "api03-not-a-real-key-just-test-data")
    event = ErrorEvent(
        id="e1",
        title="KeyError: 'user'",
        request=RequestContext(
            url="https://shop.example.com/api/cart?session=abcdef123",
            headers={"Authorization": "Bearer q", "X-Request-Id": "r-1"},
            data={"note": f"my key is {secret}", "password": "hunter2"},
        ),
    )
    out = redact_obj(event)
    assert isinstance(out, ErrorEvent)
    assert out.request is not None
    assert out.request.headers == {"Authorization": REDACTED, "X-Request-Id": "r-1"}
    assert out.request.data == {"note": f"my key is {REDACTED}", "password": REDACTED}
    assert "abcdef123" not in (out.request.url or "")
    assert secret not in out.model_dump_json()


@pytest.mark.parametrize("unit", ["a.", "a-", "a:", "x://", "a:b@", "token_", "'a'", '"a":', "a=b&", "eyJa."])
def test_linear_time_on_long_minified_lines(unit: str) -> None:
    """Tool outputs can hold a 60 kB minified line; no pattern may rescan it from every position."""
    import time

    text = unit * (60_000 // len(unit))
    started = time.monotonic()
    redact(text)
    assert time.monotonic() - started < 1.0
