"""The Notifier contract (notify/base.py), run against every notifier.

Each notifier is built the way the service builds it (a `notify:` entry plus environment
variables, through the registry) and told about one job outcome of each kind the pipeline sends
(`domain.job.NOTIFY_EVENTS`). Outcomes carry secrets in their text, redacted the way the pipeline
redacts them (`domain.redact.redactor` over every configured secret), so a notifier that put a
secret back (its own webhook URL, a token from the environment) would be caught.

Adding a notifier (Slack, Discord, Teams, signed webhook, …): write its fake in tests/fakes/
(the webhook endpoint, recording what it received), subclass `NotifierHarness` below (start the
fake; the `notify:` entry and its variables; what the notifier emitted; how to make the fake
refuse: about twenty-five lines, see `LogHarness`) and add the class to `NOTIFIERS`.
"""

from __future__ import annotations

import contextlib
import logging
from abc import abstractmethod
from collections.abc import Iterable, Iterator
from typing import Any

import pytest

from domain import Confidence, FixResult, JobOutcome, JobState, PublishOutcome
from domain.job import NOTIFY_EVENTS, NotifyEvent, notify_event
from domain.redact import REDACTED, redactor
from notify.base import Notifier, NotifierConfig, NotifyError
from server.config import ConfigError, Secrets
from tests.contracts.support import (
    Harness,
    assert_secret_free,
    build_connector,
    harness_fixture,
    http_pools,
    settings_for,
)
from tests.fakes.chat_api import ChatFake, FakeDiscord, FakeReceiver, FakeSlack, Scripted
from tests.fakes.serve import serve_app

# Secrets configured for other connectors, as the service holds them; built at run time.
OTHER_SECRETS = {
    "AUTOFIXER_GITHUB_TOKEN": "ghp_" + "NotifyContractToken0123456789abcd",
    "AUTOFIXER_SENTRY_TOKEN": "sntrys_" + "NotifyContractToken0123456789",
    "AUTOFIXER_LLM_KEY": "sk-ant-" + "api03-NotifyContractKey-0123456789",
}
SHAPED_SECRET = "xoxb-" + "1234567890-notify-contract"  # in no configuration, caught by its shape


class NotifierHarness(Harness):
    """One notifier and its fake."""

    @abstractmethod
    def entry(self) -> dict[str, Any]:
        """The `notify:` entry a user would write (with a `name`)."""

    @abstractmethod
    def env(self) -> dict[str, str]:
        """The environment holding the notifier's own secrets (its webhook URL, token…)."""

    @abstractmethod
    def emitted(self) -> list[str]:
        """Every message the notifier sent so far, as text (request bodies, log lines)."""

    def refuse_next(self) -> bool:
        """Make the next delivery fail on every attempt; False when nothing can refuse it."""
        return False

    def service_secrets(self) -> list[str]:
        """Every secret the service would redact with this notifier configured (derived, as the
        service derives it, from the configuration and the environment)."""
        settings = settings_for(notify=[self.entry()])
        return Secrets(settings, environ={**OTHER_SECRETS, **self.env()}).values()

    def notifier(self, **keys: Any) -> Notifier:
        notifier: Notifier = build_connector("notify", {**self.entry(), **keys}, {**OTHER_SECRETS, **self.env()})
        return notifier


# ── log ──────────────────────────────────────────────────────────────────────────────────────


class LogHarness(NotifierHarness):
    kind = "log"

    def serve(self) -> contextlib.AbstractContextManager[None]:
        self.given.caplog.set_level(logging.INFO, logger="autofixer.notify")
        return contextlib.nullcontext()

    def entry(self) -> dict[str, Any]:
        return {"type": "log", "name": "contract-log"}

    def env(self) -> dict[str, str]:
        return {}

    def emitted(self) -> list[str]:
        return [r.getMessage() for r in self.given.caplog.records if r.name == "autofixer.notify"]


# ── chat platforms and the signed webhook (fakes in tests/fakes/chat_api.py) ────────────────


class _FakeHarness(NotifierHarness):
    """A notifier posting to one of the chat fakes, served on 127.0.0.1 for the test."""

    fake: ChatFake
    base = ""

    def make_fake(self) -> ChatFake:
        raise NotImplementedError

    @contextlib.contextmanager
    def serve(self) -> Iterator[None]:
        self.fake = self.make_fake()
        # The Slack bot keeps thread ids under the state directory (relative by default).
        with contextlib.chdir(self.given.tmp_path), serve_app(self.fake.app) as base:
            self.base = base
            yield

    def emitted(self) -> list[str]:
        return [r.text for r in self.fake.requests]


