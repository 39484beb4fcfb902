"""What each chat notifier does beyond the shared contract: Slack threads and the approve
button, Discord's `retry_after` body, plain-text Slack webhook errors, the Standard Webhooks
signature (checked with the official `standardwebhooks` library), platform length limits, and
no source code beyond the diff stat. Real HTTP to the fakes in tests/fakes/chat_api.py."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from common.config import ConnectorContext
from domain import Confidence, FileChange, FixResult, JobOutcome, JobState, PublishOutcome
from domain.fix import Usage
from notify.base import NotifyError
from notify.discord import DiscordNotifier, DiscordNotifierConfig, DiscordWebhook
from notify.message import build, diff_stat
from notify.slack import APPROVE_ACTION, SlackNotifier, SlackNotifierConfig
from notify.teams import TeamsNotifier, TeamsNotifierConfig
from notify.webhook import WebhookNotifier, WebhookNotifierConfig
from tests.fakes.chat_api import DISCORD_429, FakeDiscord, FakeReceiver, FakeSlack, Scripted
from tests.fakes.serve import serve_app

SECRET_LINE = "API_KEY = 'sk_live_do_not_ship_this_line'"
DIFF = f"""diff --git a/shop/cart.py b/shop/cart.py
--- a/shop/cart.py
+++ b/shop/cart.py
@@ -1,2 +1,4 @@
 def total(items):
