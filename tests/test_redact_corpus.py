"""A corpus of every credential format the redactor documents, and text it must leave alone.

Each example is generated at run time from its documented shape (prefix, alphabet, length), so
no token-shaped literal is committed (secret scanners, and people, would rightly complain), and
each is checked in the contexts it reaches us in: an exception message, a log line, a JSON
event field, a URL. The shapes follow gitleaks' rules (config/gitleaks.toml) and detect-secrets'
plugins, as cited in domain/redact.py.
"""

from __future__ import annotations

import json
import random
import string
import time

import pytest

from domain.redact import REDACTED, redact, redact_obj, shannon_entropy

_RNG = random.Random(20261205)  # fixed: a failure is reproducible
ALNUM = string.ascii_letters + string.digits
UPPER_ALNUM = string.ascii_uppercase + string.digits
HEX = "0123456789abcdef"
URLSAFE = ALNUM + "_-"


def rand(alphabet: str, n: int) -> str:
    return "".join(_RNG.choice(alphabet) for _ in range(n))


def digits(n: int) -> str:
    return rand(string.digits, n)


# name → a freshly generated credential in the vendor's documented shape.
TOKENS: dict[str, str] = {
    "aws access key id": "AKIA" + rand(UPPER_ALNUM, 16),
    "aws temporary key id": "ASIA" + rand(UPPER_ALNUM, 16),
    "github classic pat": "ghp_" + rand(ALNUM, 36),
    "github oauth": "gho_" + rand(ALNUM, 36),
    "github app installation": "ghs_" + rand(ALNUM, 36),
    "github user-to-server": "ghu_" + rand(ALNUM, 36),
    "github refresh": "ghr_" + rand(ALNUM, 36),
    "github fine-grained pat": "github_pat_" + rand(ALNUM, 22) + "_" + rand(ALNUM, 59),
    "gitlab pat": "glpat-" + rand(URLSAFE, 20),
    "gitlab pat routable": "glpat-" + rand(URLSAFE, 27) + "." + rand(HEX, 2) + rand(HEX, 7),
    "gitlab deploy token": "gldt-" + rand(URLSAFE, 20),
    "gitlab feed token": "glft-" + rand(URLSAFE, 20),
    "gitlab incoming mail token": "glimt-" + rand(URLSAFE, 25),
    "gitlab pipeline trigger token": "glptt-" + rand(HEX, 40),
    "gitlab runner authentication token": "glrt-" + rand(URLSAFE, 20),
    "gitlab runner registration token": "GR1348941" + rand(URLSAFE, 20),
    "gitlab scim token": "glsoat-" + rand(URLSAFE, 20),
    "gitlab feature flag client token": "glffct-" + rand(URLSAFE, 20),
    "gitlab ci job token": "glcbt-" + rand(HEX, 2) + "_" + rand(URLSAFE, 20),
    "gitlab kubernetes agent token": "glagent-" + rand(URLSAFE, 50),
    "gitlab oauth app secret": "gloas-" + rand(URLSAFE, 64),
    "bitbucket app password": "ATBB" + rand(ALNUM, 32) + rand(HEX.upper(), 8),
    "bitbucket access token": "ATCTT3xFfGN0" + rand(URLSAFE + "=", 180),
    "atlassian api token": "ATATT3xFfGF0" + rand(URLSAFE + "=", 180),
    "slack bot token": "xoxb-" + digits(12) + "-" + digits(13) + "-" + rand(ALNUM, 24),
    "slack user token": "xoxp-" + digits(12) + "-" + digits(12) + "-" + digits(13) + "-" + rand(HEX, 32),
    "slack app-level token": "xapp-1-A" + rand(UPPER_ALNUM, 10) + "-" + digits(13) + "-" + rand(HEX, 64),
    "slack config refresh token": "xoxe-1-" + rand(ALNUM, 146),
    "slack config access token": "xoxe.xoxp-1-" + rand(ALNUM, 164),
    "slack legacy workspace token": "xoxa-2-" + rand(ALNUM, 40),
    "anthropic api key": "sk-ant-api03-" + rand(URLSAFE, 93) + "AA",
    "anthropic admin key": "sk-ant-admin01-" + rand(URLSAFE, 93) + "AA",
    "openai legacy key": "sk-" + rand(ALNUM, 20) + "T3BlbkFJ" + rand(ALNUM, 20),
    "openai project key": "sk-proj-" + rand(URLSAFE, 120),
    "openai service account key": "sk-svcacct-" + rand(URLSAFE, 120),
    "sentry user token": "sntryu_" + rand(HEX, 64),
    "stripe secret key": "sk_live_" + rand(ALNUM, 24),
    "google api key": "AIza" + rand(URLSAFE, 35),
}