class SlackWebhookHarness(_FakeHarness):
    kind = "slack"

    def make_fake(self) -> ChatFake:
        return FakeSlack()

    def entry(self) -> dict[str, Any]:
        return {"type": "slack", "name": "contract-slack"}

    def env(self) -> dict[str, str]:
        return {"AUTOFIXER_SLACK_WEBHOOK_URL": f"{self.base}/services/T0FAKE/B0FAKE/hookSecret0123456789"}

    def refuse_next(self) -> bool:
        self.fake.fail_next(Scripted(403, "action_prohibited"))
        return True


class SlackBotHarness(_FakeHarness):
    kind = "slack"
    token = "xoxb-" + "contract-bot-token-0123456789"

    def make_fake(self) -> ChatFake:
        return FakeSlack(token=self.token, channels=("C0CONTRACT",))

    def entry(self) -> dict[str, Any]:
        return {"type": "slack", "name": "contract-slack-bot", "channel": "C0CONTRACT", "api-url": f"{self.base}/api",
                "approvers": ["U0APPROVER"]}

    def env(self) -> dict[str, str]:
        return {"AUTOFIXER_SLACK_BOT_TOKEN": self.token, "AUTOFIXER_SLACK_SIGNING_SECRET": "contract-signing-secret"}

    def refuse_next(self) -> bool:
        self.fake.fail_next(Scripted(200, {"ok": False, "error": "not_in_channel"}))
        return True


class DiscordHarness(_FakeHarness):
    kind = "discord"

    def make_fake(self) -> ChatFake:
        return FakeDiscord(token="contractDiscordToken0123456789")

    def entry(self) -> dict[str, Any]:
        return {"type": "discord", "name": "contract-discord"}

    def env(self) -> dict[str, str]:
        return {"AUTOFIXER_DISCORD_WEBHOOK_URL":
                f"{self.base}/api/webhooks/223704706495545344/contractDiscordToken0123456789"}

    def refuse_next(self) -> bool:
        self.fake.fail_next(Scripted(404, {"message": "Unknown Webhook", "code": 10015}))
        return True


class TeamsHarness(_FakeHarness):
    kind = "teams"

    def make_fake(self) -> ChatFake:
        return FakeReceiver(status=202)

    def entry(self) -> dict[str, Any]:
        return {"type": "teams", "name": "contract-teams"}

    def env(self) -> dict[str, str]:
        return {"AUTOFIXER_TEAMS_WEBHOOK_URL":
                f"{self.base}/workflows/abc/triggers/manual/paths/invoke?sig=teamsSignature0123456789"}

    def refuse_next(self) -> bool:
        self.fake.fail_next(Scripted(400, {"error": {"code": "TriggerInputSchemaMismatch"}}))
        return True


class WebhookHarness(_FakeHarness):
    kind = "webhook"

    def make_fake(self) -> ChatFake:
        return FakeReceiver()

    def entry(self) -> dict[str, Any]:
        return {"type": "webhook", "name": "contract-webhook"}

    def env(self) -> dict[str, str]:
        return {"AUTOFIXER_NOTIFY_WEBHOOK_URL": f"{self.base}/hooks/autofixer?token=receiverToken0123456789",
                "AUTOFIXER_NOTIFY_WEBHOOK_SECRET": "whsec_" + "Y29udHJhY3Qtd2ViaG9vay1zZWNyZXQ="}

    def refuse_next(self) -> bool:
        self.fake.fail_next(Scripted(410, {"error": "gone"}))
        return True


NOTIFIERS: list[type[NotifierHarness]] = [LogHarness, SlackWebhookHarness, SlackBotHarness, DiscordHarness,
                                          TeamsHarness, WebhookHarness]


# ── fixtures and outcomes ────────────────────────────────────────────────────────────────────


channel = harness_fixture("channel", NOTIFIERS)


