"""The Slack interaction route's checks, before any job is looked at: signature, timestamp
window, the payload's shape, the allow-list (refusal posted to the click's response_url)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest

from server.config import Secrets, Settings, parse_settings
from server.http.slack_actions import Answer, handle, signature
from tests.fakes.chat_api import FakeSlack
from tests.fakes.serve import serve_app

SECRET = "signing-secret-for-tests"
NOW = 1_800_000_000.0


def settings(**slack: object) -> tuple[Settings, Secrets]:
    entry = {"type": "slack", "channel": "C0X", "approvers": ["U0OK"], **slack}
    parsed = parse_settings({"notify": [entry], "worker": {"sentry-backoff-seconds": 0.01}}, source="test")
    return parsed, Secrets(parsed, environ={"AUTOFIXER_SLACK_SIGNING_SECRET": SECRET})


def signed(body: bytes, *, secret: str = SECRET, ts: float = NOW) -> dict[str, str]:
    return {"x-slack-request-timestamp": str(int(ts)), "x-slack-signature": signature(secret, str(int(ts)), body)}


def click_body(user: str, response_url: str = "https://hooks.slack.test/actions/1") -> bytes:
    payload = {"type": "block_actions", "user": {"id": user}, "response_url": response_url,
               "actions": [{"action_id": "autofixer_open_pr", "value": "sentry:acme:42"}]}
    return urlencode({"payload": json.dumps(payload)}).encode()


async def answer(body: bytes, headers: dict[str, str], configured: tuple[Settings, Secrets] | None = None) -> Answer:
    s, sec = configured or settings()
    return await handle(s, sec, headers, body, now=lambda: NOW)


@pytest.fixture
def slack() -> Iterator[tuple[FakeSlack, str]]:
    fake = FakeSlack()
    with serve_app(fake.app) as base:
        yield fake, base


async def test_signature_and_timestamp_are_checked_first() -> None:
    body = click_body("U0OK")
    assert (await answer(body, signed(body, secret="other"))).status == 401
    assert (await answer(body, signed(body, ts=NOW - 301))).status == 401
    assert (await answer(body, signed(body, ts=NOW + 301))).status == 401
    assert (await answer(body, {"x-slack-signature": "v0=00"})).status == 401
    tampered = body.replace(b"U0OK", b"U0XX")
    assert (await answer(tampered, signed(body))).status == 401


async def test_a_signed_body_that_is_not_a_click_is_a_400() -> None:
    for body in (b"payload=%7Bnot json", b"nothing=here", urlencode({"payload": json.dumps({"actions": []})}).encode()):
        result = await answer(body, signed(body))
        assert result.status == 400 and "block_actions" in result.body["error"]


async def test_without_a_signing_secret_there_is_no_route() -> None:
    s, _ = settings()
    result = await handle(s, Secrets(s, environ={}), {}, b"", now=lambda: NOW)
    assert result.status == 404


async def test_someone_not_in_approvers_is_refused_and_told(slack: tuple[FakeSlack, str]) -> None:
    fake, base = slack
    body = click_body("U0INTRUDER", f"{base}/actions/1")
    result = await answer(body, signed(body))
    assert result.status == 403 and "U0INTRUDER" in result.body["error"]
    [note] = fake.updates
    assert note["response_type"] == "ephemeral" and "approvers" in note["text"]


def test_signature_matches_slacks_documented_example() -> None:
    # docs.slack.dev "Verifying requests from Slack": secret, timestamp and body of its example.
    body = (b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
            b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
            b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
            b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c")
    assert signature("8f742231b10e8888abcd99yyyzzz85a5", "1531420618", body) == \
        "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