# Credentials that are a whole URL; what must disappear is the part after the prefix shown.
WEBHOOKS: dict[str, tuple[str, str]] = {
    "slack incoming webhook": (
        "https://hooks.slack.com/services/",
        "T" + rand(UPPER_ALNUM, 10) + "/B" + rand(UPPER_ALNUM, 10) + "/" + rand(ALNUM, 24),
    ),
    "slack workflow webhook": (
        "https://hooks.slack.com/workflows/",
        "T" + rand(UPPER_ALNUM, 10) + "/A" + rand(UPPER_ALNUM, 10) + "/" + digits(18) + "/" + rand(ALNUM, 24),
    ),
    "discord webhook": ("https://discord.com/api/webhooks/", digits(19) + "/" + rand(URLSAFE, 68)),
    "discordapp webhook": ("https://discordapp.com/api/webhooks/", digits(18) + "/" + rand(URLSAFE, 68)),
    "discord canary webhook": ("https://canary.discord.com/api/v10/webhooks/", digits(19) + "/" + rand(URLSAFE, 68)),
}

# Keys without a prefix: recognised by the vendor's name next to them (gitleaks datadog-access-token).
KEYWORD_TOKENS: dict[str, tuple[str, str]] = {
    "datadog api key in env": ("DD_API_KEY=", rand(HEX, 32)),
    "datadog app key in env": ("DD_APP_KEY=", rand(HEX, 40)),
    "datadog application key yaml": ("datadog_application_key: ", rand(HEX, 40)),
    "datadog api key in a call": ("datadog.initialize(api_key='", rand(HEX, 32)),
    "datadog access token (gitleaks)": ('datadog_token = "', rand(string.ascii_lowercase + string.digits, 40)),
    "rollbar token in a call": ("rollbar.init('", rand(HEX, 32)),
    "rollbar token in env": ("ROLLBAR_ACCESS_TOKEN=", rand(HEX, 32)),
    "rollbar header": ("X-Rollbar-Access-Token: ", rand(HEX, 32)),
    "datadog header": ("DD-API-KEY: ", rand(HEX, 32)),
}

CONTEXTS = [
    "{}",
    "ValueError: bad credentials {} for the API",
    "level=error msg=\"request failed\" token={} attempt=2",
    "sent with credential '{}', got 401",
]


@pytest.mark.parametrize("name", sorted(TOKENS))
@pytest.mark.parametrize("context", CONTEXTS)
def test_every_documented_token_shape(name: str, context: str) -> None:
    token = TOKENS[name]
    out = redact(context.format(token))
    assert token not in out, (name, out)
    assert REDACTED in out
    # Not even a long tail of the token survives (a redaction that stops half-way leaks).
    assert not any(token[i:i + 12] in out for i in range(0, len(token) - 12, 4)), (name, out)


@pytest.mark.parametrize("name", sorted(TOKENS))
def test_tokens_inside_json_events(name: str) -> None:
    token = TOKENS[name]
    event = {"message": f"upstream said: {token}", "extra": {"note": [f"x {token} y"]}}
    assert token not in json.dumps(redact_obj(event))
    assert token not in redact(json.dumps(event))


@pytest.mark.parametrize("name", sorted(WEBHOOKS))
def test_webhook_urls(name: str) -> None:
    prefix, secret = WEBHOOKS[name]
    out = redact(f"notifying {prefix}{secret} failed: 404")
    assert secret not in out and secret.rsplit("/", 1)[-1] not in out, out
    assert f"{prefix}{REDACTED}" in out  # which service it was stays readable
    assert out.endswith(" failed: 404")


@pytest.mark.parametrize("name", sorted(KEYWORD_TOKENS))
def test_keys_recognised_by_the_vendor_name(name: str) -> None:
    lead, secret = KEYWORD_TOKENS[name]
    out = redact(f"{lead}{secret}")
    assert secret not in out, out
    assert out.startswith(lead)


# --- credentials in URLs -------------------------------------------------------------------


@pytest.mark.parametrize(
    "url_template",
    [
        "redis://:{pw}@cache.internal:6379/0",  # empty user name
        "postgres://:{pw}@db.internal/app",
        "amqp://guest:{pw}@mq.internal:5672/",
        "https://x-access-token:{pw}@github.com/acme/shop.git",
        "https://oauth2:{pw}@gitlab.com/acme/shop.git",
        "mongodb+srv://app:{pw}@cluster0.example.net/db",
    ],
)
def test_url_passwords(url_template: str) -> None:
    pw = rand(ALNUM, 14)
    out = redact(f"connecting to {url_template.format(pw=pw)} failed")
    assert pw not in out, out
    assert f":{REDACTED}@" in out


@pytest.mark.parametrize(
    "token",
    [
        TOKENS["github classic pat"],
        TOKENS["gitlab pat"],
        rand(HEX, 40),  # a classic 40-hex token, no prefix
        rand(ALNUM, 32),
        rand(URLSAFE, 24),
    ],
    ids=["github pat", "gitlab pat", "40 hex", "32 alphanumerics", "24 url-safe"],
)
def test_token_as_url_user_name(token: str) -> None:
    out = redact(f"git clone https://{token}@github.com/acme/shop.git")
    assert token not in out, out
    assert f"https://{REDACTED}@github.com/acme/shop.git" in out