def outcome(event: NotifyEvent, *, project: str | None = "shop", leak: str = "",
            secrets: Iterable[str] = ()) -> JobOutcome:
    """A job outcome the pipeline would notify as `event`; `leak` is written into its text the way
    an upstream error message or the model's prose could carry a secret, then redacted with
    `secrets`, as the pipeline, the agent loop and publishing do."""
    scrub = redactor(secrets)
    fix = FixResult(analysis=scrub(f"cart_total divides by len(items) {leak}"),
                    root_cause=scrub(f"no guard for an empty cart {leak}"), confidence=Confidence.HIGH,
                    pr_title=scrub("fix: guard empty carts"), pr_body=scrub(f"## Root cause\nEmpty carts. {leak}"))
    base = JobOutcome(job_id="sentry:acme:42", issue_id="42", state=JobState.DONE, trigger="issue.created",
                      title=scrub(f"ZeroDivisionError {leak}"), project=project, repo="acme/shop",
                      issue_url="https://sentry.io/organizations/acme/issues/42/")
    if event == "pr_opened":
        url = "https://github.com/acme/shop/pull/7"
        return base.model_copy(update={"fix": fix, "pr_url": url, "publication": PublishOutcome(
            state="opened", branch="fix/auto-fixer-sentry-42", title=fix.pr_title, body=fix.pr_body,
            pr_url=url, pr_number=7, pushed=True)})
    if event == "analysis":
        return base.model_copy(update={"state": JobState.SKIPPED, "fix": fix,
                                       "reason": "confidence LOW is below MEDIUM",
                                       "publication": PublishOutcome(state="skipped", reason="confidence LOW")})
    if event == "failed":
        return base.model_copy(update={"state": JobState.FAILED,
                                       "reason": scrub(f"GitHub API answered 500 for opening a pull request {leak}")})
    return base.model_copy(update={"state": JobState.SKIPPED,
                                   "reason": scrub(f"Sentry project 'shop' is not in projects[] {leak}")})


# ── the contract ─────────────────────────────────────────────────────────────────────────────


def test_is_a_notifier_named_as_configured(channel: NotifierHarness) -> None:
    notifier = channel.notifier()
    assert isinstance(notifier, Notifier)
    assert notifier.kind == channel.kind and notifier.name == channel.entry()["name"]
    assert isinstance(notifier.config, NotifierConfig)


@pytest.mark.parametrize("event", NOTIFY_EVENTS)
async def test_each_event_is_one_message_a_person_can_act_on(channel: NotifierHarness, event: NotifyEvent) -> None:
    told = outcome(event)
    assert notify_event(told) == event  # the outcome is one the pipeline sends as `event`

    await channel.notifier().notify(event, told)

    [message] = channel.emitted()
    assert told.issue_id in message
    if event == "pr_opened":
        assert told.pr_url and told.pr_url in message
    if event in ("failed", "skipped"):
        assert told.reason in message


def test_events_and_projects_choose_what_it_is_told(channel: NotifierHarness) -> None:
    everything = channel.notifier().config
    assert all(everything.covers(e, outcome(e, project=p)) for e in NOTIFY_EVENTS for p in ("shop", "other", None))

    chosen = channel.notifier(events=["failed", "pr_opened"], projects=["shop"]).config
    for event in NOTIFY_EVENTS:
        assert chosen.covers(event, outcome(event)) is (event in ("failed", "pr_opened")), event
    assert not chosen.covers("failed", outcome("failed", project="other"))
    assert not chosen.covers("failed", outcome("failed", project=None))

    with pytest.raises(ConfigError, match=r"notify\[0\]\.events"):
        channel.notifier(events=["sometimes"])


@pytest.mark.parametrize("event", NOTIFY_EVENTS)
async def test_no_secret_reaches_what_it_emits(
    channel: NotifierHarness, event: NotifyEvent, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    leak = " ".join([*OTHER_SECRETS.values(), *channel.env().values(), SHAPED_SECRET])

    told = outcome(event, leak=leak, secrets=channel.service_secrets())
    assert REDACTED in told.title and not any(s in told.title for s in OTHER_SECRETS.values())

    await channel.notifier().notify(event, told)

    assert channel.emitted()
    secrets = [*OTHER_SECRETS.values(), *channel.env().values(), SHAPED_SECRET]
    assert_secret_free([*channel.emitted(), caplog.text], secrets)


async def test_an_undeliverable_message_is_a_notify_error(channel: NotifierHarness) -> None:
    if not channel.refuse_next():
        pytest.skip(f"a {channel.kind} notifier cannot fail to deliver")
    with pytest.raises(NotifyError) as err:
        await channel.notifier().notify("failed", outcome("failed"))
    assert str(err.value)
    assert_secret_free([str(err.value)], channel.env().values())


async def test_messages_share_one_connection_pool_until_aclose(
    channel: NotifierHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    pools = http_pools(monkeypatch)
    notifier = channel.notifier()
    for event in ("failed", "skipped", "pr_opened"):
        await notifier.notify(event, outcome(event))
    assert len(channel.emitted()) == 3
    assert len(pools) <= 1  # one pool and one SSL context for every message (none: it only logs)
    close = getattr(notifier, "aclose", None)
    if pools:
        assert close is not None
        await close()
        assert pools[0].is_closed