-    return sum(i.price for i in items) / len(items)
+    if not items:
+        return 0
+    return sum(i.price for i in items) / len(items)  # {SECRET_LINE}
"""


def held_back(issue: str = "42", root_cause: str = "no guard for an empty cart") -> JobOutcome:
    fix = FixResult(analysis="divides by len(items)", root_cause=root_cause, confidence=Confidence.MEDIUM,
                    changes=[FileChange(file="shop/cart.py", original="a", modified="b")], diff=DIFF,
                    pr_title="fix: guard empty carts", usage=Usage(cost_usd=0.4213))
    return JobOutcome(job_id=f"sentry:acme:{issue}", issue_id=issue, state=JobState.SKIPPED, title="ZeroDivisionError",
                      project="shop", repo="acme/shop", issue_url=f"https://sentry.io/organizations/acme/issues/{issue}/",
                      fix=fix, reason="confidence MEDIUM is below behavior.min-confidence HIGH",
                      publication=PublishOutcome(state="skipped", reason="confidence MEDIUM is below HIGH",
                                                 title="fix: guard empty carts"))


def opened(issue: str = "42") -> JobOutcome:
    url = "https://github.com/acme/shop/pull/7"
    return held_back(issue).model_copy(update={"state": JobState.DONE, "pr_url": url, "publication": PublishOutcome(
        state="opened", pr_url=url, pr_number=7, title="fix: guard empty carts")})


def context(env: dict[str, str], state: Path | None = None) -> ConnectorContext:
    return ConnectorContext(env=env.get, max_attempts=3, backoff_seconds=0.01, state_dir=state)


@pytest.fixture
def slack() -> Iterator[tuple[FakeSlack, str]]:
    fake = FakeSlack(token="xoxb-test-token", channels=("C0TEST",))
    with serve_app(fake.app) as base:
        yield fake, base


def bot(base: str, state: Path, **keys: object) -> SlackNotifier:
    config = SlackNotifierConfig(channel="C0TEST", api_url=f"{base}/api", **keys)  # type: ignore[arg-type]
    return SlackNotifier(config, context({"AUTOFIXER_SLACK_BOT_TOKEN": "xoxb-test-token"}, state))


# ── Slack ─────────────────────────────────────────────────────────────────────────────────────


async def test_slack_bot_threads_later_messages_about_an_issue_even_after_a_restart(
        slack: tuple[FakeSlack, str], tmp_path: Path) -> None:
    fake, base = slack
    await bot(base, tmp_path).notify("analysis", held_back())
    await bot(base, tmp_path).notify("pr_opened", opened())  # a new instance: a restarted service
    await bot(base, tmp_path).notify("analysis", held_back("43"))  # another issue: its own thread
    first, reply, other = fake.messages
    assert "thread_ts" not in first and "thread_ts" not in other
    assert reply["thread_ts"] == first["ts"]


async def test_slack_approve_button_only_for_a_held_back_fix_with_approvers(
        slack: tuple[FakeSlack, str], tmp_path: Path) -> None:
    fake, base = slack
    await bot(base, tmp_path, approvers=["U1"]).notify("analysis", held_back())
    await bot(base, tmp_path, approvers=["U1"]).notify("pr_opened", opened("44"))
    await bot(base, tmp_path).notify("analysis", held_back("45"))  # no approvers: no button
    low = held_back("46")
    assert low.fix is not None
    low.fix.confidence = Confidence.LOW  # a LOW fix stays an analysis
    await bot(base, tmp_path, approvers=["U1"]).notify("analysis", low)
    buttons = [[e for b in m["blocks"] if b["type"] == "actions" for e in b["elements"]] for m in fake.messages]
    assert [len(b) for b in buttons] == [1, 0, 0, 0]
    assert buttons[0][0]["action_id"] == APPROVE_ACTION and buttons[0][0]["value"] == "sentry:acme:42"


def test_approvers_need_bot_mode() -> None:
    with pytest.raises(ValueError, match="approvers need bot-token mode"):
        SlackNotifierConfig(approvers=["U1"])


async def test_slack_webhook_plain_text_errors_are_a_notify_error(slack: tuple[FakeSlack, str]) -> None:
    fake, base = slack
    url = f"{base}/services/T0/B0/hookSecretValue123"
    notifier = SlackNotifier(SlackNotifierConfig(), context({"AUTOFIXER_SLACK_WEBHOOK_URL": url}))
    fake.fail_next(Scripted(404, "channel_not_found"))
    with pytest.raises(NotifyError, match="channel_not_found") as err:
        await notifier.notify("failed", held_back())
    assert "hookSecretValue123" not in str(err.value)
    fake.fail_next(Scripted(500, "rollup_error"), Scripted(500, "rollup_error"))  # retried, then delivered
    await notifier.notify("failed", held_back())
    assert [r.text for r in fake.requests[-1:]] and len(fake.requests) == 4


async def test_slack_bot_errors_name_what_to_fix(slack: tuple[FakeSlack, str], tmp_path: Path) -> None:
    _, base = slack
    config = SlackNotifierConfig(channel="C0NOPE", api_url=f"{base}/api")
    with pytest.raises(NotifyError, match=r"channel_not_found.*check channel"):
        await SlackNotifier(config, context({"AUTOFIXER_SLACK_BOT_TOKEN": "xoxb-test-token"}, tmp_path)).notify(
            "failed", held_back())
    with pytest.raises(NotifyError, match="AUTOFIXER_SLACK_BOT_TOKEN is not set"):
        await SlackNotifier(config, context({}, tmp_path)).notify("failed", held_back())


async def test_slack_blocks_stay_within_block_kit_limits_and_link_the_rest(
        slack: tuple[FakeSlack, str], tmp_path: Path) -> None:
    fake, base = slack
    await bot(base, tmp_path).notify("pr_opened", opened().model_copy(update={"fix": held_back(
        root_cause="x" * 10_000).fix}))
    [message] = fake.messages
    section = message["blocks"][1]["text"]["text"]
    assert len(section) <= 3000 and section.endswith("(more: https://github.com/acme/shop/pull/7)")
    assert len(message["blocks"][0]["text"]["text"]) <= 150


# ── Discord ───────────────────────────────────────────────────────────────────────────────────


async def test_discord_waits_for_the_message_and_honours_retry_after_in_the_body() -> None:
    fake = FakeDiscord(token="tok")
    # Retry-After says 30 s, the body's precise retry_after says 0.05 s: the body wins.
    fake.fail_next(Scripted(429, {"message": "You are being rate limited.", "retry_after": 0.05, "global": False},
                            {"Retry-After": "30", "X-RateLimit-Scope": "user"}))
    with serve_app(fake.app) as base:
        notifier = DiscordNotifier(DiscordNotifierConfig(), context(
            {"AUTOFIXER_DISCORD_WEBHOOK_URL": f"{base}/api/webhooks/223704706495545344/tok"}))
        started = time.monotonic()
        await notifier.notify("pr_opened", opened())
        assert time.monotonic() - started < 5
    assert [r.query for r in fake.requests] == [{"wait": "true"}] * 2
    [message] = fake.messages
    [embed] = message["embeds"]
    assert embed["url"] == "https://github.com/acme/shop/pull/7" and message["allowed_mentions"] == {"parse": []}


def test_discord_reads_the_recorded_429_body() -> None:
    import httpx

    response = httpx.Response(429, json=DISCORD_429["body"], headers=DISCORD_429["headers"])
    hook = DiscordWebhook("https://discord.test/api/webhooks/1/t", context({}), vendor="Discord")
    assert hook.wait_hint(response) == pytest.approx(64.57)


async def test_discord_embed_fits_6000_characters() -> None:
    fake = FakeDiscord(token="tok")  # answers 400 (code 50035) past 6,000, as Discord does
    with serve_app(fake.app) as base:
        notifier = DiscordNotifier(DiscordNotifierConfig(), context(
            {"AUTOFIXER_DISCORD_WEBHOOK_URL": f"{base}/api/webhooks/223704706495545344/tok"}))
        huge = held_back(root_cause="y" * 9000)
        huge.warnings = ["w" * 3000]
        await notifier.notify("analysis", huge)
    [message] = fake.messages
    assert "more: " in message["embeds"][0]["description"]


# ── Teams and the signed webhook ──────────────────────────────────────────────────────────────


async def test_teams_posts_an_adaptive_card() -> None:
    fake = FakeReceiver(status=202)
    with serve_app(fake.app) as base:
        notifier = TeamsNotifier(TeamsNotifierConfig(), context({"AUTOFIXER_TEAMS_WEBHOOK_URL": f"{base}/wf?sig=s"}))
        await notifier.notify("failed", held_back().model_copy(update={"state": JobState.FAILED, "stages": ["fix"]}))
    [attachment] = fake.requests[0].json()["attachments"]
    card = attachment["content"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive" and card["type"] == "AdaptiveCard"
    assert {"title": "Stage", "value": "fix"} in card["body"][2]["facts"]


async def test_webhook_is_signed_per_standard_webhooks() -> None:
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # the spec's example secret
    fake = FakeReceiver()
    with serve_app(fake.app) as base:
        notifier = WebhookNotifier(WebhookNotifierConfig(jobs_url="https://fixer.test/api/jobs"), context(
            {"AUTOFIXER_NOTIFY_WEBHOOK_URL": f"{base}/in", "AUTOFIXER_NOTIFY_WEBHOOK_SECRET": secret}))
        await notifier.notify("pr_opened", opened())
        await notifier.notify("pr_opened", opened())  # a re-sent delivery keeps its id
    first, again = fake.requests
    verified = Webhook(secret).verify(first.body, first.headers)  # the official library's check
    assert verified["type"] == "autofixer.pr_opened"
    assert verified["data"]["links"] == {"pull_request": "https://github.com/acme/shop/pull/7",
                                         "job": "https://fixer.test/api/jobs/sentry:acme:42",
                                         "issue": "https://sentry.io/organizations/acme/issues/42/"}
    assert first.headers["Webhook-Id"] == again.headers["Webhook-Id"]
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(first.body.replace(b"42", b"43"), first.headers)


# ── what a message says ───────────────────────────────────────────────────────────────────────


def test_messages_carry_the_diff_stat_never_the_code() -> None:
    assert diff_stat(held_back()) == [("shop/cart.py", 3, 1)]
    for event, told in (("pr_opened", opened()), ("analysis", held_back())):
        text = build(event, told, "https://fixer.test/api/jobs").text()  # type: ignore[arg-type]
        assert "shop/cart.py (+3 −1)" in text and "$0.42" in text and "MEDIUM" in text
        assert SECRET_LINE not in text and "return 0" not in text
    analysis = build("analysis", held_back()).text()
    assert "No pull request: confidence MEDIUM is below HIGH" in analysis
    assert "https://sentry.io/organizations/acme/issues/42/" in analysis


def test_messages_say_what_the_pipelines_test_runs_showed() -> None:
    from domain.validation import Validation

    failing = Validation(verdict="regressions", reason="1 test(s) fail after the fix",
                         regressions=["tests/test_cart.py::test_total"])
    text = build("analysis", held_back().model_copy(update={"validation": failing})).text()
    assert "Tests: tests failing: tests/test_cart.py::test_total" in text
    capped = Validation(verdict="unavailable", reason="bubblewrap cannot start")
    assert "Tests: not validated (bubblewrap cannot start)" in build("pr_opened", opened().model_copy(
        update={"validation": capped})).text()
    assert "Tests:" not in build("pr_opened", opened()).text()