def test_entropy_of_random_tokens_and_user_names() -> None:
    assert shannon_entropy("") == 0.0
    assert shannon_entropy("aaaa") == 0.0
    assert shannon_entropy(rand(ALNUM, 32)) > 4.0
    assert shannon_entropy(rand(HEX, 40)) > 3.5
    assert shannon_entropy("jenkins") < 3.0


# --- what must stay --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        # ordinary user names in URLs
        "ssh://git@github.com/acme/shop.git",
        "https://deploy-bot@github.com/acme/shop.git",
        "https://firstname.lastname@bitbucket.org/acme/shop.git",
        "https://jenkins-ci-service@ci.example.com/job/build",
        "see https://github.com/acme/shop/pull/12 and https://registry.npmjs.org/@babel/core",
        "postgres://localhost:5432/app",
        # hashes and ids, in diffs and logs
        "index 46ff3a3..c634361 100644",
        "commit 3f786850e387550fdab836ed7e6dc881de23001b",
        "From 3f786850e387550fdab836ed7e6dc881de23001b Mon Sep 17 00:00:00 2001",
        "request id 123e4567-e89b-12d3-a456-426614174000 took 12 ms",
        "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "integrity sha512-Q2Zp8mZf0DyTSl0OQZw4F7gS9kRAkrbpYTPEyqFqcM0HrPj5wz3bsvBvMfYKfsnLDmGMbw==",
        # vendor names next to ordinary code
        "import datadog\ndatadog.initialize(api_key=os.environ['DD_API_KEY'])",
        "rollbar.init(settings.ROLLBAR_TOKEN, environment='production')",
        "statsd.increment('datadog.requests', tags=['env:prod'])",
        "# Slack: post to the channel webhook configured in SLACK_WEBHOOK_URL",
        "webhook_url = os.environ['DISCORD_WEBHOOK_URL']",
        "see https://api.slack.com/messaging/webhooks and https://discord.com/developers/docs",
        "xoxo-gossip-girl-season-one",
        "task-runner-xapp-module",
        "from sklearn.model_selection import train_test_split",
    ],
)
def test_ordinary_text_untouched(text: str) -> None:
    assert redact(text) == text


def test_idempotent_over_the_corpus() -> None:
    text = "\n".join([*TOKENS.values(), *("".join(w) for w in WEBHOOKS.values()),
                      *("".join(k) for k in KEYWORD_TOKENS.values())])
    once = redact(text)
    assert redact(once) == once


def test_one_megabyte_is_redacted_in_linear_time() -> None:
    """The redactor runs on every prompt and tool output: 1 MB of mixed text, code and secrets
    must take well under a second; doubling it must not quadruple the time."""
    unit = "\n".join([
        "def handler(request):",
        "    token = request.headers.get('Authorization')",
        f"    log.info('user %s', {TOKENS['github classic pat']!r})",
        f"    url = 'https://{TOKENS['gitlab pat']}@gitlab.com/a/b.git'",
        f"    hook = '{''.join(WEBHOOKS['slack incoming webhook'])}'",
        "    datadog.statsd.increment('requests', tags=['a.b.c.d.e.f.g.h'])",
        "index 46ff3a3..c634361 100644 " + "a." * 40,
    ]) + "\n"
    one_mb = unit * (1_000_000 // len(unit))

    def timed(text: str) -> float:
        started = time.perf_counter()
        out = redact(text)
        elapsed = time.perf_counter() - started
        assert TOKENS["github classic pat"] not in out
        return elapsed

    t1 = min(timed(one_mb) for _ in range(3))
    t2 = min(timed(one_mb * 2) for _ in range(3))
    print(f"\nredact: 1 MB in {t1 * 1000:.0f} ms, 2 MB in {t2 * 1000:.0f} ms")
    assert t1 < 5.0  # ~0.9 s on a loaded 2-core machine
    assert t2 < t1 * 3.5  # linear (with noise); quadratic would be 4x


def test_the_models_prompt_carries_none_of_the_corpus() -> None:
    """The issue's path: secrets planted in an event reached the first prompt."""
    from agent.context import render_task
    from domain import Breadcrumb, ErrorEvent, ExceptionInfo, RequestContext

    planted = [
        *TOKENS.values(),
        *("".join(w) for w in WEBHOOKS.values()),
        f"redis://:{rand(ALNUM, 14)}@cache.internal:6379/0",
        f"https://{rand(HEX, 40)}@github.com/acme/shop.git",
    ]
    hidden = [*TOKENS.values(), *(w[1] for w in WEBHOOKS.values()), *(p.split("@")[0][-14:] for p in planted[-2:])]
    event = ErrorEvent(
        id="e1",
        title="RuntimeError: notify failed",
        exceptions=[ExceptionInfo(type="RuntimeError", value=" ".join(planted[:10]))],
        breadcrumbs=[Breadcrumb(message=p) for p in planted[10:40]],
        request=RequestContext(url="https://shop.example.com/hook", data={"note": " ".join(planted[40:])}),
        tags={"webhook": planted[-3]},
    )
    prompt = render_task(event)
    leaked = [h for h in hidden if h in prompt]
    assert not leaked
